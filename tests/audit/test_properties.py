"""Invariants of the audit (hypothesis), and the fast pieces checked against plain reference code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fairpatrol.audit import designated_zones, patrol_effort, run_audit
from fairpatrol.audit.bootstrap import day_weights, interval
from fairpatrol.audit.coverage import build_coverage, locate
from fairpatrol.audit.groups import Grouping
from fairpatrol.audit.matching import match
from fairpatrol.audit.tiers import tier_members, tiers_frame
from fairpatrol.audit.toy import toy_areas

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A 3 × 2 city of 100 m squares, groups alternating, populations varied.
CITY = toy_areas(3, 2, groups=["G1", "G2", "G1", "G2", "G3", "G1"], population=[50, 120, 0, 300, 80, 10])
CITY.frame["a"] = [10.0, 100.0, 0.0, 30.0, 40.0, 5.0]
CITY.frame["b"] = [40.0, 20.0, 0.0, 270.0, 40.0, 5.0]


@st.composite
def incident_frames(draw, n_days: int = 20, max_n: int = 60):
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.uniform(-20, 320, n)  # some just outside the city (snapped within 250 m)
    y = rng.uniform(-20, 220, n)
    day = rng.integers(0, n_days, n)
    day[0], day[-1] = 0, n_days - 1  # the incidents span the whole period
    return pd.DataFrame(
        {
            "time": pd.Timestamp("2021-03-01")
            + pd.to_timedelta(day, unit="D")
            + pd.to_timedelta(rng.integers(0, 86400, n), unit="s"),
            "x": x,
            "y": y,
            "crime_type": rng.choice(["A", "B"], n),
        }
    )


# --------------------------------------------------------------------------------------- invariants


@SLOW
@given(incident_frames())
def test_targeting_the_whole_city_has_pai_one(crimes):
    whole = pd.DataFrame({"geometry": [shapely.box(-1, -1, 301, 201).wkt]})
    res = run_audit(CITY, crimes, designated_zones(CITY, whole, crs=CITY.crs), n_boot=0)
    assert res.value("area_targeted") == pytest.approx(1.0)
    assert res.value("crime_captured") == pytest.approx(1.0)
    assert res.value("pai") == pytest.approx(1.0)
    for row in res.by_group.query("grouping == 'area group' and measure == 'pai'").itertuples():
        assert row.value == pytest.approx(1.0) or np.isnan(row.value)


@SLOW
@given(incident_frames(), st.integers(1, 5))
def test_population_proportional_patrols_have_ratio_one_to_residents(crimes, per_resident):
    days = pd.date_range("2021-03-01", periods=20, freq="D")
    pop = CITY.frame["population"].to_numpy()
    logs = pd.DataFrame(
        {
            "date": np.repeat(days, CITY.n),
            "area_id": np.tile(CITY.ids, len(days)),
            "minutes": np.tile(pop * per_resident, len(days)),
        }
    )
    res = run_audit(
        CITY,
        crimes,
        patrol_effort(CITY, logs, effort="minutes"),
        population=["a", "b"],
        population_total="population",
        n_boot=0,
    )
    ratios = res.by_group.query("measure == 'ratio_to_residents'")
    assert set(ratios["grouping"]) == {"area group", "residents"}
    assert ratios["value"].to_numpy() == pytest.approx(np.ones(len(ratios)))


@SLOW
@given(
    incident_frames(),
    st.lists(st.tuples(st.floats(0, 280), st.floats(0, 180), st.floats(5, 120)), min_size=1, max_size=5),
)
def test_shares_sum_to_one_in_every_grouping(crimes, boxes):
    zs = pd.DataFrame({"geometry": [shapely.box(x, y, x + s, y + s).wkt for x, y, s in boxes]})
    res = run_audit(
        CITY,
        crimes,
        designated_zones(CITY, zs, crs=CITY.crs),
        population=["a", "b"],
        population_total="population",
        n_boot=0,
    )
    shares = res.by_group.query(
        "crime_type == 'all' and measure in ['targeting_share', 'crime_share', 'resident_share']"
    )
    sums = shares.groupby(["grouping", "measure"])["value"].sum(min_count=1).dropna()
    assert sums.to_numpy() == pytest.approx(np.ones(len(sums)))
    per_area = res.by_area.query("measure == 'targeting_share'")["value"].sum()
    assert per_area == pytest.approx(1.0)


@SLOW
@given(incident_frames(n_days=40, max_n=200), st.integers(1, 9), st.integers(0, 10_000))
def test_bootstrap_interval_contains_the_estimate(crimes, block, seed):
    zs = pd.DataFrame({"geometry": [shapely.box(0, 0, 150, 100).wkt]})
    res = run_audit(
        CITY, crimes, designated_zones(CITY, zs, crs=CITY.crs), n_boot=200, block_days=block, seed=seed
    )
    rows = pd.concat([res.overall, res.by_group]).dropna(subset=["lo", "hi", "value"])
    assert len(rows)
    assert (rows["lo"] <= rows["value"] + 1e-12).all() and (rows["value"] <= rows["hi"] + 1e-12).all()


def random_crimes(seed: int, n: int, n_days: int) -> pd.DataFrame:
    """``n`` crimes of one type spread uniformly over the city and ``n_days`` days from 2021-03-01."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "time": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, n_days, n), unit="D"),
            "x": rng.uniform(0, 300, n),
            "y": rng.uniform(0, 200, n),
            "crime_type": "A",
        }
    )


