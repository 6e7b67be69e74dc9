"""Preferences and unsubscribe links: security cannot be switched off, a link switches off exactly one
category, and a forged or expired link opens nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.notifications.domain.errors import InvalidUnsubscribeLink, LockedCategory
from functions.notifications.domain.messages import Category, Channel, Message
from functions.notifications.domain.preferences import Preferences
from functions.notifications.domain.unsubscribe import LINK_LIFETIME, UnsubscribeLinks, Unsubscription
from tests.unit.notifications.conftest import KEY, NOW, TENANT

LINKS = UnsubscribeLinks(KEY, "https://api.example.com/u?token={token}")
WHAT = Unsubscription(TENANT, "usr_1", Category.BILLING)


def test_switching_security_off_is_refused_naming_it() -> None:
    with pytest.raises(LockedCategory) as refused:
        Preferences.default().changed(
            {Category.SECURITY: {Channel.PUSH: False}, Category.PRODUCT: {Channel.EMAIL: False}}
        )
    assert refused.value.details == {"locked": ["security"]}


def test_transactional_and_security_messages_go_whatever_the_preferences() -> None:
    off = Preferences.default().changed(
        {c: dict.fromkeys(Channel, False) for c in (Category.PRODUCT, Category.BILLING)}
    )
    assert off.allows(Message("welcome", Category.PRODUCT, transactional=True), Channel.EMAIL)
    assert off.allows(Message("tenant_suspended", Category.SECURITY), Channel.EMAIL)
    assert not off.allows(Message("trial_ending", Category.BILLING), Channel.EMAIL)


def test_an_unsubscribe_link_switches_off_its_category_on_email_only() -> None:
    what = LINKS.read(LINKS.token(WHAT, at=NOW), at=NOW)
    after = Preferences.default().without(what.category, Channel.EMAIL)
    assert after.as_stored() == {
        "product": {"email": True, "in_app": True, "push": True},
        "billing": {"email": False, "in_app": True, "push": True},
        "security": {"email": True, "in_app": True, "push": True},
    }


def test_an_expired_link_is_refused() -> None:
    token = LINKS.token(WHAT, at=NOW)
    assert LINKS.read(token, at=NOW + LINK_LIFETIME - timedelta(seconds=1)) == WHAT
    with pytest.raises(InvalidUnsubscribeLink, match="expired"):
        LINKS.read(token, at=NOW + LINK_LIFETIME + timedelta(seconds=1))


def test_a_link_signed_with_another_key_is_refused() -> None:
    forged = UnsubscribeLinks(b"x" * 32, "{token}").token(WHAT, at=NOW)
    with pytest.raises(InvalidUnsubscribeLink):
        LINKS.read(forged, at=NOW)


@settings(max_examples=40, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from("AZaz09-_."))
def test_any_altered_character_makes_a_link_refused(position: int, replacement: str) -> None:
    token = LINKS.token(WHAT, at=NOW)
    index = position % len(token)
    altered = token[:index] + replacement + token[index + 1 :]
    if altered != token:
        with pytest.raises(InvalidUnsubscribeLink):
            LINKS.read(altered, at=NOW)
