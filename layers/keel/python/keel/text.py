"""Text that people will read or mail will go to: one kernel type for each, used by every context.

``HumanText`` is any name a person types and another person sees (a tenant, a member, a project):
it refuses control characters (NUL, BEL, TAB, CR/LF, DEL and the C1 range: ``"Acme\\r\\nBcc: x"``
must never reach an email header), line and paragraph separators, unpaired surrogates (they cannot
be encoded, so they would fail later as a 500) and the bidirectional controls that make text read
differently from what it is (``U+202E`` RIGHT-TO-LEFT OVERRIDE and its kin). Other Unicode is
welcome: names are not ASCII.

``EmailAddress`` is an address mail may go to. Addresses are compared in one form, ``normalize_email``:
surrounding spaces removed and the ASCII letters ``A-Z`` lower-cased, nothing else. No Unicode case
folding or normalization, because those map different addresses to one (``str.lower`` turns U+212A
KELVIN SIGN into ``k``, NFC turns it into ``K``); and addresses are ASCII, as Amazon SES sends them
(an internationalised domain is written in its ``xn--`` form).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, GetJsonSchemaHandler, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

#: The bidirectional formatting controls: embeddings, overrides, isolates and the marks.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_EMAIL_LENGTH = 254
#: The same rule as a JSON Schema pattern, so that clients (and generated tests) know it up front.
HUMAN_TEXT_PATTERN = "^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
_EMAIL = re.compile(r"^[!#-'*+\-/-9=?A-Z^-~]+(\.[!#-'*+\-/-9=?A-Z^-~]+)*@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def refused_character(value: str) -> str | None:
    """The first character ``HumanText`` refuses in ``value``, as ``U+XXXX``; ``None`` if it is clean."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS:
            return f"U+{ord(char):04X}"
    return None


def check_human_text(value: str) -> str:
    """``value`` unchanged, or ``ValueError`` naming the first refused character."""
    refused = refused_character(value)
    if refused is not None:
        raise ValueError(f"must not contain control, line-separator or bidirectional characters (found {refused})")
    return value


def normalize_email(value: str) -> str:
    """The one form addresses are stored and compared in: trimmed, ``A-Z`` lower-cased, nothing else."""
    return value.strip().translate(_ASCII_LOWER)


def is_email(value: str) -> bool:
    """Whether ``value`` (already normalized or not) is an ASCII address of a plausible shape."""
    candidate = value.strip()
    if not candidate.isascii() or len(candidate) > MAX_EMAIL_LENGTH:
        return False
    local, _, domain = candidate.rpartition("@")
    return 0 < len(local) <= 64 and "." in domain and _EMAIL.match(candidate) is not None


def check_email(value: str) -> str:
    """``value`` in its normalized form, or ``ValueError``."""
    if not is_email(value):
        raise ValueError("not an email address (ASCII, local@domain.tld, at most 254 characters)")
    return normalize_email(value)


class _DocumentedPattern:
    """Adds ``HUMAN_TEXT_PATTERN`` to the JSON Schema only: the validator gives the clearer message."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = HUMAN_TEXT_PATTERN
        return schema


HumanText = Annotated[str, AfterValidator(check_human_text), _DocumentedPattern()]
"""A string a person typed and others will read: no control or bidi-override characters."""

EmailAddress = Annotated[
    str,
    AfterValidator(check_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}),
]
"""An address mail may go to, stored in its normalized form."""