def test_the_same_seed_gives_the_same_intervals():
    crimes = random_crimes(5, 80, 20)
    zs = pd.DataFrame({"geometry": [shapely.box(0, 0, 150, 100).wkt]})
    z = designated_zones(CITY, zs, crs=CITY.crs)
    a, b = (run_audit(CITY, crimes, z, n_boot=100, seed=7) for _ in range(2))
    pd.testing.assert_frame_equal(a.overall, b.overall)
    assert a.meta["settings"]["seed"] == 7


# --------------------------------------------------------------------------------------- bootstrap weights


@given(st.integers(1, 60), st.integers(0, 30), st.integers(1, 10), st.integers(0, 1000))
def test_day_weights_resample_whole_periods(n_days, n_boot, block, seed):
    w = day_weights(n_days, n_boot, block, seed)
    assert w.shape == (n_boot + 1, n_days)
    assert (w[0] == 1).all()
    assert (w.sum(axis=1) == n_days).all()
    assert (w == day_weights(n_days, n_boot, block, seed)).all()


def test_one_block_of_the_whole_period_draws_every_day_once():
    assert (day_weights(30, 50, 30, 1) == 1).all()


def test_blocks_keep_neighbouring_days_together():
    w = day_weights(100, 200, 7, 3)[1:]
    # In a replicate a drawn day's successor is drawn too unless a block ends there: with blocks of 7 at
    # most 1 in 7 drawn days lacks its successor (plus wrap-around).
    drawn = w > 0
    lone = drawn & ~np.roll(drawn, -1, axis=1)
    assert lone.sum() / drawn.sum() < 1 / 7 + 0.02


def test_interval_is_a_percentile_interval():
    values = np.r_[5.0, np.arange(1, 101)][:, None].astype(float)
    est, lo, hi, n = interval(values, 0.9)
    assert est[0] == 5.0 and n[0] == 100
    assert lo[0] == pytest.approx(np.quantile(np.arange(1, 101), 0.05))
    assert hi[0] == pytest.approx(np.quantile(np.arange(1, 101), 0.95))


# --------------------------------------------------------------------------------------- fast vs plain


def naive_match(crime_t, crime_atom, unit_target, unit_begin, unit_end, cover, window):
    dense = cover.toarray()
    pairs = set()
    for c in range(len(crime_t)):
        if crime_atom[c] < 0:
            continue
        for u in range(len(unit_target)):
            if dense[unit_target[u], crime_atom[c]] and unit_begin[u] <= crime_t[c] < unit_end[u] + window:
                pairs.add((c, u))
    return pairs


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(1, 6),
    st.integers(1, 8),
    st.integers(0, 40),
    st.integers(0, 60),
    st.sampled_from([0, 3, 86_400]),
)
def test_match_equals_the_plain_double_loop(seed, k, a, n_units, n_crimes, window):
    rng = np.random.default_rng(seed)
    cover = sp.csr_matrix(rng.random((k, a)) < 0.4)
    unit_target = rng.integers(0, k, n_units)
    unit_begin = rng.integers(0, 10 * 86_400, n_units)
    unit_end = unit_begin + rng.integers(1, 86_401, n_units)
    crime_t = rng.integers(-86_400, 11 * 86_400, n_crimes)
    crime_atom = rng.integers(-1, a, n_crimes)
    pc, pu = match(crime_t, crime_atom, unit_target, unit_begin, unit_end, cover, window)
    got = set(zip(pc.tolist(), pu.tolist(), strict=True))
    assert len(got) == len(pc)  # no pair twice
    assert got == naive_match(crime_t, crime_atom, unit_target, unit_begin, unit_end, cover, window)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-50, 300), st.floats(-50, 200), st.floats(1, 150), st.floats(1, 150)),
        min_size=1,
        max_size=6,
    )
)
@example([(0.0, 0.0, 1.0, 2.0), (5e-324, 1.0, 1.0, 1.0)])  # nearly coincident edges: polygonize lost a face
def test_atoms_partition_the_union_of_targets_by_area(boxes):
    geoms = np.array([shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes], dtype=object)
    cov = build_coverage(geoms, CITY)
    union = shapely.union_all(geoms)
    per_area = np.bincount(cov.atom_area, weights=cov.atom_m2, minlength=CITY.n)
    expected = shapely.area(shapely.intersection(union, CITY.geometry))
    assert per_area == pytest.approx(expected, abs=0.05)
    # Each target's atoms make up its part in the city; atoms never overlap.
    by_target = cov.cover.astype(float) @ cov.atom_m2
    assert by_target == pytest.approx(cov.target_m2, abs=0.05)
    assert cov.target_m2 == pytest.approx(
        shapely.area(shapely.intersection(geoms, shapely.union_all(CITY.geometry))), abs=0.05
    )
    assert cov.atom_m2.sum() == pytest.approx(
        shapely.area(shapely.intersection(union, shapely.union_all(CITY.geometry))), abs=0.05
    )


