"""Bundled incidents: cleaning counts, spatial join, dedup."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairpatrol.data import BUNDLED_INCIDENTS, load_areas, load_incidents


def _adds_up(r) -> None:
    dropped = r.type_filtered + r.bad_dates + r.nan_coordinates + r.duplicates_dropped + r.outside_dropped
    assert r.rows_read == r.kept + dropped
    assert r.kept == r.within_assigned + r.nearest_assigned


def test_baltimore_bundled() -> None:
    inc = load_incidents("baltimore-agg-assault")
    f, r = inc.frame, inc.cleaning
    assert r.rows_read == 23303 and r.duplicates_dropped == 1201 and r.nan_coordinates == 0
    _adds_up(r)
    # measured: 20,533 within, 1,471 nearest (≤ 250 m), 98 farther than 250 m from every residential polygon
    assert r.outside_dropped < 200 and r.kept == len(f) > 21_900
    assert (f["area_idx"] >= 0).all() and (f["area_id"] == inc.areas.ids[f["area_idx"]]).all()
    assert set(f["assign"]) <= {"within", "nearest"}
    assert f["incident_id"].is_unique
    assert f["time"].is_monotonic_increasing and f["time"].dtype == "datetime64[ns]"
    # measured agreement with the source Neighborhood label: 92.9 % overall, 99.4 % of 'within' points; the
    # source labels 'nearest' points (just outside the residential polygons) with far-away neighborhoods.
    assert inc.source_agreement() > 0.90
    w = f["assign"] == "within"
    assert (f.loc[w, "area_id"] == f.loc[w, "source_area"]).mean() > 0.99


def test_baltimore_no_dedupe_keeps_rows() -> None:
    inc = load_incidents("baltimore-agg-assault", dedupe=False)
    assert inc.cleaning.duplicates_dropped == 0 and inc.cleaning.kept == 23303 - inc.cleaning.outside_dropped


def test_chicago_bundled_agrees_with_source_area() -> None:
    inc = load_incidents("chicago-theft")
    r = inc.cleaning
    _adds_up(r)
    assert r.rows_read == 140101 and r.duplicates_dropped == 0 and r.outside_dropped == 2
    assert inc.source_agreement() > 0.99  # measured 99.78 % (the rest lie on boundary streets)
    assert set(inc.frame["split"]) == {"train_2022", "test_2023"}


def test_bogota_bundled() -> None:
    inc = load_incidents("bogota-theft")
    _adds_up(inc.cleaning)
    assert inc.cleaning.kept == 78806 and inc.source_agreement() > 0.99


def test_helpers_and_other_group_rule() -> None:
    inc = load_incidents("chicago-theft", areas=load_areas("chicago", group_rule="median"))
    y22 = inc.between("2022-01-01", "2023-01-01")
    assert (y22.frame["time"].dt.year == 2022).all() and y22.n == 74279 - 1  # one 2022 point is outside
    assert inc.areas.group_rule == "median"
    bal = load_incidents("baltimore-agg-assault")
    assert bal.of_types(["4a"]).n + bal.of_types("4B").n + bal.of_types(["4C", "4D"]).n == bal.n
    assert bal.of_types(["agg. assault"]).n == bal.n
    assert set(BUNDLED_INCIDENTS) == {
        "baltimore-agg-assault",
        "baltimore-agg-assault-full",
        "baltimore-part1",
        "chicago-theft",
        "bogota-theft",
    }
    assert isinstance(bal.cleaning.to_dict()["kept"], int)
    assert np.issubdtype(bal.frame["area_idx"].dtype, np.integer)
    assert pd.api.types.is_float_dtype(bal.frame["x"])
