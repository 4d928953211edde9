"""Build the Parquet files shipped in ``src/fairpatrol/datasets/`` from ``../shared/data``.

Run once by developers; the output is committed::

    python scripts/build_datasets.py [--shared ../shared/data]

Every output is zstd-compressed Parquet. Geometries are stored as WKB in a projected CRS (metres), lightly
simplified (``shapely.simplify(tolerance=2 m, preserve_topology=True)``; Chicago not simplified, see
``SIMPLIFY_M``); ``area_m2`` is computed from the
projected, unsimplified polygon. The sha256 of every source file read is printed for the datasets README.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "fairpatrol" / "datasets"
# Chicago is not simplified: thefts are published at block level, on the streets that bound the community
# areas, so a 2 m simplification moves ~1 % of points to a neighbouring area (98.6 % vs 99.8 % agreement with
# the source's area_num); unsimplified polygons cost ~0.5 MB more.
SIMPLIFY_M = {"baltimore": 2.0, "chicago": 0.0, "bogota": 2.0}

BALTIMORE_CRS = "EPSG:32618"
CHICAGO_CRS = "EPSG:26971"
BOGOTA_CRS = "EPSG:3116"

BALTIMORE_COUNT_COLUMNS = {
    "Population": "population",
    "White": "white",
    "Blk_AfAm": "black",
    "AmInd_AkNa": "amerindian_alaska_native",
    "Asian": "asian",
    "NatHaw_Pac": "hawaiian_pacific",
    "Other_Race": "other_race",
    "TwoOrMore": "two_or_more",
    "Hisp_Lat": "hispanic",
    "TotalNumberOfResidents": "total_residents",
    "AllRaceExcptBlk": "all_except_black",
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def to_crs(geoms: np.ndarray, crs: str) -> np.ndarray:
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(geoms, lambda x, y: tr.transform(x, y), interleaved=False)


def finish_geometry(geoms: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Make valid, compute areas (m²) and simplify; returns (wkb, area_m2)."""
    geoms = shapely.make_valid(geoms)
    area = shapely.area(geoms)
    simple = shapely.simplify(geoms, tolerance, preserve_topology=True) if tolerance > 0 else geoms
    simple = shapely.set_precision(simple, 0.01)  # centimetres: enough, and compresses better
    return shapely.to_wkb(simple), area


def write(df: pd.DataFrame, name: str) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    path = OUT / name
    pq.write_table(table, path, compression="zstd", compression_level=19)
    print(f"  wrote {path.relative_to(REPO)}: {len(df)} rows, {path.stat().st_size / 1e6:.2f} MB")


def plurality_group(df: pd.DataFrame) -> np.ndarray:
    """'Black' or 'White' if that count is the unique max of (b, w, o), else 'neither' (Semsar et al. 2026,
    section 3.1; docs/methods.md, "Data")."""
    b = df["Blk_AfAm"].to_numpy(float)
    w = df["White"].to_numpy(float)
    cols = ["White", "AmInd_AkNa", "Asian", "NatHaw_Pac", "Other_Race", "Hisp_Lat", "Blk_AfAm"]
    t = df[cols].to_numpy(float).sum(axis=1)
    o = t - b - w
    return np.where((b > w) & (b > o), "Black", np.where((w > b) & (w > o), "White", "neither"))


def build_baltimore(shared: Path) -> None:
    src = shared / "baltimore" / "neighborhoods_residential_wkt.csv"
    print(f"{src.name} sha256={sha256(src)}")
    raw = pd.read_csv(src)
    group = plurality_group(raw)
    assert (pd.Series(group).value_counts().to_dict()) == {"Black": 168, "White": 85, "neither": 3}
    assert ((group == "Black") == raw["IsBlack"].to_numpy()).all()
    assert ((group == "White") == raw["IsWhite"].to_numpy()).all()
    geoms = to_crs(shapely.from_wkt(raw["Boundaries"].to_numpy()), BALTIMORE_CRS)
    wkb, area = finish_geometry(geoms, SIMPLIFY_M["baltimore"])
    df = pd.DataFrame({"area_id": raw["Name"].astype(str), "name": raw["Name"].astype(str).str.title()})
    df["group"] = group
    for old, new in BALTIMORE_COUNT_COLUMNS.items():
        df[new] = raw[old].astype("float64")
    cols = ["White", "AmInd_AkNa", "Asian", "NatHaw_Pac", "Other_Race", "Hisp_Lat", "Blk_AfAm"]
    df["other"] = raw[cols].to_numpy(float).sum(axis=1) - df["black"] - df["white"]
    df["is_black_source"] = raw["IsBlack"].astype(bool)
    df["is_white_source"] = raw["IsWhite"].astype(bool)
    df["area_m2"] = area
    df["geometry"] = wkb
    write(df, "baltimore_areas.parquet")

    src = shared / "baltimore" / "agg_assault_reported_p0.4.csv"
    print(f"{src.name} sha256={sha256(src)}")
    raw = pd.read_csv(src)
    inc = pd.DataFrame(
        {
            "CrimeDateTime": pd.to_datetime(raw["CrimeDateTime"], format="%Y-%m-%d %H:%M:%S"),
            "crimecode": raw["crimecode"].astype(str),
            "description": raw["description"].astype(str),
            "Latitude": raw["Latitude"].astype("float64"),
            "Longitude": raw["Longitude"].astype("float64"),
            "Neighborhood": raw["Neighborhood"].astype(str),
        }
    )
    write(inc, "baltimore_agg_assault.parquet")