def test_locate_prefers_the_crimes_own_area_on_a_boundary():
    geoms = np.array([shapely.box(50, 0, 150, 100)], dtype=object)  # straddles A0 | A1 at x = 100
    cov = build_coverage(geoms, CITY)
    atoms = locate(
        cov,
        CITY,
        np.array([100.0, 100.0]),
        np.array([50.0, 50.0]),
        np.array([0, 1]),
        np.array([False, False]),
    )
    assert cov.atom_area[atoms].tolist() == [0, 1]


def test_snapped_crimes_are_located_at_their_areas_nearest_point():
    geoms = np.array([shapely.box(0, 0, 100, 10)], dtype=object)  # the southern strip of A0
    cov = build_coverage(geoms, CITY)
    atoms = locate(
        cov, CITY, np.array([50.0, 50.0]), np.array([-30.0, 130.0]), np.array([0, 3]), np.array([True, True])
    )
    assert atoms.tolist() == [0, -1]  # south of A0 → on its southern edge, inside the strip


# --------------------------------------------------------------------------------------- tiers


def test_tiers_follow_the_markup_rule():
    targeting = np.r_[np.arange(20, 0, -1), np.zeros(20)].astype(float)  # 40 areas, 20 never targeted
    tiers = tier_members(targeting, 0.05, seed=1)  # w = 2
    assert sorted(tiers["most"].tolist()) == [0, 1, 2]
    # Positions 19..21 of the ranking: the last targeted area, then two of the 20 tied at zero.
    assert tiers["median"].size == 3 and 19 in tiers["median"]
    assert (targeting[tiers["median"]] == [1.0, 0.0, 0.0]).all()
    # The least-targeted tier: 3 of the 20 areas tied at zero, drawn by the seed.
    assert tiers["least"].size == 3 and (targeting[tiers["least"]] == 0).all()
    draws = {tuple(sorted(tier_members(targeting, 0.05, seed=s)["least"])) for s in range(10)}
    assert len(draws) > 1


def test_tier_composition_known_answer():
    targeting = np.array([9.0, 5.0, 1.0, 0.0])
    residents = np.array([100.0, 100.0, 100.0, 100.0])
    black = np.array([90.0, 50.0, 50.0, 10.0])
    w = sp.csr_matrix(np.column_stack([black, residents - black]) / residents[:, None])
    g = Grouping("residents", np.array(["black", "other"], dtype=object), w)
    t = tiers_frame(targeting, residents, [g], share=0.05, seed=0)  # w = round(0.2) = 0 → one area per tier
    most = t.query("tier == 'most' and group == 'black'").iloc[0]
    assert most["share"] == pytest.approx(0.9)
    assert most["jurisdiction_share"] == pytest.approx(200 / 400)
    assert most["relative_change"] == pytest.approx((0.9 - 0.5) / 0.5)
    assert most["targeting_share"] == pytest.approx(9 / 15)
    least = t.query("tier == 'least' and group == 'black'").iloc[0]
    assert least["share"] == pytest.approx(0.1)


def test_areas_evaluated_in_chunks_equal_all_at_once(monkeypatch):
    import fairpatrol.audit.tables as run_module

    crimes = random_crimes(3, 50, 10)
    z = designated_zones(CITY, pd.DataFrame({"geometry": [shapely.box(20, 20, 250, 120).wkt]}), crs=CITY.crs)
    whole = run_audit(CITY, crimes, z, population=["a", "b"], population_total="population", n_boot=30)
    monkeypatch.setattr(run_module, "AREA_CHUNK", 4)
    chunked = run_audit(CITY, crimes, z, population=["a", "b"], population_total="population", n_boot=30)
    pd.testing.assert_frame_equal(whole.by_area, chunked.by_area)
    assert chunked.by_area.query("measure == 'targeting_share'")["value"].sum() == pytest.approx(1.0)


def test_a_constant_series_has_a_zero_trend():
    from fairpatrol.audit.bootstrap import slopes

    values = np.full((3, 12, 2), 0.1234567)
    values[:, :, 1] = np.linspace(0, 1.1, 12)
    out = slopes(values)
    assert (out[:, 0] == 0).all()
    assert out[:, 1] == pytest.approx(0.1)
