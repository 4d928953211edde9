"""The bundled Baltimore Part 1 records (block-geocoded, dates only): sets, layout, caveats, crime groups."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from fairpatrol.config import parse_scenario
from fairpatrol.data import load_data, load_incident_file, load_incidents
from fairpatrol.data.cities import data_dir
from fairpatrol.data.readers import sniff_layout
from fairpatrol.errors import DataError

GROUPS = {
    "AGG. ASSAULT",
    "ARSON",
    "AUTO THEFT",
    "BURGLARY",
    "COMMON ASSAULT",
    "HOMICIDE",
    "LARCENY",
    "LARCENY FROM AUTO",
    "RAPE",
    "ROBBERY - CARJACKING",
    "ROBBERY - COMMERCIAL",
    "ROBBERY - OTHER",
    "ROBBERY - RESIDENCE",
    "ROBBERY - STREET",
    "SHOOTING",
}


@pytest.fixture(scope="module")
def part1(baltimore):
    return load_incidents("baltimore-part1", areas=baltimore.areas)


def test_part1_counts_caveats_and_columns(part1) -> None:
    r, f = part1.cleaning, part1.frame
    # PART1_PROVENANCE.md: 340,051 records, 27,281 without coordinates
    assert r.rows_read == 340_051 and r.nan_coordinates == 27_281
    assert r.rows_read == r.kept + r.nan_coordinates + r.duplicates_dropped + r.outside_dropped
    assert set(f["crime_type"]) == GROUPS  # the tidy crime type is the crime group
    assert f["description"].nunique() > 60 and "AGG. ASSLT.- GUN" in set(f["description"])
    assert {"crime_code", "location", "inside_outside", "premise", "weapon", "geo_method"} <= set(f.columns)
    assert set(f["geo_method"]) == {"exact", "interp", "adjacent"}  # 'none' rows are the ones left out
    # dates only: every time at midnight, and the stated caveats travel with the data
    assert (f["time"] == f["time"].dt.normalize()).all()
    (warning,) = r.warnings
    assert warning.startswith("27,281 of 340,051 records (8.0%) have no coordinates")
    assert "not at random" in warning and "East/West" in warning
    assert any("reconstructed" in n for n in r.notes) and any("victim" in n for n in r.notes)
    assert f["incident_id"].is_unique and f["incident_id"].str.startswith("BAL-P1-").all()
    assert f["row_id"].notna().all()  # the source's row number, to trace a record back


def test_2019_rows_and_crime_groups(part1) -> None:
    y = part1.between("2019-01-01", "2020-01-01").frame
    assert (y["time"].dt.year == 2019).all()
    counts = y.groupby("crime_type").size()
    # 2019: 46,404 records (42,981 placed) of which 5,716 aggravated assaults (provenance); placed in the
    # 256 residential neighbourhoods (≤ 250 m) and counted once per incident: 40,334 and 4,765
    assert len(y) == 40_334 and counts["AGG. ASSAULT"] == 4_765
    assert counts.idxmax() == "LARCENY"


def test_agg_assault_full_is_the_group_of_part1(part1) -> None:
    full = load_incidents("baltimore-agg-assault-full", areas=part1.areas)
    assert set(full.frame["crime_type"]) == {"AGG. ASSAULT"}
    assert full.cleaning.rows_read == 39_081 and full.cleaning.type_filtered == 0  # the set's rows only
    same = part1.of_types("agg. assault")
    assert np.array_equal(full.frame["incident_id"].to_numpy(), same.frame["incident_id"].to_numpy())
    # a study's crime_types select within the set: by code here (4A-4D are aggravated assaults) ...
    gun = load_incidents("baltimore-agg-assault-full", areas=part1.areas, crime_types=["4a"])
    assert 0 < gun.n < full.n and set(gun.frame["crime_code"].astype(str)) == {"4A"}
    # ... and a type outside it is a one-line error naming the set's types
    with pytest.raises(DataError, match="no row of crime type"):
        load_incidents("baltimore-agg-assault-full", areas=part1.areas, crime_types=["BURGLARY"])
    # the 40 % sample keeps its own name and its times of day
    sample = load_incidents("baltimore-agg-assault", areas=part1.areas)
    in_2019 = sample.between("2019-01-01", "2020-01-01").n
    assert 0.3 < in_2019 / full.between("2019-01-01", "2020-01-01").n < 0.5
    assert (sample.frame["time"] != sample.frame["time"].dt.normalize()).mean() > 0.9


def test_layout_is_recognised_and_scenarios_select_groups(part1, tmp_path) -> None:
    path = tmp_path / "part1.parquet"
    shutil.copy(data_dir() / "baltimore_part1.parquet", path)
    assert sniff_layout(path, "part1.parquet") == "baltimore-part1"
    own = load_incident_file(path, areas=part1.areas, crime_types=["HOMICIDE"], on_missing_coords="drop")
    assert set(own.frame["crime_type"]) == {"HOMICIDE"} and own.cleaning.nan_coordinates > 0
    # a user's file is deduplicated on (date, point, group, code), the bundled set on every published field
    assert abs(own.n - part1.of_types("HOMICIDE").n) < 0.01 * own.n
    assert set(own.frame["row_id"]) <= set(load_incidents("baltimore-part1", dedupe=False).frame["row_id"])
    cfg = parse_scenario(
        {
            "data": {"city": "baltimore", "incidents": "baltimore-part1", "crime_types": ["AGG. ASSAULT"]},
            "start": "2019-01-01",
            "days": 10,
            "runs": 1,
            "algorithms": ["LongTermKDE"],
            "officers": [40],
            "report_probs": [0.0],
        }
    )
    inc = load_data(cfg.data).incidents
    assert inc.cleaning.type_filtered == 340_051 - 39_081 and set(inc.frame["crime_type"]) == {"AGG. ASSAULT"}
    assert inc.cleaning.warnings and "not at random" in inc.cleaning.warnings[0]
    assert pd.Timestamp("2014-01-01") <= inc.frame["time"].min() < pd.Timestamp("2014-01-03")
