"""``keel smoke``: black-box checks of a running stage over HTTP, the same against ``keel dev`` and AWS.

It signs up a throwaway user and tenant, then walks each context's main path: the steps of its smoke
module (``infra/smoke/steps/<context>.py``: ``steps(session)`` returns them), or, for a context
without one (say, one ``keel new context`` just wrote), what the topology says about it (its public
GET routes answer 200, its API prefixes answer in Keel's error shape, never a 5xx). Whatever a step creates it
registers for clean-up, undone at the end whether the steps passed or not; the throwaway users are
deleted by the token source that made them. A tenant itself cannot be deleted through the API: it is
left, named ``smoke <run id>``, and reported.

Tokens come from a ``TokenSource``: the local IdP's ``/_local/token`` (``keel dev``), a command the
team supplies (``--token-command``, given ``KEEL_SMOKE_EMAIL``), or the stage's Cognito user pool through
its smoke client (``keel smoke --stage``, with the caller's IAM credentials).
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shlex
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

from infra.model import Context, Topology

#: How long one request may take before the smoke test calls it a failure.
REQUEST_TIMEOUT_SECONDS = 15
#: Where throwaway users' addresses are: a reserved domain no mail is ever delivered to.
SMOKE_DOMAIN = "smoke.keel.invalid"


def stack_outputs(topology: Topology) -> dict[str, tuple[str, ...]]:
    """What ``keel smoke --stage`` reads from a deployed stage: stack name -> its output keys (the
    foundation's user pool and smoke client, then the API's URL)."""
    return {
        topology.foundation_stack_name: ("UserPoolId", "SmokeClientId"),
        topology.api_stack_name: ("ApiUrl",),
    }


class SmokeFailure(AssertionError):
    """A step saw something other than what it expected; the message says what, for a person."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    def describe(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict):
            return f"{self.status} {error.get('code')}: {error.get('message')} (request {error.get('request_id')})"
        text = (self.body if isinstance(self.body, str) else json.dumps(self.body))[:200] if self.body else ""
        return f"{self.status} {text}"


class TokenSource(Protocol):
    """Makes throwaway users and signs them in: ``token(email)`` is an ID token for ``email``."""

    def token(self, email: str) -> str: ...

    def forget(self) -> list[str]:
        """Delete the users it made; returns what it could not delete."""
        ...


@dataclass
class Http:
    """JSON over HTTP to one base URL."""

    base_url: str

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL the person running the smoke test gave
            f"{self.base_url.rstrip('/')}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
                return Reply(response.status, dict(response.headers), _json(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), _json(error.read()))
        except OSError as exc:
            raise SmokeFailure(f"{method} {path}: cannot reach {self.base_url}: {exc}") from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


@dataclass
class LocalTokens:
    """``keel dev``'s identity provider: ``GET /_local/token`` (local only; nothing to delete)."""

    http: Http

    def token(self, email: str) -> str:
        reply = self.http.call("GET", f"/_local/token?{urllib.parse.urlencode({'email': email, 'raw': 1})}")
        if reply.status != 200 or not isinstance(reply.body, str):
            raise SmokeFailure(
                f"{self.http.base_url} gives no local tokens ({reply.describe()}): against a deployed stage, use "
                "--stage or --token-command"
            )
        return reply.body

    def forget(self) -> list[str]:
        return []


