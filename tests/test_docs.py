"""The code cites only what a clone has: files in the repository and upstream URLs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("physllm/**/*.py"), *ROOT.glob("bench/*.py"), *ROOT.glob("docs/*.md")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_citation_points_outside_the_repository(path):
    text = path.read_text()
    assert "../shared/" not in text.replace("../shared/weights", ""), "cite docs/FACTS.md or the upstream file"
    assert not re.search(r"issue #\d", text, re.IGNORECASE), "cite the reason, not a tracker number"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_doc_exists(path):
    for cited in re.findall(r"docs/[A-Za-z_]+\.md", path.read_text()):
        assert (ROOT / cited).is_file(), f"{path} cites {cited}, which the repository does not have"
