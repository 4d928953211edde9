"""A small city on disk for tests of `fairpatrol audit`: areas, incidents, targets of the three kinds and an
audit config, all placed by hand so that the numbers can be worked out by hand.

The city: 4 × 2 squares of 100 m (EPSG:32618, south-west corner at 350,000 / 4,350,000), areas A0..A7
row by row from the south-west; groups G1 (even) and G2 (odd); residents a / b per area. Two zones: Z1 the
west half of A0 (5,000 m²) and Z2 all of A5 (10,000 m²), of 80,000 m². Five crimes on 2020-01-01/02, three
inside a zone: share captured 3/5, land targeted 15,000/80,000, PAI 3.2.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import yaml

X0, Y0 = 350_000.0, 4_350_000.0
CRS = "EPSG:32618"
CRIMES = [  # date, x, y (metres from the corner), type
    ("2020-01-01", 10, 10, "THEFT"),  # A0, in Z1
    ("2020-01-01", 150, 50, "THEFT"),  # A1
    ("2020-01-02", 20, 30, "BURGLARY"),  # A0, in Z1
    ("2020-01-02", 60, 50, "THEFT"),  # A0, outside
    ("2020-01-02", 150, 150, "THEFT"),  # A5, in Z2
]
KNOWN = {"crime_captured": 3 / 5, "area_targeted": 15_000 / 80_000, "pai": (3 / 5) / (15_000 / 80_000)}


def box(x0: float, y0: float, x1: float, y1: float):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def write_city(folder: Path) -> dict[str, str]:
    """Areas (GeoPackage), incidents (CSV) and zones (GeoJSON in lon/lat) in ``folder``; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    cells = [(i % 4, i // 4) for i in range(8)]
    areas = gpd.GeoDataFrame(
        {
            "area_id": [f"A{i}" for i in range(8)],
            "name": [f"Area {i}" for i in range(8)],
            "group": ["G1" if i % 2 == 0 else "G2" for i in range(8)],
            "a": [60.0, 10.0, 50.0, 20.0, 40.0, 30.0, 0.0, 70.0],
            "b": [40.0, 90.0, 50.0, 80.0, 60.0, 70.0, 0.0, 30.0],
        },
        geometry=[box(100 * x, 100 * y, 100 * (x + 1), 100 * (y + 1)) for x, y in cells],
        crs=CRS,
    )
    areas["population"] = areas["a"] + areas["b"]
    areas.to_file(folder / "areas.gpkg", driver="GPKG")
    pd.DataFrame(
        {
            "time": [c[0] for c in CRIMES],
            "x": [X0 + c[1] for c in CRIMES],
            "y": [Y0 + c[2] for c in CRIMES],
            "crime_type": [c[3] for c in CRIMES],
            "case": [f"C{i}" for i in range(len(CRIMES))],
        }
    ).to_csv(folder / "incidents.csv", index=False)
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"]}, geometry=[box(0, 0, 50, 100), box(100, 100, 200, 200)], crs=CRS
    )
    zones.to_crs(4326).to_file(folder / "zones.geojson", driver="GeoJSON")
    return {"areas": "areas.gpkg", "incidents": "incidents.csv", "zones": "zones.geojson"}


def config(**changes) -> dict:
    """An audit config of the small city (paths relative to its folder); ``changes`` replace top-level
    keys (None removes one); the entries of ``data`` and ``population`` are merged into the defaults."""
    doc = {
        "name": "toy",
        "description": "Two zones of a small city.",
        "data": {
            "city": "Toytown",
            "areas": {"file": "areas.gpkg", "id": "area_id", "name": "name"},
            "groups": {"rule": "column", "column": "group"},
            "incidents": {
                "file": "incidents.csv",
                "columns": {"time": "time", "x": "x", "y": "y", "crime_type": "crime_type", "id": "case"},
                "crs": CRS,
            },
        },
        "targets": {"kind": "zones", "file": "zones.geojson", "id": "zone_id", "label": "patrol zones"},
        "population": {"columns": {"A": "a", "B": "b"}, "total": "population"},
        "bootstrap": {"replicates": 20, "block_days": 1},
        "caveats": ["The zones are made up."],
    }
    for key, value in changes.items():
        if key in ("data", "population") and isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    return {k: v for k, v in doc.items() if v is not None}


def write_config(folder: Path, name: str = "audit.yaml", **changes) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config(**changes), sort_keys=False))
    return path