@dataclass
class CommandTokens:
    """A command the team supplies: run with ``KEEL_SMOKE_EMAIL`` set, it prints an ID token. Deleting
    the users it made is the command's business (``KEEL_SMOKE_FORGET=1`` is set for that call)."""

    command: str
    emails: list[str] = field(default_factory=list)

    def _run(self, email: str, *, forget: bool = False) -> str:
        env = os.environ | {"KEEL_SMOKE_EMAIL": email} | ({"KEEL_SMOKE_FORGET": "1"} if forget else {})
        done = subprocess.run(  # noqa: S603 - the command the person running the smoke test gave
            shlex.split(self.command), env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise SmokeFailure(f"--token-command failed ({done.returncode}) for {email}: {done.stderr.strip()[:300]}")
        return done.stdout.strip()

    def token(self, email: str) -> str:
        self.emails.append(email)
        return self._run(email)

    def forget(self) -> list[str]:
        left = []
        for email in self.emails:
            try:
                self._run(email, forget=True)
            except SmokeFailure as exc:
                left.append(str(exc))
        return left


@dataclass
class CognitoTokens:
    """The stage's user pool, through its smoke client's admin flow (``AdminInitiateAuth`` needs IAM
    credentials: nothing here is open to the internet). Its users are deleted when it forgets them."""

    user_pool_id: str
    client_id: str
    cognito: Any
    usernames: list[str] = field(default_factory=list)

    def token(self, email: str) -> str:
        password = f"Smoke-{secrets.token_urlsafe(24)}-1a!"
        self.cognito.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        self.usernames.append(email)
        self.cognito.admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=email, Password=password, Permanent=True
        )
        signed_in = self.cognito.admin_initiate_auth(
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return str(signed_in["AuthenticationResult"]["IdToken"])

    def forget(self) -> list[str]:
        left = []
        for username in self.usernames:
            try:
                self.cognito.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
            except Exception as exc:  # reported; the other users are still deleted
                left.append(f"user {username}: {exc}")
        return left


@dataclass
class Session:
    """One smoke run: its HTTP client, its throwaway owner and tenant, and what to clean up."""

    http: Http
    tokens: TokenSource
    topology: Topology
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    owner_token: str = ""
    tenant_id: str = ""
    cleanups: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def email(self, who: str) -> str:
        """A throwaway address for ``who`` in this run."""
        return f"{who}+{self.run_id}@{SMOKE_DOMAIN}"

    def headers(self, token: str | None = None, *, tenant: bool = True) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.owner_token}"}
        return headers | ({"X-Tenant-Id": self.tenant_id} if tenant and self.tenant_id else {})

    def expect(
        self,
        status: int,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Call the API as the owner in the tenant (unless ``headers`` say otherwise) and insist on ``status``."""
        reply = self.http.call(method, path, body, self.headers() if headers is None else headers)
        if reply.status != status:
            raise SmokeFailure(f"{method} {path} answered {reply.describe()}; expected {status}")
        return reply.body

    def on_cleanup(self, what: str, undo: Callable[[], None]) -> None:
        """Undo ``what`` at the end of the run, passed or failed (last registered, first undone)."""
        self.cleanups.append((what, undo))

    def sign_up(self) -> None:
        """A throwaway user who signs up a throwaway tenant (the topology's tenant-less sign-up route)."""
        if not self.topology.is_tenantless("POST", "/v1/tenants"):
            return
        self.owner_token = self.tokens.token(self.email("owner"))
        created = self.expect(
            201, "POST", "/v1/tenants", {"name": f"smoke {self.run_id}"}, headers=self.headers(tenant=False)
        )
        self.tenant_id = str(created["id"])
        self.left.append(f"tenant {self.tenant_id} ('smoke {self.run_id}': the API deletes no tenant)")


@dataclass(frozen=True)
class Step:
    """One check: ``run`` raises ``SmokeFailure`` (or anything) when it does not hold."""

    name: str
    run: Callable[[], None]


@dataclass
class Outcome:
    context: str
    step: str
    seconds: float
    error: str | None = None


@dataclass
class Report:
    outcomes: list[Outcome]
    left: list[str]

    @property
    def passed(self) -> bool:
        return all(o.error is None for o in self.outcomes)


def steps_module(ctx: Context) -> ModuleType | None:
    """The context's smoke module (``infra/smoke/steps/<context>.py``), if it has one."""
    name = f"{__name__}.steps.{ctx.name}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def derived_steps(session: Session, ctx: Context) -> list[Step]:
    """What the topology alone says a context must do: public GET routes answer 200; the API prefixes
    answer the tenant's owner without a 5xx, in Keel's error shape when they refuse."""
    found = []
    for route in ctx.public_routes:
        if route.method == "GET" and "{" not in route.path:

            def public(path: str = route.path) -> None:
                session.expect(200, "GET", path, headers={})

            found.append(Step(f"GET {route.path}", public))
    for prefix in ctx.api_prefixes:
        if session.topology.is_public("GET", prefix):
            continue

        def answers(prefix: str = prefix) -> None:
            reply = session.http.call("GET", prefix, None, session.headers())
            if reply.status >= 500:
                raise SmokeFailure(f"GET {prefix} answered {reply.describe()}")
            if reply.status >= 400 and not (isinstance(reply.body, dict) and "error" in reply.body):
                raise SmokeFailure(f"GET {prefix} refused outside Keel's error shape: {reply.describe()}")

        found.append(Step(f"GET {prefix} (answers)", answers))
    return found


def context_steps(session: Session, ctx: Context) -> list[Step]:
    """The context's smoke module's steps, or what the topology says about it without one."""
    module = steps_module(ctx)
    return module.steps(session) if module is not None else derived_steps(session, ctx)


def run(
    session: Session,
    *,
    say: Callable[[str], None],
    steps_of: Callable[[Session, Context], list[Step]] = context_steps,
) -> Report:
    """Sign up, then every context's steps, then the clean-up: what passed, what failed, what is left."""
    outcomes: list[Outcome] = []

    def attempt(context: str, step: Step) -> bool:
        started = time.perf_counter()
        try:
            step.run()
        except Exception as exc:  # every failure is reported, not raised
            outcome = Outcome(context, step.name, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        else:
            outcome = Outcome(context, step.name, time.perf_counter() - started)
        outcomes.append(outcome)
        mark = "ok  " if outcome.error is None else "FAIL"
        say(f"  {mark} {context:<14} {step.name:<48} {outcome.seconds * 1000:7.0f} ms")
        if outcome.error:
            say(f"       {outcome.error}")
        return outcome.error is None

    try:
        if attempt("sign-up", Step("a throwaway user signs up a throwaway tenant", session.sign_up)):
            for ctx in session.topology.contexts:
                if not ctx.api_handler:
                    continue
                for step in steps_of(session, ctx):
                    if not attempt(ctx.name, step):
                        break  # a context's later steps build on its earlier ones
    finally:
        for what, undo in reversed(session.cleanups):
            try:
                undo()
            except Exception as exc:  # reported; the other clean-ups still run
                session.left.append(f"{what} ({type(exc).__name__}: {exc})")
        session.left.extend(session.tokens.forget())
    return Report(outcomes, session.left)
