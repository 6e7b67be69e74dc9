"""``keel.text``: the kernel's types for text people read and addresses mail goes to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from keel.text import HUMAN_TEXT_PATTERN, EmailAddress, HumanText, is_email, normalize_email, refused_character


class Named(BaseModel):
    name: HumanText = Field(min_length=1, max_length=100)
    email: EmailAddress | None = None


@pytest.mark.parametrize(
    "name",
    ["Acme\r\nBcc: x@evil.example", "nul\x00", "bell\x07", "tab\tbed", "del\x7f", "c1\x85", "rtl\u202eexe.txt",
     "isolate\u2066x", "mark\u200f", "line\u2028sep", "para\u2029sep"],
)  # fmt: skip
def test_control_bidi_and_separator_characters_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Named(name=name)

    (error,) = refused.value.errors()
    assert error["loc"] == ("name",)
    assert "U+" in error["msg"]


@pytest.mark.parametrize("name", ["Acme", "Zoë & Søn", "株式会社", "Ω Labs 🚀", "O'Brien-Smith (EU)"])
def test_ordinary_names_in_any_script_are_accepted_unchanged(name: str) -> None:
    assert Named(name=name).name == name


@given(st.text(max_size=30))
def test_the_documented_pattern_and_the_validator_agree(text: str) -> None:
    import re

    documented = re.fullmatch(HUMAN_TEXT_PATTERN, text) is not None
    # Unpaired surrogates are outside the pattern's alphabet (JSON cannot carry them either).
    if any("\ud800" <= c <= "\udfff" for c in text):
        assert refused_character(text) is not None
    else:
        assert documented == (refused_character(text) is None)


def test_emails_compare_in_one_form_that_never_merges_two_addresses() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"
    # U+212A KELVIN SIGN is not the letter k: str.lower() and NFC would both say it is.
    assert normalize_email("\u212aelvin@example.com") != normalize_email("kelvin@example.com")
    assert not is_email("\u212aelvin@example.com")


@pytest.mark.parametrize(
    "address", ["no", "a@b", "a b@c.com", "a@@b.com", "x" * 65 + "@a.com", "a@" + "b" * 250 + ".com"]
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValidationError):
        Named(name="x", email=address)


def test_an_address_is_stored_in_its_normalized_form() -> None:
    assert Named(name="x", email="Grace@Example.com").email == "grace@example.com"
    assert Named.model_json_schema()["properties"]["email"]["anyOf"][0]["format"] == "email"
