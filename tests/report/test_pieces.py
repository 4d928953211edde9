"""Pieces of the report's first screen: SVG maps (holes, parent areas, raster), the bar chart, downloads,
and the datasheet's numbers against the results tables."""

from __future__ import annotations

import json
import re
import zlib

import numpy as np
import pandas as pd
import pytest
import shapely

from fairpatrol.data import Areas
from fairpatrol.report import page, svgmap
from tests.conftest import baltimore_results


def squares(n_side: int, parents: bool, holes: bool = False) -> Areas:
    """n_side × n_side unit squares (100 m); parents: 2 × 2 blocks of squares share a parent_id."""
    rows = []
    geoms = []
    for i in range(n_side):
        for j in range(n_side):
            g = shapely.box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100)
            if holes and i == j == 0:
                g = g.difference(shapely.box(30, 30, 70, 70))
            geoms.append(g)
            rows.append(
                {
                    "area_id": f"c{i}_{j}",
                    "name": f"<b>cell</b> {i},{j}",
                    "group": "A" if i < n_side / 2 else "B",
                    "area_m2": g.area,
                    **(
                        {"parent_id": f"p{i // 2}_{j // 2}", "parent_name": f"block {i // 2},{j // 2}"}
                        if parents
                        else {}
                    ),
                }
            )
    return Areas("grid", "EPSG:32618", pd.DataFrame(rows), np.array(geoms, dtype=object), ("A", "B"))


def test_map_keeps_polygon_holes_and_escapes_names():
    areas = squares(2, parents=False, holes=True)
    units = svgmap.MapUnits.from_areas(areas)
    assert units.what == "areas" and units.n == 4
    assert units.paths[0].count("M") == 2 and units.paths[0].count("Z") == 2  # outer ring and the hole
    assert units.paths[1].count("M") == 1
    panel = units.panel("t", ["#000000"] * 4, list(areas.names), "caption <i>")
    assert 'fill-rule="evenodd"' in panel
    assert "&lt;b&gt;cell&lt;/b&gt; 0,0" in panel and "<b>" not in panel and "caption &lt;i&gt;" in panel
    assert panel.count("<use ") == 4 and units.defs("t").count("<path id=") == 4


def test_many_areas_are_drawn_as_their_parent_areas():
    areas = squares(26, parents=True)  # 676 cells in 169 blocks of 2 × 2
    units = svgmap.MapUnits.from_areas(areas, max_units=600)
    assert units.what == "parent areas" and units.n == 169
    assert units.names[0].startswith("block ")
    values = np.ones(areas.n)
    np.testing.assert_allclose(units.aggregate(values), 4.0)  # additive values summed per parent
    two = np.stack([values, 2 * values])
    np.testing.assert_allclose(units.aggregate(two)[1], 8.0)
    # the merged outline of a 2 × 2 block is one square ring
    assert units.paths[0].count("M") == 1


def test_many_areas_without_parents_are_a_raster_image():
    areas = squares(26, parents=False)
    units = svgmap.MapUnits.from_areas(areas, max_units=600)
    assert units.what == "raster"
    colors = ["#ff0000" if g == "A" else "#0000ff" for g in areas.groups]
    panel = units.panel("t", colors, list(areas.names))
    b64 = re.search(r"data:image/png;base64,([^\"]+)", panel).group(1)
    import base64

    png = base64.b64decode(b64)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    idat = png[png.index(b"IDAT") + 4 :]
    raw = zlib.decompressobj().decompress(idat)
    row = raw[1 : 1 + 3 * w]  # first pixel row after its filter byte
    assert tuple(row[:3]) == (255, 0, 0) and tuple(row[-3:]) == (0, 0, 255)  # group A left, B right
    assert h > 0


def test_classes_of_a_ratio():
    cls = svgmap.classify(np.array([0.4, 0.5, 0.9, 1.25, 3.0, np.nan, np.inf]), svgmap.RATIO_BOUNDS)
    assert cls.tolist() == [0, 0, 2, 2, 4, -1, 4]  # a bound belongs to the lower class
    assert svgmap.sequential_breaks(np.array([0, 3, 40]))[-1] == 40


def test_bar_chart_and_downloads():
    bars = {("A <x>", "s1"): page.Bar(0.4, 0.35, 0.45), ("A <x>", "ref"): page.Bar(0.5)}
    svg = page.bar_chart(["A <x>"], [("s1", "#123456")], bars, ("ref", "#000000"))
    assert "A &lt;x&gt;" in svg and "<x>" not in svg
    assert svg.count("<rect") == 2 + 2  # legend swatches and the two bars
    link = page.download("a.csv", "x,y\n<1>,2\n", "text/csv", "Table", "dl-1")
    payload = re.search(r'<script type="application/json" id="dl-1">(.*?)</script>', link).group(1)
    assert "<1>" not in payload and json.loads(payload) == "x,y\n<1>,2\n"
    assert page.csv_text([{"a": 1, "b": "x,y"}]) == 'a,b\n1,"x,y"\n'


@pytest.fixture(scope="module")
def results(tmp_path_factory, baltimore):
    out = tmp_path_factory.mktemp("sheet") / "study"
    return baltimore_results(out, baltimore, days=20, runs=3, seed=3, officers=[100], report_probs=[0.4])


def test_datasheet_numbers_are_those_of_the_results(results):
    from fairpatrol.formatting import percent, times
    from fairpatrol.notebook import load_results as load_frames
    from fairpatrol.report.datasheet import Datasheet
    from fairpatrol.results import read_results

    res = read_results(results)
    scen = res.scenarios[0]
    crimes = res.area_arrays(scen, "PredPol")["true_crimes"][0]
    sheet = Datasheet(res, scen, crimes)
    frames = load_frames(results).by_group
    g = frames[(frames["algorithm"] == "PredPol")].set_index(["group", "metric"])["mean"]
    first, second, third = sheet.sentences()
    assert f"Black areas had {percent(g[('Black', 'true_crime_share')])} of the true crimes" in first
    assert f"received {percent(g[('Black', 'patrol_share')])} of PredPol's patrols" in first
    pair = load_frames(results).overall.query("algorithm == 'PredPol' and metric == 'disparity_ratio_pair'")
    assert f"got {times(pair['mean'].iloc[0])} the patrols of White areas under PredPol" in second
    assert f"detected {percent(g[('Black', 'detection_rate')])} of the crimes in Black areas" in third
    over = sheet.ranked_areas()["over"]
    assert all(int(r["true crimes"]) >= sheet.min_crimes for r in over)
