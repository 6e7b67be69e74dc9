"""``keel new context NAME``: a new bounded context on the paved road, from the templates beside this module.

It writes the context's rooms (``functions/NAME``: handlers, views, wiring, settings, domain, the table
adapter), its tests (``tests/unit/NAME``, ``tests/integration/NAME``), its entry in the topology
(``infra/contexts/NAME.py``), its bench scenario, and the contract of the event its example publishes;
then it regenerates ``docs/openapi.json`` and ``events/schemas/`` so that ``make test`` is green at once.
Nothing else lists contexts: import rules, stacks, the local runtime and the bench derive from the topology.
"""

from __future__ import annotations

import importlib
import keyword
import re
import string
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from infra import contexts, generate
from infra.model import Topology, is_context_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Names that would shadow a top-level folder or a tests package, or read as the platform's own.
RESERVED = frozenset(
    {"keel", "infra", "functions", "tests", "test", "bench", "layers", "docs", "events", "support", "local", "cloud"}
)
#: Generated lines stay within ruff's line length for names up to this long.
MAX_NAME_LENGTH = 20
#: Template file names that would collide with the rooms every context has.
_ROOMS = frozenset({"ports", "errors", "views", "api", "store", "wiring", "settings", "handlers", "adapters"})
_CONTRACTS = Path("layers/keel/python/keel/contracts")


class Refused(ValueError):
    """The context cannot be created as asked; the message says why and what to do instead."""


def _camel(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))


