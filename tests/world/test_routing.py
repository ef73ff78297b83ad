import numpy as np
import pytest

from harness.errors import RouteError
from harness.scenario import RouteSpec, Waypoint, read_routes, write_routes
from harness.world.routing import RouteProgress, generate_routes, plan_route
from harness.world.town_gen import load_town


@pytest.mark.parametrize("name", ["town01", "town05"])
def test_generated_routes_are_in_range_and_deterministic(name):
    town = load_town(name)
    a = generate_routes(town, 5, seed=3)
    b = generate_routes(town, 5, seed=3)
    for ra, rb in zip(a, b):
        assert 500 <= ra.length <= 2000
        np.testing.assert_array_equal(ra.points, rb.points)
        step = np.hypot(*np.diff(ra.points, axis=0).T)
        assert step.max() < 1.6, "dense route has a jump"


def test_route_xml_round_trip_replans_the_same_route(tmp_path, town05):
    routes = generate_routes(town05, 4, seed=1)
    for fmt in ("2.x", "1.0"):
        path = tmp_path / f"r{fmt}.xml"
        write_routes(path, [r.to_spec() for r in routes], fmt=fmt)
        for r, spec in zip(routes, read_routes(path)):
            again = plan_route(town05, spec, str(path))
            assert again.lane_seq == r.lane_seq
            assert abs(again.length - r.length) < 1.0


def test_off_road_waypoint_is_a_route_error(town05):
    spec = RouteSpec("7", "town05", (Waypoint(1.75, 100.0, 0.0, 90.0), Waypoint(5000.0, 5000.0)))
    with pytest.raises(RouteError, match=r"route\[id=7\]\.waypoint\[1\].*not on a drivable lane"):
        plan_route(town05, spec, "x.xml")


def test_progress_is_monotone(town05):
    r = generate_routes(town05, 1, seed=0)[0]
    prog = RouteProgress(r)
    last = 0.0
    for p in r.points[::5]:
        pct, off = prog.update(p + np.array([0.3, 0.2]))
        assert pct >= last and off < 1.0
        last = pct
    assert last > 99.0
