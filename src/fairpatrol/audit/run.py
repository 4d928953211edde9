"""Run an audit: the steps in order, each in its own module (methods in ``docs/audit.md``).

1. read the population (:mod:`~fairpatrol.audit.groups`) and locate the incidents
   (:mod:`~fairpatrol.audit.crimes`);
2. choose the audited days, target-periods and incidents (:mod:`~fairpatrol.audit.period`);
3. place each crime among the target atoms (:mod:`~fairpatrol.audit.coverage`), join it to the active
   targets (:mod:`~fairpatrol.audit.matching`) and sum per day and area (:mod:`~fairpatrol.audit.daytable`);
4. draw the bootstrap day weights (:mod:`~fairpatrol.audit.bootstrap`) and build the tables
   (:mod:`~fairpatrol.audit.tables`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from fairpatrol.audit.bootstrap import day_weights
from fairpatrol.audit.coverage import locate
from fairpatrol.audit.crimes import prepare_crimes, same_areas
from fairpatrol.audit.daytable import build_day_table
from fairpatrol.audit.groups import (
    Population,
    area_grouping,
    overall_grouping,
    read_population,
    resident_grouping,
    single_areas,
)
from fairpatrol.audit.notes import Note, notes_frame, plural
from fairpatrol.audit.period import audit_scope, coverage
from fairpatrol.audit.result import AuditResult
from fairpatrol.audit.settings import AuditSettings
from fairpatrol.audit.tables import TableBuilder
from fairpatrol.audit.targets import TargetSet, type_matrix
from fairpatrol.data.areas import Areas
from fairpatrol.data.incidents import Incidents
from fairpatrol.errors import DataError


def _type_selections(types: np.ndarray, settings: AuditSettings) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels and (Q, C) membership of the crime-type selections of ``types``: row 0 is 'all', then each
    type group of the settings, then each type on its own (most frequent first; a type whose name is
    also a group's label is not repeated)."""
    upper = np.char.upper(np.char.strip(types.astype(str)))
    labels, rows = ["all"], [np.ones(types.size, dtype=bool)]
    for label, members in (settings.type_groups or {}).items():
        wanted = [m.strip().upper() for m in members]
        unknown = [m for m in wanted if m not in set(upper)]
        if unknown:
            raise DataError(
                f"type group {label!r}: no audited incident of type(s) {unknown}",
                source="audit settings",
                field="type_groups",
            )
        labels.append(label)
        rows.append(np.isin(upper, wanted))
    values, counts = np.unique(types.astype(str), return_counts=True)
    for v in values[np.argsort(-counts, kind="stable")]:
        if v not in labels:
            labels.append(str(v))
            rows.append(types.astype(str) == v)
    return tuple(labels), np.vstack(rows)


#: The steps of :func:`run_audit`, in order, as reported to its ``progress`` callback.
STEPS = (
    "locating the incidents",
    "choosing the audited days",
    "matching crimes to targets",
    "overall measures",
    "measures by group",
    "measures by area",
    "measures by target",
    "daily series",
    "trends",
    "calibration and tiers",
)


