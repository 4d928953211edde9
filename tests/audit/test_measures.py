"""Known answers of the audit on a two-area city: targets and crimes placed by hand, numbers worked by hand.

The city: A0 = [0, 100] × [0, 100] (group G1, 100 residents), A1 = [100, 200] × [0, 100] (group G2, 300
residents); 10,000 m² each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from fairpatrol.audit import daily_targets, designated_zones, patrol_effort, run_audit
from fairpatrol.audit.toy import toy_areas
from fairpatrol.errors import DataError


@pytest.fixture(scope="module")
def city():
    return toy_areas(2, 1, groups=["G1", "G2"], population=[100.0, 300.0])


def crimes(*rows: tuple[str, float, float], kind: str = "THEFT") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.to_datetime([r[0] for r in rows]),
            "x": [r[1] for r in rows],
            "y": [r[2] for r in rows],
            "crime_type": [r[3] if len(r) > 3 else kind for r in rows],
        }
    )


def zones(*boxes: tuple[float, float, float, float], **cols: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"geometry": [shapely.box(*b).wkt for b in boxes], **cols})


# A zone over the west half of A0, valid on both days; five crimes, two inside the zone.
HALF_ZONE_CRIMES = crimes(
    ("2020-01-01 10:00", 10, 10),  # A0, in the zone
    ("2020-01-01 11:00", 150, 50),  # A1
    ("2020-01-02 09:00", 20, 30),  # A0, in the zone
    ("2020-01-02 12:00", 60, 50),  # A0, outside the zone
    ("2020-01-02 13:00", 170, 20, "BURGLARY"),  # A1
)


@pytest.fixture(scope="module")
def half_zone(city):
    z = designated_zones(city, zones((0, 0, 50, 100)), crs=city.crs)
    return run_audit(city, HALF_ZONE_CRIMES, z, n_boot=50)


def test_accuracy_of_a_zone_known_answers(half_zone):
    # 2 of 5 crimes inside; 5,000 of 20,000 m² targeted on each of 2 days; both zone-days had a crime.
    assert half_zone.value("crime_captured") == pytest.approx(2 / 5)
    assert half_zone.value("area_targeted") == pytest.approx(0.25)
    assert half_zone.value("pai") == pytest.approx((2 / 5) / 0.25)
    assert half_zone.value("target_hit_rate") == pytest.approx(1.0)
    assert half_zone.value("crimes") == 5
    assert half_zone.value("crimes_captured") == 2


def test_accuracy_by_crime_type(half_zone):
    theft = dict(crime_type="THEFT")
    assert half_zone.value("crime_captured", **theft) == pytest.approx(2 / 4)
    assert half_zone.value("pai", **theft) == pytest.approx(0.5 / 0.25)
    assert half_zone.value("crime_captured", crime_type="BURGLARY") == 0.0
    assert half_zone.value("target_hit_rate", crime_type="BURGLARY") == 0.0


def test_accuracy_per_group_and_area(half_zone):
    g1 = dict(grouping="area group", group="G1")
    assert half_zone.value("crime_captured", **g1) == pytest.approx(2 / 3)
    assert half_zone.value("area_targeted", **g1) == pytest.approx(0.5)
    assert half_zone.value("pai", **g1) == pytest.approx((2 / 3) / 0.5)
    # G2 has no target: share captured 0, PAI undefined (0 / 0), never infinite.
    g2 = dict(grouping="area group", group="G2")
    assert half_zone.value("crime_captured", **g2) == 0.0
    assert np.isnan(half_zone.value("pai", **g2))
    assert half_zone.value("pai", grouping="area", group="A0") == pytest.approx(4 / 3)


def test_exposure_ratios_known_answers(half_zone):
    g1, g2 = dict(grouping="area group", group="G1"), dict(grouping="area group", group="G2")
    # All targeting is in G1, which has 3 of 5 crimes and 100 of 400 residents.
    assert half_zone.value("targeting_share", **g1) == pytest.approx(1.0)
    assert half_zone.value("crime_share", **g1) == pytest.approx(3 / 5)
    assert half_zone.value("resident_share", **g1) == pytest.approx(1 / 4)
    assert half_zone.value("ratio_to_crime", **g1) == pytest.approx(1 / (3 / 5))
    assert half_zone.value("ratio_to_residents", **g1) == pytest.approx(4.0)
    assert half_zone.value("ratio_to_crime", **g2) == 0.0
    assert half_zone.value("ratio_to_residents", **g2) == 0.0


def test_repeat_targeting(half_zone):
    by = half_zone.by_area.set_index(["area_id", "measure"])["value"]
    assert by[("A0", "days_targeted")] == 2 and by[("A0", "longest_streak")] == 2
    assert by[("A1", "days_targeted")] == 0 and by[("A1", "longest_streak")] == 0
    assert by[("A0", "days_targeted_share")] == pytest.approx(1.0)


def test_resident_groups_split_targeting_by_composition(city):
    # A0: 60 of group a, 40 of b; A1: 30 of a, 270 of b. All targeting in A0.
    areas = toy_areas(2, 1, population=[100.0, 300.0])
    areas.frame["a"] = [60.0, 30.0]
    areas.frame["b"] = [40.0, 270.0]
    z = designated_zones(areas, zones((0, 0, 100, 100)), crs=areas.crs)
    res = run_audit(areas, HALF_ZONE_CRIMES, z, population=["a", "b"], n_boot=0)
    a = dict(grouping="residents", group="a")
    assert res.value("targeting_share", **a) == pytest.approx(0.6)
    assert res.value("resident_share", **a) == pytest.approx(90 / 400)
    assert res.value("ratio_to_residents", **a) == pytest.approx(0.6 / (90 / 400))
    # crimes attributed by composition: A0 has 3 crimes, A1 2 → a: 3·0.6 + 2·0.1 = 2.0 of 5
    assert res.value("crime_share", **a) == pytest.approx(2.0 / 5)


def test_box_straddling_two_areas_is_split_by_area(city):
    # Day 1: a 20 m box centred on the A0/A1 boundary; day 2: a box inside A0. One crime each day.
    t = pd.DataFrame({"date": ["2020-01-01", "2020-01-02"], "x": [100.0, 50.0], "y": [50.0, 50.0]})
    c = crimes(("2020-01-01 08:00", 95, 50), ("2020-01-02 08:00", 105, 50))
    targets = daily_targets(city, t, x="x", y="y", box_m=20, crs=city.crs)
    res = run_audit(city, c, targets, n_boot=0)
    assert res.value("area_targeted") == pytest.approx(800 / 40_000)
    assert res.value("crime_captured") == pytest.approx(0.5)
    assert res.value("target_hit_rate") == pytest.approx(0.5)
    assert res.value("target_periods", grouping="area group", group="G1") == pytest.approx(1.5)
    assert res.value("target_periods", grouping="area group", group="G2") == pytest.approx(0.5)
    assert res.value("target_hit_rate", grouping="area group", group="G1") == pytest.approx(0.5 / 1.5)
    assert res.value("targeting_share", grouping="area group", group="G2") == pytest.approx(200 / 800)
    assert "targets_split_across_areas" in set(res.notes["kind"])
    # With a one-day window the day-2 crime falls in the day-1 box: both captured.
    later = run_audit(city, c, targets, n_boot=0, window_days=1)
    assert later.value("crime_captured") == pytest.approx(1.0)


def test_overlap_counts_once_per_area_day(city):
    z = designated_zones(city, zones((0, 0, 60, 100), (40, 0, 100, 100)), crs=city.crs)
    c = crimes(("2020-01-01", 50, 50), ("2020-01-01", 150, 50))
    res = run_audit(city, c, z, n_boot=0)
    assert res.value("area_targeted", grouping="area", group="A0") == pytest.approx(1.0)  # not 1.2
    assert res.value("crimes_captured") == 1  # inside both zones, captured once
    assert res.value("target_hit_rate") == pytest.approx(1.0)  # each zone-day had a crime
    note = res.notes.set_index("kind").loc["overlapping_targets"]
    assert note["count"] == 1 and "2,000 m²" in note["message"]


def test_shift_targets_match_crimes_by_time_of_day(city):
    t = pd.DataFrame({"date": ["2020-01-01"], "shift": ["A"], "geometry": [shapely.box(0, 0, 100, 100).wkt]})
    shifts = {"A": ("06:00", "08:00"), "B": ("14:00", "08:00")}
    targets = daily_targets(city, t, shift="shift", shift_times=shifts, crs=city.crs)
    c = crimes(("2020-01-01 07:00", 50, 50), ("2020-01-01 15:00", 50, 50))
    assert run_audit(city, c, targets, n_boot=0).value("crime_captured") == pytest.approx(0.5)
    # Date-only incidents cannot be matched to a shift: the whole date counts, and the notes say so.
    dated = crimes(("2020-01-01", 50, 50), ("2020-01-01", 50, 50))
    res = run_audit(city, dated, targets, n_boot=0)
    assert res.value("crime_captured") == pytest.approx(1.0)
    assert "no_time_of_day" in set(res.notes["kind"])


def test_shift_crossing_midnight_is_one_target_period(city):
    t = pd.DataFrame({"date": ["2020-01-01"], "shift": ["N"], "geometry": [shapely.box(0, 0, 100, 100).wkt]})
    targets = daily_targets(city, t, shift="shift", shift_times={"N": ("20:00", "10:00")}, crs=city.crs)
    c = crimes(("2020-01-02 03:00", 50, 50), ("2020-01-02 07:00", 50, 50))
    res = run_audit(city, c, targets, n_boot=0)
    assert res.value("crimes_captured") == 1
    assert res.value("target_periods") == pytest.approx(1.0)
    assert res.value("target_hit_rate") == pytest.approx(1.0)


def test_patrol_effort_exposure_known_answers(city):
    logs = pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-01", "2020-01-02", "2020-01-02"],
            "area_id": ["A0", "A1", "A0", "A1"],
            "officers": [2.0, 0.0, 1.0, 3.0],
        }
    )
    c = crimes(
        ("2020-01-01", 50, 50), ("2020-01-01", 150, 50), ("2020-01-02", 150, 50), ("2020-01-02", 140, 50)
    )
    res = run_audit(city, c, patrol_effort(city, logs), n_boot=0)
    g1, g2 = dict(grouping="area group", group="G1"), dict(grouping="area group", group="G2")
    assert res.value("targeting_share", **g1) == pytest.approx(3 / 6)
    assert res.value("ratio_to_crime", **g1) == pytest.approx((3 / 6) / (1 / 4))
    assert res.value("ratio_to_residents", **g2) == pytest.approx((3 / 6) / (3 / 4))
    # Patrolled area-days: A0 both days, A1 day 2 → 3 of 4 crimes in a patrolled area that day.
    assert res.value("crime_captured") == pytest.approx(3 / 4)
    assert res.value("area_targeted") == pytest.approx(3 / 4)
    assert res.value("target_hit_rate") == pytest.approx(2 / 3)


def test_patrol_rows_of_one_area_day_are_summed(city):
    logs = pd.DataFrame({"date": ["2020-01-01"] * 3, "area_id": ["A0", "A0", "A1"], "minutes": [30, 30, 20]})
    t = patrol_effort(city, logs, effort="minutes")
    assert "patrol_rows_summed" in {n.kind for n in t.notes}
    res = run_audit(city, crimes(("2020-01-01", 50, 50)), t, n_boot=0)
    assert res.value("targeting_share", grouping="area group", group="G1") == pytest.approx(60 / 80)


def scored_boxes(city, scores: list[float], kind: str):
    """Two boxes on 2020-01-01: the south-west quarter of A0 and the north-east quarter of A1."""
    t = pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-01"],
            "geometry": [shapely.box(0, 0, 50, 50).wkt, shapely.box(150, 50, 200, 100).wkt],
            "score": scores,
        }
    )
    return daily_targets(city, t, score="score", score_kind=kind, crs=city.crs)


def test_calibration_of_expected_counts(city):
    # Box 1 (score 1) sees no crime, box 2 (score 3) sees four: O/E = 4 / 4, slope = (4 − 0) / (3 − 1).
    targets = scored_boxes(city, [1.0, 3.0], "expected_count")
    c = crimes(*[("2020-01-01", 160 + i, 60) for i in range(4)], ("2020-01-01", 80, 80))
    res = run_audit(city, c, targets, n_boot=20, calibration_bins=2)
    assert res.value("observed_to_expected") == pytest.approx(1.0)
    assert res.value("calibration_slope") == pytest.approx(2.0)
    assert res.value("observed_to_expected", grouping="area group", group="G1") == 0.0
    assert res.value("observed_to_expected", grouping="area group", group="G2") == pytest.approx(4 / 3)
    overall = res.calibration.query("grouping == 'overall'")
    assert overall["mean_score"].tolist() == [1.0, 3.0]
    assert overall["mean_observed"].tolist() == [0.0, 4.0]
    assert overall["hit_share"].tolist() == [0.0, 1.0]


def test_probability_scores_are_compared_with_hits(city):
    targets = scored_boxes(city, [0.25, 0.75], "probability")
    c = crimes(("2020-01-01", 160, 60), ("2020-01-01", 161, 60))  # two crimes, one box hit
    res = run_audit(city, c, targets, n_boot=0)
    assert res.value("observed_to_expected") == pytest.approx(1 / 1.0)


def test_ranks_give_bins_but_no_calibration_ratio(city):
    t = pd.DataFrame(
        {
            "date": ["2020-01-01"] * 2,
            "geometry": [shapely.box(0, 0, 50, 50).wkt, shapely.box(50, 0, 100, 50).wkt],
            "rank": [1, 2],
        }
    )
    res = run_audit(
        city, crimes(("2020-01-01", 10, 10)), daily_targets(city, t, rank="rank", crs=city.crs), n_boot=0
    )
    assert "observed_to_expected" not in set(res.overall["measure"])
    assert "relative_scores" in set(res.notes["kind"])
    top = res.calibration.query("grouping == 'overall'").sort_values("mean_score")
    assert top["mean_observed"].tolist() == [0.0, 1.0]  # the rank-1 box (highest score) met the crime


def test_trend_slope_per_month(city):
    # Targets cover all of A0 every day; in month m (0, 1, 2) one crime of 1 + m is in A0, the rest in A1:
    # captured shares 1/1, 1/2, 1/3 per month.
    z = designated_zones(city, zones((0, 0, 100, 100)), crs=city.crs)
    rows = [
        ("2020-01-05", 50, 50),
        ("2020-02-05", 50, 50),
        ("2020-02-06", 150, 50),
        ("2020-03-05", 50, 50),
        ("2020-03-06", 150, 50),
        ("2020-03-07", 150, 50),
    ]
    res = run_audit(city, crimes(*rows), z, n_boot=0)  # Jan 5 .. Mar 7: the incidents' dates
    tr = res.trends.set_index(["grouping", "group", "measure"]).loc[("overall", "all", "crime_captured")]
    expected = np.polyfit([0, 1, 2], [1, 1 / 2, 1 / 3], 1)[0]
    assert tr["slope"] == pytest.approx(expected)
    assert tr["per"] == "month" and tr["n_buckets"] == 3


def test_by_day_series(half_zone):
    day = half_zone.by_day.query("grouping == 'overall' and measure == 'crime_captured'")
    assert day["value"].tolist() == pytest.approx([1 / 2, 1 / 3])
    g = half_zone.by_day.query("grouping == 'area group' and measure == 'targeting_share'")
    assert g.groupby("group")["value"].sum().to_dict() == pytest.approx({"G1": 2.0, "G2": 0.0})


def test_exposure_area_days_counts_each_touched_area_once(city):
    z = designated_zones(city, zones((90, 0, 110, 100)), crs=city.crs)  # 1,000 m² in each area
    res = run_audit(city, HALF_ZONE_CRIMES, z, n_boot=0, exposure="area_days")
    assert res.value("targeting_share", grouping="area group", group="G1") == pytest.approx(0.5)


def test_targets_for_listed_crime_types_only_capture_those(city):
    # The Markup's Plainfield rule: a prediction for burglary is hit only by a burglary.
    t = pd.DataFrame(
        {
            "date": ["2020-01-01"],
            "geometry": [shapely.box(0, 0, 100, 100).wkt],
            "incident_types": ["Burglary"],
        }
    )
    targets = daily_targets(city, t, types="incident_types", crs=city.crs)
    c = crimes(
        ("2020-01-01", 10, 10, "THEFT"), ("2020-01-01", 20, 20, "BURGLARY"), ("2020-01-01", 150, 50, "THEFT")
    )
    res = run_audit(city, c, targets, n_boot=0)
    assert res.value("crimes_captured") == 1
    assert res.value("crime_captured", crime_type="BURGLARY") == 1.0
    assert res.value("crime_captured", crime_type="THEFT") == 0.0
    assert res.value("target_hit_rate", crime_type="THEFT") == 0.0
    assert res.value("target_hit_rate") == 1.0
    assert "typed_targets" in set(res.notes["kind"])
    # A type group's label stands for all its members.
    t["incident_types"] = ["property"]
    grouped = daily_targets(city, t, types="incident_types", crs=city.crs)
    res = run_audit(city, c, grouped, n_boot=0, type_groups={"property": ("THEFT", "BURGLARY")})
    assert res.value("crimes_captured") == 2


def test_a_listed_crime_type_that_matches_nothing_is_an_error(city, tmp_path):
    path = tmp_path / "predictions.csv"
    pd.DataFrame(
        {
            "date": ["2020-01-01"] * 2,
            "geometry": [shapely.box(0, 0, 50, 50).wkt, shapely.box(50, 0, 100, 50).wkt],
            "incident_types": ["THEFT", "THEFT|Arson"],
        }
    ).to_csv(path, index=False)
    targets = daily_targets(city, path, types="incident_types", crs=city.crs)
    with pytest.raises(
        DataError, match=r"^predictions\.csv: field 'incident_types', row 2: crime type 'ARSON'"
    ):
        run_audit(city, crimes(("2020-01-01", 10, 10)), targets)


def test_duplicate_predictions_pool_their_crime_types(city):
    t = pd.DataFrame(
        {
            "date": ["2020-01-01"] * 2,
            "geometry": [shapely.box(0, 0, 100, 100).wkt] * 2,
            "incident_types": ["THEFT", "BURGLARY"],
        }
    )
    targets = daily_targets(city, t, types="incident_types", crs=city.crs)
    assert targets.records["types"].tolist() == ["BURGLARY|THEFT"]
    c = crimes(("2020-01-01", 10, 10, "THEFT"), ("2020-01-01", 20, 20, "BURGLARY"))
    assert run_audit(city, c, targets, n_boot=0).value("crime_captured") == 1.0


def test_by_target_known_answers(half_zone):
    row = half_zone.by_target.iloc[0]
    assert len(half_zone.by_target) == 1
    assert (row["target_id"], row["main_area_id"], row["main_area_name"], row["areas"]) == (
        "zone 1",
        "A0",
        "Area 0",
        1,
    )
    assert row["m2"] == pytest.approx(5000.0) and row["m2_outside"] == 0
    assert (row["target_periods"], row["days_active"], row["longest_streak"], row["hit_periods"]) == (
        2,
        2,
        2,
        2,
    )
    assert row["hit_rate"] == 1.0 and row["crimes_inside"] == 2
    assert row["crime_share"] == pytest.approx(2 / 5)
    assert row["pai"] == pytest.approx((2 / 5) / (5000 * 2 / (20_000 * 2)))


def test_by_target_counts_a_crime_in_two_overlapping_targets_for_both(city):
    # z1 covers A0; z2 = [60, 160] straddles (4,000 m² in A0, 6,000 in A1); one crime in both.
    z = designated_zones(city, zones((0, 0, 100, 100), (60, 0, 160, 100)), crs=city.crs)
    rows = [("2020-01-01", 10, 10), ("2020-01-01", 70, 50), ("2020-01-01", 120, 50), ("2020-01-01", 180, 50)]
    res = run_audit(city, crimes(*rows), z, n_boot=0)
    t = res.by_target.set_index("target_id")
    assert t.loc["zone 1", "crimes_inside"] == 2 and t.loc["zone 2", "crimes_inside"] == 2
    assert t.loc["zone 2", "main_area_id"] == "A1" and t.loc["zone 2", "areas"] == 2
    assert t["crime_share"].sum() == pytest.approx(1.0)  # 4 of 4 counted, one crime twice
    assert res.value("crime_captured") == pytest.approx(3 / 4)  # the crime counts once overall
    assert t.loc["zone 1", "pai"] == pytest.approx(0.5 / 0.5)
    assert t.loc["zone 2", "pai"] == pytest.approx(0.5 / 0.5)
