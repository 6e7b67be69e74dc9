"""Promises every route of every context keeps, checked by walking the topology's own resolvers, so a
context added later is covered with no change here: the security headers on every answer, and text
that people will read is ``HumanText`` (no control or bidi-override characters) in every request body.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.http import KeelResolver
from keel.tenancy import Access
from keel.text import HUMAN_TEXT_PATTERN
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.moto import create_context_table, create_idempotency_table
from tests.support.pipeline import FakeLambdaContext
from tests.support.staged import STAGED

REPO = Path(__file__).resolve().parents[2]
OWNER = authorizer_context(role="owner") | {"email": "ada@example.com"}
#: What the authorizer says of an operator (on the token-only routes: no tenant).
OPERATOR = authorizer_context(tenant_id=None) | {"email": "ops@example.com", "operator": "true"}
#: A string is constrained when its schema says which strings it takes.
CONSTRAINTS = ("pattern", "enum", "const", "format")


def resolvers() -> list[tuple[str, KeelResolver]]:
    """(context, resolver) for every context of the topology that has an API."""
    found = []
    for ctx in STAGED.contexts:
        if ctx.api_handler:
            app = importlib.import_module(ctx.api_handler).app
            assert isinstance(app, KeelResolver), f"{ctx.name}'s API is not a KeelResolver"
            found.append((ctx.name, app))
    return found


def routes() -> list[tuple[str, str, str, Access]]:
    return [
        (name, method, rule, access)
        for name, app in resolvers()
        for (method, rule), access in sorted(app.access_rules.items())
    ]


def _path(rule: str) -> str:
    return re.sub(r"<[^>]+>", "x1", rule)


def _call(app: KeelResolver, method: str, rule: str, *, body: Any = None, authorizer: dict[str, Any]) -> dict[str, Any]:
    event = api_event(method, _path(rule), body=body, authorizer=authorizer)
    return app.resolve(event, FakeLambdaContext())  # type: ignore[arg-type]


def _headers(response: dict[str, Any]) -> dict[str, str]:
    merged = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    merged |= {k.lower(): ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
    return merged


@pytest.fixture
def every_context(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every context's settings and table, as the local runtime sets them up."""
    monkeypatch.setenv("KEEL_PLATFORM_OPENAPI_FILE", str(REPO / "docs" / "openapi.json"))
    for ctx in STAGED.contexts:
        for name, value in ctx.environment.items():
            monkeypatch.setenv(name, value)
        if ctx.table:
            create_context_table(ctx.table_name)
    create_idempotency_table(STAGED.idempotency_table)
    from keel import reset_caches

    reset_caches()


# -- the security headers -----------------------------------------------------------------------------


def test_the_walk_finds_every_context_with_an_api() -> None:
    assert {name for name, _ in resolvers()} == {ctx.name for ctx in STAGED.contexts if ctx.api_handler}
    assert len(routes()) > len(resolvers())


@pytest.mark.parametrize(("context", "method", "rule", "access"), routes(), ids=str)
def test_every_answer_of_every_route_has_the_security_headers_and_private_ones_are_never_stored(
    every_context: None, context: str, method: str, rule: str, access: Access
) -> None:
    # Given the route's resolver, called as an owner (with an empty body where it takes one), and with no credentials
    app = dict(resolvers())[context]
    body = {} if method in ("POST", "PUT", "PATCH") else None
    answers = [_call(app, method, rule, body=body, authorizer=OWNER), _call(app, method, rule, authorizer={})]
    for response in answers:
        headers = _headers(response)
        # Then each answer, whatever its status, has the security headers
        assert headers["x-content-type-options"] == "nosniff", (response["statusCode"], headers)
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        # And a Cache-Control: no-store unless a public route chose its own
        if access is not Access.PUBLIC:
            assert headers["cache-control"] == "no-store", (response["statusCode"], headers)
        else:
            assert headers["cache-control"]