#: Part 1 counts the bundled file is checked against (PART1_PROVENANCE.md of the shared data).
PART1_COUNTS = {"rows": 340_051, "2019": 46_404, "2019 placed": 42_981, "2019 AGG. ASSAULT": 5_716}


def build_baltimore_part1(shared: Path) -> None:
    """All Baltimore Part 1 records 2014-01-01..2021-07-14, block-geocoded (``PART1_PROVENANCE.md``).

    Copied column for column (every column an audit may need: block address, premise, inside/outside,
    weapon, how each point was placed, the source's neighbourhood), in source order, recompressed: zstd 19,
    dictionaries for the text columns and delta encoding for ``row_id`` (nearly consecutive: 0.89 MB ->
    0.03 MB), 4.2 MB -> 3.3 MB.
    """
    src = shared / "baltimore" / "baltimore_part1_blockgeocoded.parquet"
    print(f"{src.name} sha256={sha256(src)}")
    table = pq.read_table(src)
    df = table.select(["date", "crime_group", "lat"]).to_pandas()
    year = pd.to_datetime(df["date"]).dt.year
    got = {
        "rows": len(df),
        "2019": int((year == 2019).sum()),
        "2019 placed": int(((year == 2019) & df["lat"].notna()).sum()),
        "2019 AGG. ASSAULT": int(((year == 2019) & (df["crime_group"] == "AGG. ASSAULT")).sum()),
    }
    assert got == PART1_COUNTS, got
    path = OUT / "baltimore_part1.parquet"
    pq.write_table(
        table.replace_schema_metadata(None),
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=[c for c in table.column_names if c != "row_id"],
        column_encoding={"row_id": "DELTA_BINARY_PACKED"},
    )
    print(f"  wrote {path.relative_to(REPO)}: {len(df)} rows, {path.stat().st_size / 1e6:.2f} MB")


