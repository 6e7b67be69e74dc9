"""The FCM HTTP v1 adapter against a local server answering as FCM and Google's token endpoint do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.notifications.adapters.fcm import SCOPE, FcmPusher, ServiceAccountToken
from functions.notifications.domain.ports import Throttled, TokenGone, Undeliverable
from infra.local.push import PushEmulator

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


class _Fcm(BaseHTTPRequestHandler):
    emulator = PushEmulator()
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
        if self.path == "/token":
            form = parse_qs(body.decode())
            claims = jwt.decode(
                form["assertion"][0], KEY.public_key(), algorithms=["RS256"], audience=f"{self.base}/token"
            )
            assert claims["scope"] == SCOPE
            return self._answer(200, {"access_token": f"ya29.{claims['iss']}", "expires_in": 3600})
        token = json.loads(body)["message"]["token"]
        if token.startswith("busy"):
            return self._answer(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "7"})
        if token.startswith("bad"):
            return self._answer(
                400,
                {"error": {"code": 400, "status": "INVALID_ARGUMENT", "details": [{"errorCode": "INVALID_ARGUMENT"}]}},
            )
        status, answer = self.emulator.send("keel-test", body)
        self._answer(status, answer)

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {
            "Content-Type": "application/json",
            "Content-Length": str(len(raw)),
            **(headers or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_: Any) -> None:
        pass

    base = ""


@pytest.fixture(scope="module")
def fcm() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fcm)
    _Fcm.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _Fcm.base
    server.shutdown()


def test_a_push_is_sent_with_the_service_accounts_access_token(fcm: str) -> None:
    account = {
        "client_email": "keel@project.iam.gserviceaccount.com",
        "private_key": PEM.decode(),
        "token_uri": f"{fcm}/token",
    }
    pusher = FcmPusher(endpoint=fcm, project_id="keel-test", access_token=ServiceAccountToken(json.dumps(account)))
    assert pusher.push("good-1", title="Hi", body="there", link="https://app/x") == "projects/keel-test/messages/1"
    assert pusher.push("good-2", title="Hi", body="again", link=None).startswith("projects/keel-test/messages/")
    sends = [s for s in _Fcm.seen if s["path"].endswith("messages:send")]
    assert {s["authorization"] for s in sends} == {"Bearer ya29.keel@project.iam.gserviceaccount.com"}
    assert len([s for s in _Fcm.seen if s["path"] == "/token"]) == 1  # the token is kept until near its expiry
    assert json.loads(sends[0]["body"])["message"]["data"] == {"link": "https://app/x"}


@pytest.mark.parametrize(
    ("token", "error"),
    [("stale-1", TokenGone), ("busy-1", Throttled), ("bad-1", Undeliverable)],
    ids=["an unregistered token", "throttled", "refused"],
)
def test_fcms_refusals_are_told_apart(fcm: str, token: str, error: type[Exception]) -> None:
    pusher = FcmPusher(endpoint=fcm, project_id="keel-test", access_token=lambda: None)
    with pytest.raises(error) as raised:
        pusher.push(token, title="t", body="b", link=None)
    if isinstance(raised.value, Throttled):
        assert raised.value.retry_after == 7.0
