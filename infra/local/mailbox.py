"""``GET /_local/emails`` for a person: a small mail catcher. The list of what SES "sent" (newest first)
and each email as it renders (``/_local/emails/<id>``): its HTML part in a sandboxed frame (no script
runs; links open in a new tab), with its headers and its text part beside it."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left}"
    "iframe{width:100%;height:70vh;border:1px solid #ccc}pre{white-space:pre-wrap;background:#f6f6f6;padding:12px}"
    "small{color:#666}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def inbox_page(emails: list[dict[str, Any]]) -> str:
    """Every email, newest first, each linking to its own page."""
    rows = "".join(
        f"<tr><td><a href='/_local/emails/{quote(str(m['id']), safe='')}'>"
        f"{escape(str(m.get('subject') or '(no subject)'))}</a></td>"
        f"<td>{escape(', '.join(m.get('destinations') or []))}</td><td>{escape(str(m.get('source') or ''))}</td></tr>"
        for m in reversed(emails)
    )
    table = (
        f"<table><tr><th>subject</th><th>to</th><th>from</th></tr>{rows}</table>" if rows else "<p>No email yet.</p>"
    )
    return _page("Emails sent", f"<h1>Emails sent ({len(emails)})</h1><p><small>SES on keel dev</small></p>{table}")


def email_page(mail: dict[str, Any]) -> str:
    """One email: its headers, its HTML as it renders, its text part."""
    headers = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>"
        for name, value in (mail.get("headers") or {}).items()
    )
    html = str(mail.get("html") or "")
    # srcdoc is an attribute: escaped once here, the frame parses it back to the email's own HTML.
    sandbox = "allow-popups allow-popups-to-escape-sandbox"  # links open; no script runs
    frame = (
        f"<iframe sandbox='{sandbox}' srcdoc=\"{escape('<base target=_blank>' + html)}\"></iframe>"
        if html
        else "<p>(no HTML part)</p>"
    )
    body = (
        "<p><a href='/_local/emails'>&larr; all emails</a></p>"
        f"<h1>{escape(str(mail.get('subject') or '(no subject)'))}</h1><table>{headers}</table>"
        f"<h2>HTML</h2>{frame}<h2>Text</h2><pre>{escape(str(mail.get('body') or ''))}</pre>"
    )
    return _page(str(mail.get("subject") or "email"), body)
