"""Readers of the public layouts and bad-input errors (synthetic files in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairpatrol.data import load_areas, load_incident_file, read_incident_table
from fairpatrol.data.readers import TABLE, get_layout
from fairpatrol.errors import DataError


def read_open_baltimore_part1(path: Path) -> pd.DataFrame:
    return read_incident_table(path, get_layout("open-baltimore"), source=path.name)[0]


def read_chicago_crimes(path: Path) -> pd.DataFrame:
    return read_incident_table(path, get_layout("chicago-portal"), source=path.name)[0]


def read_table(path: Path) -> pd.DataFrame:
    return read_incident_table(path, TABLE, source=path.name)[0]


def load(path: Path, city: str, **kw):
    """A user's incident file joined to a bundled city's areas."""
    return load_incident_file(path, areas=load_areas(city), **kw)


BAL_CURRENT = (
    "X,Y,RowID,CCNumber,CrimeDateTime,CrimeCode,Description,Inside_Outside,Weapon,Post,Gender,Age,Race,"
    "Ethnicity,Location,Old_District,New_District,Neighborhood,Latitude,Longitude,GeoLocation,PremiseType,"
    "Total_Incidents"
)
BAL_2023 = (
    "X,Y,ccno,crimedatetime,crimecode,location,description,inside_outside,weapon,post,gender,age,race,"
    "ethnicity,district,neighborhood,latitude,longitude,geolocation,premise,total_incidents,objectid,shape"
)
CHI = (
    "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,Beat,"
    "District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Year,Updated On,Latitude,Longitude,"
    "Location"
)


def bal_current_row(cc: str, when: str, lat: str, lon: str, code: str = "4A", hood: str = "Downtown") -> str:
    return (
        f"0,0,1,{cc},{when},{code},AGG. ASSAULT,I,FIREARM,111,M,30,BLACK_OR_AFRICAN_AMERICAN,,"
        f'100 N HOWARD ST,CENTRAL,CENTRAL,{hood},{lat},{lon},"({lat},{lon})",STREET,1'
    )


def bal_2023_row(cc: str, when: str, lat: str, lon: str) -> str:
    return (
        f"0,0,{cc},{when},4B,100 N HOWARD ST,AGG. ASSAULT,O,KNIFE,111,F,25,WHITE,,CENTRAL,DOWNTOWN,"
        f'{lat},{lon},"({lat},{lon})",STREET,1,7,'
    )


def chi_row(i: int, when: str, lat: str, lon: str, ptype: str = "THEFT", area: str = "32") -> str:
    return (
        f"{i},JF{i},{when},001XX N STATE ST,0820,{ptype},$500 AND UNDER,STREET,false,false,111,1,42,"
        f"{area},06,"
        f'1176000,1901000,2022,01/05/2022 03:40:00 PM,{lat},{lon},"({lat}, {lon})"'
    )


def write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return p


def test_open_baltimore_current_layout(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "part1.csv",
        BAL_CURRENT,
        [
            bal_current_row("19A00001", "2019/01/01 05:00:00+00", "39.2904", "-76.6122"),
            bal_current_row("19A00001", "2019/01/01 05:00:00+00", "39.2904", "-76.6122"),  # second victim
            bal_current_row("19A00002", "2019/01/02 23:10:00+00", "39.3250", "-76.6130", "3B", "Abell"),
            bal_current_row("19A00003", "2019/01/03 01:00:00+00", "0", "0"),
        ],
    )
    raw = read_open_baltimore_part1(p)
    assert list(raw.columns[:6]) == ["incident_id", "time", "lon", "lat", "crime_type", "crime_code"]
    assert raw["time"].iloc[0] == pd.Timestamp("2019-01-01 05:00:00")
    assert raw["lat"].isna().sum() == 1  # 0 means missing
    with pytest.raises(DataError, match=r"part1\.csv: field 'lat/lon', row 4: missing/NaN coordinate"):
        load(p, "baltimore")
    inc = load(p, "baltimore", on_missing_coords="drop")
    r = inc.cleaning
    assert (r.rows_read, r.nan_coordinates, r.duplicates_dropped, r.kept) == (4, 1, 1, 2)
    assert list(inc.frame["incident_id"]) == ["19A00001", "19A00002"]
    assert list(inc.frame["area_id"]) == ["DOWNTOWN", "ABELL"] or inc.frame["area_id"].iloc[1] == "ABELL"
    assert list(inc.frame["source_area"]) == ["Downtown", "Abell"]  # the source's label as published
    assert inc.source_agreement() == 1.0  # compared case-insensitively
    assert load(p, "baltimore", on_missing_coords="drop", crime_types=["4a"]).n == 1


def test_open_baltimore_2023_layout(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "part1_2023.csv",
        BAL_2023,
        [
            bal_2023_row("23B00001", "2023-03-01T14:30:00Z", "39.2904", "-76.6122"),
            bal_2023_row("23B00002", "2023-03-02T09:00:00Z", "39.3250", "-76.6130"),
        ],
    )
    raw = read_open_baltimore_part1(p)
    assert raw["time"].tolist() == [pd.Timestamp("2023-03-01 14:30"), pd.Timestamp("2023-03-02 09:00")]
    assert raw["crime_code"].tolist() == ["4B", "4B"]
    inc = load(p, "baltimore")
    assert inc.n == 2 and inc.frame["source_area"].iloc[0] == "DOWNTOWN"


def test_chicago_portal_layout(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "crimes.csv",
        CHI,
        [
            chi_row(1, "01/01/2022 12:00:00 AM", "41.8826", "-87.6278"),
            chi_row(2, "01/01/2022 01:15:00 PM", "41.7405793", "-87.7076247", "MOTOR VEHICLE THEFT", "70"),
            chi_row(3, "01/02/2022 08:00:00 AM", "41.8826", "-87.6278", "BATTERY"),
        ],
    )
    raw = read_chicago_crimes(p)
    assert raw["time"].tolist()[:2] == [pd.Timestamp("2022-01-01 00:00"), pd.Timestamp("2022-01-01 13:15")]
    inc = load(p, "chicago", crime_types=["THEFT", "MOTOR VEHICLE THEFT"])
    assert inc.cleaning.type_filtered == 1 and inc.n == 2
    assert inc.frame["area_id"].tolist() == ["32", "70"] == inc.frame["source_area"].tolist()
    assert inc.frame["incident_id"].tolist() == ["1", "2"]


def test_tidy_table_csv_and_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "time": ["2022-01-01 10:00", "2022-01-02 11:00"],
            "lat": [41.8826, 41.7406],
            "lon": [-87.6278, -87.7076],
            "crime_type": ["THEFT", "THEFT"],
        }
    )
    csv = tmp_path / "mine.csv"
    df.to_csv(csv, index=False)
    raw = read_table(csv)
    assert raw["time"].dt.hour.tolist() == [10, 11]
    pq = tmp_path / "mine.parquet"
    df.assign(time=pd.to_datetime(df["time"]), incident_id=["a", "b"]).to_parquet(pq)
    inc = load(pq, "chicago")
    assert inc.frame["incident_id"].tolist() == ["a", "b"] and inc.frame["area_id"].tolist() == ["32", "70"]
    assert load(csv, "chicago").n == 2


def test_missing_column(tmp_path: Path) -> None:
    header = CHI.replace("Primary Type", "PrimaryType")
    p = write(tmp_path, "crimes.csv", header, [chi_row(1, "01/01/2022 12:00:00 AM", "41.88", "-87.62")])
    with pytest.raises(DataError) as err:
        load(p, "chicago", format="chicago-portal")
    msg = str(err.value)
    assert (
        msg.startswith("crimes.csv: field 'Primary Type': missing the crime_type column")
        and "PrimaryType" in msg
    )
    assert "\n" not in msg


def test_unparseable_date(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "part1.csv",
        BAL_CURRENT,
        [
            bal_current_row("1", "2019/01/01 05:00:00+00", "39.29", "-76.61"),
            bal_current_row("2", "2019/13/45 05:00:00+00", "39.29", "-76.61"),
        ],
    )
    with pytest.raises(
        DataError, match=r"part1\.csv: field 'CrimeDateTime', row 2: unparseable date '2019/13/45"
    ):
        load(p, "baltimore")
    inc = load(p, "baltimore", on_bad_dates="drop")
    assert inc.cleaning.bad_dates == 1 and inc.n == 1


def test_nan_coordinate(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("time,lat,lon,crime_type\n2022-01-01,41.88,-87.62,THEFT\n2022-01-02,,-87.62,THEFT\n")
    with pytest.raises(DataError, match=r"t\.csv: field 'lat/lon', row 2: missing/NaN coordinate \(1 of 2"):
        load(p, "chicago")
    p.write_text("time,lat,lon,crime_type\n2022-01-01,41.88,abc,THEFT\n")
    with pytest.raises(DataError, match=r"t\.csv: field 'lon', row 1: unparseable number 'abc'"):
        load(p, "chicago")


def test_all_points_outside(tmp_path: Path) -> None:
    p = tmp_path / "swapped.csv"
    p.write_text("time,lat,lon,crime_type\n2022-01-01,-87.62,41.88,THEFT\n2022-01-02,-87.70,41.74,THEFT\n")
    with pytest.raises(
        DataError, match=r"swapped\.csv: field 'lat/lon': all 2 points are outside Chicago.*CRS"
    ):
        load(p, "chicago")


def test_some_points_outside_are_dropped(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("time,lat,lon,crime_type\n2022-01-01,41.88,-87.62,THEFT\n2022-01-02,40.0,-80.0,THEFT\n")
    inc = load(p, "chicago")
    assert inc.cleaning.outside_dropped == 1 and inc.n == 1


@pytest.mark.parametrize("content", ["", "time,lat,lon,crime_type\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    p = tmp_path / "empty.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=r"^empty\.csv: .*empty file"):
        load(p, "chicago", format="table")
    with pytest.raises(DataError, match=r"^empty\.csv"):
        load(p, "chicago")


def test_unknown_format(tmp_path: Path) -> None:
    p = tmp_path / "odd.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"odd\.csv: field 'header': unrecognised layout"):
        load(p, "chicago")


def test_times_with_offsets_convert_to_the_named_zone(tmp_path: Path) -> None:
    from fairpatrol.data.readers import parse_times

    values = pd.Series(["2023-03-01 14:30:00Z", "2023-07-01 12:00:00-05:00", "2023-03-02 09:00:00"])
    kept, info = parse_times(values, source="t", field="time")
    assert kept.tolist()[:2] == [pd.Timestamp("2023-03-01 14:30"), pd.Timestamp("2023-07-01 12:00")]
    assert info.zone == "local clock time as written"
    local, info = parse_times(values, source="t", field="time", timezone="America/Chicago")
    # 14:30 UTC is 08:30 CST; 12:00-05:00 is 17:00 UTC, 12:00 CDT; a time without offset stays as written
    assert local.tolist() == [
        pd.Timestamp("2023-03-01 08:30"),
        pd.Timestamp("2023-07-01 12:00"),
        pd.Timestamp("2023-03-02 09:00"),
    ]
    assert info.converted == 2 and info.zone.startswith("America/Chicago")
    aware = pd.Series(pd.to_datetime(["2023-01-01 06:00"]).tz_localize("UTC"))
    assert parse_times(aware, source="t", field="time", timezone="America/New_York")[0].iloc[
        0
    ] == pd.Timestamp("2023-01-01 01:00")
    assert parse_times(aware, source="t", field="time")[0].iloc[0] == pd.Timestamp("2023-01-01 06:00")


def test_tz_aware_parquet_and_a_column_mapping(tmp_path: Path) -> None:
    from fairpatrol.data.cities import Layout
    from fairpatrol.data.incidents import read_incidents

    df = pd.DataFrame(
        {
            "when": pd.to_datetime(["2022-01-01 16:00", "2022-01-02 17:00"]).tz_localize("UTC"),
            "lat": [41.8826, 41.7406],
            "lng": [-87.6278, -87.7076],
        }
    )
    df.to_parquet(tmp_path / "aware.parquet")
    layout = Layout(columns={"time": "when", "lat": "lat", "lon": "lng"})
    inc = read_incidents(
        tmp_path / "aware.parquet", "custom", layout, load_areas("chicago"), source="aware.parquet",
        id_prefix="A", timezone="America/Chicago",
    )  # fmt: skip
    assert (
        inc.frame["time"].dt.hour.tolist() == [10, 11]
        and inc.frame["crime_type"].tolist() == ["unspecified"] * 2
    )
    assert inc.cleaning.time_zone.startswith("America/Chicago")


def test_whole_number_labels_as_text_like_str_int() -> None:
    """_integers writes each whole number as str(int(v)) (None for empty cells), also beyond int64."""
    import pandas as pd

    from fairpatrol.data.readers import _integers

    values = [32.0, -0.0, None, 2.0**53, -7.0, 1e3]
    got = _integers(pd.DataFrame({"d": values}), "d", "t.csv").tolist()
    assert got == ["32", "0", None, str(2**53), "-7", "1000"]
    huge = _integers(pd.DataFrame({"d": [1e20, 5.0]}), "d", "t.csv").tolist()
    assert huge == [str(int(1e20)), "5"]