def _plural(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _singular(name: str) -> str:
    """The example entity of a context: ``projects`` -> ``project``, ``billing`` -> ``billing_item``."""
    if name.endswith("ies") and len(name) > 4:
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        return name[:-1]
    return f"{name}_item"


@dataclass(frozen=True)
class Names:
    """Every spelling of the context and its example entity the templates use, derived once."""

    context: str
    entity: str

    @property
    def entities(self) -> str:
        return _plural(self.entity)

    @property
    def path(self) -> str:
        """The API prefix: ``/v1/work-orders`` for ``work_orders``."""
        return f"/v1/{self.context.replace('_', '-')}"

    @property
    def event_type(self) -> str:
        return f"{self.context}.{self.entity}.created.v1"

    @property
    def id_prefix(self) -> str:
        return self.entity.replace("_", "")[:4].ljust(2, "x")

    def substitutions(self) -> dict[str, str]:
        return {
            "context": self.context,
            "Context": _camel(self.context),
            "CONTEXT": self.context.upper(),
            "Title": self.context.replace("_", " ").capitalize(),
            "entity": self.entity,
            "Entity": _camel(self.entity),
            "ENTITY": self.entity.upper(),
            "entities": self.entities,
            "Entities": _camel(self.entities),
            "entity_words": self.entity.replace("_", " "),
            "entities_words": self.entities.replace("_", " "),
            "path": self.path,
            "event_type": self.event_type,
            "id_prefix": self.id_prefix,
        }

    def file_name(self, template: str) -> str:
        return (
            template.replace("__context__", self.context)
            .replace("__entities__", self.entities)
            .replace("__entity__", self.entity)
        )


def names_for(name: str, entity: str | None = None) -> Names:
    """The names of a new context, or ``Refused`` when ``name`` (or ``entity``) cannot be one."""
    for what, value in (("context", name), ("entity", entity)):
        if value is None:
            continue
        if not is_context_name(value):
            raise Refused(
                f"{value!r} is not a valid {what} name: lowercase letters, digits and underscores, starting "
                "with a letter, and not a Python keyword"
            )
        if len(value) > MAX_NAME_LENGTH:
            raise Refused(f"{value!r} is longer than {MAX_NAME_LENGTH} characters")
    if name in RESERVED:
        raise Refused(f"{name!r} is reserved (it names a part of the repository): choose another name")
    names = Names(context=name, entity=entity or _singular(name))
    if {names.entity, names.entities} & _ROOMS or keyword.iskeyword(names.entities):
        raise Refused(f"the example entity {names.entity!r} would clash with a module; pass --entity")
    if len(names.entities) > MAX_NAME_LENGTH + 2:
        raise Refused(f"the example entity {names.entity!r} is too long; pass a shorter --entity")
    return names


def _templates() -> Iterator[Path]:
    yield from sorted(p for p in TEMPLATES.rglob("*.tmpl") if p.parent != TEMPLATES / _CONTRACTS)


def render(names: Names, root: Path) -> dict[Path, str]:
    """Every file the context needs, relative to ``root``: new ones, and its contract module (new, or
    an existing one with the example's contract added)."""
    values = names.substitutions()
    files: dict[Path, str] = {}
    for template in _templates():
        relative = Path(names.file_name(str(template.relative_to(TEMPLATES).with_suffix(""))))
        files[relative] = string.Template(template.read_text()).substitute(values)
    contract_module = _CONTRACTS / f"{names.context}.py"
    existing = root / contract_module
    # An existing module is kept as it is (it is code, not a template: a "$" in it is its own).
    head = (
        existing.read_text()
        if existing.exists()
        else string.Template((TEMPLATES / _CONTRACTS / "__context__.py.tmpl").read_text()).substitute(values)
    )
    created = (TEMPLATES / _CONTRACTS / "created.tmpl").read_text()
    files[contract_module] = head.rstrip("\n") + "\n" + string.Template(created).substitute(values)
    return files


def refusal(names: Names, root: Path, topology: Topology) -> str | None:
    """Why the context cannot be written into ``root`` (``None`` when it can)."""
    if any(ctx.name == names.context for ctx in topology.contexts):
        return f"the topology already has a context called {names.context!r}"
    taken = [p for p in render(names, root) if (root / p).exists() and p.parent != _CONTRACTS]
    if (root / "functions" / names.context).exists():
        taken.insert(0, Path("functions") / names.context)
    if taken:
        return f"{names.context!r} exists: {', '.join(str(p) for p in taken)}"
    owner = topology.api_context_for(names.path)
    if owner is not None:
        return f"{names.path} is already routed to {owner.name}: choose another name"
    contracts = root / _CONTRACTS / f"{names.context}.py"
    if contracts.exists():
        text = contracts.read_text()
        if f'"{names.event_type}"' in text or f"class {_camel(names.entity)}Created(" in text:
            return f"{contracts.relative_to(root)} already defines {names.event_type}: pass another --entity"
        if not re.search(r"^from keel\.events import .*\bContract\b.*\bcontract\b", text, re.MULTILINE):
            return f"{contracts.relative_to(root)} must import Contract and contract from keel.events first"
    return None


@dataclass(frozen=True)
class Written:
    created: list[Path]
    changed: list[Path]


def write(files: dict[Path, str], root: Path) -> Written:
    """Write ``files`` under ``root``; on any failure, take back what was written."""
    created: list[Path] = []
    changed: dict[Path, str] = {}
    try:
        for relative, text in files.items():
            path = root / relative
            if path.exists():
                changed[relative] = path.read_text()
            else:
                created.append(relative)
                path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    except BaseException:
        undo(Written(created, list(changed)), root, changed)
        raise
    return Written(created, list(changed))


def undo(written: Written, root: Path, previous: dict[Path, str]) -> None:
    """Remove what ``write`` created (and the folders it made) and restore what it changed."""
    for relative in reversed(written.created):
        (root / relative).unlink(missing_ok=True)
        for parent in (root / relative).parents:
            if parent == root or any(parent.iterdir()):
                break
            parent.rmdir()
    for relative, text in previous.items():
        (root / relative).write_text(text)


def tidy(files: Sequence[Path], root: Path) -> bool:
    """Sort the imports and format ``files`` with the repository's ruff settings (how names sort and
    where long lines break depends on the names); False when ruff is not installed."""
    python = [str(root / f) for f in files if f.suffix == ".py"]
    for argv in (("check", "--fix", "--select", "I", "--quiet", "--no-cache"), ("format", "--quiet", "--no-cache")):
        try:
            subprocess.run(  # noqa: S603 - our own interpreter running ruff on files we wrote
                [sys.executable, "-m", "ruff", *argv, *python], cwd=root, check=True, capture_output=True
            )
        except (OSError, subprocess.CalledProcessError):
            return False
    return True


def regenerate_documents(topology: Topology) -> list[tuple[str, str]]:
    """Rewrite the committed documents the new context changes (the OpenAPI document, the event
    schemas) in this repository, from ``topology`` with the contexts now on disk.

    Returns ``("created" | "updated", path)`` for each document that changed."""
    importlib.invalidate_caches()  # the new modules were written after this process started
    fresh = replace(topology, contexts=contexts.collect())
    changed = generate.stale("openapi", fresh) + generate.stale("events", fresh)
    verbs = [("updated" if (generate.ROOT / path).exists() else "created", path) for path in changed]
    generate.write("openapi", fresh)
    generate.write("events", fresh)
    return verbs


def create(
    name: str,
    *,
    entity: str | None,
    root: Path,
    topology: Topology,
    say: Callable[[str], None],
    regenerate: Callable[[Topology], list[tuple[str, str]]] = regenerate_documents,
) -> Names:
    """Write a new context into ``root`` and regenerate the documents; ``Refused`` changes nothing."""
    names = names_for(name, entity)
    why = refusal(names, root, topology)
    if why:
        raise Refused(why)
    files = render(names, root)
    previous = {p: (root / p).read_text() for p in files if (root / p).exists()}
    written = write(files, root)
    try:
        if not tidy(list(files), root):
            say("  (ruff is not installed here: run `make fmt` before `make test`)")
        regenerated = regenerate(topology)
    except BaseException:
        undo(written, root, previous)
        raise
    say(f"keel new context: wrote the {names.context!r} context ({names.path}, example entity {names.entity!r}):")
    for path in written.created:
        say(f"  created  {path}")
    for path in written.changed:
        say(f"  changed  {path}")
    for verb, document in regenerated:
        say(f"  {verb:<7}  {document}")
    return names


def next_steps(names: Names) -> list[str]:
    """What to do after ``create``, as the command prints it."""
    code = f"functions/{names.context}"
    return [
        "Next steps:",
        "  1. make test   lint, types, import rules and every test, the new context's included",
        "  2. make dev    then, with TOKEN and TENANT from the quickstart it prints:",
        f'     curl -H "Authorization: Bearer $TOKEN" -H "X-Tenant-Id: $TENANT" http://127.0.0.1:8080{names.path}',
        f"  3. Make it yours: the model, its service and its port in {code}/domain/, the API's models in",
        f"     {code}/handlers/views.py, its items in {code}/adapters/store.py, its events in",
        f"     keel/contracts/{names.context}.py; say what it owns in infra/contexts/{names.context}.py.",
        "     After changing routes or events: make openapi, make events.",
        "  4. make bench and make synth include it as it is.",
    ]
