"""Bad inputs to `fairpatrol audit` through the command line, in the style of tests/cli/test_bad_inputs.py:
each error case exits with code 2 and prints exactly one line, ``error: …``, naming the file and the field
(or row), and changes nothing in its folder; each awkward-but-scorable case (targets partly outside the
city, overlapping zones, polygons in another CRS, days without targets, ...) exits 0 and shows its note.

The city is tests/audit/small_city.py's (copied into each case's folder).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from fairpatrol.cli import app
from tests.audit.small_city import CRS, X0, Y0, box, config, write_city
from tests.cli.test_bad_inputs import assert_one_error_line, snapshot

runner = CliRunner()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    write_city(folder)
    return folder


class Env:
    """A case's folder (a copy of the city) and helpers to write its files."""

    def __init__(self, folder: Path) -> None:
        self.tmp = folder

    def file(self, name: str, text: str | bytes) -> str:
        path = self.tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return str(path)

    def config(self, **changes) -> str:
        import yaml

        return self.file("audit.yaml", yaml.safe_dump(config(**changes), sort_keys=False))

    def zones(self, geoms, name: str = "zones.geojson", crs=CRS, to_crs=None, **cols) -> str:
        """Zones (polygons in the city's CRS) written as GeoJSON, in ``to_crs`` when given."""
        gdf = gpd.GeoDataFrame(
            {"zone_id": [f"Z{i + 1}" for i in range(len(geoms))], **cols}, geometry=geoms, crs=crs
        )
        if to_crs is not None:
            gdf = gdf.to_crs(to_crs)
        (self.tmp / name).unlink(missing_ok=True)
        gdf.to_file(self.tmp / name, driver="GeoJSON")
        return name

    def table(self, name: str, **cols) -> str:
        pd.DataFrame(cols).to_csv(self.tmp / name, index=False)
        return name

    def audit(self, config_path: str | None = None, *extra: str) -> list[str]:
        return ["audit", config_path or self.config(), "--out", str(self.tmp / "out"), *extra]


@dataclass
class Case:
    id: str
    setup: Callable[[Env], list[str]]
    needles: tuple[str, ...]

    def param(self):
        return pytest.param(self, id=self.id)


def yaml_case(case_id: str, text: str, *needles: str) -> Case:
    return Case(case_id, lambda env: env.audit(env.file("audit.yaml", text)), ("audit.yaml", *needles))


def config_case(case_id: str, *needles: str, named: bool = True, **changes) -> Case:
    """A config with ``changes``; its error names the config file unless ``named`` is False (the error is
    about another file, named in ``needles``)."""
    return Case(case_id, lambda env: env.audit(env.config(**changes)), ("audit.yaml",) * named + needles)


def targets_case(case_id: str, make: Callable[[Env], dict], *needles: str, **changes) -> Case:
    """A case whose targets section (and files) ``make`` writes."""
    return Case(case_id, lambda env: env.audit(env.config(targets=make(env), **changes)), needles)


def zones(geoms, **kw) -> Callable[[Env], dict]:
    return lambda env: {"kind": "zones", "file": env.zones(geoms, **kw), "id": "zone_id"}


def daily(**cols) -> Callable[[Env], dict]:
    def make(env: Env) -> dict:
        frame = {"date": ["2020-01-01"], "x": [X0 + 25.0], "y": [Y0 + 25.0], **cols}
        extra = {k: v for k, v in frame.items() if not isinstance(v, list)}
        lists = {k: v for k, v in frame.items() if isinstance(v, list)}
        return {
            "kind": "daily",
            "file": env.table("boxes.csv", **lists),
            "x": "x",
            "y": "y",
            "crs": CRS,
            **extra,
        }

    return make


def effort(**cols) -> Callable[[Env], dict]:
    def make(env: Env) -> dict:
        frame = {"date": ["2020-01-01", "2020-01-02"], "area_id": ["A0", "A1"], "minutes": [30, 60], **cols}
        return {"kind": "effort", "file": env.table("patrols.csv", **frame), "effort": "minutes"}

    return make


GOOD = (
    "name: t\ndata: {city: Toytown, areas: areas.gpkg, groups: {rule: column, column: group}, "
    "incidents: incidents.csv}\n"
)
FAR = box(50_000, 50_000, 50_100, 50_100)  # 70 km away

