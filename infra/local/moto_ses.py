"""SES v2's ``DeleteSuppressedDestination`` on moto, which moto 5.2.5 does not implement.

Lifting a suppression in the notifications context first takes the address off SES's account-level
suppression list (``functions/notifications/adapters/ses.py``). moto keeps no such list: SES on moto
never suppresses an address on its own, so every address is "not on it" and the call answers what SES
answers for one that is not, ``NotFoundException``, which the adapter takes as nothing to release.

Like ``moto_patches``, this changes moto in this process only, and only on ``PINNED`` moto.
"""

from __future__ import annotations

from urllib.parse import unquote

import moto
from moto.ses.exceptions import NotFoundException
from moto.sesv2 import urls
from moto.sesv2.responses import SESV2Response

from infra.local.moto_patches import PINNED, MotoVersionMismatch

#: The call's path, as moto's URL map spells its patterns (its server routes nothing it does not list).
SUPPRESSED_PATH = "{0}/v2/email/suppression/addresses/(?P<EmailAddress>[^/]+)$"


def install() -> None:
    """Teach moto ``DeleteSuppressedDestination`` (idempotent). Call it before moto serves its first SES
    request (moto builds its routes from the URL map then)."""
    if moto.__version__ != PINNED:
        raise MotoVersionMismatch(
            f"infra/local/moto_ses.py adds DeleteSuppressedDestination to moto {PINNED}, but moto "
            f"{moto.__version__} is installed: check whether it implements the call now, then update PINNED."
        )
    urls.url_paths.setdefault(SUPPRESSED_PATH, SESV2Response.dispatch)
    SESV2Response.delete_suppressed_destination = _not_on_the_list  # type: ignore[attr-defined]


def _not_on_the_list(self: SESV2Response) -> str:
    # /v2/email/suppression/addresses/<address>
    address = unquote(self.path.rstrip("/").rsplit("/", 1)[-1])
    raise NotFoundException(f"{address} is not on the account's suppression list")
