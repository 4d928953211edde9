"""The audit datasheet (fairpatrol/report/audit.py): its sentences and tables say what the result says, the
map outlines every target, downloads hold the areas and targets, data from the inputs is escaped, and the
page carries no absolute path. The city is tests/audit/small_city.py's."""

from __future__ import annotations

import json
import re

import pytest

from fairpatrol.audit import read_audit
from fairpatrol.audit.config import load_audit_config
from fairpatrol.audit.study import load_audit_inputs, run_configured_audit, write_audit
from fairpatrol.formatting import percent, with_interval
from fairpatrol.report import audit as sheet
from fairpatrol.report import write_report
from tests.audit.small_city import KNOWN, write_city, write_config

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("city")
    write_city(folder)
    cfg = load_audit_config(write_config(folder, type_groups={"property": ["BURGLARY"]}, tiers=True))
    inputs = load_audit_inputs(cfg)
    res = run_configured_audit(cfg, inputs)
    out = folder / "res"
    write_audit(res, cfg, inputs, out)
    return out


@pytest.fixture(scope="module")
def res(written):
    return read_audit(written)


def test_the_first_sentence_is_the_results_accuracy(res):
    first = sheet.sentences(res)[0]
    row = res.row("crime_captured")
    assert with_interval(row["value"], row["lo"], row["hi"], "share") in first
    assert res.value("area_targeted") == pytest.approx(KNOWN["area_targeted"])
    assert percent(res.value("area_targeted")) in first
    assert "The 2 patrol zones covered" in first and "5 crimes" in first and "2 days" in first


def test_the_group_sentence_gives_each_compared_groups_shares_and_ratio(res):
    text = " ".join(sheet.sentences(res))
    for g in ("G1", "G2"):
        share = res.value("targeting_share", grouping="area group", group=g)
        crime = res.value("crime_share", grouping="area group", group=g)
        assert f"{g} areas got {percent(share)}" in text
        assert f"for {percent(crime)} of the crime" in text
    assert "their share of crime" in text


def test_a_type_group_leaning_the_other_way_gets_its_own_sentence(res):
    # All crimes: G1 has 3 of 5 crimes and 1/3 of the targeting (ratio 0.56); the only burglary is in G1:
    # ratio 1/3, the same side of 1; G2 has no burglary (ratio undefined): no reversal, so no sentence.
    text = " ".join(sheet.sentences(res))
    assert "leans the other way" not in text
    assert "They held" in text and "of property" in text


def test_headline_tables_cover_every_group(res):
    head = sheet.headline_rows(res)
    assert [r["group"] for r in head.groups] == ["G1", "G2"]
    assert [r["residents"] for r in head.residents] == ["A", "B"]
    assert [r["crimes"] for r in head.accuracy] == ["all crimes", "property"]
    assert head.groups[0]["areas"] == "4"


def test_the_map_outlines_every_target_with_its_crimes(res):
    units = sheet.svgmap.MapUnits.from_areas(res.areas)
    defs, use = sheet.target_overlay(res, units, "t")
    assert use == '<use href="#t-targets"/>'
    assert defs.count("<path ") == 2
    assert "Z1: 2 crimes inside" in defs and "Z2: 1 crimes inside" in defs
    html = str(sheet.first_maps(res, units, "t"))
    assert html.count(use) == 2  # both panels draw the targets


def test_many_targets_are_drawn_as_their_union(res, monkeypatch):
    monkeypatch.setattr(sheet, "MAX_OUTLINED", 1)
    units = sheet.svgmap.MapUnits.from_areas(res.areas)
    defs, _ = sheet.target_overlay(res, units, "t")
    assert defs.count("<path ") == 1 and "2 patrol zones" in defs


def test_downloads_hold_the_areas_and_targets(res):
    links = "".join(str(x) for x in sheet.downloads(res, "toy"))
    payloads = dict(re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', links))
    areas = json.loads(json.loads(payloads["dl-geo"]))
    assert len(areas["features"]) == 8
    props = areas["features"][0]["properties"]
    assert {"area_id", "group", "targeting_share", "crime_share", "ratio_to_crime"} <= set(props)
    targets = json.loads(json.loads(payloads["dl-targets"]))
    assert [f["properties"]["target_id"] for f in targets["features"]] == ["Z1", "Z2"]
    assert targets["features"][0]["properties"]["crimes_inside"] == 2
    lon, lat = targets["features"][0]["geometry"]["coordinates"][0][0]
    assert -80 < lon < -70 and 35 < lat < 45  # lon/lat, not metres
    assert "dl-by_target" in payloads and "dl-areas" in payloads


def test_report_of_an_audit_is_small_and_names_no_absolute_path(written, tmp_path):
    report = write_report(written, tmp_path / "sheet.html")
    html = report.path.read_text()
    assert report.bytes < 2_000_000
    assert str(written.parent) not in html and str(tmp_path) not in html
    assert "e+" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)  # no scientific notation
    for anchor in ("numbers", "types", "areas", "time", "calibration", "tiers", "notes", "data", "reproduce"):
        assert f'id="{anchor}"' in html
    assert "The zones are made up." in html  # the config's caveat


def test_data_from_the_inputs_is_escaped(tmp_path):
    folder = tmp_path / "city"
    write_city(folder)
    import geopandas as gpd

    zones = gpd.read_file(folder / "zones.geojson")
    zones["zone_id"] = [SCRIPT, "Z2"]
    (folder / "zones.geojson").unlink()
    zones.to_file(folder / "zones.geojson", driver="GeoJSON")
    areas = gpd.read_file(folder / "areas.gpkg")
    areas.loc[0, "name"] = SCRIPT
    areas.to_file(folder / "areas.gpkg", driver="GPKG")
    cfg = load_audit_config(
        write_config(
            folder,
            caveats=[SCRIPT],
            targets={"kind": "zones", "file": "zones.geojson", "id": "zone_id", "label": SCRIPT},
        )
    )
    inputs = load_audit_inputs(cfg)
    write_audit(run_configured_audit(cfg, inputs), cfg, inputs, folder / "res")
    html = write_report(folder / "res", tmp_path / "r.html").path.read_text()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_audit_written_without_areas_is_refused_in_one_line(written, tmp_path):
    import shutil

    from fairpatrol.errors import FairpatrolError

    copy = tmp_path / "res"
    shutil.copytree(written, copy)
    (copy / "areas.parquet").unlink()
    with pytest.raises(FairpatrolError, match=r"no areas\.parquet"):
        write_report(copy, tmp_path / "r.html")


def test_quantile_breaks_are_round_and_end_at_the_largest_value():
    import numpy as np

    from fairpatrol.report.svgmap import quantile_breaks

    # positive values 1..100: quarters at 25.75, 50.5, 75.25 and 90.1 -> 30, 50, 80, 90, then 100
    assert quantile_breaks(np.r_[0.0, np.arange(1.0, 101.0)]) == [30.0, 50.0, 80.0, 90.0, 100.0]
    assert quantile_breaks(np.zeros(5)) == [1.0]
    assert quantile_breaks(np.array([3.0, 3.0])) == [3.0]
