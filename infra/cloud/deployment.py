"""What one deployment is given: CDK context under ``keel:*``, from ``cdk.json`` or ``-c`` on the command.

``keel:stage``     the API stage's name (``dev``).
``keel:settings``  values of context settings (``KEEL_<CONTEXT>_<NAME>``), each for the context it names.
``keel:api``       ``cors_origins`` (browser origins allowed to call the API) and
                   ``access_log_retention_days`` (how long the stage's access log is kept).
``keel:cognito``   the user pool's email sender (SES), OAuth callback and logout URLs, MFA policy.

Every value is checked before anything is built: a typo stops the synth with the key it is about.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import aws_cdk as cdk
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra.model import Topology

STAGE, SETTINGS, API, COGNITO = "keel:stage", "keel:settings", "keel:api", "keel:cognito"
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
#: An API Gateway stage name.
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
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
    """``keel:api``: what browsers may do, and how long the access log is kept."""

    #: Origins (``https://app.example.com``) whose pages may call the API; none by default.
    cors_origins: tuple[str, ...] = ()
    access_log_retention_days: int = 30

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
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"{days} days is not a CloudWatch Logs retention; one of {LOG_RETENTION_DAYS}")
        return days


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


class Deployment(_Strict):
    """Everything one ``cdk synth`` / ``make deploy`` was asked to build, checked."""

    stage: str = "dev"
    settings: dict[str, str] = {}
    api: ApiSettings = ApiSettings()
    cognito: CognitoSettings = CognitoSettings()

    @classmethod
    def of(cls, app: cdk.App, topology: Topology) -> Deployment:
        """The deployment ``app``'s context describes (``cdk.json``, then ``-c``, which wins)."""
        stage = str(app.node.try_get_context(STAGE) or "dev")
        if not _STAGE_NAME.fullmatch(stage):
            raise DeploymentError(f"{STAGE}={stage!r}: letters, digits, '-' and '_' only (an API Gateway stage)")
        settings = {str(k): str(v) for k, v in _json(app, SETTINGS).items()}
        prefixes = tuple(ctx.setting_prefix for ctx in topology.contexts)
        unknown = sorted(name for name in settings if not name.startswith(prefixes))
        if unknown:
            raise DeploymentError(f"{SETTINGS} names no context's setting: {', '.join(unknown)}")
        try:
            api = ApiSettings.model_validate(_json(app, API))
            cognito = CognitoSettings.model_validate(_json(app, COGNITO))
        except ValidationError as exc:
            raise DeploymentError(_explain(exc)) from None
        return cls(stage=stage, settings=settings, api=api, cognito=cognito)


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


def _explain(exc: ValidationError) -> str:
    model = {ApiSettings.__name__: API, CognitoSettings.__name__: COGNITO}.get(exc.title, exc.title)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return f"{model}: {problems}"
