"""How the projects API reads ``If-Match``: the version an ETag names, strong or weak, or none."""

from __future__ import annotations

import re

import pytest

from functions.projects.handlers.views import IF_MATCH_PATTERN, etag, expected_version


@pytest.mark.parametrize(("header", "version"), [(None, None), ("*", None), ('"3"', 3), ('W/"12"', 12), (etag(7), 7)])
def test_if_match_names_the_version_its_etag_carries(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ["3", '"0"', '"03"', '"1", "2"', "null", '"12345678901"'])
def test_anything_but_one_etag_or_a_star_is_not_an_if_match(header: str) -> None:
    assert re.fullmatch(IF_MATCH_PATTERN, header) is None
