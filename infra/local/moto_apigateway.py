"""API Gateway's ``FlushStageAuthorizersCache`` on moto, and the seam through which the local runtime
says what a flush of its own API does.

Suspending a tenant flushes the stage's cache of authorizer answers (identity's
``adapters/authorizer_cache.py``), so that it takes effect at once. moto 5.2.5 does not implement
that call (``DELETE /restapis/<id>/stages/<stage>/cache/authorizers``); ``install()`` adds it. The
local gateway is no API on moto, so the runtime registers, for its own API id and stage
(``shapes.API_ID``, the stage of ``KEEL_STAGE``), its ``AuthorizerGate.flush`` as what that call
does (``on_flush``): identity's call then empties the local gateway's cache exactly as it empties
API Gateway's in the cloud. For any other API the call answers as API Gateway does: 202 for a stage
of an API moto holds, 404 otherwise.

Like ``moto_patches``, this changes moto in this process only, and only on ``PINNED`` moto.
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

_handlers: dict[tuple[str, str], Callable[[], None]] = {}
_lock = threading.Lock()


def install() -> None:
    """Teach moto ``FlushStageAuthorizersCache`` (idempotent). Call it before moto serves its first
    API Gateway request (moto builds its routes from the URL map then)."""
    if moto.__version__ != PINNED:
        raise MotoVersionMismatch(
            f"infra/local/moto_apigateway.py adds FlushStageAuthorizersCache to moto {PINNED}, but moto "
            f"{moto.__version__} is installed: check whether it implements the call now, then update PINNED."
        )
    with _lock:
        urls.url_paths.setdefault(FLUSH_PATH, APIGatewayResponse.dispatch)
        APIGatewayResponse.flush_stage_authorizers_cache = _flush  # type: ignore[attr-defined]


def on_flush(api_id: str, stage: str, flush: Callable[[], None]) -> Callable[[], None]:
    """Make ``flush`` what ``FlushStageAuthorizersCache`` does on the stage ``stage`` of the API
    ``api_id``; returns what takes it back."""
    with _lock:
        _handlers[(api_id, stage)] = flush

    def remove() -> None:
        with _lock:
            if _handlers.get((api_id, stage)) is flush:
                del _handlers[(api_id, stage)]

    return remove


def _flush(self: APIGatewayResponse) -> tuple[int, dict[str, Any], str]:
    # /restapis/<api id>/stages/<stage>/cache/authorizers
    parts = self.path.split("/")
    api_id, stage = parts[2], parts[4]
    with _lock:
        handler = _handlers.get((api_id, stage))
    if handler is not None:
        handler()
    else:
        self.backend.get_stage(api_id, stage)  # 404 for an unknown API or stage, as API Gateway answers
    return 202, {"status": 202}, ""
