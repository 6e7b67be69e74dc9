"""Builds the notifications context's services from settings, once per container (nothing at import).

Each builder imports what it builds, so a handler's cold start pays only for what its first request
uses (the API never loads Jinja2, SES or FCM); each is cached per settings object, so when the kernel
forgets its settings (``keel.reset_caches()``: tests, the local runtime) the services are rebuilt.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import SecretStr

    from functions.notifications.adapters.store import MemberTable
    from functions.notifications.domain.center import NotificationCenter
    from functions.notifications.domain.feedback import FeedbackRecorder
    from functions.notifications.domain.notifier import Notifier
    from functions.notifications.domain.summary import WeeklySummary
    from functions.notifications.domain.suppressions import SuppressionList
    from functions.notifications.domain.unsubscribe import UnsubscribeLinks
    from functions.notifications.settings import NotificationsSettings
    from keel.clock import Clock

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module


def config() -> NotificationsSettings:
    from functions.notifications.settings import NotificationsSettings

    return settings.load(NotificationsSettings)


def table_name() -> str:
    return config().table


def _secret(arn: str, value: SecretStr) -> str:
    if arn:
        from keel import aws

        return str(aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]).strip()
    return value.get_secret_value()


@cache
def _links(cfg: NotificationsSettings) -> UnsubscribeLinks:
    from functions.notifications.domain.unsubscribe import UnsubscribeLinks

    return UnsubscribeLinks(_secret(cfg.unsubscribe_key_arn, cfg.unsubscribe_key).encode(), cfg.unsubscribe_url)


@cache
def _members(cfg: NotificationsSettings) -> MemberTable:
    from functions.notifications.adapters.store import MemberTable

    return MemberTable(cfg.table)


def members() -> MemberTable:
    """The read model of tenants and members (its event effects write through the consumer's transaction)."""
    return _members(config())


@cache
def _center(cfg: NotificationsSettings) -> NotificationCenter:
    from functions.notifications.adapters.store import DeliveryTable, DeviceTable, InboxTable
    from functions.notifications.domain.center import NotificationCenter

    return NotificationCenter(
        inbox=InboxTable(cfg.table),
        members=_members(cfg),
        devices=DeviceTable(cfg.table),
        log=DeliveryTable(cfg.table),
        links=_links(cfg),
    )


def center() -> NotificationCenter:
    """What the API does: inbox, preferences, devices, unsubscribing, the delivery log."""
    return _center(config())


def _push_token(cfg: NotificationsSettings) -> Callable[[], str | None]:
    raw = _secret(cfg.fcm_service_account_arn, cfg.fcm_service_account)
    try:
        account = json.loads(raw)
    except ValueError:
        account = None
    if not isinstance(account, dict) or "client_email" not in account:
        return lambda: None  # keel dev's FCM emulator takes no credential
    from functions.notifications.adapters.fcm import ServiceAccountToken

    return ServiceAccountToken(raw)


def build_notifier(cfg: NotificationsSettings, clock: Clock | None = None) -> Notifier:
    """The notifier on ``cfg``'s resources (tests give their own clock)."""
    from functions.notifications.adapters.fcm import FcmPusher
    from functions.notifications.adapters.pacer import DynamoPacer
    from functions.notifications.adapters.ses import SesMailer
    from functions.notifications.adapters.store import DeliveryTable, DeviceTable, InboxTable
    from functions.notifications.adapters.templates import JinjaTemplates
    from functions.notifications.domain.delivery import EMAIL_PROVIDER, PUSH_PROVIDER, Postman
    from functions.notifications.domain.notifier import Notifier
    from keel.contracts.identity import accept_url

    postman = Postman(
        log=DeliveryTable(cfg.table),
        members=_members(cfg),
        renderer=JinjaTemplates(),
        mailer=SesMailer(sender=cfg.sender, configuration_set=cfg.configuration_set or None),
        pusher=FcmPusher(endpoint=cfg.fcm_endpoint, project_id=cfg.fcm_project_id, access_token=_push_token(cfg)),
        devices=DeviceTable(cfg.table),
        pacer=DynamoPacer(cfg.table, {EMAIL_PROVIDER: cfg.email_rate, PUSH_PROVIDER: cfg.push_rate}),
        links=_links(cfg),
        clock=clock,
    )
    invitation_key = _secret(cfg.invitation_key_arn, cfg.invitation_key).encode()

    def accept_link(template: str, tenant_id: str, invitation_id: str) -> str:
        return accept_url(template, invitation_key, tenant_id=tenant_id, invitation_id=invitation_id)

    return Notifier(postman, _members(cfg), InboxTable(cfg.table), accept_link)


@cache
def _notifier(cfg: NotificationsSettings) -> Notifier:
    return build_notifier(cfg)


def notifier() -> Notifier:
    """What the consumers do: events into messages, delivered."""
    return _notifier(config())


@cache
def _feedback(cfg: NotificationsSettings) -> FeedbackRecorder:
    from functions.notifications.adapters.store import DeliveryTable
    from functions.notifications.domain.feedback import FeedbackRecorder

    return FeedbackRecorder(DeliveryTable(cfg.table))


def feedback() -> FeedbackRecorder:
    """What SES's bounces and complaints do: fail their delivery, suppress the address."""
    return _feedback(config())


@cache
def _suppressions(cfg: NotificationsSettings) -> SuppressionList:
    from functions.notifications.adapters.ses import SesSuppressions
    from functions.notifications.adapters.store import SuppressionTable
    from functions.notifications.domain.suppressions import SuppressionList

    return SuppressionList(SuppressionTable(cfg.table), SesSuppressions())


def suppressions() -> SuppressionList:
    """What the tenant's admins do with its suppressed addresses: list them, lift a bounce."""
    return _suppressions(config())


@cache
def _summary(cfg: NotificationsSettings) -> WeeklySummary:
    from functions.notifications.adapters.queues import SummaryQueue
    from functions.notifications.adapters.store import SummaryDirectory
    from functions.notifications.domain.summary import WeeklySummary

    return WeeklySummary(SummaryDirectory(cfg.table), SummaryQueue(cfg.summaries_queue))


def weekly_summary() -> WeeklySummary:
    return _summary(config())
