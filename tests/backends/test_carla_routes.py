"""Routes on a real ``carla.Map`` built from OpenDRIVE the tests write (no server): densifying a
leaderboard route along the lanes, and generating routes for a town that has none."""

from __future__ import annotations

import math

import numpy as np
import pytest

carla = pytest.importorskip("carla", reason="the carla client (pip install carla==0.9.16, Python 3.10-3.12) is not installed")

from harness.backends.carla import routes as R  # noqa: E402
from harness.errors import ConfigError  # noqa: E402

from .opendrive import LANE_W, RADIUS, STRAIGHT, crossing, stadium  # noqa: E402

OUTER = RADIUS + LANE_W / 2  # lane -1 is on the outside of the (left-turning) bends


@pytest.fixture(scope="module")
def cmap():
    return carla.Map("stadium", stadium())


def test_densify_follows_the_lanes_round_a_bend(cmap):
    # from 10 m along the bottom straight to the middle of the top straight, driving lane -1
    d = R.densify(cmap, [(10.0, LANE_W / 2, 0.0), (50.0, -(2 * RADIUS + LANE_W / 2), 0.0)], 1.0, carla)
    assert R.length_m(d) == pytest.approx((STRAIGHT - 10) + math.pi * OUTER + 50, rel=1e-3)
    steps = np.linalg.norm(np.diff(d[:, :2], axis=0), axis=1)
    assert steps.max() < 1.1 and np.median(steps) == pytest.approx(1.0, abs=0.01)
    # every point is on the lane: its distance from the bend's centre or the straight's line
    assert d[0, 3] == pytest.approx(0.0, abs=1e-6) and abs(d[-1, 3]) == pytest.approx(180.0, abs=1e-6)
    bend = d[(d[:, 0] > STRAIGHT + 0.5)]
    r = np.hypot(bend[:, 0] - STRAIGHT, bend[:, 1] + RADIUS)
    assert np.allclose(r, OUTER, atol=0.05)


def test_road_options_label_each_junction_crossing_by_its_turn():
    from harness.world.routing import RoadOption as O

    inj = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1], bool)
    yaw = np.array([170, 175, 180, -150, -100, -90, -90, -80, -60, -60, -60, -70], float)  # CARLA yaw: clockwise
    opts = R.road_options(inj, yaw)
    # 175 -> -90 across the wrap is +95 deg (a right turn); -90 -> -60 is +30 (straight); the last
    # crossing ends the route inside the junction: -60 -> -70 is -10 (straight)
    assert list(opts) == [O.LANEFOLLOW] * 2 + [O.RIGHT] * 3 + [O.LANEFOLLOW] * 2 + [O.STRAIGHT] * 2 + [O.LANEFOLLOW] + [O.STRAIGHT] * 2
    assert list(R.road_options(np.array([0, 1, 1, 0], bool), np.array([0, -20, -60, -90.0]))) == [O.LANEFOLLOW, O.LEFT, O.LEFT, O.LANEFOLLOW]
    assert list(R.road_options(np.zeros(3, bool), np.zeros(3))) == [O.LANEFOLLOW] * 3


@pytest.mark.parametrize("goal, turn", [((8.0, LANE_W / 2), "STRAIGHT"), ((-1.875, 8.567), "RIGHT"), ((1.571, -7.96), "LEFT")],
                         ids=["straight", "right", "left"])
def test_a_route_through_a_junction_carries_the_turn_and_the_policy_stops_before_it(goal, turn):
    """On a real carla.Map with a four-way junction (CARLA's y points south: the north arm is at
    negative y), the dense route is LANEFOLLOW up to the junction and the turn inside it, and the RGB
    policy's planner puts a stop line before the junction from it (with LANEFOLLOW everywhere it
    would put none and run the light)."""
    from agents.rgb_policy.planner import Planner
    from harness.backends.carla.backend import route_from_dense
    from harness.rig import CameraSpec
    from harness.world.routing import RoadOption as O

    cmap = carla.Map("crossing", crossing())
    d = R.densify(cmap, [(-40.0, LANE_W / 2, 0.0), (goal[0], goal[1], 0.0)], 1.0, carla)
    route = route_from_dense("0", "crossing", d)
    before, inside = route.points[:, 0] < -10.5, route.points[:, 0] > -9.5  # the junction box starts at x = -10
    assert before.sum() > 25 and inside.sum() > 10
    assert (route.options[before] == O.LANEFOLLOW).all()
    assert set(route.options[inside]) == {int(getattr(O, turn))}
    planner = Planner(CameraSpec())
    planner.set_plan(route.points, route.headings, route.options)
    assert len(planner.stops) == 1
    stop_x = planner.path[planner.stops[0], 0]
    assert -20.0 < stop_x < -10.0  # a few metres before the junction box


def test_a_route_back_to_a_point_behind_goes_round_the_loop(cmap):
    d = R.densify(cmap, [(50.0, LANE_W / 2, 0.0), (20.0, LANE_W / 2, 0.0)], 1.0, carla)
    loop = 2 * STRAIGHT + 2 * math.pi * OUTER
    assert R.length_m(d) == pytest.approx(loop - 30.0, rel=1e-3)


def test_a_waypoint_off_the_map_is_refused(cmap):
    with pytest.raises(ConfigError, match="not within 5 m of a driving lane"):
        R.densify(cmap, [(10.0, LANE_W / 2, 0.0), (50.0, 200.0, 0.0)], 1.0, carla)
    with pytest.raises(ConfigError, match="at least two waypoints"):
        R.densify(cmap, [(10.0, LANE_W / 2, 0.0)], 1.0, carla)


def test_generated_routes_are_seeded_within_length_and_read_back(cmap, tmp_path):
    from harness.scenario import read_routes, write_routes

    a = R.generate(cmap, 4, seed=3, min_m=100, max_m=300, town="Stadium")
    b = R.generate(cmap, 4, seed=3, min_m=100, max_m=300, town="Stadium")
    assert a == b and a != R.generate(cmap, 4, seed=4, min_m=100, max_m=300, town="Stadium")
    for r in a:
        n = R.length_m(R.densify(cmap, [(w.x, w.y, w.z) for w in r.waypoints], 1.0, carla))
        assert 95 <= n <= 305, n  # the walk's length, re-measured along the lanes between keypoints
    write_routes(tmp_path / "r.xml", a)
    assert [r.waypoints for r in read_routes(tmp_path / "r.xml")] == [r.waypoints for r in a]
    with pytest.raises(ConfigError, match="lower --min-m"):
        R.generate(cmap, 2, min_m=5000, max_m=6000, tries=20)


def test_harness_routes_writes_carla_routes_from_an_opendrive_file(tmp_path, capsys):
    from harness.cli import main
    from harness.scenario import read_routes

    xodr = tmp_path / "Stadium.xodr"
    xodr.write_text(stadium())
    out = tmp_path / "routes.xml"
    assert main(["routes", "--backend", "carla", "--town", "Stadium", "--xodr", str(xodr), "--count", "3",
                 "--min-m", "100", "--max-m", "300", "--out", str(out)]) == 0
    routes = read_routes(out)
    assert len(routes) == 3 and all(r.town == "Stadium" for r in routes)
    assert main(["routes", "--backend", "carla", "--town", "Stadium", "--xodr", str(xodr), "--signalised",
                 "--out", str(tmp_path / "x.xml")]) == 2
    assert "not available with --backend carla" in capsys.readouterr().err