def _geojson(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    data = json.loads(path.read_text(encoding="utf-8"))
    props = pd.DataFrame([f["properties"] for f in data["features"]])
    geoms = shapely.from_geojson(np.array([json.dumps(f["geometry"]) for f in data["features"]]))
    return props, geoms


#: The 2010 demographics table spells ten of the 278 neighbourhood names differently from the boundaries
#: (``NBRDESC``): demographics name (upper-cased) -> boundaries name. Checked: every other name matches.
BALTIMORE_NAME_CROSSWALK = {
    "BOOTH-BOYD": "BOYD-BOOTH",
    "BUTCHERS HILL": "BUTCHER'S HILL",
    "CHINQUAPIN PARK - BELVEDERE": "CHINQUAPIN PARK",
    "DUNBAR": "DUNBAR-BROADWAY",
    "FAIRFIELD": "FAIRFIELD AREA",
    "MADISON EASTEND": "MADISON-EASTEND",
    "MIDTOWN EDMONDSON": "MIDTOWN-EDMONDSON",
    "MILL HILL": "MILLHILL",
    "ODONNELL HEIGHTS": "O'DONNELL HEIGHTS",
    "WASHINGTON VILLAGE": "WASHINGTON VILLAGE/PIGTOWN",
}
#: Targets of the BPD 2019 Crime Reduction Plan (shared data file, id prefix, expected count).
BALTIMORE_2019_TARGETS = {
    "baltimore_focused_patrol_areas_2019.geojson": ("bpd_focused_patrol_areas_2019_usf.geojson", "FPA", 118),
    "baltimore_district_action_team_zones_2019.geojson": (
        "bpd_district_action_team_zones_2019_usf.geojson",
        "DAT",
        11,
    ),
}


def build_baltimore_audit(shared: Path) -> None:
    """The Baltimore 2019 audit example (docs/audit.md): all 278 neighbourhoods with their 2010 census
    counts, and the BPD 2019 Focused Patrol Areas and District Action Team Zones.

    Areas: the Open Baltimore boundaries (``neighborhoods_boundaries_usf.geojson``, 278 polygons, parks
    and industrial areas included) joined to the 2010 census table (``neighborhoods_demographics_2010
    census.csv``) by upper-case name through :data:`BALTIMORE_NAME_CROSSWALK`; counts renamed as for the
    residential areas; ``group`` by the plurality rule of the residential pack, ``no residents`` for the
    22 areas without any (every one of them is among the 22 non-residential areas); ``residential`` marks
    the 256 areas of ``baltimore_areas.parquet`` (their counts are checked equal).

    Targets: GeoJSON (WGS84, coordinates as in the shared copy: 1e-6 degrees), one feature per polygon in
    source order with a stable ``zone_id`` (``FPA-001`` ...; the source has no names or ids) and the
    source's order number ``source_order``.
    """
    src = shared / "baltimore" / "neighborhoods_boundaries_usf.geojson"
    dem_src = shared / "baltimore" / "neighborhoods_demographics_2010census.csv"
    res_src = shared / "baltimore" / "neighborhoods_residential_wkt.csv"
    for p in (src, dem_src, res_src):
        print(f"{p.name} sha256={sha256(p)}")
    props, geoms = _geojson(src)
    dem = pd.read_csv(dem_src)
    dem["key"] = dem["Name"].str.upper().replace(BALTIMORE_NAME_CROSSWALK)
    assert dem["key"].is_unique and set(dem["key"]) == set(props["NBRDESC"]), "crosswalk incomplete"
    dem = dem.set_index("key").loc[props["NBRDESC"]].reset_index(drop=True)
    residential = pd.read_csv(res_src).set_index("Name")
    is_res = props["NBRDESC"].isin(residential.index).to_numpy()
    assert is_res.sum() == 256
    counts = {k: v for k, v in BALTIMORE_COUNT_COLUMNS.items() if k in dem.columns}  # census counts only
    same = residential.loc[props["NBRDESC"][is_res], list(counts)].to_numpy(float)
    assert np.array_equal(same, dem.loc[is_res, list(counts)].to_numpy(float))
    group = plurality_group(dem).astype(object)
    empty = dem["Population"].to_numpy(float) == 0
    group[empty] = "no residents"
    assert empty.sum() == 22 and not (empty & is_res).any()
    # make_valid turns two areas (Canton Industrial Area, Mid-Govans) into collections with stray lines:
    # keep the polygonal parts
    fixed = shapely.make_valid(to_crs(geoms, BALTIMORE_CRS))
    polygonal = [
        g
        if g.geom_type in ("Polygon", "MultiPolygon")
        else shapely.union_all(
            [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
        )
        for g in fixed
    ]
    wkb, area = finish_geometry(np.asarray(polygonal, dtype=object), SIMPLIFY_M["baltimore"])
    df = pd.DataFrame({"area_id": props["NBRDESC"].astype(str), "name": props["LABEL"].astype(str)})
    df["group"] = group.astype(str)
    for old, new in counts.items():
        df[new] = dem[old].astype("float64")
    cols = ["White", "AmInd_AkNa", "Asian", "NatHaw_Pac", "Other_Race", "Hisp_Lat", "Blk_AfAm"]
    df["other"] = dem[cols].to_numpy(float).sum(axis=1) - df["black"] - df["white"]
    df["residential"] = is_res
    df["area_m2"] = area
    df["geometry"] = wkb
    order = np.argsort(df["area_id"].to_numpy(), kind="stable")
    write(df.iloc[order].reset_index(drop=True), "baltimore_neighborhoods_all.parquet")

    for name, (source, prefix, count) in BALTIMORE_2019_TARGETS.items():
        path = shared / "baltimore" / source
        print(f"{path.name} sha256={sha256(path)}")
        data = json.loads(path.read_text(encoding="utf-8"))
        feats = data["features"]
        assert len(feats) == count, (source, len(feats))
        width = len(str(count))
        out = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"zone_id": f"{prefix}-{i + 1:0{max(width, 2)}d}", "source_order": i + 1},
                    "geometry": f["geometry"],
                }
                for i, f in enumerate(feats)
            ],
        }
        target = OUT / name
        target.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"  wrote {target.relative_to(REPO)}: {count} zones, {target.stat().st_size / 1e3:.0f} kB")