CASES: list[Case] = [
    # --- the config file -------------------------------------------------------------------------------
    yaml_case("yaml-duplicate-key", GOOD + "name: again\n", "'name' is given twice"),
    yaml_case(
        "yaml-impossible-date",
        GOOD + "targets: {kind: zones, file: zones.geojson}\nperiod: {start: 2020-02-30}\n",
        "not a calendar date",
    ),
    yaml_case("yaml-not-a-mapping", "- 1\n", "must be a YAML mapping"),
    yaml_case("yaml-syntax", "name: [x\n", "not valid YAML"),
    config_case("unknown-key", "field 'colour'", "unknown key", colour="red"),
    config_case("targets-missing", "field 'targets'", "required key is missing", targets=None),
    config_case("targets-not-a-mapping", "field 'targets'", "must be a mapping", targets="zones.geojson"),
    config_case(
        "targets-kind-missing",
        "field 'targets.kind'",
        "required key is missing",
        targets={"file": "zones.geojson"},
    ),
    config_case(
        "targets-kind-unknown",
        "field 'targets.kind'",
        "unknown kind 'hotspots'",
        targets={"kind": "hotspots", "file": "z"},
    ),
    config_case(
        "targets-file-missing", "field 'targets.file'", "required key is missing", targets={"kind": "zones"}
    ),
    config_case(
        "targets-unknown-key",
        "field 'targets.box_m'",
        "unknown key",
        targets={"kind": "zones", "file": "zones.geojson", "box_m": 10},
    ),
    config_case(
        "targets-box-not-positive",
        "field 'targets.box_m'",
        "> 0 metres",
        targets={"kind": "daily", "file": "b.csv", "box_m": -5},
    ),
    config_case(
        "targets-bad-crs",
        "field 'targets.crs'",
        "unknown CRS",
        targets={"kind": "zones", "file": "zones.geojson", "crs": "EPSG:0"},
    ),
    config_case(
        "targets-score-kind",
        "field 'targets.score_kind'",
        targets={"kind": "daily", "file": "b.csv", "score_kind": "odds"},
    ),
    config_case(
        "population-two-sources",
        "field 'population'",
        "either population.columns",
        population={"file": "p.csv"},
    ),
    config_case(
        "population-column-twice",
        "field 'population'",
        "a column twice",
        population={"columns": {"A": "a", "B": "a"}},
    ),
    config_case(
        "period-reversed",
        "field 'period'",
        "before period.start",
        period={"start": "2020-01-02", "end": "2020-01-01"},
    ),
    config_case("bootstrap-level", "field 'bootstrap.level'", bootstrap={"level": 1.5}),
    config_case(
        "bootstrap-replicates-text",
        "field 'bootstrap.replicates'",
        "expected an integer",
        bootstrap={"replicates": "20"},
    ),
    config_case("tiers-not-boolean", "field 'tiers'", "expected true or false", tiers=1),
    config_case("type-group-all", "field 'type_groups'", "'all' is reserved", type_groups={"all": ["THEFT"]}),
    config_case("type-group-empty", "field 'type_groups'", "lists no crime type", type_groups={"none": []}),
    Case(
        "config-missing",
        lambda env: ["audit", str(env.tmp / "nope.yaml"), "--out", str(env.tmp / "o")],
        ("nope.yaml",),
    ),
    Case(
        "config-a-directory",
        lambda env: ["audit", str(env.tmp), "--out", str(env.tmp / "o")],
        ("is a directory",),
    ),
    Case(
        "replicates-negative",
        lambda env: env.audit(None, "--replicates", "-1"),
        ("--replicates", "between 0"),
    ),
    Case(
        "example-unknown",
        lambda env: ["audit", "--example", "gotham", "--out", str(env.tmp / "o")],
        ("unknown example 'gotham'",),
    ),
    Case(
        "output-is-a-file",
        lambda env: ["audit", env.config(), "--out", env.file("out.txt", "mine")],
        ("out.txt",),
    ),
    # --- the data section (the readers of `fairpatrol run`) ----------------------------------------------
    config_case(
        "incidents-file-missing",
        "missing.csv",
        "file not found",
        named=False,
        data={
            "incidents": {"file": "missing.csv", "crs": CRS, "columns": {"x": "x", "y": "y", "time": "time"}}
        },
    ),
    config_case(
        "areas-file-missing", "nowhere.gpkg", "file not found", named=False, data={"areas": "nowhere.gpkg"}
    ),
    # --- the targets file ------------------------------------------------------------------------------
    targets_case(
        "targets-file-not-found",
        lambda env: {"kind": "zones", "file": "missing.geojson"},
        "missing.geojson",
        "file not found",
    ),
    targets_case(
        "targets-empty-table",
        lambda env: {"kind": "daily", "file": env.file("b.csv", "date,x,y\n"), "box_m": 10},
        "b.csv",
        "no data rows",
    ),
    targets_case(
        "targets-all-outside-the-city",
        zones([FAR, FAR.buffer(10)]),
        "zones.geojson",
        "lie outside the 8 areas",
        "wrong CRS",
    ),
    targets_case(
        "targets-without-crs",
        lambda env: {"kind": "zones", "file": env.table("z.csv", geometry=[box(0, 0, 50, 50).wkt])},
        "z.csv",
        "field 'geometry'",
        "coordinate reference system is unknown",
    ),
    targets_case(
        "targets-metres-declared-as-degrees",
        lambda env: {
            "kind": "zones",
            "file": env.table("z.csv", geometry=[box(0, 0, 50, 50).wkt]),
            "crs": "EPSG:4326",
        },
        "z.csv",
        "field 'geometry', row 1",
        "out of range for longitude/latitude",
    ),
    targets_case(
        "zones-a-point",
        zones([shapely.Point(X0 + 5, Y0 + 5)]),
        "zones.geojson",
        "field 'geometry', row 1",
        "a point where a polygon",
    ),
    targets_case(
        "zones-validity-reversed",
        lambda env: {
            "kind": "zones",
            "file": env.zones([box(0, 0, 50, 50)], valid_from=["2020-01-02"], valid_to=["2020-01-01"]),
            "valid_from": "valid_from",
            "valid_to": "valid_to",
        },
        "zones.geojson",
        "field 'valid_to', row 1",
        "validity ends",
    ),
    targets_case(
        "zones-bad-date",
        lambda env: {
            "kind": "zones",
            "file": env.zones([box(0, 0, 50, 50), box(60, 0, 90, 50)], valid_from=["2020-01-01", "someday"]),
            "valid_from": "valid_from",
        },
        "zones.geojson",
        "field 'valid_from', row 2",
        "unparseable date 'someday'",
    ),
    targets_case(
        "zones-id-column-missing",
        lambda env: {"kind": "zones", "file": env.zones([box(0, 0, 50, 50)]), "id": "name"},
        "zones.geojson",
        "field 'name'",
        "missing column",
    ),
    targets_case("daily-point-without-box", daily(), "boxes.csv", "need a box size"),
    targets_case("daily-bad-date", daily(date=["2020-13-01"], box_m=50), "boxes.csv", "field 'date', row 1"),
    targets_case(
        "daily-shift-not-in-times",
        daily(s=["C"], shift="s", shift_times={"A": ["06:00", "08:00"]}, box_m=50),
        "boxes.csv",
        "field 's', row 1",
        "'C' is not in shift_times",
    ),
    targets_case(
        "daily-shift-times-without-shifts",
        daily(shift_times={"A": ["06:00", "08:00"]}, box_m=50),
        "boxes.csv",
        "field 'shift'",
        "shift_times needs",
    ),
    targets_case(
        "daily-probability-above-one",
        daily(p=[1.5], score="p", score_kind="probability", box_m=50),
        "boxes.csv",
        "field 'p', row 1",
        "cannot exceed 1",
    ),
    targets_case(
        "daily-box-column-zero",
        daily(side=[0], box_m="side"),
        "boxes.csv",
        "field 'side', row 1",
        "must be > 0",
    ),
    targets_case(
        "effort-unknown-area", effort(area_id=["A0", "Z9"]), "patrols.csv", "field 'area_id', row 2", "'Z9'"
    ),
    targets_case(
        "effort-negative", effort(minutes=[30, -5]), "patrols.csv", "field 'minutes', row 2", "below 0"
    ),
    targets_case(
        "effort-not-a-number", effort(minutes=[30, "lots"]), "patrols.csv", "field 'minutes', row 2", "'lots'"
    ),
    # --- population ------------------------------------------------------------------------------------
    config_case(
        "population-column-missing",
        "toytown areas",
        "field 'c'",
        "missing column",
        named=False,
        population={"columns": ["a", "c"]},
    ),
    Case(
        "population-file-unknown-area",
        lambda env: env.audit(
            env.config(
                population={
                    "columns": None,
                    "file": env.table("p.csv", area_id=[f"A{i}" for i in range(8)] + ["A99"], a=[1] * 9),
                }
            )
        ),
        ("p.csv", "field 'area_id', row 9", "'A99'"),
    ),
    Case(
        "population-file-missing-area",
        lambda env: env.audit(
            env.config(population={"columns": None, "file": env.table("p.csv", area_id=["A0"], a=[1])})
        ),
        ("p.csv", "no row for 7 areas"),
    ),
    # --- dates and period ------------------------------------------------------------------------------
    config_case(
        "period-before-the-incidents",
        "field 'period.start'",
        "outside the incidents' dates",
        period={"start": "2019-12-01"},
    ),
    config_case(
        "period-before-declared-coverage",
        "field 'period.start'",
        "outside the incidents' declared coverage 2019-12-30",
        period={"start": "2019-12-01", "incidents_from": "2019-12-30"},
    ),
    targets_case(
        "targets-and-incidents-share-no-day",
        lambda env: {
            "kind": "zones",
            "file": env.zones([box(0, 0, 50, 50)], valid_from=["2021-01-01"]),
            "valid_from": "valid_from",
        },
        "zones.geojson",
        "share no day",
    ),
    targets_case(
        "no-audited-day-has-a-target",
        daily(date=["2020-01-01"], box_m=50),
        "boxes.csv",
        "no day of 2020-01-02 .. 2020-01-02 has a target",
        period={"start": "2020-01-02", "end": "2020-01-02"},
    ),
    config_case(
        "type-group-of-no-incident",
        "field 'type_groups'",
        "no audited incident of type(s) ['ARSON']",
        type_groups={"fire": ["ARSON"]},
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_audit_input_is_one_line_and_changes_nothing(case: Case, template: Path, tmp_path: Path):
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    args = case.setup(Env(tmp_path))
    before = snapshot(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert_one_error_line(result.output, case.needles)
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------- scored, counted and shown


NOTED = [
    pytest.param(zones([box(-20, 0, 40, 50)]), {}, "extend beyond the areas", id="partly-outside-the-city"),
    pytest.param(
        zones([box(0, 0, 50, 50), FAR]), {}, "lie entirely outside the areas", id="one-zone-outside"
    ),
    pytest.param(
        zones([box(0, 0, 60, 60), box(40, 40, 90, 90)]), {}, "of zones overlap", id="overlapping-zones"
    ),
    pytest.param(zones([box(0, 0, 50, 50)], to_crs="EPSG:4326"), {}, "reprojected", id="another-crs"),
    pytest.param(
        zones([shapely.Polygon([(X0, Y0), (X0 + 50, Y0 + 50), (X0 + 50, Y0), (X0, Y0 + 50)])]),
        {},
        "repaired with make_valid",
        id="self-intersecting-zone",
    ),
    pytest.param(daily(box_m=50), {"empty_days": "exclude"}, "have no target", id="empty-target-days"),
    pytest.param(
        daily(date=["2020-01-01", "2020-01-05"], x=[X0 + 25.0] * 2, y=[Y0 + 25.0] * 2, box_m=50),
        {},
        "fall outside the incidents' coverage",
        id="target-days-outside-the-incidents",
    ),
    pytest.param(
        daily(date=["2020-01-01"] * 2, x=[X0 + 25.0] * 2, y=[Y0 + 25.0] * 2, box_m=50),
        {},
        "repeat a target already listed",
        id="duplicate-boxes",
    ),
    pytest.param(
        effort(date=["2020-01-01"] * 2, area_id=["A0", "A0"]), {}, "are summed", id="patrol-rows-summed"
    ),
]


@pytest.mark.parametrize(("make", "changes", "needle"), NOTED)
def test_awkward_targets_are_scored_and_their_note_shown(
    make, changes, needle, template: Path, tmp_path: Path
):
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    env = Env(tmp_path)
    targets = make(env)
    result = runner.invoke(
        app,
        env.audit(
            env.config(targets=targets, period={"start": "2020-01-01", "end": "2020-01-02"}, **changes)
        ),
    )
    assert result.exit_code == 0, result.output
    assert needle in " ".join(result.output.split())
    notes = pd.read_csv(tmp_path / "out" / "notes.csv")
    assert any(needle in m for m in notes["message"])
