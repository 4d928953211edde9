"""Reports of sweep and grid-evaluation directories, and of one cell of a sweep."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fairpatrol.cli import app
from fairpatrol.errors import FairpatrolError

runner = CliRunner()


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    from fairpatrol.sweep import parse_sweep, run_sweep

    plan = parse_sweep(
        {
            "name": "tiny",
            "description": "two algorithms at two reporting rates",
            "base": "baltimore-agg",
            "fixed": {"days": 4, "runs": 2, "officers": [40]},
            "grid": {"algorithms": ["PredPol", "LongTermKDE"], "report_probs": [0.0, 0.4]},
        },
        source="test",
    )
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    report = run_sweep(plan, out, inline=True)
    assert not report.failed
    return out


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    from fairpatrol.grid.config import load_evaluate_preset
    from fairpatrol.grid.evaluate import evaluate
    from fairpatrol.results.evaluation import write_evaluation

    cfg = load_evaluate_preset("chicago-grid", days=4)
    out = tmp_path_factory.mktemp("grid") / "grid"
    write_evaluation(evaluate(cfg), out)
    return out


def test_sweep_report_summarises_across_cells(sweep_dir, tmp_path):
    from fairpatrol.report import write_report
    from fairpatrol.results import directory_kind
    from fairpatrol.sweep.analyze import analyze_sweep

    assert directory_kind(sweep_dir) == "sweep"
    text = write_report(sweep_dir, tmp_path / "s.html").path.read_text(encoding="utf-8")
    wins = analyze_sweep(sweep_dir).tables["wins"]
    acc = wins[wins["metric"] == "accuracy"].sort_values("share", ascending=False).iloc[0]
    won = f"{acc['settings_won']:g} of {int(acc['settings'])}"
    assert f"Coverage accuracy: {acc['algorithm']} was the most accurate in {won}" in text
    for sid in ("summary", "figures", "tables", "models", "cells", "data", "reproduce"):
        assert f'id="{sid}"' in text
    assert text.count('class="plotly-graph-div lazy-plot"') >= 3  # parameter effect, dominance, trade-off
    assert "Download the sweep definition" in text and "--cell" in text
    assert len(re.findall(r"<td>finished</td>", text)) == 4


def test_a_sweep_cell_gets_the_full_run_report(sweep_dir, tmp_path):
    from fairpatrol.results import read_results

    cell = sorted(p.stem for p in (sweep_dir / "configs").glob("*.yaml"))[0]
    res = read_results(sweep_dir, cell=cell)
    assert res.kind == "run" and len(res.algorithms) == 1 and len(res.runs) == 2
    out = tmp_path / "c.html"
    result = runner.invoke(app, ["report", str(sweep_dir), "--cell", cell, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "re-simulated" in text and "officers equal the published ones" in text
    with pytest.raises(FairpatrolError, match="no finished cell"):
        read_results(sweep_dir, cell="nope")
    result = runner.invoke(app, ["report", str(sweep_dir), "-o", str(tmp_path / "x.html"), "--run", "1"])
    assert result.exit_code == 2 and "--cell" in result.output


def test_grid_report(grid_dir, tmp_path):
    import numpy as np
    import pandas as pd

    from fairpatrol.report import write_report
    from fairpatrol.report.evaluation import at_coverage
    from fairpatrol.results import directory_kind
    from fairpatrol.results.evaluation import read_evaluation

    assert directory_kind(grid_dir) == "evaluate"
    res = read_evaluation(grid_dir)
    assert res.areas.n == len(pd.read_parquet(grid_dir / "areas.parquet"))
    hits = at_coverage(res.summary, "hit_rate", "overall")
    assert np.allclose(hits["coverage"], 0.10) and len(hits) == len(res.models)
    best = hits.sort_values("mean", ascending=False).iloc[0]["model"]
    text = write_report(grid_dir, tmp_path / "g.html", dp_epsilon=2.0).path.read_text(encoding="utf-8")
    assert f"Hit rate: {best} had the highest hit rate at 10% coverage" in text
    for sid in ("summary", "curves", "maps", "calibration", "models", "privacy", "data", "reproduce"):
        assert f'id="{sid}"' in text
    assert "total ε = 2.0" in text and "observed incidents per cell over the period" in text
    result = runner.invoke(
        app, ["report", str(grid_dir), "-o", str(tmp_path / "x.html"), "--day", "2001-01-01"]
    )
    assert result.exit_code == 2 and "outside the evaluated days" in result.output
