"""Shipped text cites only what a reader can open: no reference to the project's private methods text
("SPEC §n"); every ``docs/<page>.md, "<section>"`` cited in the package, the docs or the README names a page
that exists and, where a section is given, a heading of that page; every test file cited exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".html", ".j2", ".js", ".css", ".txt", ".csv", ".toml"}
#: A citation of a docs page, optionally with a quoted section: docs/grid.md, "Evaluation"
CITATION = re.compile(r'docs/([\w-]+\.md)(?:,\s*"([^"\n]+)")?')
#: The private methods text is written SPEC in capitals ("SPEC §9", "SPEC's rule"); a sweep "spec" is not.
PRIVATE = re.compile(r"\bSPEC\b")
TEST_FILE = re.compile(r"\btests/[\w/]+\.py\b")


def shipped_files() -> list[Path]:
    """The package (code, presets, city packs, templates), the docs and the top-level pages."""
    package = [
        p
        for p in sorted((ROOT / "src" / "fairpatrol").rglob("*"))
        if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
    ]
    pages = sorted((ROOT / "docs").rglob("*.md")) + [
        p for p in (ROOT / "README.md", ROOT / "CONTRIBUTING.md") if p.exists()
    ]
    return package + pages


def headings(page: Path) -> list[str]:
    """A page's section names: its markdown headings and its bold run-in labels (``**Label** text``, also as
    a list item)."""
    lines = page.read_text().splitlines()
    marked = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    labels = [line.removeprefix("- ") for line in lines]  # a paragraph's or a list item's bold label
    run_in = [line[2:].split("**", 1)[0] for line in labels if line.startswith("**") and "**" in line[2:]]
    return marked + run_in


def test_the_scan_covers_code_docs_and_templates():
    names = {p.relative_to(ROOT).as_posix() for p in shipped_files()}
    assert "README.md" in names and "docs/methods.md" in names
    assert any(n.startswith("src/fairpatrol/report/templates/") for n in names)
    assert any(n.startswith("src/fairpatrol/presets/") for n in names)


def test_no_reference_to_the_unshipped_methods_text():
    hits = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in shipped_files()
        for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not hits, "cite the paper or a section of docs/ instead:\n" + "\n".join(hits)


def test_cited_docs_pages_and_sections_exist():
    broken = []
    for p in shipped_files():
        for match in CITATION.finditer(p.read_text(errors="replace")):
            page, section = ROOT / "docs" / match[1], match[2]
            if not page.exists():
                broken.append(f"{p.relative_to(ROOT)}: {match[0]} (no such page)")
            elif section and not any(h.startswith(section) for h in headings(page)):
                broken.append(f"{p.relative_to(ROOT)}: {match[0]} (no such heading)")
    assert not broken, "\n".join(broken)


def test_cited_test_files_exist():
    missing = [
        f"{p.relative_to(ROOT)}: {cited}"
        for p in shipped_files()
        for cited in TEST_FILE.findall(p.read_text(errors="replace"))
        if not (ROOT / cited).exists()
    ]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ('see docs/grid.md, "Evaluation"', ("grid.md", "Evaluation")),
        ('docs/methods.md,\n    "Models"', ("methods.md", "Models")),
        ("(docs/world.md)", ("world.md", None)),
    ],
)
def test_citation_pattern_reads_page_and_section(text, cited):
    match = CITATION.search(text)
    assert (match[1], match[2]) == cited
