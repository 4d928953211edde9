"""KDE hot-spot models: lattice quadrature against brute force, mass conservation, estimator."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from fairpatrol.models import LongTermKDE, ShortTermKDE, scott_bandwidth
from fairpatrol.models._kde import area_quadrature, kde_area_mass, kde_area_mass_bruteforce


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
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1000, 64), rng.normal(0, 1000, 64)
    assert scott_bandwidth(x, y) == pytest.approx(0.5 * (x.std(ddof=1) + y.std(ddof=1)) / 2, rel=1e-12)
