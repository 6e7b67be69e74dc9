"""A member's notification preferences: for each category, which channels may carry it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.notifications.domain.errors import LockedCategory
from functions.notifications.domain.messages import LOCKED, Category, Channel, Message

Choices = dict[Category, dict[Channel, bool]]


def everything_on() -> Choices:
    return {category: dict.fromkeys(Channel, True) for category in Category}


@dataclass(frozen=True)
class Preferences:
    """Every category on every channel, unless the member switched it off (everything starts on)."""

    choices: Mapping[Category, Mapping[Channel, bool]]

    @classmethod
    def default(cls) -> Preferences:
        return cls(everything_on())

    @classmethod
    def stored(cls, raw: Mapping[str, Mapping[str, bool]] | None) -> Preferences:
        """From what the store holds (names as strings); unknown names are dropped, missing ones are on."""
        choices = everything_on()
        for category, channels in (raw or {}).items():
            if category in Category.__members__.values():
                for channel, on in channels.items():
                    if channel in Channel.__members__.values():
                        choices[Category(category)][Channel(channel)] = bool(on)
        return cls(choices)

    def changed(self, wanted: Mapping[Category, Mapping[Channel, bool]]) -> Preferences:
        """These preferences with ``wanted`` applied; ``LockedCategory`` (422) if it switches off a
        category nobody may switch off."""
        refused = sorted(c.value for c, channels in wanted.items() if c in LOCKED and not all(channels.values()))
        if refused:
            raise LockedCategory(
                f"{', '.join(refused)} notifications cannot be switched off", details={"locked": refused}
            )
        choices = {c: dict(channels) for c, channels in self.choices.items()}
        for category, channels in wanted.items():
            choices[category].update(channels)
        return Preferences(choices)

    def without(self, category: Category, channel: Channel) -> Preferences:
        """Switched off for one category on one channel (an unsubscribe link); locked ones stay on."""
        return self if category in LOCKED else self.changed({category: {channel: False}})

    def allows(self, message: Message, channel: Channel) -> bool:
        return not message.can_be_switched_off or bool(self.choices[message.category][channel])

    def as_stored(self) -> dict[str, dict[str, bool]]:
        return {c.value: {ch.value: on for ch, on in channels.items()} for c, channels in self.choices.items()}