def build_chicago(shared: Path) -> None:
    src = shared / "chicago" / "community_areas_boundaries_socioeconomic.geojson"
    print(f"{src.name} sha256={sha256(src)}")
    props, geoms = _geojson(src)
    order = np.argsort(props["area_num"].to_numpy())
    props = props.iloc[order].reset_index(drop=True)
    geoms = geoms[order]
    wkb, area = finish_geometry(to_crs(geoms, CHICAGO_CRS), SIMPLIFY_M["chicago"])
    df = pd.DataFrame({"area_id": props["area_num"].astype(int).astype(str), "name": props["community_name"]})
    df["area_num"] = props["area_num"].astype("int64")
    df["community"] = props["community"].astype(str)
    for col in [
        "per_capita_income",
        "hardship_index",
        "pct_households_below_poverty",
        "pct_aged16plus_unemployed",
        "pct_aged25plus_no_hs_diploma",
        "pct_housing_crowded",
        "pct_aged_under18_or_over64",
    ]:
        df[col] = props[col].astype("float64")
    df["protected_alejo"] = props["protected_alejo"].astype(str)
    df["area_m2"] = area
    df["geometry"] = wkb
    write(df, "chicago_areas.parquet")

    src = shared / "chicago" / "thefts_2022_2023_alejo2193.csv.gz"
    print(f"{src.name} sha256={sha256(src)}")
    raw = pd.read_csv(src)
    inc = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["datetime"], format="%Y-%m-%d %H:%M:%S"),
            "latitude": raw["latitude"].astype("float64"),
            "longitude": raw["longitude"].astype("float64"),
            "x_epsg26971": raw["x_epsg26971"].astype("float64"),
            "y_epsg26971": raw["y_epsg26971"].astype("float64"),
            "area_num": raw["area_num"].astype("Int64"),
            "split": raw["split"].astype(str),
        }
    )
    write(inc, "chicago_thefts.parquet")


def build_bogota(shared: Path) -> None:
    src = shared / "bogota" / "localidades_boundaries.geojson"
    print(f"{src.name} sha256={sha256(src)}")
    props, geoms = _geojson(src)
    order = np.argsort(props["LocCodigo"].astype(str).to_numpy())
    props = props.iloc[order].reset_index(drop=True)
    geoms = geoms[order]
    wkb, area = finish_geometry(to_crs(geoms, BOGOTA_CRS), SIMPLIFY_M["bogota"])
    group = props["group_alejo"].astype(object).where(props["group_alejo"].notna(), "NA").astype(str)
    df = pd.DataFrame(
        {
            "area_id": props["LocCodigo"].astype(str),
            "name": props["LocNombre"].astype(str).str.title(),
            "group": group.replace({"NA": "neither"}),
            "in_study_area": props["in_study_area_alejo"].astype(bool),
            "area_m2": area,
            "geometry": wkb,
        }
    )
    write(df, "bogota_areas.parquet")

    src = shared / "bogota" / "thefts_jittered_2018_2021_alejo2193.csv.gz"
    print(f"{src.name} sha256={sha256(src)}")
    raw = pd.read_csv(src, dtype={"LocCodigo": str})
    inc = pd.DataFrame(
        {
            "date": pd.to_datetime(raw["date"], format="%Y-%m-%d"),
            "lat": raw["latitude"].astype("float64"),
            "lon": raw["longitude"].astype("float64"),
            "LocCodigo": raw["LocCodigo"].astype(str),
        }
    )
    write(inc, "bogota_thefts.parquet")


BUILDERS = {
    "baltimore": build_baltimore,
    "baltimore-part1": build_baltimore_part1,
    "baltimore-audit": build_baltimore_audit,
    "chicago": build_chicago,
    "bogota": build_bogota,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument(
        "--only", choices=sorted(BUILDERS), action="append", help="build only these (default: all)"
    )
    args = parser.parse_args()
    shared = args.shared.resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.only or BUILDERS:
        BUILDERS[name](shared)
    total = sum(p.stat().st_size for p in OUT.glob("*.parquet"))
    print(f"total parquet size: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
