"""The input file formats fairpatrol reads, in one place: which file name ending is read how.

Incident tables (:func:`fairpatrol.data.readers.read_table`), areas files
(:mod:`fairpatrol.data.geofiles`) and audit sources (:func:`fairpatrol.audit.sources.read_source`) all
decide by :func:`file_format`; docs/your-own-city.md lists the same formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

#: Parquet files (GeoParquet when they carry its metadata).
PARQUET = (".parquet", ".geoparquet", ".pq")
#: Delimited text: comma-separated (also gzip-compressed, and ``.txt``) or tab-separated.
DELIMITED = (".csv", ".csv.gz", ".txt", ".tsv")
#: Vector layers read by pyogrio (GeoPandas): GeoJSON, GeoPackage, shapefile (or a zip holding one),
#: FlatGeobuf.
GEO_LAYERS = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb")
#: Every file name ending read.
SUFFIXES = (*PARQUET, *DELIMITED, *GEO_LAYERS)
_LONGEST_FIRST = sorted(SUFFIXES, key=len, reverse=True)  # .geojson before .json, .csv.gz before .gz

Format = Literal["parquet", "csv", "tsv", "geo"]


def suffix_of(path: str | Path) -> str:
    """The file's known ending in lower case (``.csv.gz`` whole), else its last suffix."""
    name = Path(path).name.lower()
    return next((s for s in _LONGEST_FIRST if name.endswith(s)), Path(name).suffix)


def file_format(path: str | Path) -> Format | None:
    """How a file is read, from its name: ``parquet``, ``csv``, ``tsv``, ``geo`` (a vector layer), or None
    for an ending none of these has."""
    suffix = suffix_of(path)
    if suffix in PARQUET:
        return "parquet"
    if suffix == ".tsv":
        return "tsv"
    if suffix in DELIMITED:
        return "csv"
    if suffix in GEO_LAYERS:
        return "geo"
    return None
