"""Bad and awkward inputs to an audit: clear one-line errors naming file, field and row, or counted notes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from fairpatrol.audit import AuditSettings, daily_targets, designated_zones, patrol_effort, run_audit
from fairpatrol.audit.toy import toy_areas
from fairpatrol.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def city():
    return toy_areas(2, 1, groups=["G1", "G2"], population=[100.0, 300.0], origin=(350_000.0, 4_350_000.0))


def box(city, x0, y0, x1, y1):
    """A box in city coordinates relative to its south-west corner."""
    ox, oy = 350_000.0, 4_350_000.0
    return shapely.box(ox + x0, oy + y0, ox + x1, oy + y1)


def crimes(city, *rows):
    ox, oy = 350_000.0, 4_350_000.0
    return pd.DataFrame(
        {
            "time": pd.to_datetime([r[0] for r in rows]),
            "x": [ox + r[1] for r in rows],
            "y": [oy + r[2] for r in rows],
            "crime_type": "THEFT",
        }
    )


def notes(res) -> dict[str, float]:
    return dict(zip(res.notes["kind"], res.notes["count"], strict=True))


THREE_DAYS = [("2020-01-01", 10, 10), ("2020-01-02", 20, 20), ("2020-01-03", 150, 50)]


# --------------------------------------------------------------------------------------- CRS


def test_zones_in_another_crs_are_reprojected_with_a_note(city, tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["west"]}, geometry=[box(city, 0, 0, 50, 100)], crs=city.crs).to_crs(4326)
    path = tmp_path / "zones.geojson"
    gdf.to_file(path, driver="GeoJSON")
    z = designated_zones(city, path)
    assert z.source == "zones.geojson"
    assert z.target_ids.tolist() == ["west"]
    assert z.coverage.target_m2[0] == pytest.approx(5000.0, rel=1e-6)
    res = run_audit(city, crimes(city, *THREE_DAYS), z, n_boot=0)
    assert res.value("area_targeted") == pytest.approx(0.25, rel=1e-6)
    assert notes(res)["reprojected"] == 1


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_unknown_crs_is_an_error_naming_the_file(city, tmp_path):
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[box(city, 0, 0, 50, 100)], crs=None)
    path = tmp_path / "zones.gpkg"
    gdf.to_file(path, driver="GPKG")
    with pytest.raises(
        DataError, match=r"^zones\.gpkg: field 'geometry': the coordinate reference system is unknown"
    ):
        designated_zones(city, path)
    csv = tmp_path / "zones.csv"
    pd.DataFrame({"geometry": [box(city, 0, 0, 50, 100).wkt]}).to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"^zones\.csv: field 'geometry': the coordinate reference system"):
        designated_zones(city, csv)
    # Given explicitly it works.
    assert designated_zones(city, csv, crs=city.crs).coverage.target_m2[0] == pytest.approx(5000.0)


def test_conflicting_crs_is_an_error(city, tmp_path):
    gdf = gpd.GeoDataFrame(geometry=[box(city, 0, 0, 50, 100)], crs=city.crs)
    with pytest.raises(DataError, match="CRS is EPSG:32618 but crs=EPSG:4326"):
        designated_zones(city, gdf, crs="EPSG:4326")


def test_boxes_from_lon_lat_are_squared_in_the_areas_crs(city):
    centre = gpd.GeoSeries([shapely.Point(350_050.0, 4_350_050.0)], crs=city.crs).to_crs(4326)
    t = pd.DataFrame({"date": ["2020-01-01"], "lon": [centre.x[0]], "lat": [centre.y[0]]})
    targets = daily_targets(city, t, box_m=20)
    geom = targets.geometry[0]
    assert shapely.area(geom) == pytest.approx(400.0, rel=1e-9)
    assert shapely.centroid(geom).x == pytest.approx(350_050.0, abs=1e-6)


def test_swapped_lon_lat_is_an_error_naming_the_row(city):
    t = pd.DataFrame({"date": ["2020-01-01", "2020-01-01"], "lon": [-76.6, 39.3], "lat": [39.3, -176.6]})
    with pytest.raises(DataError, match=r"^targets: field 'lon/lat', row 2: longitude/latitude out of range"):
        daily_targets(city, t, box_m=150)


# --------------------------------------------------------------------------------------- outside the city


def test_targets_outside_the_city_are_counted_not_scored(city):
    zs = pd.DataFrame(
        {
            "id": ["in", "far"],
            "geometry": [box(city, 0, 0, 50, 100).wkt, box(city, 5000, 5000, 5100, 5100).wkt],
        }
    )
    z = designated_zones(city, zs, crs=city.crs)
    res = run_audit(city, crimes(city, *THREE_DAYS), z, n_boot=0)
    n = notes(res)
    assert (
        n["targets_outside_city"] == 1
        and "(far)" in res.notes.set_index("kind").loc["targets_outside_city", "message"]
    )
    assert n["target_periods_outside_city"] == 3
    assert res.value("target_periods") == pytest.approx(3.0)  # only the zone inside the city
    assert res.value("crime_captured") == pytest.approx(2 / 3)


def test_targets_partly_outside_are_clipped_and_counted(city):
    z = designated_zones(city, pd.DataFrame({"geometry": [box(city, -50, 0, 50, 100).wkt]}), crs=city.crs)
    assert z.coverage.target_m2[0] == pytest.approx(5000.0)
    assert z.coverage.outside_m2[0] == pytest.approx(5000.0)
    msg = {n.kind: n for n in z.notes}["targets_partly_outside_city"]
    assert msg.count == 1 and "5,000 m²" in msg.message


def test_all_targets_outside_is_an_error(city):
    far = pd.DataFrame({"geometry": [shapely.box(0, 0, 100, 100).wkt]})  # the toy city lies at 350 km east
    with pytest.raises(DataError, match=r"^zones: field 'geometry': all 1 zone lie outside the 2 areas"):
        designated_zones(city, far, crs=city.crs)


# --------------------------------------------------------------------------------------- dates


def daily(city, dates, **kw):
    return daily_targets(
        city,
        pd.DataFrame({"date": dates, "geometry": [box(city, 0, 0, 50, 100).wkt] * len(dates)}),
        crs=city.crs,
        **kw,
    )


def test_target_days_outside_the_incidents_are_counted(city):
    t = daily(city, ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05"])
    res = run_audit(city, crimes(city, *THREE_DAYS), t, n_boot=0)
    assert res.meta["period"] == {
        "start": "2020-01-01",
        "end": "2020-01-03",
        "days_audited": 3,
        "days_in_period": 3,
    }
    assert notes(res)["target_days_outside_incidents"] == 2


def test_target_days_outside_a_chosen_period_are_counted(city):
    t = daily(city, ["2020-01-01", "2020-01-02", "2020-01-03"])
    res = run_audit(city, crimes(city, *THREE_DAYS), t, n_boot=0, start="2020-01-02")
    assert notes(res)["target_days_outside_period"] == 1
    assert res.value("crimes") == 2


def test_a_period_beyond_the_incidents_is_an_error(city):
    t = daily(city, ["2020-01-01"])
    with pytest.raises(
        DataError, match=r"^audit settings: field 'start': 2019-12-01 is outside the incidents"
    ):
        run_audit(city, crimes(city, *THREE_DAYS), t, start="2019-12-01")


def test_declared_coverage_audits_days_before_the_first_incident(city):
    # Targets on Dec 30 .. Jan 3; crimes Jan 1 .. 3. By default the incidents cover Jan 1 .. 3 only.
    t = daily(city, ["2019-12-30", "2019-12-31", "2020-01-01", "2020-01-02", "2020-01-03"])
    default = run_audit(city, crimes(city, *THREE_DAYS), t, n_boot=0)
    assert default.meta["period"]["start"] == "2020-01-01"
    assert notes(default)["target_days_outside_incidents"] == 2
    assert "the dates of the first and last incident" in " ".join(default.notes["message"])
    # Declared from Dec 30: two more audited days, without crime; the share captured is unchanged and
    # the share of land targeted too (the box is there every day), so 5 days are audited.
    declared = run_audit(city, crimes(city, *THREE_DAYS), t, n_boot=0, coverage_start="2019-12-30")
    assert declared.meta["period"]["start"] == "2019-12-30"
    assert declared.meta["period"]["days_audited"] == 5
    assert "target_days_outside_incidents" not in notes(declared)
    assert declared.value("crimes") == default.value("crimes") == 3
    assert declared.value("target_hit_rate") == pytest.approx(default.value("target_hit_rate") * 3 / 5)
    assert declared.meta["incidents_coverage"] == {
        "first": "2019-12-30",
        "last": "2020-01-03",
        "declared": True,
    }
    # A start before the declared coverage is still an error, which says what was declared.
    with pytest.raises(DataError, match=r"outside the incidents' declared coverage 2019-12-30"):
        run_audit(city, crimes(city, *THREE_DAYS), t, coverage_start="2019-12-30", start="2019-12-29")


def test_targets_and_incidents_without_a_common_day_is_an_error(city):
    t = daily(city, ["2021-06-01"])
    with pytest.raises(DataError, match="share no day"):
        run_audit(city, crimes(city, *THREE_DAYS), t)


def test_zone_validity_dates_limit_the_targeting(city):
    zs = pd.DataFrame(
        {"geometry": [box(city, 0, 0, 50, 100).wkt], "valid_from": ["2020-01-02"], "valid_to": ["2020-01-02"]}
    )
    z = designated_zones(city, zs, crs=city.crs)
    res = run_audit(city, crimes(city, *THREE_DAYS), z, n_boot=0, start="2020-01-01", end="2020-01-03")
    assert res.meta["period"]["days_audited"] == 1  # the zone's only valid day; the other two are empty
    assert notes(res)["empty_target_days"] == 2
    assert res.value("crimes") == 1  # the day-2 crime, at (20, 20): inside the zone
    assert res.value("crime_captured") == pytest.approx(1.0)


def test_empty_target_days_are_left_out_or_audited_as_zero(city):
    t = daily(city, ["2020-01-01", "2020-01-03"])
    out = run_audit(city, crimes(city, *THREE_DAYS), t, n_boot=0)
    n = notes(out)
    assert n["empty_target_days"] == 1 and n["incidents_on_empty_days"] == 1
    assert out.value("crimes") == 2 and out.value("area_targeted") == pytest.approx(0.25)
    zero = run_audit(city, crimes(city, *THREE_DAYS), t, n_boot=0, empty_days="zero")
    assert zero.value("crimes") == 3 and zero.value("area_targeted") == pytest.approx(0.25 * 2 / 3)
    assert (
        "audited as days without targeting"
        in zero.notes.set_index("kind").loc["empty_target_days", "message"]
    )


# --------------------------------------------------------------------------------------- overlaps, duplicates


def test_overlapping_zones_are_counted(city):
    zs = pd.DataFrame({"geometry": [box(city, 0, 0, 60, 100).wkt, box(city, 40, 0, 100, 100).wkt]})
    z = designated_zones(city, zs, crs=city.crs)
    assert z.coverage.overlap_pairs == 1
    assert z.coverage.overlap_m2 == pytest.approx(2000.0)
    assert {n.kind for n in z.notes} >= {"overlapping_targets"}


def test_duplicate_daily_targets_count_once_with_the_highest_score(city):
    t = pd.DataFrame(
        {"date": ["2020-01-01"] * 2, "geometry": [box(city, 0, 0, 50, 50).wkt] * 2, "score": [0.2, 0.6]}
    )
    targets = daily_targets(city, t, score="score", score_kind="probability", crs=city.crs)
    assert len(targets.records) == 1 and targets.records["score"].iloc[0] == 0.6
    assert {n.kind: n.count for n in targets.notes}["duplicate_targets"] == 1


def test_invalid_polygon_is_repaired_and_counted(city):
    ox, oy = 350_000.0, 4_350_000.0
    bowtie = shapely.Polygon([(ox, oy), (ox + 50, oy + 50), (ox + 50, oy), (ox, oy + 50)])
    z = designated_zones(city, pd.DataFrame({"geometry": [bowtie.wkt]}), crs=city.crs)
    assert {n.kind for n in z.notes} >= {"invalid_polygons_repaired"}
    assert z.coverage.target_m2[0] == pytest.approx(1250.0)


# --------------------------------------------------------------------------------------- row errors


@pytest.mark.parametrize(
    ("frame", "kwargs", "pattern"),
    [
        (
            {"date": ["2020-01-01", "", "2020-01-03"], "wkt": ["W"] * 3},
            {},
            r"^targets\.csv: field 'date', row 2: (missing|unparseable) date",
        ),
        ({"date": ["2020-01-01", "1 Jan"], "wkt": ["W"] * 2}, {}, r"^targets\.csv: field 'date', row 2:"),
        (
            {"date": ["2020-01-01"] * 2, "x": [1.0, 2.0], "y": [1.0, 2.0], "side": [150, 0]},
            {"x": "x", "y": "y", "box_m": "side", "crs": "EPSG:32618"},
            r"^targets\.csv: field 'side', row 2: box size must be > 0 m",
        ),
        (
            {"date": ["2020-01-01"] * 2, "wkt": ["W"] * 2, "shift": ["A", "Z"]},
            {"shift": "shift", "shift_times": {"A": ("06:15", "11:15")}},
            r"^targets\.csv: field 'shift', row 2: shift 'Z' is not in shift_times",
        ),
        (
            {"date": ["2020-01-01"] * 2, "wkt": ["W"] * 2, "p": [0.5, 1.5]},
            {"score": "p", "score_kind": "probability"},
            r"^targets\.csv: field 'p', row 2: a probability score cannot exceed 1",
        ),
        (
            {"date": ["2020-01-01"] * 2, "wkt": ["W", "POINT (1 1)"]},
            {},
            r"^targets\.csv: field 'wkt', row 2: a point where a polygon is expected \(points need box_m",
        ),
        (
            {"date": ["2020-01-01"] * 2, "wkt": ["W", "POLYGON (("]},
            {},
            r"^targets\.csv: field 'wkt', row 2: not a WKT",
        ),
        (
            {"day": ["2020-01-01"], "wkt": ["W"]},
            {},
            r"^targets\.csv: field 'date': missing column; found \['day', 'wkt'\]",
        ),
    ],
)
def test_daily_target_row_errors(city, tmp_path, frame, kwargs, pattern):
    w = box(city, 0, 0, 50, 50).wkt
    frame = {k: [w if v == "W" else v for v in vals] for k, vals in frame.items()}
    path = tmp_path / "targets.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    opts = {"geometry": "wkt", "crs": city.crs, **kwargs}
    if "x" in kwargs:
        opts.pop("geometry")
    with pytest.raises(DataError, match=pattern):
        daily_targets(city, path, **opts)


def test_zone_row_errors(city, tmp_path):
    w = box(city, 0, 0, 50, 50).wkt
    path = tmp_path / "zones.csv"
    pd.DataFrame(
        {"geometry": [w, w], "valid_from": ["2020-01-05", "2020-01-05"], "valid_to": ["", "2020-01-01"]}
    ).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"^zones\.csv: field 'valid_to', row 2: validity ends \(2020-01-01\) before"
    ):
        designated_zones(city, path, crs=city.crs)
    pd.DataFrame({"geometry": [w, ""]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"^zones\.csv: field 'geometry', row 2: empty geometry"):
        designated_zones(city, path, crs=city.crs)


def test_patrol_log_row_errors(city, tmp_path):
    path = tmp_path / "patrols.csv"
    pd.DataFrame({"date": ["2020-01-01"] * 3, "area_id": ["A0", "A1", "B9"], "officers": [1, 2, 3]}).to_csv(
        path, index=False
    )
    with pytest.raises(
        DataError, match=r"^patrols\.csv: field 'area_id', row 3: 1 unknown area id for toy: 'B9'"
    ):
        patrol_effort(city, path)
    pd.DataFrame({"date": ["2020-01-01"] * 2, "area_id": ["A0", "A1"], "officers": [1, -2]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"^patrols\.csv: field 'officers', row 2: value -2 is below 0"):
        patrol_effort(city, path)


def test_missing_file_and_unknown_suffix(city, tmp_path):
    with pytest.raises(DataError, match=r"^nothere\.geojson: file not found"):
        designated_zones(city, tmp_path / "nothere.geojson")
    odd = tmp_path / "zones.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"^zones\.xlsx: unknown file type '\.xlsx'"):
        designated_zones(city, odd)


def test_messages_carry_no_directory(city, tmp_path):
    with pytest.raises(DataError) as err:
        designated_zones(city, tmp_path / "nothere.geojson")
    assert str(tmp_path) not in str(err.value)


# ------------------------------------------------------------------------------- incidents, population


def test_incidents_without_place_or_outside_are_counted(city):
    c = crimes(city, *THREE_DAYS)
    c.loc[1, "x"] = np.nan
    c.loc[2, "x"] += 10_000  # far east of the city
    res = run_audit(city, c, daily(city, ["2020-01-01", "2020-01-02", "2020-01-03"]), n_boot=0)
    n = notes(res)
    assert n["incidents_without_location"] == 1 and n["incidents_outside_areas"] == 1
    assert res.value("crimes") == 1


def test_unknown_crime_type_is_an_error(city):
    with pytest.raises(DataError, match=r"field 'crime_type': no incident of type\(s\) \['ARSON'\]"):
        run_audit(city, crimes(city, *THREE_DAYS), daily(city, ["2020-01-01"]), crime_types=["arson"])


def test_population_errors_and_residual_group(city, tmp_path):
    t = daily(city, ["2020-01-01", "2020-01-02", "2020-01-03"])
    c = crimes(city, *THREE_DAYS)
    path = tmp_path / "pop.csv"
    pd.DataFrame({"area_id": ["A0", "A9"], "a": [1, 2]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"^pop\.csv: field 'area_id', row 2: 1 unknown area id: 'A9'"):
        run_audit(city, c, t, population=path)
    pd.DataFrame({"area_id": ["A0"], "a": [1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"^pop\.csv: field 'area_id': no row for 1 area: 'A1'"):
        run_audit(city, c, t, population=path)
    pd.DataFrame({"area_id": ["A0", "A1"], "a": [60, 500], "total": [100, 300]}).to_csv(path, index=False)
    with pytest.raises(
        DataError,
        match=r"^pop\.csv: field 'total', row 2: the groups add up to more residents than the "
        r"total \(500 > 300\)",
    ):
        run_audit(city, c, t, population=path, population_total="total")
    pd.DataFrame({"area_id": ["A0", "A1"], "a": [60, 30], "total": [100, 300]}).to_csv(path, index=False)
    res = run_audit(city, c, t, population=path, population_total="total", n_boot=0)
    shares = res.by_group.query("grouping == 'residents' and measure == 'resident_share'")
    assert dict(zip(shares["group"], shares["value"], strict=True)) == pytest.approx(
        {"a": 90 / 400, "other (not listed)": 310 / 400}
    )


def test_targets_of_other_areas_are_refused(city):
    other = toy_areas(3, 1)
    t = daily_targets(
        other,
        pd.DataFrame({"date": ["2020-01-01"], "geometry": [shapely.box(0, 0, 9, 9).wkt]}),
        crs=other.crs,
    )
    with pytest.raises(DataError, match="read against other areas"):
        run_audit(city, crimes(city, *THREE_DAYS), t)


# --------------------------------------------------------------------------------------- settings


def test_settings_are_checked():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['n_boots'\]"):
        AuditSettings().replace(n_boots=3)
    with pytest.raises(ConfigError, match=r"field 'exposure': must be one of \['area', 'area_days'\]"):
        AuditSettings(exposure="people")
    with pytest.raises(ConfigError, match="field 'end': the end is before the start"):
        AuditSettings(start="2020-02-01", end="2020-01-01")
    with pytest.raises(ConfigError, match="field 'coverage_end': it ends before it starts"):
        AuditSettings(coverage_start="2020-02-01", coverage_end="2020-01-01")
    with pytest.raises(ConfigError, match="'all' is reserved"):
        AuditSettings(type_groups={"all": ["THEFT"]})


def test_boxes_squared_in_a_feet_crs_keep_their_size_in_metres(city):
    # Maryland State Plane in US feet (Baltimore's own CRS): a 500 ft box is 152.4 m on a side.
    t = pd.DataFrame({"date": ["2020-01-01"], "x": [350_050.0], "y": [4_350_050.0]})
    targets = daily_targets(city, t, x="x", y="y", crs=city.crs, box_m=152.4, box_crs="EPSG:2248")
    assert shapely.area(targets.geometry[0]) == pytest.approx(152.4**2, rel=2e-3)
    assert shapely.centroid(targets.geometry[0]).distance(shapely.Point(350_050.0, 4_350_050.0)) < 0.01


def test_incidents_joined_to_other_areas_are_joined_again(city):
    from pyproj import Transformer

    from fairpatrol.data import clean_incidents

    lon, lat = Transformer.from_crs(city.crs, 4326, always_xy=True).transform(
        [350_010.0, 350_190.0, 350_020.0], [4_350_010.0, 4_350_050.0, 4_350_030.0]
    )
    raw = pd.DataFrame(
        {
            "time": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-02"]),
            "lon": lon,
            "lat": lat,
            "crime_type": "T",
        }
    )
    inc = clean_incidents(raw, city, source="mine.csv")
    halves = toy_areas(1, 2, size_m=100.0, origin=(350_000.0, 4_350_000.0))  # other areas, same place
    z = designated_zones(halves, pd.DataFrame({"geometry": [box(halves, 0, 0, 50, 100).wkt]}), crs=halves.crs)
    res = run_audit(halves, inc, z, n_boot=0)
    # (190, 50) is in the two-area city but 90 m east of the one-column city: snapped into it.
    assert res.value("crimes") == 3
    assert res.value("crime_captured") == pytest.approx(2 / 3)
    assert notes(res)["incidents_snapped"] == 1
