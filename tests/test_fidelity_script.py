"""scripts/fidelity.py: each study rewrites only its own section of docs/paper-fidelity.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fidelity.py"


@pytest.fixture(scope="module")
def fidelity():
    spec = importlib.util.spec_from_file_location("fidelity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fidelity"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("fidelity", None)


def test_replace_section_keeps_the_rest_of_the_page(fidelity):
    page = (
        "# Page\nintro\n<!-- fidelity:grid:start -->\nold grid\n<!-- fidelity:grid:end -->\nmiddle\n"
        "<!-- fidelity:baltimore:start -->\nold baltimore\n<!-- fidelity:baltimore:end -->\nend\n"
    )
    out = fidelity.replace_section(page, "grid", "new grid | with \\1 and \\g<0>")
    assert "new grid | with \\1 and \\g<0>" in out and "old grid" not in out
    assert "intro" in out and "middle" in out and "old baltimore" in out and out.endswith("end\n")
    # a study without a section yet is appended
    added = fidelity.replace_section("# Page\n", "baltimore", "b")
    assert added == "# Page\n\n<!-- fidelity:baltimore:start -->\nb\n<!-- fidelity:baltimore:end -->\n"


def test_every_grid_finding_is_listed_once_with_a_criterion(fidelity):
    texts = [f.text for f in fidelity.GRID_FINDINGS]
    assert len(texts) == len(set(texts)) >= 25
    for f in fidelity.GRID_FINDINGS:
        assert f.ref.startswith("§") and f.criterion
        if f.check is None:
            assert f.criterion.startswith("not testable")
    assert set(fidelity.STUDIES) >= {"grid"}


@pytest.mark.slow
def test_grid_section_renders_on_a_few_days(fidelity):
    text = fidelity.grid_section(days=2)
    assert "| default | **" in text and "| paper | **" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip().isdigit()]
    assert len(rows) == len(fidelity.GRID_FINDINGS)
    assert "precision_gaps" in text and "SEPP fits" in text
