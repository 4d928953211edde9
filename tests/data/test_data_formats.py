"""The input formats are decided in one place (fairpatrol.data.formats) and read alike everywhere."""

from __future__ import annotations

import pandas as pd
import pytest

from fairpatrol.data.formats import SUFFIXES, file_format, suffix_of
from fairpatrol.data.readers import header, read_table


@pytest.mark.parametrize(
    ("name", "suffix", "kind"),
    [
        ("a.csv", ".csv", "csv"),
        ("A.CSV.GZ", ".csv.gz", "csv"),
        ("a.txt", ".txt", "csv"),
        ("a.tsv", ".tsv", "tsv"),
        ("a.pq", ".pq", "parquet"),
        ("zones.geoparquet", ".geoparquet", "parquet"),
        ("zones.geojson", ".geojson", "geo"),
        ("zones.shp.zip", ".zip", "geo"),
        ("zones.xlsx", ".xlsx", None),
    ],
)
def test_file_format_by_name(name, suffix, kind):
    assert suffix_of(name) == suffix
    assert file_format(name) == kind
    assert (suffix in SUFFIXES) == (kind is not None)


def test_incident_tables_read_alike_from_csv_tsv_and_parquet(tmp_path):
    frame = pd.DataFrame({"time": ["2020-01-01 10:00", "2020-01-02 11:30"], "crime_type": ["a, b", "c"]})
    frame.to_csv(tmp_path / "inc.csv", index=False)
    frame.to_csv(tmp_path / "inc.tsv", index=False, sep="\t")
    frame.to_parquet(tmp_path / "inc.pq")
    for name in ("inc.csv", "inc.tsv", "inc.pq"):
        path = tmp_path / name
        assert header(path, name) == ["time", "crime_type"], name
        pd.testing.assert_frame_equal(read_table(path, name), frame, check_dtype=False)
