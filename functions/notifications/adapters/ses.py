"""``Mailer`` on Amazon SES v2: one MIME message (text and HTML alternatives) per recipient, from the
configured sender, through the configured configuration set (bounces and complaints are its events).

A non-transactional email carries ``List-Unsubscribe`` with its signed link and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), so a mail client's unsubscribe
button switches that category off with one POST. SES's ``TooManyRequestsException`` (and its
sending-quota errors) are ``Throttled``; a rejected message or an address SES refuses is
``Undeliverable``.

Each email is tagged (SES ``EmailTags``) with its tenant and event: SES's bounce and complaint events
carry the tags back, and with SES's message id they find the delivery (``ses_events.py``).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.notifications.domain.messages import Rendered
from functions.notifications.domain.ports import Throttled, Undeliverable
from keel import aws
from keel.errors import TooManyRequests

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

THROTTLED = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"})
REFUSED = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException"})
REFUSED_PARAMETERS = "BadRequestException"
#: The SES message tags that name an email's tenant and event (ids: letters, digits and ``_``, as SES allows).
TENANT_TAG, EVENT_TAG = "keel-tenant", "keel-event"
#: How long to wait after SES throttles: it gives no Retry-After, so the queue brings the event back then.
SES_RETRY_SECONDS = 2.0


def mime(sender: str, to: str, rendered: Rendered, *, unsubscribe_url: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    message["X-Keel-Template"] = rendered.version
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


class SesMailer:
    def __init__(self, *, sender: str, configuration_set: str | None, client: SESV2Client | None = None) -> None:
        self._sender = sender
        self._configuration_set = configuration_set
        self._client = client

    def send(self, to: str, rendered: Rendered, *, unsubscribe_url: str | None, tenant_id: str, event_id: str) -> str:
        raw = mime(self._sender, to, rendered, unsubscribe_url=unsubscribe_url).as_bytes()
        params: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Content": {"Raw": {"Data": raw}},  # its To header is the destination (SES reads it)
            "EmailTags": [{"Name": TENANT_TAG, "Value": tenant_id}, {"Name": EVENT_TAG, "Value": event_id}],
        }
        if self._configuration_set:
            params["ConfigurationSetName"] = self._configuration_set
        try:
            response = (self._client or aws.client("sesv2")).send_email(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in THROTTLED:
                raise Throttled("ses", SES_RETRY_SECONDS) from exc
            if code in REFUSED or code == REFUSED_PARAMETERS:
                raise Undeliverable(f"SES {code}: {exc.response.get('Error', {}).get('Message', '')}") from exc
            raise
        return str(response["MessageId"])


#: SES's answer for an address that is not on its account-level suppression list.
NOT_SUPPRESSED = "NotFoundException"


class SesSuppressions:
    """``ProviderSuppressions`` on SES's account-level suppression list (``DeleteSuppressedDestination``)."""

    def __init__(self, client: SESV2Client | None = None) -> None:
        self._client = client

    def release(self, address: str) -> None:
        try:
            (self._client or aws.client("sesv2")).delete_suppressed_destination(EmailAddress=address)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == NOT_SUPPRESSED:
                return
            if code in THROTTLED:  # SES's account-level calls are limited to about one a second
                raise TooManyRequests("too many suppressions lifted at once; retry in a moment") from exc
            raise
