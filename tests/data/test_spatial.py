"""assign_areas and project."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fairpatrol.data import assign_areas, load_areas, project


def test_project_roundtrip_scale() -> None:
    x, y = project(np.array([-76.61, -76.60]), np.array([39.29, 39.29]), "EPSG:32618")
    assert 800 < x[1] - x[0] < 900  # 0.01° of longitude at 39.3° N ≈ 862 m
    assert abs(y[1] - y[0]) < 30  # UTM grid convergence: ~15 m over 862 m


def test_shared_boundary_goes_to_lowest_index() -> None:
    a = load_areas("chicago")
    shared = shapely.intersection(a.geometry[0].boundary, a.geometry[1].boundary)
    assert not shared.is_empty  # areas 1 and 2 (Rogers Park, West Ridge) touch
    pt = shapely.get_point(shapely.get_geometry(shared, 0), 0)
    idx, how = assign_areas(np.array([pt.x]), np.array([pt.y]), a)
    assert idx[0] == 0 and how[0] == "within"


def test_far_and_nan_points() -> None:
    a = load_areas("baltimore")
    idx, how = assign_areas(np.array([0.0, np.nan]), np.array([0.0, 1.0]), a)
    assert list(idx) == [-1, -1] and list(how) == ["none", "none"]


_BALT = load_areas("baltimore")
_X0, _Y0, _X1, _Y1 = shapely.total_bounds(_BALT.geometry)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(_X0 - 2000, _X1 + 2000), st.floats(_Y0 - 2000, _Y1 + 2000)),
        min_size=1,
        max_size=50,
    )
)
def test_assign_areas_property(points: list[tuple[float, float]]) -> None:
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    idx, how = assign_areas(x, y, _BALT, tolerance_m=250.0)
    assert idx.dtype == np.int64 and len(idx) == len(x)
    assert ((idx >= 0) & (idx < _BALT.n) | (idx == -1)).all()
    assert ((idx == -1) == (how == "none")).all()
    pts = shapely.points(x, y)
    w = how == "within"
    assert shapely.covers(_BALT.geometry[idx[w]], pts[w]).all()
    n = how == "nearest"
    assert (shapely.distance(_BALT.geometry[idx[n]], pts[n]) <= 250.0 + 1e-6).all()
    assert not shapely.covers(_BALT.geometry[idx[n]], pts[n]).any()


def test_covering_pairs_equal_the_predicate_query_including_vertices_and_edges() -> None:
    """The prepared point-in-polygon pass returns exactly ``STRtree.query(predicate="intersects")``'s pairs,
    in its order, also for points on vertices and edges shared by two areas."""
    from fairpatrol.data.spatial import _covering

    geoms = np.asarray(_BALT.geometry)
    rng = np.random.default_rng(5)
    x = rng.uniform(_X0 - 500, _X1 + 500, 3000)
    y = rng.uniform(_Y0 - 500, _Y1 + 500, 3000)
    vertices = shapely.get_coordinates(shapely.boundary(geoms[:20]))[::7]  # on edges and corners
    mids = 0.5 * (vertices[:-1] + vertices[1:])
    x = np.concatenate([x, vertices[:, 0], mids[:, 0]])
    y = np.concatenate([y, vertices[:, 1], mids[:, 1]])
    pts = shapely.points(x, y)
    expected = _BALT.tree.query(pts, predicate="intersects")
    got = _covering(_BALT.tree, pts, x, y, geoms)
    assert got.shape[1] > 1000 and np.array_equal(got, expected)


def test_repeated_points_are_assigned_as_each_point_alone() -> None:
    """Points published at block level repeat: looking each distinct point up once gives every point the
    area and the 'how' it gets on its own."""
    rng = np.random.default_rng(11)
    base_x = rng.uniform(_X0 - 400, _X1 + 400, 300)
    base_y = rng.uniform(_Y0 - 400, _Y1 + 400, 300)
    pick = rng.integers(0, 300, 2000)
    x, y = base_x[pick], base_y[pick]
    idx, how = assign_areas(x, y, _BALT)
    one = [assign_areas(np.array([a]), np.array([b]), _BALT) for a, b in zip(base_x, base_y, strict=True)]
    assert list(idx) == [int(one[p][0][0]) for p in pick]
    assert list(how) == [str(one[p][1][0]) for p in pick]
