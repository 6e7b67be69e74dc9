"""The repository documents itself: no tracked file cites a document kept outside it.

A fresh clone has only what is tracked, so a docstring that sends the reader to a design note or a
folder of samples beside the repository sends them nowhere. What the code relies on is described
here (``docs/architecture.md``, the READMEs) or copied in (``events/samples/aws/``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file matches neither itself nor a grep for the same words.
_NOTE, _BESIDE = "DES" + "IGN", "sha" + "red/"
OUTSIDE_DOCUMENT = re.compile(rf"{_NOTE}\s*\N{{SECTION SIGN}}|{_NOTE}\.md|{_BESIDE}(?:aws-events|stripe)")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def vendored_folders(files: list[Path]) -> set[Path]:
    """Folders of third-party files copied in unchanged, which carry their own LICENSE."""
    return {f.parent for f in files if f.name == "LICENSE" and f.parent != ROOT}


def is_ours(path: Path, vendored: set[Path]) -> bool:
    """Whether ``path`` is text we wrote: not a vendored copy (its folder's README is ours), not binary."""
    return path.is_file() and (path.parent not in vendored or path.name == "README.md")


def citations(path: Path) -> list[str]:
    data = path.read_bytes()
    if b"\0" in data:  # binary
        return []
    text = data.decode("utf-8", errors="replace")
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE_DOCUMENT.search(line)
    ]


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    # Given every tracked file we wrote
    files = tracked_files()
    vendored = vendored_folders(files)
    ours = [f for f in files if is_ours(f, vendored)]
    assert len(ours) > 100  # the listing worked: this is the repository, not an empty folder
    # When each is searched for citations of documents kept beside the repository
    found = [hit for path in ours for hit in citations(path)]
    # Then there are none
    assert found == []


@pytest.mark.parametrize(
    "line",
    [
        f"DynamoDB requests per operation ({_NOTE} \N{SECTION SIGN}6, \N{SECTION SIGN}10)",
        f"see {_NOTE}.md for the budgets",
        f"built from AWS's own samples in ``{_BESIDE}aws-events``",
        f"every object mirrors ../{_BESIDE}stripe/fixtures",
    ],
)
def test_each_way_of_citing_an_outside_document_is_recognised(line: str) -> None:
    assert OUTSIDE_DOCUMENT.search(line)


def test_describing_a_design_or_a_shared_thing_is_not_a_citation() -> None:
    assert not OUTSIDE_DOCUMENT.search("Why this design: the shared kernel, shared by every stage")
