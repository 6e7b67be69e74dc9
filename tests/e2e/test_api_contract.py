"""The API does exactly what its OpenAPI document says: schemathesis, every check, against ``keel dev``.

It reads the document the running API serves (``GET /openapi.json``, the merge of every context's
resolver), so every route a context adds is tested here with no change to this file. The caller is a
signed-in owner acting in their own tenant (the two headers ride on every request; schemathesis
drops them itself where it checks that a route refuses a missing or bad credential).

Phases: examples, coverage, fuzzing and stateful. Checks: all, none excluded. Two settings narrow
what the checks expect, each where a schema cannot say more, or the cloud cannot do otherwise:

- The coverage phase sends each path the methods the document does not list, and expects 405 with
  ``Allow``; Keel answers that for every method API Gateway routes to it (its ``ANY`` covers GET,
  PUT, POST, DELETE, PATCH, HEAD and OPTIONS). API Gateway answers any other method (TRACE, QUERY)
  itself, before routing and before the authorizer: 403 (MISSING_AUTHENTICATION_TOKEN), which the
  cloud stack renders in the error shape, with no ``Allow`` (it does not know the resource's methods),
  and the local gateway answers exactly that. So those two are not sent here; what the gateways
  answer them is tested in ``tests/integration/local/test_local_gateway.py``.
- A list's ``cursor`` is opaque: only cursors the API handed out are valid, which no schema can
  express, so a made-up one is a documented 400. For operations taking a ``cursor``, a 400 is an
  accepted answer to schema-valid data; everywhere else it is not.
- A signed request (``x-keel-signature``: Stripe's webhooks) is valid only with a signature made with
  a secret schemathesis does not have, which no schema can express either: a 400 is accepted there too.
- An ``If-Match`` is valid only while it names the stored version, which no schema can express: for
  operations taking one, a 412 is an accepted answer to schema-valid data.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from keel.openapi import CURSOR_PARAMETER
from tests.e2e.conftest import DevServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHASES = "examples,coverage,fuzzing,stateful"
#: Random cases per operation in the fuzzing phase. The coverage phase already sends every operation
#: each boundary, missing, wrong-typed and out-of-enum value its schema defines (~1,700 cases, positive
#: and negative), so fuzzing adds variety, not coverage: 10 cost half of 20 (~40 s on 2 cores).
FUZZING_EXAMPLES = 10
#: Sequences per operation in the stateful phase (each links operations: create, then read, update...).
STATEFUL_EXAMPLES = 20
SEED = 20261122
ROUTED_METHODS = ["get", "put", "post", "delete", "patch", "options"]
#: schemathesis' own default for ``positive_data_acceptance``.
ACCEPTED_FOR_VALID_DATA = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
BUDGET_SECONDS = 300


def _paginated(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(p.get("in") == "query" and p.get("name") == CURSOR_PARAMETER for p in operation.get("parameters", []))
    ]


def _signed(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-keel-signature")
    ]


def _conditional(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(
            p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in operation.get("parameters", [])
        )
    ]


def _config(document: dict[str, Any]) -> str:
    """schemathesis.toml: the settings the module docstring explains, derived from the document."""
    lines = [
        "[phases.coverage]",
        f"unexpected-methods = {json.dumps(ROUTED_METHODS)}",
        "",
        "[phases.fuzzing.generation]",
        f"max-examples = {FUZZING_EXAMPLES}",
        "",
        "[phases.stateful.generation]",
        f"max-examples = {STATEFUL_EXAMPLES}",
        "",
    ]
    # Named exactly (``include-name``, the operation's label): filters of one entry are OR-ed, so a
    # path and a method would match every operation of that method. First, so that they win.
    if_matched = json.dumps([*ACCEPTED_FOR_VALID_DATA, "412"])
    for method, path in _conditional(document):
        lines += [
            "[[operations]]",
            f"include-name = {json.dumps(f'{method} {path}')}",
            f"checks = {{ positive_data_acceptance = {{ expected-statuses = {if_matched} }} }}",
            "",
        ]
    accepted = json.dumps([*ACCEPTED_FOR_VALID_DATA, "400"])
    for method, path in _paginated(document) + _signed(document):
        lines += [
            "[[operations]]",
            f"include-path = {json.dumps(path)}",
            f"include-method = {json.dumps(method)}",
            f"checks = {{ positive_data_acceptance = {{ expected-statuses = {accepted} }} }}",
            "",
        ]
    return "\n".join(lines)


def test_the_api_keeps_its_openapi_contract_under_every_schemathesis_check(
    dev_server: DevServer, tmp_path: Path
) -> None:
    # Given a signed-in owner acting in their tenant, and the document the API serves
    owner = dev_server.sign_up("Contract Co")
    status, _, body = dev_server.get("/openapi.json")
    assert status == 200
    document = json.loads(body)
    assert _paginated(document), "no paginated list: the cursor setting would test nothing"
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(document))

    # When schemathesis runs every phase and every check against it
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "--no-color",
        "run", f"{dev_server.url}/openapi.json",
        "--checks", "all", "--phases", PHASES,
        "--seed", str(SEED), "--workers", "1",
        "--header", f"Authorization: Bearer {owner.token}", "--header", f"X-Tenant-Id: {owner.tenant_id}",
    ]  # fmt: skip
    started = time.monotonic()
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=BUDGET_SECONDS, check=False)
    elapsed = time.monotonic() - started

    # Then it tested every operation and found nothing: every answer documented, valid data
    # accepted, invalid data refused, undeclared methods answered 405 with Allow
    report = run.stdout + run.stderr
    print(f"schemathesis took {elapsed:.0f} s")  # shown with -s, and kept in the log on failure
    assert run.returncode == 0, report[-20000:]
    operations = sum(len(methods) for methods in document["paths"].values())
    assert re.search(rf"Tested: {operations}\b", report), report[-5000:]