def test_a_public_route_keeps_the_cache_control_it_chose(every_context: None) -> None:
    # Given Swagger UI's assets, which the platform serves with a day's public caching
    platform = dict(resolvers())["platform"]
    response = _call(platform, "GET", "/docs/swagger-ui.min.css", authorizer={})
    assert response["statusCode"] == 200
    assert _headers(response)["cache-control"] == "public, max-age=86400"


# -- human text in every request body ----------------------------------------------------------------


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _string_fields(
    schema: dict[str, Any], components: dict[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every string in a request body's schema, with the path to it (through objects and arrays)."""
    schema = _resolve(schema, components)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from _string_fields(option, components, path)
    if schema.get("type") == "string" or "string" in (schema.get("type") or []):
        yield path, schema
    for name, field in schema.get("properties", {}).items():
        yield from _string_fields(field, components, (*path, name))
    if isinstance(schema.get("items"), dict):
        yield from _string_fields(schema["items"], components, (*path, 0))


def request_bodies() -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    """(context, method, path, body schema, components) of every operation that takes a JSON body."""
    found = []
    for name, app in resolvers():
        spec = app.get_openapi_schema(title="walk", version="0").model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        components = spec.get("components", {}).get("schemas", {})
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                content = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if content:
                    found.append((name, method.upper(), path, content["schema"], components))
    return found


def human_text_fields() -> list[tuple[str, str, str, tuple[str | int, ...]]]:
    return [
        (name, method, path, field)
        for name, method, path, schema, components in request_bodies()
        for field, string in _string_fields(schema, components)
        if string.get("pattern") == HUMAN_TEXT_PATTERN
    ]


def test_the_walk_finds_request_bodies_and_human_text_in_them() -> None:
    assert request_bodies()
    assert human_text_fields()


@pytest.mark.parametrize(
    ("context", "method", "path", "schema", "components"),
    request_bodies(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_string_in_every_request_body_is_human_text_an_email_or_constrained(
    context: str, method: str, path: str, schema: dict[str, Any], components: dict[str, Any]
) -> None:
    for field, string in _string_fields(schema, components):
        assert any(key in string for key in CONSTRAINTS), (
            f"{method} {path}: {'.'.join(map(str, field))} takes any string: make it HumanText or EmailAddress "
            "(keel.text), a Literal or Enum, or give it a pattern"
        )


def _body_with(field: tuple[str | int, ...], value: str) -> Any:
    body: Any = value
    for step in reversed(field):
        body = [body] if isinstance(step, int) else {step: body}
    return body


@pytest.mark.parametrize(("context", "method", "path", "field"), human_text_fields(), ids=str)
@pytest.mark.parametrize(
    ("character", "name"),
    [("\x00", "NUL"), ("\x07", "BEL"), ("\r\n", "CR LF"), ("\u0085", "NEL"), ("\u2028", "LINE SEPARATOR"),
     ("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\u2066", "LEFT-TO-RIGHT ISOLATE"), ("\u200f", "RIGHT-TO-LEFT MARK")],
    ids=lambda v: v if isinstance(v, str) and v.isascii() and v.isprintable() else "",
)  # fmt: skip
def test_a_control_or_bidi_character_in_any_human_text_field_is_a_422_naming_the_field(
    context: str, method: str, path: str, field: tuple[str | int, ...], character: str, name: str
) -> None:
    # Given the field, holding an otherwise ordinary name with the character in the middle
    app = dict(resolvers())[context]
    rule = re.sub(r"\{([^}]+)\}", r"<\1>", path)
    body = _body_with(field, f"Acme{character}Bcc: x@evil.example")
    # When it is sent by someone the route lets in (an owner; an operator on operator routes), then
    # the answer is a 422 whose details name that field
    caller = OPERATOR if app.access_rules[(method, rule)] is Access.OPERATOR else OWNER
    response = _call(app, method, rule, body=body, authorizer=caller)
    assert response["statusCode"] == 422, response_json(response)
    issues = response_json(response)["error"]["details"]
    named = [issue for issue in issues if tuple(issue["loc"]) == ("body", *field)]
    assert named, issues
    assert f"U+{ord(character[0]):04X}" in named[0]["msg"], name
