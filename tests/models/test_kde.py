"""KDE hot-spot models: lattice quadrature against brute force, sparse rows, the truncation bound, caches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from fairpatrol.models import LongTermKDE, ShortTermKDE, scott_bandwidth
from fairpatrol.models._kde import (
    BoundedCache,
    area_quadrature,
    event_masses,
    kde_area_mass,
    kde_area_mass_bruteforce,
    kde_area_mass_sparse,
    truncation_bound,
)


@pytest.fixture(scope="module")
def areas():
    from fairpatrol.data import load_areas

    return load_areas("baltimore")


def test_quadrature_weights_are_polygon_areas(areas):
    quad = area_quadrature(areas, 100.0)
    per_area = np.bincount(quad.area, weights=quad.w, minlength=areas.n)
    np.testing.assert_allclose(per_area, shapely.area(np.asarray(areas.geometry)), rtol=1e-9)
    assert (per_area > 0).all()  # every polygon has nodes, however small


def test_lattice_mass_equals_bruteforce(areas, baltimore):
    quad = area_quadrature(areas, 100.0)
    f = baltimore.frame.sample(60, random_state=1)
    fast = kde_area_mass(f.x.to_numpy(), f.y.to_numpy(), quad, 300.0)
    slow = kde_area_mass_bruteforce(f.x.to_numpy(), f.y.to_numpy(), quad, 300.0)
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-14)


def test_mass_of_an_interior_point_is_about_one(areas):
    quad = area_quadrature(areas, 50.0)
    # a point well inside the residential city: the kernel mass over all areas is ~1
    c = shapely.centroid(areas.geometry[np.argmax(shapely.area(np.asarray(areas.geometry)))])
    mass = kde_area_mass(np.array([c.x]), np.array([c.y]), quad, 100.0)
    assert 0.9 < mass.sum() <= 1.0 + 1e-6


def test_kde_estimator_counts_window(areas, baltimore):
    f = baltimore.frame
    short = ShortTermKDE().fit(f, until="2019-01-01", areas=areas)
    long = LongTermKDE().fit(f, until="2019-01-01", areas=areas)
    n30 = ((f.time >= "2018-12-02") & (f.time < "2019-01-01")).sum()
    assert short.n_events_ == n30
    # total expected incidents per day ≈ window count / W (minus mass lost outside the areas)
    assert 0.85 * n30 / 30 < short.predict().sum() <= n30 / 30
    assert long.predict().sum() > 0.85 * long.n_events_ / 365
    assert list(short.predict().index) == list(areas.ids)


def test_scott_bandwidth_scales_as_n_to_minus_one_sixth():
    # the same point pattern repeated r times: the mean coordinate std barely moves, so h ∝ n^(−1/6) alone
    rng = np.random.default_rng(0)
    x0, y0 = rng.normal(0, 1000, 64), rng.normal(0, 600, 64)
    reps = np.array([1, 2, 8, 64, 512])
    h = np.array([scott_bandwidth(np.tile(x0, r), np.tile(y0, r)) for r in reps])
    n = 64 * reps
    sigma = [0.5 * (np.tile(x0, r).std(ddof=1) + np.tile(y0, r).std(ddof=1)) for r in reps]
    np.testing.assert_allclose(h, np.array(sigma) * n ** (-1 / 6), rtol=1e-12)  # the formula at every n
    slope = np.polyfit(np.log(n), np.log(h / np.array(sigma)), 1)[0]
    assert slope == pytest.approx(-1 / 6, abs=1e-9)  # the exponent
    # on fresh samples of one distribution the fitted exponent is −1/6 up to sampling noise
    sizes = np.array([100, 1_000, 10_000, 100_000])
    fresh = [scott_bandwidth(rng.normal(0, 1000, k), rng.normal(0, 1000, k)) for k in sizes]
    assert np.polyfit(np.log(sizes), np.log(fresh), 1)[0] == pytest.approx(-1 / 6, abs=0.01)
    assert h[0] == pytest.approx(0.5 * (x0.std(ddof=1) + y0.std(ddof=1)) / 2, rel=1e-12)  # 64^(−1/6) = 1/2


def square_city(n: int, size: float):
    """n × n square areas of side ``size`` metres (a synthetic city without holes)."""
    import pandas as pd

    from fairpatrol.data import Areas

    ix, iy = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    geoms = shapely.box(ix * size, iy * size, (ix + 1) * size, (iy + 1) * size)
    frame = pd.DataFrame({"area_id": [f"c{i}" for i in range(n * n)], "area_m2": size * size})
    frame["name"] = frame["area_id"]
    frame["group"] = np.where(ix < n // 2, "a", "b")
    return Areas("test", "EPSG:32618", frame, geoms, ("a", "b"))


def test_sparse_rows_hold_exactly_the_areas_within_reach(areas, baltimore):
    quad = area_quadrature(areas, 100.0)
    f = baltimore.frame.sample(200, random_state=2)
    rows = kde_area_mass_sparse(f.x.to_numpy(), f.y.to_numpy(), quad, 300.0)
    dense = kde_area_mass_bruteforce(f.x.to_numpy(), f.y.to_numpy(), quad, 300.0)
    for i in range(rows.n_rows):  # each row: every area at most once, every stored mass positive
        seg = rows.indices[rows.indptr[i] : rows.indptr[i + 1]]
        assert len(np.unique(seg)) == len(seg)
    assert (rows.values > 0).all()
    np.testing.assert_array_equal(rows.toarray() > 0, dense > 0)
    np.testing.assert_allclose(rows.toarray(), dense, rtol=1e-10, atol=1e-14)
    assert rows.nnz < 0.1 * dense.size  # 300 m kernels over 256 neighbourhoods: sparse


@pytest.mark.parametrize("cutoff", [2.0, 3.0, 4.0])
def test_truncation_moves_a_forecast_by_at_most_the_gaussian_tail(areas, baltimore, cutoff):
    """A truncated kernel drops at most e^{−k²/2} of each incident's mass, so the window forecast loses
    at most e^{−k²/2} · Σ weights / W over all areas together (3.4e-4 of it at the default k = 4), and
    gains nowhere."""
    f = baltimore.frame
    f = f[(f.time >= "2018-12-02") & (f.time < "2019-01-01")]
    w = np.random.default_rng(0).uniform(0.5, 3.0, len(f))
    quad = area_quadrature(areas, 100.0)
    x, y = f.x.to_numpy(), f.y.to_numpy()
    full = kde_area_mass_sparse(x, y, quad, 300.0, math.inf).weighted_sum(w) / 30
    cut = kde_area_mass_sparse(x, y, quad, 300.0, cutoff).weighted_sum(w) / 30
    gap = full - cut
    assert gap.min() > -1e-15
    # the bound is the exact integral's; the lattice quadrature adds its own error (< 1 % of the tail, see
    # the interior-point test); on real areas (holes, edges) the gap is ≈ 85 % of the bound
    assert gap.sum() <= 1.01 * truncation_bound(cutoff) * w.sum() / 30
    assert gap.sum() > 0.5 * truncation_bound(cutoff) * w.sum() / 30  # the bound is not vacuous


@pytest.mark.parametrize("cutoff", [2.0, 3.0, 4.0])
def test_truncation_removes_the_rayleigh_tail_of_an_interior_point(cutoff):
    """In a city without holes, the mass truncation removes from a central point is e^{−k²/2} itself (the
    bound is attained), i.e. ``cutoff`` is a radius in bandwidths."""
    city = square_city(20, 500.0)  # 10 km square, the point 5 km = 16.7 h from every edge
    quad = area_quadrature(city, 50.0)
    x, y = np.array([5013.0]), np.array([4987.0])
    full = kde_area_mass_sparse(x, y, quad, 300.0, math.inf).toarray().sum()
    cut = kde_area_mass_sparse(x, y, quad, 300.0, cutoff).toarray().sum()
    assert full == pytest.approx(1.0, abs=1e-6)
    assert full - cut == pytest.approx(truncation_bound(cutoff), rel=0.01)


def test_quadrature_is_cached_by_polygon_content(areas):
    from dataclasses import replace

    same = replace(areas)  # another object with the same polygons
    assert same is not areas
    assert area_quadrature(same, 100.0) is area_quadrature(areas, 100.0)
    assert area_quadrature(areas, 75.0) is not area_quadrature(areas, 100.0)
    moved = replace(areas, geometry=shapely.transform(areas.geometry, lambda xy: xy + np.array([1.0, 0.0])))
    assert area_quadrature(moved, 100.0) is not area_quadrature(areas, 100.0)


def test_event_masses_are_shared_by_equal_data(baltimore):
    from fairpatrol.sim.prepare import prepare

    a = prepare(baltimore, "2019-03-01", 5, 30)
    b = prepare(baltimore, "2019-03-01", 5, 30)  # prepared again: equal arrays, another object
    c = prepare(baltimore, "2019-03-02", 5, 30)
    assert event_masses(a, 300.0, 100.0, 4.0) is event_masses(b, 300.0, 100.0, 4.0)
    assert event_masses(c, 300.0, 100.0, 4.0) is not event_masses(a, 300.0, 100.0, 4.0)
    assert event_masses(a, 250.0, 100.0, 4.0) is not event_masses(a, 300.0, 100.0, 4.0)


class _Blob:
    def __init__(self, nbytes):
        self.nbytes = nbytes


def test_bounded_cache_evicts_the_least_recently_used():
    cache = BoundedCache(max_entries=3, max_bytes=100)
    built = []

    def make(key, size):
        return cache.get(key, lambda: built.append(key) or _Blob(size))

    a = make("a", 10)
    make("b", 10)
    assert make("a", 10) is a and built == ["a", "b"]  # a hit: built once, now most recent
    make("c", 10)
    make("d", 10)  # 4 entries > 3: "b" (least recently used) goes
    assert len(cache) == 3
    make("b", 10)
    assert built == ["a", "b", "c", "d", "b"]
    make("big", 500)  # over the byte budget: every older entry goes, the newest stays
    assert len(cache) == 1


def test_rectangular_areas_are_clipped_from_coordinates_as_geos_would(monkeypatch):
    """Grid cells as areas: lattice pieces of axis-aligned rectangles come from the coordinates; they
    equal GEOS's clipping (same nodes, weights and centroids to rounding) and conserve every cell's area."""
    from fairpatrol.models import _kde

    city = square_city(12, 150.0)  # 150 m cells on a 100 m lattice: most lattice cells straddle two cells
    fast = _kde._build_quadrature(city, 100.0)
    monkeypatch.setattr(_kde, "_axis_aligned_rectangles", lambda g: np.zeros(len(g), dtype=bool))
    geos = _kde._build_quadrature(city, 100.0)
    np.testing.assert_array_equal(fast.area, geos.area)
    np.testing.assert_array_equal(fast.cell_start, geos.cell_start)
    for name in ("x", "y", "w"):
        np.testing.assert_allclose(getattr(fast, name), getattr(geos, name), rtol=1e-12, atol=1e-9)
    per_area = np.bincount(fast.area, weights=fast.w, minlength=city.n)
    np.testing.assert_allclose(per_area, 150.0**2, rtol=1e-12)


def test_quadrature_cell_pairs_equal_the_predicate_query():
    """The lattice cells paired with a polygon are exactly STRtree.query(predicate='intersects')'s pairs."""

    from fairpatrol.data import load_areas
    from fairpatrol.models._kde import _build_quadrature

    areas = load_areas("baltimore")
    q = _build_quadrature(areas, 250.0)
    geoms = np.asarray(areas.geometry)
    xmin, ymin = q.x0, q.y0
    ix, iy = np.meshgrid(np.arange(q.nx), np.arange(q.ny), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    boxes = shapely.box(
        xmin + ix * 250.0, ymin + iy * 250.0, xmin + (ix + 1) * 250.0, ymin + (iy + 1) * 250.0
    )
    box, poly = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    pieces = shapely.area(shapely.intersection(boxes[box], geoms[poly])) > 0
    cell = (ix[box] * q.ny + iy[box])[pieces]
    assert np.array_equal(np.sort(cell), np.repeat(np.arange(q.nx * q.ny), np.diff(q.cell_start)))
    assert np.array_equal(np.sort(poly[pieces]), np.sort(q.area))


def test_quadrature_and_masses_from_the_disk_cache_equal_the_computed_ones(tmp_path, monkeypatch):
    """A second process's quadrature and kernel-mass rows come from disk, bit for bit (arrays and dtypes);
    another lattice spacing is another entry."""
    import dataclasses

    from fairpatrol.config import load_preset
    from fairpatrol.models import _kde
    from fairpatrol.sim.study import load_study_incidents, prepare_study

    monkeypatch.setenv("FAIRPATROL_CACHE_DIR", str(tmp_path))
    cfg = load_preset("baltimore-agg", days=3, runs=1)
    data = prepare_study(cfg, load_study_incidents(cfg))

    def fresh():  # as a new process: empty in-process caches
        _kde.QUADRATURES.clear()
        _kde.MASSES.clear()
        quad = _kde.area_quadrature(data.areas, 200.0)
        return quad, _kde.event_masses(data, 300.0, 200.0, 4.0)

    monkeypatch.setenv("FAIRPATROL_CACHE_DIR", "off")
    q0, m0 = fresh()
    monkeypatch.setenv("FAIRPATROL_CACHE_DIR", str(tmp_path))
    fresh()  # computes and stores
    assert len(list((tmp_path / "kde-quadrature").iterdir())) == 1
    q1, m1 = fresh()  # reads
    for name, a in dataclasses.asdict(q0).items():
        b = getattr(q1, name)
        assert type(a) is type(b) or (a.dtype == b.dtype and np.array_equal(a, b)), name
        assert np.array_equal(a, b), name
    for name in ("indptr", "indices", "values"):
        a, b = getattr(m0, name), getattr(m1, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert m1.n_cols == m0.n_cols
    _kde.QUADRATURES.clear()
    _kde.area_quadrature(data.areas, 250.0)
    assert len(list((tmp_path / "kde-quadrature").iterdir())) == 2
