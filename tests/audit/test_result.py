"""The audit result: its tables' layout, its writer, and the package's documented examples."""

from __future__ import annotations

import doctest
import json

import pandas as pd
import pytest
import shapely

import fairpatrol.audit
from fairpatrol.audit import MEASURES, TABLES, daily_targets, read_audit, run_audit
from fairpatrol.audit import run as run_module
from fairpatrol.audit import targets as targets_module
from fairpatrol.audit import toy as toy_module
from fairpatrol.audit.toy import toy_areas
from fairpatrol.errors import FairpatrolError


@pytest.fixture(scope="module")
def result():
    city = toy_areas(2, 1, population=[100.0, 300.0])
    city.frame["a"] = [60.0, 30.0]
    t = pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-01", "2020-01-02", "2020-01-03"],
            "geometry": [shapely.box(0, 0, 50, 50).wkt, shapely.box(120, 0, 170, 50).wkt] * 2,
            "score": [0.5, 1.5, 1.0, 0.2],
        }
    )
    targets = daily_targets(city, t, score="score", score_kind="expected_count", crs=city.crs)
    crimes = pd.DataFrame(
        {
            "time": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-03"]),
            "x": [10.0, 130.0, 20.0, 150.0],
            "y": [10.0, 10.0, 20.0, 90.0],
            "crime_type": ["A", "B", "A", "A"],
        }
    )
    return run_audit(
        city, crimes, targets, population=["a"], population_total="population", n_boot=30, tiers=True
    )


def test_every_table_is_present_and_tidy(result):
    for name in TABLES:
        assert isinstance(result.table(name), pd.DataFrame)
    assert list(result.overall.columns) == ["crime_type", "measure", "value", "lo", "hi", "n_boot_valid"]
    assert list(result.by_group.columns[:4]) == ["grouping", "group", "crime_type", "measure"]
    assert list(result.by_area.columns[:4]) == ["area_id", "name", "area_group", "measure"]
    assert list(result.by_day.columns) == ["date", "grouping", "group", "measure", "value"]
    assert set(result.by_group["grouping"]) == {"area group", "residents"}
    assert set(result.overall["measure"]) <= set(MEASURES)
    assert not result.calibration.empty and not result.tiers.empty
    assert set(result.overall["crime_type"]) == {"all", "A", "B"}


def test_every_measure_has_a_label_unit_and_formula():
    for m in MEASURES.values():
        assert m.label and m.formula and m.unit in {"share", "ratio", "index", "count"}


def test_write_makes_a_documented_directory(result, tmp_path):
    out = result.write(tmp_path / "audit", formats=("csv", "parquet"))
    files = sorted(p.name for p in out.iterdir())
    tables = [*(f"{t}.csv" for t in TABLES), *(f"{t}.parquet" for t in TABLES)]
    extra = ["areas.parquet", "targets.parquet", "notes.txt"]
    assert files == sorted([".fairpatrol.json", "audit.json", *tables, *extra])
    meta = json.loads((out / "audit.json").read_text())
    assert meta["settings"]["seed"] == result.meta["settings"]["seed"]
    assert meta["period"]["days_audited"] == 3
    back = pd.read_csv(out / "overall.csv")
    pd.testing.assert_frame_equal(back, result.overall, check_dtype=False)
    text = "".join(p.read_text(errors="ignore") for p in out.glob("*.csv")) + (out / "audit.json").read_text()
    assert str(tmp_path) not in text


@pytest.mark.parametrize("formats", [("csv",), ("parquet",)])
def test_read_audit_gives_back_what_was_written(result, tmp_path, formats):
    out = result.write(tmp_path / "audit", formats=formats)
    back = read_audit(out)
    for name in TABLES:
        got, want = back.table(name), result.table(name)
        assert list(got.columns) == list(want.columns), name
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False, obj=name
        )
    assert back.meta["period"] == result.meta["period"]
    assert back.areas.ids.tolist() == result.areas.ids.tolist()
    assert back.target_geometry["target_id"].tolist() == result.target_geometry["target_id"].tolist()
    assert all(shapely.equals(back.target_geometry["geometry"], result.target_geometry["geometry"]))


def test_read_audit_of_another_directory_is_one_line(tmp_path):
    with pytest.raises(FairpatrolError, match=r"not an audit results directory \(no audit.json\)"):
        read_audit(tmp_path)


def test_write_refuses_to_replace_a_directory_with_files(result, tmp_path):
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "mine.txt").write_text("keep")
    with pytest.raises(FairpatrolError, match="not empty"):
        result.write(tmp_path / "audit")
    assert (tmp_path / "audit" / "mine.txt").read_text() == "keep"


def test_most_targeted_lists_areas_by_targeting(result):
    top = result.most_targeted(2)
    assert top["targeting_share"].is_monotonic_decreasing
    assert {"days_targeted", "longest_streak"} <= set(top.columns)


@pytest.mark.parametrize("module", [fairpatrol.audit, run_module, targets_module, toy_module])
def test_documented_examples_run(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
