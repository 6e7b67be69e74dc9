"""An emulator per test (it starts in milliseconds), with a webhook receiver and an SDK client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from infra.local.stripe import StripeEmulator
from tests.integration.stripe.support import Receiver, sdk, start_emulator


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def emulator(receiver: Receiver) -> Iterator[StripeEmulator]:
    emulator = start_emulator(receiver)
    yield emulator
    emulator.stop()


@pytest.fixture
def client(emulator: StripeEmulator) -> stripe.StripeClient:
    return sdk(emulator)
