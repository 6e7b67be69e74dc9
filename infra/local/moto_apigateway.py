"""API Gateway's ``FlushStageAuthorizersCache`` on moto, and the seam through which the local runtime
says what a flush does.

Suspending a tenant flushes the stage's cache of authorizer answers (identity's
``adapters/authorizer_cache.py``), so that it takes effect at once. moto 5.2.5 does not implement
that call (``DELETE /restapis/<id>/stages/<stage>/cache/authorizers``); ``install()`` adds it: it
answers 202 for a stage that exists (404 otherwise, as API Gateway) and calls each listener with the
API's id and the stage. The local runtime's gateway is no moto API, so the runtime registers its
``AuthorizerGate.flush`` as a listener (``on_flush``) for the API it provisioned
(``create_local_api``): identity's call then empties the local gateway's cache exactly as it empties
API Gateway's in the cloud.

Like ``moto_patches``, this adds to moto in this process only, and only on ``PINNED`` moto.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import moto
from moto.apigateway import urls
from moto.apigateway.responses import APIGatewayResponse

from infra.local.moto_patches import PINNED, MotoVersionMismatch

#: The call's path, as moto's URL map spells its patterns.
FLUSH_PATH = "{0}/restapis/(?P<function_id>[^/]+)/stages/(?P<stage_name>[^/]+)/cache/authorizers/?$"

Listener = Callable[[str, str], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def install() -> None:
    """Teach moto ``FlushStageAuthorizersCache`` (idempotent). Call it before the first API Gateway
    request (moto builds its routes from the URL map then)."""
    if moto.__version__ != PINNED:
        raise MotoVersionMismatch(
            f"infra/local/moto_apigateway.py adds FlushStageAuthorizersCache to moto {PINNED}, but moto "
            f"{moto.__version__} is installed: check whether it implements the call now, then update PINNED."
        )
    with _lock:
        urls.url_paths.setdefault(FLUSH_PATH, APIGatewayResponse.dispatch)
        if getattr(APIGatewayResponse, "flush_stage_authorizers_cache", None) is not _flush:
            APIGatewayResponse.flush_stage_authorizers_cache = _flush  # type: ignore[attr-defined]


def on_flush(listener: Listener) -> Callable[[], None]:
    """Call ``listener(api_id, stage)`` on every flush; returns what unregisters it."""
    with _lock:
        _listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


def _flush(self: APIGatewayResponse) -> tuple[int, dict[str, Any], str]:
    # /restapis/<api id>/stages/<stage>/cache/authorizers
    parts = self.path.split("/")
    api_id, stage = parts[2], parts[4]
    self.backend.get_stage(api_id, stage)  # 404 for an unknown API or stage, as API Gateway answers
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(api_id, stage)
    return 202, {"status": 202}, ""


def create_local_api(apigateway: Any, *, name: str, stage: str) -> str:
    """A REST API with the stage ``stage`` on moto (API Gateway deploys a stage only with a method on
    it), standing for the local gateway where API calls name it; returns its id."""
    api_id = str(apigateway.create_rest_api(name=name)["id"])
    root = next(r["id"] for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=stage)
    return api_id
