"""The merged OpenAPI document lists exactly the statuses each route answers, derived from what it is."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from keel.http import ERRORS_EXTENSION, KeelResolver
from keel.openapi import document
from keel.tenancy import Access


class Gadget(BaseModel):
    name: str


def _app() -> KeelResolver:
    app = KeelResolver(service="gadgets")

    @app.get("/v1/status", access=Access.PUBLIC)
    def status() -> dict[str, str]:
        return {}

    @app.get("/v1/gadgets", access=Access.MEMBER)
    def list_gadgets(limit: Annotated[int, Query(ge=1)] = 10, cursor: str | None = None) -> dict[str, str]:
        return {}

    @app.patch("/v1/gadgets/<gadget_id>", access=Access.ADMIN)
    def rename(gadget_id: str, body: Gadget) -> Gadget:
        return body

    @app.delete("/v1/gadgets/<gadget_id>", access=Access.ADMIN, status_code=204)
    def delete(gadget_id: str) -> Response[None]:
        return Response(status_code=204, content_type=None, body=None)

    @app.post("/v1/gadgets/claim", access=Access.AUTHENTICATED, errors=[403, 404], status_code=201)
    def claim(body: Gadget) -> Gadget:
        return body

    return app


def _operation(method: str, path: str) -> dict[str, Any]:
    return dict(document([_app()], version="test")["paths"][path][method])


def _statuses(method: str, path: str) -> set[str]:
    return set(_operation(method, path)["responses"])


def test_a_public_read_documents_its_answer_and_throttling_only() -> None:
    assert _statuses("get", "/v1/status") == {"200", "429"}
    assert "security" not in _operation("get", "/v1/status")


def test_a_paginated_list_documents_the_400_of_a_cursor_it_did_not_hand_out() -> None:
    assert _statuses("get", "/v1/gadgets") == {"200", "400", "401", "403", "422", "429"}


def test_a_tenant_write_with_a_body_and_an_id_documents_every_refusal_it_can_give() -> None:
    assert _statuses("patch", "/v1/gadgets/{gadget_id}") == {
        "200", "400", "401", "403", "404", "409", "413", "415", "422", "429",
    }  # fmt: skip


def test_a_no_content_answer_documents_no_body() -> None:
    responses = _operation("delete", "/v1/gadgets/{gadget_id}")["responses"]
    assert set(responses) == {"204", "401", "403", "404", "409", "429"}
    assert "content" not in responses["204"]


def test_the_statuses_a_route_declares_are_added_and_the_declaration_is_not_published() -> None:
    operation = _operation("post", "/v1/gadgets/claim")
    # An authenticated route has no role to fall short of: its 403 is declared, not derived
    assert set(operation["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "415", "422", "429"}
    assert ERRORS_EXTENSION not in operation
    assert operation["x-keel-access"] == "authenticated"


def test_every_error_is_documented_in_the_one_error_shape() -> None:
    spec = document([_app()], version="test")
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, status
