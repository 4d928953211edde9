"""Areas: group rules, units, lookups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from fairpatrol.data import load_areas
from fairpatrol.errors import DataError


def test_baltimore_groups_and_source_flags() -> None:
    a = load_areas("baltimore")
    assert a.n == 256 and a.crs == "EPSG:32618" and a.group_pair == ("Black", "White")
    assert pd.Series(a.groups).value_counts().to_dict() == {"Black": 168, "White": 85, "neither": 3}
    f = a.frame
    assert ((f["group"] == "Black") == f["is_black_source"]).all()
    assert ((f["group"] == "White") == f["is_white_source"]).all()
    g1, g2 = a.group_masks()
    assert g1.sum() == 168 and g2.sum() == 85 and not (g1 & g2).any()
    assert a.ids[0] == "ABELL" and a.names[0] == "Abell"
    assert isinstance(a.frame.index, pd.RangeIndex)


def test_baltimore_areas_in_square_metres() -> None:
    a = load_areas("baltimore")
    total_km2 = a.frame["area_m2"].sum() / 1e6
    assert 150 < total_km2 < 250  # measured 189.5 km² (the city is 210 km² of land; parks etc. excluded)
    simplified = shapely.area(a.geometry)
    np.testing.assert_allclose(simplified, a.frame["area_m2"], rtol=0.01)
    x, y = a.centroids
    assert 3.4e5 < x.min() and x.max() < 3.8e5 and 4.33e6 < y.min() and y.max() < 4.37e6


def test_chicago_mean_and_median_rules() -> None:
    mean = load_areas("chicago")
    assert mean.n == 77 and mean.crs == "EPSG:26971"
    assert pd.Series(mean.groups).value_counts().to_dict() == {"Protected": 50, "Unprotected": 27}
    med = load_areas("chicago", group_rule="median")
    assert pd.Series(med.groups).value_counts().to_dict() == {"Protected": 39, "Unprotected": 38}
    assert (med.frame["group"] == med.frame["protected_alejo"]).all()
    assert 550 < mean.frame["area_m2"].sum() / 1e6 < 650  # Chicago ≈ 606 km²


def test_bogota_groups() -> None:
    a = load_areas("bogota")
    assert a.n == 20 and a.crs == "EPSG:3116"
    assert pd.Series(a.groups).value_counts().to_dict() == {"Protected": 9, "Unprotected": 7, "neither": 4}
    assert a.frame["in_study_area"].sum() == 15


def test_unknown_city_and_rule() -> None:
    with pytest.raises(DataError, match=r"field 'city'.*paris"):
        load_areas("paris")
    with pytest.raises(DataError, match="field 'group_rule'"):
        load_areas("chicago", group_rule="mode")


def test_index_of_and_unknown_ids() -> None:
    a = load_areas("chicago")
    np.testing.assert_array_equal(a.index_of(["1", "77", 35]), [0, 76, 34])
    with pytest.raises(DataError) as err:
        a.index_of(["1", "99", "x"], source="truth.csv")
    msg = str(err.value)
    assert (
        "truth.csv" in msg and "field 'area_id'" in msg and "row 2" in msg and "'99'" in msg and "'x'" in msg
    )


def test_to_wgs84() -> None:
    a = load_areas("baltimore")
    lonlat = a.to_wgs84()
    c = shapely.centroid(lonlat)
    assert (-76.8 < shapely.get_x(c)).all() and (shapely.get_x(c) < -76.5).all()
    assert (39.19 < shapely.get_y(c)).all() and (shapely.get_y(c) < 39.38).all()
