"""Write the Riverton example city of docs/your-own-city.md (reproducible from its seed).

    python scripts/make_riverton.py [FOLDER]     # default: docs/examples/riverton

Writes ``wards.geojson`` (16 wards in UTM zone 16N) and ``incidents.csv`` (case number, date and time of
day in two columns, offense, latitude/longitude): see :mod:`fairpatrol.data.example`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fairpatrol.data.example import write_example_city

SEED = 2024


def main(folder: str = "docs/examples/riverton") -> None:
    areas, incidents = write_example_city(Path(folder), seed=SEED)
    print(f"wrote {areas} and {incidents}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
