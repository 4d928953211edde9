"""Reading areas: a user's areas file or a bundled city pack's, each with its groups, through one reader.

:func:`load_areas_file` reads any areas file (:func:`fairpatrol.data.geofiles.read_area_file`) and
assigns its groups (:mod:`fairpatrol.data.groups`); :func:`pack_areas` and :func:`load_areas` read a
bundled pack's (``fairpatrol/cities/``) through it. Also the path helpers every input uses
(:func:`resolve`, :func:`relative`, :func:`sha256_of`). Study-level inputs (areas and incidents of a
``data`` section) are put together in :mod:`fairpatrol.data.inputs`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from fairpatrol.data.areas import Areas
from fairpatrol.data.cities import CityPack, data_dir, get_city
from fairpatrol.data.groups import assign_groups, choose_pair
from fairpatrol.errors import DataError
from fairpatrol.schema import AreasFileConfig, GroupsConfig


def resolve(path: str | Path, base_dir: Path | None) -> Path:
    """``path`` as given in a scenario, made absolute against ``base_dir`` (default: the working folder)."""
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else Path(base_dir or Path.cwd()) / p


def relative(path: Path, base_dir: Path | None) -> str:
    """``path`` relative to ``base_dir`` (POSIX separators): how results and messages name a file."""
    base = Path(base_dir or Path.cwd()).resolve()
    try:
        return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()
    except ValueError:  # another drive (Windows): the file name alone
        return Path(path).name


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """SHA-256 of a file (cached while its size and modification time stay the same)."""
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


# ----------------------------------------------------------------------------------------------- areas
_AREAS: dict[str, Areas] = {}
_CACHE_SIZE = 16


def load_areas_file(
    spec: AreasFileConfig,
    *,
    base_dir: Path | None,
    groups: GroupsConfig | None,
    rule_name: str = "",
    pair: tuple[str, str] | None = None,
    name: str | None = None,
    display_name: str = "",
) -> Areas:
    """Areas from a file (:func:`fairpatrol.data.geofiles.read_area_file`) with their groups.

    Without ``groups``, a ``group`` column of the file is used as the labels. Cached per file content and
    settings: treat the result as read-only.
    """
    from fairpatrol.data.geofiles import check_readable, read_area_file

    path = resolve(spec.file, base_dir)
    source = relative(path, base_dir) if base_dir is not None else path.name
    check_readable(path, source)
    st = path.stat()
    key = json.dumps(
        [
            str(path.resolve()),
            st.st_size,
            st.st_mtime_ns,
            spec.model_dump(),
            groups and groups.model_dump(),
            rule_name,
            pair,
            name,
            display_name,
        ],
        default=str,
    )
    if key in _AREAS:
        return _AREAS[key]
    read = read_area_file(path, spec, source=source)
    if groups is None:
        if "file_group" not in read.frame.columns:
            raise DataError(
                "no group rule: give data.groups (e.g. {rule: column, column: majority}) or a 'group' column",
                source=source,
                field="groups",
            )
        groups = GroupsConfig(rule="column", column="group")
    view = read.frame.rename(columns={"file_group": "group"})  # the file's own 'group' column, for the rule
    assigned = assign_groups(view, groups, source=source, rule_name=rule_name)
    frame = read.frame.copy()
    frame.insert(2, "group", assigned.labels.astype(object))
    if (
        "file_group" in frame.columns
        and (frame["file_group"].astype(str).to_numpy() == assigned.labels).all()
    ):
        frame = frame.drop(columns="file_group")  # the label column the rule read: one copy is enough
    used = assigned.columns
    areas = Areas(
        name=name or path.stem,
        crs=read.crs,
        frame=frame,
        geometry=read.geometry,
        group_pair=choose_pair(assigned.labels, pair, source=source),
        group_rule=assigned.rule,
        group_description=assigned.description,
        group_columns=used,
        display_name=display_name,
        crs_reason=read.crs_reason,
        notes=read.notes,
    )
    if len(_AREAS) >= _CACHE_SIZE:
        _AREAS.pop(next(iter(_AREAS)))
    _AREAS[key] = areas
    return areas


def _pack_rule(
    pack: CityPack, groups: str | GroupsConfig | None
) -> tuple[str, GroupsConfig, tuple[str, str] | None]:
    if isinstance(groups, GroupsConfig):
        return groups.rule, groups, None
    name, rule = pack.group_rule(groups)
    return name, GroupsConfig(**rule.model_dump(exclude={"pair"})), rule.pair


def pack_areas(
    city: str,
    *,
    group_rule: str | GroupsConfig | None = None,
    group_pair: tuple[str, str] | None = None,
) -> Areas:
    """The areas of a bundled city pack, read like any areas file (see :func:`load_areas_file`)."""
    pack = get_city(city)
    name, rule, pair = _pack_rule(pack, group_rule)
    return load_areas_file(
        pack.areas,
        base_dir=data_dir(),
        groups=rule,
        rule_name=name,
        pair=group_pair or pair,
        name=pack.name,
        display_name=pack.display_name,
    )


@functools.lru_cache(maxsize=16)
def load_areas(
    city: str, *, group_rule: str | None = None, group_pair: tuple[str, str] | None = None
) -> Areas:
    """The areas of the bundled city pack ``city`` (``fairpatrol datasets`` lists them).

    ``group_rule`` picks one of the pack's group rules (default: the pack's default), ``group_pair`` the
    two groups compared (default: the rule's pair). The packs' rules (``fairpatrol/cities/*.yaml``):

    * Baltimore ``'plurality'``: 'Black' if Black residents (2010 Census) outnumber both White residents
      and all others together, 'White' likewise, else 'neither' (168 / 85 / 3). Pair (Black, White).
    * Chicago ``'mean'`` (default): 'Protected' if per-capita income ≤ the unweighted mean over the 77 areas
      (50 / 27); ``'median'``: ≤ the median 21,323, the PF/RAF paper's data (39 / 38).
    * Bogotá ``'alejo'``: the PF/RAF paper's localidad groups; the 4 localidades without one are 'neither'.

    Examples
    --------
    >>> load_areas("baltimore").group_counts()
    {'Black': 168, 'White': 85, 'neither': 3}
    """
    return pack_areas(city, group_rule=group_rule, group_pair=group_pair)
