"""``Pusher`` on Firebase Cloud Messaging's HTTP v1 API (``POST /v1/projects/<id>/messages:send``).

FCM answers a token that is no longer registered with 404 and ``errorCode: UNREGISTERED``: that is
``TokenGone`` (the device is removed, the message never retried); 429 (and 503) with ``Retry-After``
is ``Throttled``; any other 4xx is ``Undeliverable``. In the cloud the request carries an OAuth 2
access token minted from the service account (``ServiceAccountToken``); ``keel dev`` serves an
emulation of this endpoint (``/_local/push``) and needs none.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from functions.notifications.domain.ports import Throttled, TokenGone, Undeliverable

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
DEFAULT_RETRY_SECONDS = 5.0
TIMEOUT_SECONDS = 10


def _retry_after(headers: Any) -> float:
    value = (headers.get("Retry-After") if headers else None) or ""
    return float(value) if value.strip().isdigit() else DEFAULT_RETRY_SECONDS


def _error_code(body: bytes) -> str:
    try:
        error = json.loads(body).get("error", {})
    except ValueError:
        return ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status") or "")


class FcmPusher:
    def __init__(self, *, endpoint: str, project_id: str, access_token: Callable[[], str | None]) -> None:
        self._url = f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._access_token = access_token

    def push(self, token: str, *, title: str, body: str, link: str | None) -> str:
        message: dict[str, Any] = {"token": token, "notification": {"title": title, "body": body}}
        if link:
            message["data"] = {"link": link}
        headers = {"Content-Type": "application/json; charset=utf-8"}
        bearer = self._access_token()
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(  # noqa: S310 - the configured https FCM endpoint (http only locally)
            self._url, data=json.dumps({"message": message}).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return str(json.loads(response.read()).get("name", ""))
        except urllib.error.HTTPError as error:
            body_bytes = error.read()
            code = _error_code(body_bytes)
            if error.code == 404 or code == "UNREGISTERED":
                raise TokenGone(f"FCM {error.code} {code or 'NOT_FOUND'}") from None
            if error.code in (429, 503):
                raise Throttled("fcm", _retry_after(error.headers)) from None
            if 400 <= error.code < 500:
                raise Undeliverable(f"FCM {error.code} {code}") from None
            raise


class ServiceAccountToken:
    """OAuth 2 access tokens for FCM from a Google service account's JSON key (the JWT bearer grant),
    kept until a minute before they expire."""

    def __init__(self, service_account_json: str) -> None:
        self._account = json.loads(service_account_json)
        self._token: str | None = None
        self._expires = 0.0

    def __call__(self) -> str:
        if self._token is None or time.time() > self._expires - 60:
            self._token, lifetime = self._mint()
            self._expires = time.time() + lifetime
        return self._token

    def _mint(self) -> tuple[str, float]:
        import jwt  # noqa: PLC0415 - only the cloud's push sender signs

        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": self._account["client_email"],
                "scope": SCOPE,
                "aud": self._account["token_uri"],
                "iat": now,
                "exp": now + 3600,
            },
            self._account["private_key"],
            algorithm="RS256",
        )
        data = f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}".encode()
        request = urllib.request.Request(  # noqa: S310 - Google's token endpoint from the key file
            self._account["token_uri"], data=data, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = json.loads(response.read())
        return str(answer["access_token"]), float(answer.get("expires_in", 3600))
