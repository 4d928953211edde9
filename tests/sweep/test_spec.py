"""Sweep definitions: expansion into cells, deterministic ids, seeds, columns, and one-line errors."""

from __future__ import annotations

import pytest
import yaml

from fairpatrol.errors import ConfigError
from fairpatrol.sweep import load_sweep, load_sweep_preset, parse_sweep


def write(tmp_path, doc, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_preset_is_the_baltimore_grid_over_seven_reporting_rates():
    plan = load_sweep_preset("baltimore-sensitivity")
    assert len(plan.cells) == 21
    rates = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    algs = ["PredPol", "ShortTermKDE", "LongTermKDE"]
    assert [(c.config.algorithms, c.config.report_probs) for c in plan.cells] == [
        ([a], [r]) for a in algs for r in rates
    ]
    for c in plan.cells:
        assert c.config.officers == [40, 400]
        assert (c.config.days, c.config.runs, str(c.config.start)) == (300, 20, "2019-01-01")
        assert c.config.data.incidents == "baltimore-agg-assault"
    # independent seeds per reporting rate, shared by the algorithms compared at that rate
    seeds = {(c.config.algorithms[0], c.config.report_probs[0]): c.config.seed for c in plan.cells}
    assert len({seeds[("PredPol", r)] for r in rates}) == 7
    for r in rates:
        assert seeds[("PredPol", r)] == seeds[("ShortTermKDE", r)] == seeds[("LongTermKDE", r)]
    # report_probs and algorithms are already result columns: no extra swept column
    assert plan.columns == {}


def test_ids_are_deterministic_readable_and_depend_on_the_resolved_config():
    a = load_sweep_preset("baltimore-sensitivity", days=5, runs=2)
    b = load_sweep_preset("baltimore-sensitivity", days=5, runs=2)
    c = load_sweep_preset("baltimore-sensitivity", days=6, runs=2)
    ids = [cell.id for cell in a.cells]
    assert ids == [cell.id for cell in b.cells]
    assert len(set(ids)) == 21
    assert ids[1].startswith("PredPol-0.1-")
    assert not set(ids) & {cell.id for cell in c.cells}
    assert all("=" not in i and "/" not in i for i in ids)


def test_dotted_keys_scalars_and_lists(tmp_path):
    path = write(
        tmp_path,
        {
            "name": "s",
            "base": "baltimore-agg",
            "fixed": {"days": 3, "runs": 1, "officers": 40},
            "grid": {
                "models.PredPol.tol": [1.0e-4, 1.0e-3],
                "data.crime_types": [None, "AGG. ASSAULT"],
                "officers": [[40, 400], 100],
            },
            "seeds": "common",
        },
    )
    # `officers` is both fixed and swept: refused
    with pytest.raises(ConfigError, match="both fixed and swept"):
        load_sweep(path)
    doc = yaml.safe_load(path.read_text())
    del doc["fixed"]["officers"]
    plan = load_sweep(write(tmp_path, doc))
    assert len(plan.cells) == 8
    first, last = plan.cells[0].config, plan.cells[-1].config
    assert first.models["PredPol"]["tol"] == 1.0e-4 and last.models["PredPol"]["tol"] == 1.0e-3
    assert first.data.crime_types is None and last.data.crime_types == ["AGG. ASSAULT"]
    assert first.officers == [40, 400] and last.officers == [100]
    assert {c.config.seed for c in plan.cells} == {first.seed}  # common seeds
    assert plan.columns == {
        "models_PredPol_tol": "models.PredPol.tol",
        "data_crime_types": "data.crime_types",
    }
    cols = plan.cells[-1].columns
    assert cols == {"models_PredPol_tol": 1.0e-3, "data_crime_types": "AGG. ASSAULT"}
    assert {c.columns["data_crime_types"] for c in plan.cells} == {"null", "AGG. ASSAULT"}


def test_cases_link_overrides_and_name_a_column(tmp_path):
    plan = parse_sweep(
        {
            "base": "baltimore-agg",
            "fixed": {"runs": 1},
            "cases": [
                {"case": "baltimore", "days": 10},
                {
                    "case": "chicago",
                    "data.city": "chicago",
                    "data.incidents": "chicago-theft",
                    "start": "2022-12-01",
                },
            ],
            "grid": {"detection_p": [0.3, 0.5]},
        },
        source="s.yaml",
    )
    assert [(c.columns["case"], c.columns["detection_p"]) for c in plan.cells] == [
        ("baltimore", 0.3),
        ("baltimore", 0.5),
        ("chicago", 0.3),
        ("chicago", 0.5),
    ]
    chicago = plan.cells[2].config
    assert chicago.data.city == "chicago" and str(chicago.start) == "2022-12-01" and chicago.days == 300
    assert plan.cells[0].config.days == 10


@pytest.mark.parametrize(
    ("doc", "field", "message"),
    [
        ({"grid": {"report_prob": [0.1]}}, "grid.report_prob", "unknown scenario key 'report_prob'"),
        ({"grid": {"data.crimetypes": ["X"]}}, "grid.data.crimetypes", "under 'data'"),
        ({"grid": {"days.x": [1]}}, "grid.days.x", "'days' has no sub-keys"),
        ({"fixed": {"detection": 0.2}}, "fixed.detection", "unknown scenario key"),
        ({"grid": {"days": []}}, "grid.days", "at least one value"),
        ({"grid": {"days": 5}}, "grid.days", "valid list"),
        ({"grids": {"days": [5]}}, "grids", "unknown key"),
        ({"grid": {"report_probs": [0.1, 1.5]}}, "report_probs.0", "cell 1.5"),
        ({"grid": {"report_probs": [0.1, 0.1]}}, "grid", "resolve to the same scenario"),
    ],
)
def test_bad_sweeps_are_one_line_errors_naming_file_and_key(tmp_path, doc, field, message):
    path = write(tmp_path, {"name": "bad", "base": "baltimore-agg", **doc})
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    text = str(info.value)
    assert "\n" not in text
    assert str(path) in text
    assert f"field '{field}" in text
    assert message in text


def test_cli_overrides_apply_to_every_cell_and_may_not_hit_a_swept_key(tmp_path):
    path = write(tmp_path, {"base": "baltimore-agg", "grid": {"days": [3, 4]}})
    with pytest.raises(ConfigError, match="--days conflicts with the swept key"):
        load_sweep(path, days=10)
    plan = load_sweep(path, runs=3, seed=5)
    assert [c.config.runs for c in plan.cells] == [3, 3]
    common = load_sweep(
        write(tmp_path, {"base": "baltimore-agg", "grid": {"days": [3]}, "seeds": "common"}), seed=5
    )
    assert common.cells[0].config.seed == 5


def test_base_scenario_file_relative_to_the_sweep_and_inline_scenario(tmp_path):
    (tmp_path / "scen").mkdir()
    write(
        tmp_path / "scen",
        {
            "name": "mine",
            "data": {"city": "baltimore", "incidents": "baltimore-agg-assault"},
            "start": "2019-01-01",
            "days": 7,
            "runs": 2,
            "algorithms": ["Uniform"],
            "officers": [10],
            "report_probs": [0.4],
        },
        name="mine.yaml",
    )
    plan = load_sweep(write(tmp_path, {"base": "scen/mine.yaml", "grid": {"officers": [10, 20]}}))
    assert [c.config.officers for c in plan.cells] == [[10], [20]]
    assert plan.cells[0].config.days == 7
    inline = parse_sweep(
        {"scenario": yaml.safe_load((tmp_path / "scen" / "mine.yaml").read_text()), "grid": {"days": [1]}}
    )
    assert inline.cells[0].config.algorithms == ["Uniform"]
    with pytest.raises(ConfigError, match="neither a preset"):
        parse_sweep({"base": "no-such-thing"}, source="s.yaml")
    with pytest.raises(ConfigError, match="exactly one of"):
        parse_sweep({"grid": {"days": [1]}}, source="s.yaml")


def test_the_name_does_not_change_cell_ids(tmp_path):
    one = parse_sweep({"name": "a", "base": "baltimore-agg", "grid": {"days": [3]}})
    two = parse_sweep({"name": "b", "base": "baltimore-agg", "grid": {"days": [3]}})
    assert one.cells[0].id == two.cells[0].id
    assert one.cells[0].config.name == "a/3"


def test_manifest_is_plain_yaml():
    plan = load_sweep_preset("baltimore-sensitivity", days=5)
    text = yaml.safe_dump(plan.manifest())
    doc = yaml.safe_load(text)
    assert [c["id"] for c in doc["cells"]] == [c.id for c in plan.cells]
    assert doc["definition"]["grid"]["report_probs"][-1] == 0.6
    assert doc["base"]["days"] == 300  # the base as resolved; the CLI override is in each cell
