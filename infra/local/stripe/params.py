"""Typed reads of request parameters that fail the way Stripe fails (param names like ``items[0][price]``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from infra.local.stripe.errors import invalid, missing, unknown

_INT = re.compile(r"^-?\d{1,15}$")
MAX_STRING = 5000
METADATA_KEYS = 50
METADATA_KEY_LENGTH = 40
METADATA_VALUE_LENGTH = 500


class Params:
    """One level of request parameters; nested levels are ``Params`` too."""

    def __init__(self, raw: dict[str, Any], prefix: str = "") -> None:
        self.raw = raw
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def allow(self, keys: Iterable[str]) -> Params:
        """Refuse any parameter not in ``keys`` (``expand`` is always allowed)."""
        allowed = {*keys, "expand"}
        for key in self.raw:
            if key not in allowed:
                raise unknown(self.name(key))
        return self

    def _scalar(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {self.name(key)} must be a string, not a hash", param=self.name(key))
        return value

    def text(self, key: str, *, required: bool = False, max_length: int = MAX_STRING) -> str | None:
        value = self._scalar(key)
        if value is None or value == "":
            if required:
                raise missing(self.name(key))
            return None
        if len(value) > max_length:
            raise invalid(
                f"Invalid string: {self.name(key)} must be at most {max_length} characters",
                param=self.name(key),
                code="parameter_invalid_string",
            )
        return value

    def req(self, key: str, *, max_length: int = MAX_STRING) -> str:
        value = self.text(key, required=True, max_length=max_length)
        assert value is not None
        return value

    def integer(
        self, key: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._scalar(key)
        if value is None or value == "":
            if required:
                raise missing(self.name(key))
            return None
        if not _INT.match(value):
            raise invalid(f"Invalid integer: {value}", param=self.name(key), code="parameter_invalid_integer")
        number = int(value)
        if minimum is not None and number < minimum:
            raise invalid(
                f"Invalid {self.name(key)}: must be at least {minimum}", param=self.name(key), code="parameter_invalid"
            )
        if maximum is not None and number > maximum:
            raise invalid(
                f"Invalid {self.name(key)}: must be at most {maximum}", param=self.name(key), code="parameter_invalid"
            )
        return number

    def flag(self, key: str) -> bool | None:
        value = self._scalar(key)
        if value is None or value == "":
            return None
        if value not in ("true", "false"):
            raise invalid(f"Invalid boolean: {value}", param=self.name(key), code="parameter_invalid_boolean")
        return value == "true"

    def choice(self, key: str, options: Collection[str], *, required: bool = False) -> str | None:
        value = self.text(key, required=required)
        if value is not None and value not in options:
            choices = ", ".join(f"`{option}`" for option in sorted(options))
            raise invalid(
                f"Invalid {self.name(key)}: must be one of {choices}", param=self.name(key), code="parameter_invalid"
            )
        return value

    def timestamp_or_now(self, key: str) -> int | str | None:
        """A Unix timestamp, or the word ``now`` (``trial_end``, ``billing_cycle_anchor``...)."""
        if self._scalar(key) == "now":
            return "now"
        return self.integer(key, minimum=0)

    def nested(self, key: str) -> Params | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {self.name(key)}", param=self.name(key), code="parameter_invalid")
        return Params(value, self.name(key))

    def hashes(self, key: str) -> list[Params]:
        """A list of hashes, sent as ``key[0][a]=...``; an empty string is an empty list."""
        return [
            Params(item, f"{self.name(key)}[{index}]") if isinstance(item, dict) else self._not_a_hash(key, index)
            for index, item in enumerate(self._items(key))
        ]

    def strings(self, key: str) -> list[str]:
        """A list of strings, sent as ``key[0]=a`` or ``key[]=a``."""
        out: list[str] = []
        for index, item in enumerate(self._items(key)):
            if not isinstance(item, str):
                raise invalid(f"Invalid array: {self.name(key)}[{index}]", param=f"{self.name(key)}[{index}]")
            out.append(item)
        return out

    def _items(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        if not all(k.isdigit() for k in value):
            raise invalid(f"Invalid array: {self.name(key)}", param=self.name(key), code="parameter_invalid")
        return [value[k] for k in sorted(value, key=int)]

    def _not_a_hash(self, key: str, index: int) -> Params:
        raise invalid(f"Invalid hash: {self.name(key)}[{index}]", param=f"{self.name(key)}[{index}]")

    def metadata(self, key: str = "metadata") -> dict[str, str] | None:
        """Stripe's metadata rules; ``None`` when absent, ``{}`` when sent empty (which clears it)."""
        if key not in self.raw:
            return None
        value = self.raw[key]
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {self.name(key)}", param=self.name(key))
        if len(value) > METADATA_KEYS:
            raise invalid(f"Metadata can have at most {METADATA_KEYS} keys", param=self.name(key))
        out: dict[str, str] = {}
        for meta_key, meta_value in value.items():
            param = f"{self.name(key)}[{meta_key}]"
            if not isinstance(meta_value, str):
                raise invalid(f"Invalid metadata value for {meta_key}", param=param)
            if len(meta_key) > METADATA_KEY_LENGTH:
                raise invalid(f"Metadata keys can be at most {METADATA_KEY_LENGTH} characters", param=param)
            if len(meta_value) > METADATA_VALUE_LENGTH:
                raise invalid(f"Metadata values can be at most {METADATA_VALUE_LENGTH} characters", param=param)
            out[meta_key] = meta_value
        return out

    def expand(self) -> list[str]:
        return self.strings("expand")


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Stripe's metadata update: an empty hash clears, an empty value removes that key."""
    if update is None:
        return current
    if not update:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
