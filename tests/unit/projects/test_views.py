"""How the projects API reads ``If-Match``: the version an ETag names, strong or weak, or none."""

from __future__ import annotations

import pytest

from functions.projects.handlers.views import NO_VERSION, etag, expected_version


@pytest.mark.parametrize(("header", "version"), [(None, None), ("*", None), ('"3"', 3), ('W/"12"', 12), (etag(7), 7)])
def test_if_match_names_the_version_its_etag_carries(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ["3", '"0"', '"03"', '"1", "2"', "null", '"12345678901"'])
def test_an_if_match_that_names_no_etag_of_ours_matches_no_version(header: str) -> None:
    assert expected_version(header) == NO_VERSION
