"""A small stand-in for API Gateway: the real REQUEST authorizer, then the real API handler of the
context whose prefix routes the path (identity's, or billing's operator routes, say).

Tokens come from the local IdP; people are named by subject (``ada``) and email. A 401 or a Deny
is answered as API Gateway answers them; otherwise the authorizer's context reaches the handler.
"""

from __future__ import annotations

import copy
import importlib
import json
from dataclasses import dataclass
from typing import Any

from functions.identity.domain.user import user_id_for
from functions.identity.handlers import authorizer
from functions.identity.settings import IdentitySettings
from keel import settings
from keel.contracts.identity import UserInvited
from keel.contracts.identity import invitation_token as invitation_token_of
from keel.store import OUTBOX_PREFIX, from_attributes
from keel.tenancy import DEFAULT_OPERATORS_GROUP, DENIED_CODE, DENIED_MESSAGE
from tests.support.events import api_event, sample
from tests.support.pipeline import FakeLambdaContext
from tests.support.staged import STAGED
from tests.unit.identity.idp import ISSUER, LocalIdp

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/{method}{path}"

#: Where Cognito lists a user's groups in its tokens (identity's default ``groups_claim``).
GROUPS_CLAIM = "cognito:groups"

#: Identity's table, as the topology names it.
TABLE = STAGED.context("identity").table_name


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


def user_id(subject: str) -> str:
    return user_id_for(ISSUER, subject)


def authorizer_event(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """A REQUEST authorizer event in the shape of AWS's sample."""
    event = copy.deepcopy(sample("apiGatewayAuthorizerRequestEvent"))
    event.update(
        methodArn=METHOD_ARN.format(method=method, path=path),
        resource=path,
        path=path,
        httpMethod=method,
        headers=dict(headers),
        multiValueHeaders={k: [v] for k, v in headers.items()},
        identitySource=",".join(headers.values()),
        authorizationToken=",".join(headers.values()),
    )
    event["requestContext"].update(httpMethod=method, path=path, resourcePath=path)
    return event


def api_handler_for(path: str) -> Any:
    """The API handler of the context that routes ``path``, as the topology routes it."""
    ctx = STAGED.api_context_for(path)
    handler = ctx.api_handler if ctx else None
    assert handler, f"no context routes {path}"
    return importlib.import_module(handler).handler


def authorize(headers: dict[str, str], method: str = "GET", path: str = "/v1/tenant") -> dict[str, Any]:
    return authorizer.handler(authorizer_event(method, path, headers), FakeLambdaContext())  # type: ignore[arg-type]


class Gateway:
    def __init__(self, idp: LocalIdp) -> None:
        self.idp = idp

    def token(self, subject: str, email: str | None = None, *, operator: bool = False) -> str:
        """An ID token; ``operator``: its groups claim holds the operators' group, as Cognito's would."""
        groups = {GROUPS_CLAIM: [DEFAULT_OPERATORS_GROUP]} if operator else {}
        return self.idp.id_token(subject, email if email is not None else f"{subject}@example.com", **groups)

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        as_: str | None = None,
        tenant: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        operator: bool = False,
    ) -> Reply:
        """``as_`` names a person by subject (their token is minted, in the operators' group if
        ``operator``); ``token`` passes any credential."""
        credential = token if token is not None else self.token(as_, operator=operator) if as_ else None
        sent = dict(headers or {})
        if credential:
            sent["Authorization"] = f"Bearer {credential}"
        if tenant:
            sent["X-Tenant-Id"] = tenant
        try:
            answer = authorize({k: v for k, v in sent.items() if k in ("Authorization", "X-Tenant-Id")}, method, path)
        except Exception as exc:
            if str(exc) != "Unauthorized":  # anything else would be API Gateway's 500
                raise
            return Reply(401, {"message": "Unauthorized"})
        if answer["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            # API Gateway's ACCESS_DENIED response, as the API stack renders it from the Deny's context
            denied = {"code": answer["context"][DENIED_CODE], "message": answer["context"][DENIED_MESSAGE]}
            return Reply(403, {"error": denied})
        context = {**answer["context"], "principalId": answer["principalId"]}
        event = api_event(method, path, body=body, headers=sent, query=query, authorizer=context)
        response = api_handler_for(path)(event, FakeLambdaContext())
        text = response.get("body")
        return Reply(int(response["statusCode"]), json.loads(text) if text else None)

    # -- the common steps of a scenario ----------------------------------------------------------

    def sign_up(self, subject: str, name: str = "Acme") -> str:
        """``subject`` creates a tenant and owns it; returns the tenant id."""
        reply = self.call("POST", "/v1/tenants", as_=subject, body={"name": name})
        assert reply.status == 201, reply
        return str(reply.body["id"])

    def invite(self, tenant: str, by: str, email: str, role: str = "member") -> str:
        """Invites ``email``; returns the token of its link, derived as the invitation email's would be."""
        reply = self.call("POST", "/v1/invitations", as_=by, tenant=tenant, body={"email": email, "role": role})
        assert reply.status == 201, reply
        return invitation_token(reply.body["id"])

    def join(self, tenant: str, subject: str, role: str = "member", by: str = "ada") -> str:
        """``subject`` is invited by ``by`` and accepts; returns their user id."""
        token = self.invite(tenant, by, f"{subject}@example.com", role)
        reply = self.call("POST", "/v1/invitations/accept", as_=subject, body={"token": token})
        assert reply.status == 201, reply
        return str(reply.body["user_id"])


def outbox(table: str = TABLE) -> list[dict[str, Any]]:
    """Every envelope in the outbox, oldest first (a test-only Query per tenant is not worth it here)."""
    import boto3

    items = [from_attributes(i) for i in boto3.client("dynamodb").scan(TableName=table)["Items"]]
    events = [json.loads(i["event"]) for i in items if str(i["sk"]).startswith(OUTBOX_PREFIX)]
    return sorted(events, key=lambda e: e["id"])


def events_of(event_type: str) -> list[dict[str, Any]]:
    return [e for e in outbox() if e["type"] == event_type]


def invitation_key() -> bytes:
    return settings.load(IdentitySettings).invitation_key.get_secret_value().encode()


def invitation_token(invitation_id: str) -> str:
    """The token of the invitation's link, derived from its event as the mailer will (no token is stored)."""
    invited = [e for e in events_of(UserInvited.TYPE) if e["payload"]["invitation_id"] == invitation_id]
    assert len(invited) == 1
    assert "{token}" in invited[0]["payload"]["accept_url_template"]
    return invitation_token_of(invitation_key(), tenant_id=invited[0]["tenant_id"], invitation_id=invitation_id)
