"""Group rules (known answers), the pair, and reading areas files: CRS choice, repairs, overlaps."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fairpatrol.config import AreasFileConfig, GroupsConfig
from fairpatrol.data.groups import assign_groups, choose_pair, group_order
from fairpatrol.data.inputs import load_areas_file
from fairpatrol.errors import DataError

FRAME = pd.DataFrame(
    {
        "area_id": ["a", "b", "c", "d", "e"],
        "income": [10.0, 20.0, 30.0, 40.0, 100.0],
        "x": [5, 1, 2, 2, 0],
        "y": [1, 5, 2, 1, 0],
        "z": [0, 0, 3, 2, 0],
        "label": ["p", "q", "p", "r", 1.0],
    }
)


def rule(**kw) -> GroupsConfig:
    return GroupsConfig(**kw)


def test_threshold_at_mean_median_and_value():
    mean = assign_groups(
        FRAME, rule(rule="threshold", column="income", at="mean", labels=["lo", "hi"]), source="s"
    )
    assert mean.labels.tolist() == ["lo", "lo", "lo", "lo", "hi"]  # mean 40: at or below is 'lo'
    assert "mean over the 5 areas, 40" in mean.description
    median = assign_groups(FRAME, rule(rule="threshold", column="income", at="median"), source="s")
    assert median.labels.tolist() == ["at or below", "at or below", "at or below", "above", "above"]
    value = assign_groups(FRAME, rule(rule="threshold", column="income", at=25), source="s")
    assert value.labels.tolist().count("above") == 3


def test_plurality_with_ties():
    g = assign_groups(
        FRAME, rule(rule="plurality", columns={"X": "x", "Y": "y", "Z": "z"}, tie="none"), source="s"
    )
    assert g.labels.tolist() == ["X", "Y", "Z", "none", "none"]  # d: x = z = 2, e: all 0 are ties
    assert g.columns == ("x", "y", "z")


def test_quantile_classes_and_column_labels():
    q = assign_groups(
        FRAME, rule(rule="quantile", column="income", k=2, labels=["poorer", "richer"]), source="s"
    )
    assert q.labels.tolist() == ["poorer", "poorer", "poorer", "richer", "richer"]
    c = assign_groups(FRAME, rule(rule="column", column="label", labels={"p": "P"}), source="s")
    assert c.labels.tolist() == ["P", "q", "P", "r", "1"]


def test_missing_value_names_the_area_and_row():
    frame = FRAME.assign(income=[1.0, np.nan, 3.0, 4.0, 5.0])
    with pytest.raises(DataError, match=r"^f: field 'income', row 2: no value for area 'b'"):
        assign_groups(frame, rule(rule="quantile", column="income", k=2), source="f")
    with pytest.raises(DataError, match=r"field 'wealth': the areas have no column 'wealth'"):
        assign_groups(FRAME, rule(rule="threshold", column="wealth"), source="f")


def test_pair_defaults_to_the_two_largest_groups_and_rejects_unknown_ones():
    labels = np.array(["b", "a", "a", "c", "c", "c"])
    assert choose_pair(labels, None, source="s") == ("c", "a")
    assert group_order(labels, ("a", "b")) == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"field 'group_pair': unknown group 'z'"):
        choose_pair(labels, ("a", "z"), source="s")
    with pytest.raises(DataError, match="at least two groups"):
        choose_pair(np.array(["a", "a"]), None, source="s")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=4, max_size=40), st.integers(2, 4))
def test_quantile_classes_are_ordered_and_balanced(values, k):
    frame = pd.DataFrame({"area_id": [str(i) for i in range(len(values))], "v": values})
    if len(set(values)) < k + 1:
        return
    try:
        g = assign_groups(frame, rule(rule="quantile", column="v", k=k), source="s")
    except DataError:
        return  # too few distinct cut points
    rank = np.array([int(s[1:]) for s in g.labels])
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(rank[order]) >= 0)  # a larger value never gets a lower class


# -- areas files --------------------------------------------------------------------------------------------
def square(x: float, y: float, s: float = 1000.0) -> shapely.Polygon:
    return shapely.box(x, y, x + s, y + s)


def write(tmp: Path, geoms, crs, name="areas.geojson", **cols) -> Path:
    n = len(geoms)
    frame = {"code": [f"A{i}" for i in range(n)], "group": ["g1", "g2"] * (n // 2) + ["g1"] * (n % 2), **cols}
    gpd.GeoDataFrame(frame, geometry=list(geoms), crs=crs).to_file(tmp / name)
    return tmp / name


def load(path: Path, **kw):
    return load_areas_file(
        AreasFileConfig(file=path.name, id="code", **kw), base_dir=path.parent, groups=None
    )


def test_projected_file_keeps_its_crs(tmp_path):
    areas = load(write(tmp_path, [square(0, 0), square(1000, 0)], "EPSG:32618"))
    assert areas.crs == "EPSG:32618" and areas.crs_reason == "the file's projected CRS"
    assert np.allclose(areas.frame["area_m2"], 1e6) and areas.group_pair == ("g1", "g2")


def test_lon_lat_file_gets_the_local_utm_zone(tmp_path):
    geoms = [shapely.box(-76.62, 39.28, -76.60, 39.30), shapely.box(-76.60, 39.28, -76.58, 39.30)]
    areas = load(write(tmp_path, geoms, "EPSG:4326"))
    assert (
        areas.crs == "EPSG:32618"
        and "UTM zone" in areas.crs_reason
        and "longitude/latitude" in areas.crs_reason
    )
    assert areas.frame["area_m2"].between(3.0e6, 4.0e6).all()  # 0.02° × 0.02° at 39° N


def test_feet_are_not_metres_and_a_named_crs_wins(tmp_path):
    path = write(tmp_path, [square(1.1e6, 1.9e6, 3000), square(1.103e6, 1.9e6, 3000)], "EPSG:3435")  # US ft
    assert "US survey foot" in load(path).crs_reason
    named = load(path, crs="EPSG:26971")
    assert named.crs == "EPSG:26971" and named.crs_reason.startswith("named in the scenario")
    assert np.allclose(named.frame["area_m2"], (3000 * 0.3048006) ** 2, rtol=1e-4)
    with pytest.raises(DataError, match="not a projected CRS in metres"):
        load(path, crs="EPSG:4326")


def test_repairs_overlaps_and_empty_areas_are_reported_by_id(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])  # self-intersecting
    overlapping = square(1500, 0)
    big = square(1000, 0)  # overlaps A2 by 500 × 1000
    empty = shapely.Polygon()
    path = write(tmp_path, [bowtie, big, overlapping, empty], "EPSG:32618")
    areas = load(path)
    notes = " | ".join(areas.notes)
    assert "1 invalid geometry repaired: 'A0'" in notes
    assert "'A1' & 'A2'" in notes and "overlap" in notes
    assert "1 empty area(s) left out: 'A3'" in notes
    assert areas.n == 3 and shapely.is_valid(areas.geometry).all()
    assert np.isclose(areas.frame.loc[0, "area_m2"], 500_000)  # the bow-tie's two triangles


def test_bad_area_files(tmp_path):
    write(tmp_path, [square(0, 0), square(1000, 0)], "EPSG:32618", name="dup.geojson", code2=["x", "x"])
    with pytest.raises(DataError, match=r"^dup.geojson: field 'code2', row 2: duplicate id 'x'"):
        load_areas_file(AreasFileConfig(file="dup.geojson", id="code2"), base_dir=tmp_path, groups=None)
    lines = gpd.GeoDataFrame({"code": ["L"], "group": ["g"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])])
    lines.set_crs("EPSG:32618").to_file(tmp_path / "lines.geojson")
    with pytest.raises(DataError, match="area 'L' is a LineString; areas must be polygons"):
        load(tmp_path / "lines.geojson")
    with pytest.raises(DataError, match=r"^nowhere.geojson: file not found"):
        load(tmp_path / "nowhere.geojson")
    (tmp_path / "broken.geojson").write_text("{not json")
    with pytest.raises(DataError, match=r"^broken.geojson: cannot read as a GIS file"):
        load(tmp_path / "broken.geojson")


def test_metres_in_a_file_that_claims_degrees_are_refused(tmp_path):
    import warnings

    path = tmp_path / "legacy.geojson"
    legacy = gpd.GeoDataFrame(
        {"code": ["A", "B"], "group": ["g", "h"]},
        geometry=[square(300_000, 4_700_000), square(301_000, 4_700_000)],
    )
    with warnings.catch_warnings():  # no CRS: what this case is about
        warnings.simplefilter("ignore")
        legacy.to_file(path)
    text = path.read_text()
    assert '"crs"' not in text  # read back as WGS84, as GDAL reads any GeoJSON without a crs member
    with pytest.raises(DataError, match=r"^legacy.geojson: field 'crs': .* not degrees"):
        load(path)
    assert load(path, file_crs="EPSG:32618").crs == "EPSG:32618"


@pytest.mark.parametrize("name", ["areas.gpkg", "areas.shp", "areas.parquet", "areas.geojson"])
def test_every_format_reads_the_same_areas(tmp_path, name):
    geoms = [square(0, 0), shapely.MultiPolygon([square(1000, 0), square(3000, 0)])]
    frame = gpd.GeoDataFrame({"code": ["A0", "A1"], "group": ["g1", "g2"]}, geometry=geoms, crs="EPSG:32618")
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)  # GeoParquet
    elif name.endswith(".gpkg"):
        frame.to_file(path, layer="wards")
    else:
        frame.to_file(path)
    kw = {"layer": "wards"} if name.endswith(".gpkg") else {}
    areas = load(path, **kw)
    assert areas.ids.tolist() == ["A0", "A1"] and areas.crs == "EPSG:32618"
    assert np.allclose(areas.frame["area_m2"], [1e6, 2e6])
