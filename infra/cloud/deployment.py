"""What one synth is given: CDK context under ``keel:*``, from ``cdk.json`` or ``-c`` on the command.

``keel:stages``    every stage one synth renders, each with its settings (``StageSettings``): log level,
                   tracing sample rate, authorizer cache, deploy strategy, retention, removal policy,
                   and its own ``settings`` / ``api`` / ``cognito`` over the shared ones below.
``keel:stage``     which of them this synth renders: one name, or ``*`` for all (``make synth``).
``keel:settings``  values of context settings (``KEEL_<CONTEXT>_<NAME>``), each for the context it names.
``keel:api``       ``cors_origins`` (browser origins allowed to call the API),
                   ``access_log_retention_days`` (how long the stage's access log is kept) and the web
                   ACL's per-IP rates (``waf_rate_limit``, ``waf_public_write_rate_limit``, ``waf_window_seconds``).
``keel:cognito``   the user pool's email sender (SES), OAuth callback and logout URLs, MFA policy.

Every value is checked before anything is built: a typo stops the synth with the key it is about.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import aws_cdk as cdk
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra.model import AUTHORIZER_CACHE_SECONDS, LOCAL_STAGE, Topology, is_stage_name

STAGE, STAGES, SETTINGS, API, COGNITO = "keel:stage", "keel:stages", "keel:settings", "keel:api", "keel:cognito"
#: ``keel:stage`` value that renders every stage of ``keel:stages``.
EVERY_STAGE = "*"
#: How CodeDeploy may shift a function's traffic to its new version (CodeDeploy's predefined configs).
DeployStrategy = Literal[
    "AllAtOnce",
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
]
#: What CloudWatch Logs accepts as a retention, in days.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
#: A browser origin: scheme, host and optional port, nothing else (browsers compare origins exactly).
_ORIGIN = re.compile(r"(https://[a-z0-9.-]+|http://(localhost|127\.0\.0\.1))(:[0-9]{1,5})?")
#: Cognito accepts plain HTTP only for localhost.
_REDIRECT_URL = re.compile(r"(https://[^\s#]+|http://localhost(:[0-9]{1,5})?(/[^\s#]*)?)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class DeploymentError(ValueError):
    """A ``keel:*`` context value the app cannot use."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApiSettings(_Strict):
    """``keel:api``: what browsers may do, how long the access log is kept, and how many requests one
    client address may send (the web ACL's rate rules)."""

    #: Origins (``https://app.example.com``) whose pages may call the API; none by default.
    cors_origins: tuple[str, ...] = ()
    access_log_retention_days: int = 30
    #: Requests one IP address may send in ``waf_window_seconds`` before the web ACL answers 429.
    waf_rate_limit: int = Field(default=3000, ge=10, le=2_000_000_000)
    #: The same, for the writes anyone may send without a tenant (sign-up, accepting an invitation, webhooks).
    waf_public_write_rate_limit: int = Field(default=100, ge=10, le=2_000_000_000)
    #: The window WAF counts each address's requests over (60, 120, 300 or 600 seconds).
    waf_window_seconds: Literal[60, 120, 300, 600] = 300

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: https://host[:port] (http only for localhost), lowercase, "
                    "no path, no trailing slash, no wildcard"
                )
        return origins

    @field_validator("access_log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        return _log_retention(days)


class CognitoSettings(_Strict):
    """``keel:cognito``: how the user pool sends email and where its sign-in may redirect."""

    #: A verified SES address (or an address of a verified SES domain): the sender of Cognito's emails.
    from_email: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    #: The SES region, when it is not the stack's own.
    ses_region: str | None = None
    #: The verified SES domain ``from_email`` belongs to (else ``from_email`` itself is the identity).
    ses_verified_domain: str | None = None
    #: Where the authorization-code flow may return to; without any, the pool has no OAuth flow at all.
    callback_urls: tuple[str, ...] = ()
    logout_urls: tuple[str, ...] = ()
    #: The hosted sign-in domain: ``<prefix>.auth.<region>.amazoncognito.com``; ``keel-<stage>-<account>`` by default.
    domain_prefix: str | None = Field(default=None, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    mfa: Literal["off", "optional", "required"] = "optional"

    @field_validator("from_email", "reply_to")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("callback_urls", "logout_urls")
    @classmethod
    def _urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not _REDIRECT_URL.fullmatch(url):
                raise ValueError(f"{url!r}: an https URL (http only for localhost), no fragment")
        return urls


class StageSettings(_Strict):
    """One stage of ``keel:stages``: how it runs and deploys, and what it keeps when it is deleted."""

    #: Powertools' log level in every function (``POWERTOOLS_LOG_LEVEL``).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: The share of API requests X-Ray traces beyond the first each second (the stage's sampling rule).
    tracing_sample_rate: float = Field(default=0.05, ge=0, le=1)
    #: How long API Gateway keeps an authorizer's answer (0: ask every time; at most an hour).
    authorizer_cache_seconds: int = Field(default=AUTHORIZER_CACHE_SECONDS, ge=0, le=3600)
    #: How CodeDeploy shifts each function's traffic to a new version (rolled back on its alarms).
    deploy: DeployStrategy = "AllAtOnce"
    #: How long the functions' logs are kept, in days.
    log_retention_days: int = 30
    #: How long the bus archive keeps events, in days (0: for ever).
    archive_retention_days: int = Field(default=30, ge=0)
    #: What deleting the stage does to its data (tables, user pool, secrets, keys): ``retain`` keeps them
    #: and protects tables and the user pool from deletion; ``destroy`` deletes them with their stack.
    removal: Literal["retain", "destroy"] = "destroy"
    #: This stage's own values over the shared ``keel:settings`` / ``keel:api`` / ``keel:cognito``.
    settings: dict[str, str] = {}
    api: dict[str, Any] = {}
    cognito: dict[str, Any] = {}

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        return _log_retention(days)


class Deployment(_Strict):
    """Everything one stage of a synth was asked to build, checked."""

    stage: str
    settings: dict[str, str] = {}
    api: ApiSettings = ApiSettings()
    cognito: CognitoSettings = CognitoSettings()
    run: StageSettings = StageSettings()

    @property
    def retains_data(self) -> bool:
        return self.run.removal == "retain"

    @classmethod
    def of(cls, app: cdk.App, topology: Topology) -> Deployment:
        """The one stage ``app``'s context asks for (``keel:stage``), as ``every`` describes it."""
        stages = cls.every(app, topology)
        if len(stages) != 1:
            raise DeploymentError(f"{STAGE} renders {len(stages)} stages here; name one of them")
        return stages[0]

    @classmethod
    def every(cls, app: cdk.App, topology: Topology) -> list[Deployment]:
        """Each stage ``app``'s context renders (``cdk.json``, then ``-c``, which wins): ``keel:stage``
        names one of ``keel:stages`` or ``*`` for all of them, in their order."""
        declared = _json(app, STAGES)
        for name in declared:
            if not is_stage_name(name) or name == LOCAL_STAGE:
                raise DeploymentError(
                    f"{STAGES}: {name!r} cannot name a stage: a lowercase letter, then up to 11 lowercase letters "
                    f"or digits (it is a word of every physical name), and not {LOCAL_STAGE!r} (keel dev's)"
                )
        chosen = str(app.node.try_get_context(STAGE) or EVERY_STAGE)
        if chosen != EVERY_STAGE and chosen not in declared:
            known = ", ".join(declared) or "none"
            raise DeploymentError(f"{STAGE}={chosen!r} is not a stage of {STAGES} ({known}); or {EVERY_STAGE!r}")
        names = list(declared) if chosen == EVERY_STAGE else [chosen]
        if not names:
            raise DeploymentError(f"{STAGES} declares no stage: nothing to render")
        shared = {SETTINGS: _json(app, SETTINGS), API: _json(app, API), COGNITO: _json(app, COGNITO)}
        return [cls._stage(name, declared[name], shared, topology) for name in names]

    @classmethod
    def _stage(cls, name: str, raw: Any, shared: dict[str, dict[str, Any]], topology: Topology) -> Deployment:
        where = f"{STAGES}.{name}"
        if not isinstance(raw, dict):
            raise DeploymentError(f"{where} must be a JSON object, got {raw!r}")
        try:
            run = StageSettings.model_validate(raw)
            settings = {str(k): str(v) for k, v in (shared[SETTINGS] | run.settings).items()}
            api = ApiSettings.model_validate(shared[API] | run.api)
            cognito = CognitoSettings.model_validate(shared[COGNITO] | run.cognito)
        except ValidationError as exc:
            raise DeploymentError(_explain(exc, where)) from None
        prefixes = tuple(ctx.setting_prefix for ctx in topology.contexts)
        unknown = sorted(name for name in settings if not name.startswith(prefixes))
        if unknown:
            raise DeploymentError(f"{SETTINGS} names no context's setting: {', '.join(unknown)}")
        return cls(stage=name, settings=settings, api=api, cognito=cognito, run=run)


def _log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"{days} days is not a CloudWatch Logs retention; one of {LOG_RETENTION_DAYS}")
    return days


def _json(app: cdk.App, key: str) -> dict[str, Any]:
    raw = app.node.try_get_context(key) or {}
    if isinstance(raw, str):  # `-c key='{...}'` arrives as text
        try:
            raw = json.loads(raw)
        except ValueError:
            raise DeploymentError(f"{key} must be a JSON object, got {raw!r}") from None
    if not isinstance(raw, dict):
        raise DeploymentError(f"{key} must be a JSON object, got {raw!r}")
    return raw


def _explain(exc: ValidationError, stage: str) -> str:
    model = {ApiSettings.__name__: API, CognitoSettings.__name__: COGNITO}.get(exc.title, stage)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return f"{model} ({stage}): {problems}" if model != stage else f"{stage}: {problems}"
