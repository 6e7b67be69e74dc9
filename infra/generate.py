"""Writes the generated, committed artefacts: ``docs/openapi.json`` and ``events/schemas/*.json``.

``python -m infra.generate openapi|events [--check]``: with ``--check`` nothing is written and the
exit code says whether the committed files are current (the tests use the same functions).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from infra.model import OPENAPI_DOCUMENT
from infra.topology import TOPOLOGY, Topology

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_FILE = ROOT / OPENAPI_DOCUMENT
SCHEMA_DIR = ROOT / "events" / "schemas"
API_VERSION = "0.1.0"


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def openapi_document(topology: Topology = TOPOLOGY) -> dict[str, Any]:
    from keel.openapi import document

    handlers = [ctx.api_handler for ctx in topology.contexts if ctx.api_handler]
    handlers += [endpoint.handler for _ctx, endpoint in topology.endpoints]
    apps = [importlib.import_module(handler).app for handler in handlers]
    return document(apps, version=API_VERSION)


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of every registered contract, wrapped in the envelope."""
    from keel.contracts import load_all
    from keel.events import Envelope

    schemas: dict[str, dict[str, Any]] = {}
    for contract in load_all().all():
        payload = contract.model_json_schema()
        envelope = Envelope.model_json_schema()
        envelope["title"] = contract.TYPE
        envelope["properties"]["type"] = {"const": contract.TYPE}
        envelope["properties"]["payload"] = {"$ref": "#/$defs/Payload"}
        envelope["$defs"] = {**payload.pop("$defs", {}), "Payload": payload}
        envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        envelope["x-keel-source"] = contract.source()
        schemas[f"{contract.TYPE}.json"] = envelope
    return schemas


def stale(kind: str, topology: Topology = TOPOLOGY) -> list[str]:
    """Paths (relative to the repo) whose committed content differs from what would be generated."""
    wanted = _wanted(kind, topology)
    out = [str(p.relative_to(ROOT)) for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    if kind == "events":
        extra = set(SCHEMA_DIR.glob("*.json")) - set(wanted)
        out += [f"{p.relative_to(ROOT)} (no longer a contract)" for p in sorted(extra)]
    return out


def _wanted(kind: str, topology: Topology) -> dict[Path, str]:
    if kind == "openapi":
        return {OPENAPI_FILE: _dump(openapi_document(topology))}
    return {SCHEMA_DIR / name: _dump(schema) for name, schema in event_schemas().items()}


def write(kind: str, topology: Topology = TOPOLOGY) -> list[Path]:
    """Write the ``openapi`` document or the ``events`` schemas of ``topology``; returns every path."""
    wanted = _wanted(kind, topology)
    if kind == "events":
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        for old in set(SCHEMA_DIR.glob("*.json")) - set(wanted):
            old.unlink()
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.generate", description=__doc__)
    parser.add_argument("kind", choices=["openapi", "events"])
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale(args.kind)
        for path in outdated:
            print(f"stale: {path} (run `make {args.kind}`)")
        return 1 if outdated else 0
    for written in write(args.kind):
        print(f"wrote {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
