"""Renders messages from the versioned Jinja2 templates in ``functions/notifications/templates/<version>/``.

Each message has ``<name>.txt`` (blocks ``subject`` and ``text``) and ``<name>.html``. Autoescaping
is on for every template but the plain-text ones, so a tenant named ``<script>`` arrives escaped in
HTML (and as itself in the text part, where nothing interprets it). A new wording is a new version
folder; the version sent is recorded with each email.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from functions.notifications.domain.messages import Rendered

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
VERSION = "v1"


class JinjaTemplates:
    """``Renderer`` on the templates of one version (``VERSION`` unless told)."""

    def __init__(self, version: str = VERSION, root: Path = TEMPLATES) -> None:
        self.version = version
        self._env = Environment(
            loader=FileSystemLoader(str(root)),
            autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
            undefined=StrictUndefined,  # a missing value is a bug to see, not an empty string to send
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, template: str, values: dict[str, Any]) -> Rendered:
        values = {"link": None, "unsubscribe_url": None, "tenant_name": None, **values}
        text = self._env.get_template(f"{self.version}/{template}.txt")
        subject = "".join(text.blocks["subject"](text.new_context(values))).strip()
        summary = "".join(text.blocks["text"](text.new_context(values))).strip()
        html = self._env.get_template(f"{self.version}/{template}.html").render(values)
        return Rendered(
            subject=" ".join(subject.split()),
            text=text.render(values).strip() + "\n",
            html=html,
            version=self.version,
            summary=summary,
        )