def _software() -> dict[str, str]:
    out = {}
    for pkg in ("fairpatrol", "numpy", "pandas", "scipy", "shapely", "pyproj", "geopandas"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def run_audit(
    areas: Areas,
    incidents: Incidents | pd.DataFrame,
    targets: TargetSet,
    *,
    population: object | None = None,
    population_total: str | None = None,
    settings: AuditSettings | None = None,
    progress: Callable[[int, str], None] | None = None,
    **changes: Any,
) -> AuditResult:
    """Audit real targets against the incidents that followed; see ``docs/audit.md``.

    Parameters
    ----------
    areas : Areas
        The city's areas, with a ``group`` per area.
    incidents : Incidents or DataFrame
        Recorded incidents (``time``, type column, ``x``/``y`` in the areas' CRS or ``lon``/``lat``).
    targets : TargetSet
        From :func:`designated_zones`, :func:`daily_targets` or :func:`patrol_effort` with the same areas.
    population : optional
        Residents by group: count columns of ``areas.frame``, or a table/file with ``area_id`` and counts
        (:func:`fairpatrol.audit.groups.read_population`). Default: the areas' ``population`` column, if
        any, for totals only.
    population_total : str, optional
        Column of all residents per area (default: the sum of the groups).
    settings : AuditSettings, optional
        How to audit; keyword arguments (``n_boot=200``, ``start="2019-01-01"``, ...) change single fields.
    progress : callable, optional
        Called as ``progress(i, step)`` when step i of :data:`STEPS` starts (for progress bars).

    Returns
    -------
    AuditResult
        Tables ``overall``, ``by_group``, ``by_area``, ``by_day``, ``trends``, ``calibration``, ``tiers``,
        ``notes`` and ``meta``.

    Examples
    --------
    >>> import pandas as pd, shapely
    >>> from fairpatrol.audit import designated_zones, run_audit
    >>> from fairpatrol.audit.toy import toy_areas
    >>> areas = toy_areas(2, 1)                       # two 100 m squares, groups G1 and G2
    >>> zone = pd.DataFrame({"geometry": [shapely.box(0, 0, 50, 100).wkt]})
    >>> targets = designated_zones(areas, zone, crs=areas.crs)
    >>> crimes = pd.DataFrame({"time": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-02"]),
    ...                        "x": [10.0, 150.0, 20.0], "y": [10.0, 50.0, 30.0], "crime_type": "THEFT"})
    >>> res = run_audit(areas, crimes, targets, n_boot=0)
    >>> res.value("crime_captured"), res.value("area_targeted"), res.value("pai")
    (0.6666666666666666, 0.25, 2.6666666666666665)
    """
    settings = (settings or AuditSettings()).replace(**changes) if changes else (settings or AuditSettings())

    def step(name: str) -> None:
        if progress is not None:
            progress(STEPS.index(name), name)

    if not same_areas(targets.areas, areas):
        raise DataError(
            "the targets were read against other areas; read them with these areas", source=targets.source
        )
    notes: list[Note] = list(targets.notes)
    pop: Population | None = read_population(areas, population, total=population_total)
    if pop is not None:
        notes.extend(pop.notes)
    step("locating the incidents")
    crimes = prepare_crimes(
        incidents, areas, type_column=settings.type_column, crime_types=settings.crime_types
    )
    notes.extend(crimes.notes)

    step("choosing the audited days")
    scope = audit_scope(settings, targets, crimes)
    notes.extend(scope.notes)
    sel = scope.crimes
    type_labels, membership = _type_selections(crimes.crime_type[sel], settings)
    step("matching crimes to targets")
    atoms = locate(
        targets.coverage, areas, crimes.x[sel], crimes.y[sel], crimes.area[sel], crimes.snapped[sel]
    )
    type_allowed = crime_code = None
    typed = targets.records["types"] != ""
    if typed.any():
        names, crime_code = np.unique(
            np.char.upper(np.char.strip(crimes.crime_type[sel].astype(str))), return_inverse=True
        )
        type_allowed = type_matrix(targets, names, settings.type_groups)
        notes.append(
            Note(
                "typed_targets",
                int(typed.sum()),
                f"{plural(int(typed.sum()), 'target record')} of {targets.source} list the crime types they "
                "are for; they capture, and are hit by, only crimes of those types.",
            )
        )
    table = build_day_table(
        targets,
        scope.units,
        dates=scope.dates,
        crime_t=scope.crime_t,
        crime_day=scope.crime_day,
        crime_area=crimes.area[sel],
        crime_atom=atoms,
        crime_types=membership,
        type_labels=type_labels,
        window_days=settings.window_days,
        exposure=settings.exposure,
        type_allowed=type_allowed,
        crime_code=crime_code,
    )
    if settings.window_days:
        notes.append(
            Note(
                "window",
                settings.window_days,
                f"Crimes up to {plural(settings.window_days, 'day')} after a "
                "target's period count as inside it; targets of the last days of the period have a "
                "shorter window (crimes after the period are not audited).",
            )
        )

    residents = pop.total if pop is not None else None
    groupings = {
        "overall": overall_grouping(areas.n),
        "area group": area_grouping(areas),
        "area": single_areas(areas),
    }
    if pop is not None and pop.labels:
        groupings["residents"] = resident_grouping(pop)
        unpopulated = pop.total <= 0
        t_total = table.targeting.sum()
        if unpopulated.any() and t_total > 0:
            share = table.targeting[:, unpopulated].sum() / t_total
            if share > 0:
                notes.append(
                    Note(
                        "targeting_without_residents",
                        int(unpopulated.sum()),
                        f"{share:.1%} of the targeting "
                        f"falls in {plural(int(unpopulated.sum()), 'area')} without residents; residents' "
                        "shares are of the targeting of populated areas.",
                    )
                )
    if residents is None:
        notes.append(
            Note(
                "no_population",
                0,
                "No population was given: shares of residents and ratios to residents are not computed.",
            )
        )
    if targets.has_scores and targets.score_kind == "relative":
        notes.append(
            Note(
                "relative_scores",
                0,
                "The scores only order the targets (ranks or unitless scores): "
                "the calibration table shows crime per score bin, no observed/expected ratio.",
            )
        )
    if settings.tiers and residents is None:
        notes.append(Note("tiers_need_population", 0, "Tiers need population counts and were not computed."))

    weights = day_weights(table.n_days, settings.n_boot, settings.block_days, settings.seed)
    notes.append(
        Note(
            "bootstrap",
            settings.n_boot,
            f"Intervals: {settings.level:.0%} percentile intervals of "
            f"{settings.n_boot:,} circular block-bootstrap replicates over the {table.n_days:,} audited days "
            f"(blocks of {plural(min(settings.block_days, table.n_days), 'day')}, seed {settings.seed}).",
        )
    )

    cov_first, cov_last, declared = coverage(settings, crimes)
    auditor = TableBuilder(table, targets, groupings, residents, weights, settings)
    meta = {
        "city": areas.name,
        "crs": areas.crs,
        "kind": targets.kind,
        "targets_source": targets.source,
        "incidents_source": crimes.source,
        "period": {
            "start": str(scope.start.date()),
            "end": str(scope.end.date()),
            "days_audited": table.n_days,
            "days_in_period": scope.days_in_period,
        },
        "incidents_dates": {"first": str(crimes.first_day.date()), "last": str(crimes.last_day.date())},
        "incidents_coverage": {
            "first": str(cov_first.date()),
            "last": str(cov_last.date()),
            "declared": declared,
        },
        "counts": {
            "targets": targets.n_targets,
            "target_periods": scope.units.n,
            "incidents_audited": int(sel.size),
            "areas": areas.n,
        },
        "score_kind": targets.score_kind,
        "effort_unit": targets.effort_unit,
        "crime_types": list(type_labels),
        "groups": {k: list(map(str, g.labels)) for k, g in groupings.items() if k != "area"},
        "group_pair": list(areas.group_pair),
        "group_description": areas.group_description,
        "population": {
            "source": pop.source if pop is not None else None,
            "groups": list(pop.labels) if pop is not None else [],
            "total": float(pop.total.sum()) if pop is not None else None,
        },
        "settings": settings.to_dict(),
        "software": _software(),
    }
    tables = {}
    for name, made in (
        ("overall measures", ("overall",)),
        ("measures by group", ("by_group",)),
        ("measures by area", ("by_area",)),
        ("measures by target", ("by_target",)),
        ("daily series", ("by_day",)),
        ("trends", ("trends", "by_period")),
        ("calibration and tiers", ("calibration", "tiers")),
    ):
        step(name)
        tables.update({table: getattr(auditor, table)() for table in made})
    geometry = None
    if targets.kind != "effort":
        geometry = pd.DataFrame({"target_id": targets.target_ids.astype(str), "geometry": targets.geometry})
    return AuditResult(
        **tables,
        notes=notes_frame(notes),
        meta=meta,
        areas=areas,
        target_geometry=geometry,
    )
