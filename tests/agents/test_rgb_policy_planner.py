"""The RGB policy's planner: pose from GNSS/IMU, the densified route, obstacles from a mask."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.rgb_policy.planner import (FRONT_M, HEAD_BEYOND_LINE_M, LAMP_Z_M, Perception, Planner, compass_to_yaw, densify,
                                      gnss_to_xy, ground_points, own_head_rows)
from harness.backends.base import compass_of, location_to_gnss
from harness.render.camera import camera_world_pose, project_points
from harness.rig import CameraSpec, Pose


@pytest.mark.parametrize("x, y", [(0.0, 0.0), (123.4, -56.7), (-800.0, 950.5)])
def test_gnss_round_trip(x, y):
    lat, lon, _ = location_to_gnss(x, y)
    assert gnss_to_xy(lat, lon) == pytest.approx((x, y), abs=1e-3)


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.0, 3.1])
def test_compass_round_trip(yaw):
    assert compass_to_yaw(compass_of(yaw)) == pytest.approx(yaw, abs=1e-9)


def test_densify_follows_a_quarter_turn():
    r = 12.0  # a right turn of radius 12 m from heading +x to heading +y
    pts = np.array([[-30.0, 0.0], [0.0, 0.0], [r, r], [r, 30.0]])
    yaw = np.array([0.0, 0.0, math.pi / 2, math.pi / 2])
    path = densify(pts, yaw)
    step = np.hypot(*np.diff(path, axis=0).T)
    assert np.allclose(step, 1.0, atol=0.05)
    corner = path[(path[:, 0] > 0) & (path[:, 1] < r)]
    radius = np.hypot(corner[:, 0] - 0.0, corner[:, 1] - r)
    assert np.abs(radius - r).max() < 0.6  # the Hermite curve stays within 0.6 m of the arc


@pytest.mark.parametrize("cam", [CameraSpec(), CameraSpec(640, 320, 70.0, Pose(1.0, 0.2, 1.8, 0.0, -5.0, 3.0))])
def test_ground_points_invert_the_projection(cam):
    ground = np.array([[8.0, -1.0, 0.0], [15.0, 2.5, 0.0], [30.0, 0.0, 0.0]])
    pos, yaw, pitch, roll = camera_world_pose((0.0, 0.0), 0.0, cam)
    uv = project_points(ground, pos, yaw, pitch, roll, cam)[0]
    back = ground_points(uv[:, 0], uv[:, 1], cam)
    assert back == pytest.approx(ground[:, :2], abs=1e-6)
    assert np.isnan(ground_points(np.array([160.0]), np.array([10.0]), CameraSpec())).all()  # above the horizon


def _planner_on_straight_road(junction_at: float | None = None) -> Planner:
    """A straight 100 m path; optionally a junction entry (a plan point with STRAIGHT) at ``junction_at``."""
    p = Planner(CameraSpec())
    if junction_at is None:
        p.set_plan(np.array([[0.0, 0.0], [100.0, 0.0]]), np.zeros(2), np.array([4, 4]))
    else:
        pts = np.array([[0.0, 0.0], [junction_at, 0.0], [junction_at + 20.0, 0.0], [100.0, 0.0]])
        p.set_plan(pts, np.zeros(4), np.array([4, 3, 4, 4]))
    return p


def _mask_with_obstacle(cls: int, x_m: float, y_m: float, cam: CameraSpec = CameraSpec()) -> np.ndarray:
    """A (80, 160) mask with a 2-cell-wide blob standing on the ground at ego-frame (x, y)."""
    mask = np.zeros((80, 160), np.uint8)
    pos, yaw, pitch, roll = camera_world_pose((0.0, 0.0), 0.0, cam)
    (u, v), = project_points(np.array([[x_m, y_m, 0.0]]), pos, yaw, pitch, roll, cam)[0]
    col, row = int(u / 2), int(v / 2) - 1
    mask[max(0, row - 10) : row + 1, col - 1 : col + 1] = cls
    return mask


def test_obstacle_in_the_corridor_gives_its_gap():
    p = _planner_on_straight_road()
    local = np.stack([np.arange(45.0), np.zeros(45)], -1)
    gap = p.obstacle_gap(_mask_with_obstacle(2, 20.0, 0.3), local)
    # first path point within the 2 m pedestrian corridor, minus 3.5 m from the centre to the bumper
    assert 20.0 - 2.0 - 3.5 - 0.5 <= gap <= 20.0 - 3.5
    assert p.obstacle_gap(_mask_with_obstacle(1, 20.0, 4.0), local) == math.inf  # next lane over
    assert p.obstacle_gap(np.zeros((80, 160), np.uint8), local) == math.inf


def test_stop_lines_come_from_the_plans_junction_entries():
    p = _planner_on_straight_road(junction_at=30.0)
    assert p.stop_line_gap() == pytest.approx(30.0 - 5.0 - 2.45, abs=1.0)
    assert _planner_on_straight_road().stop_line_gap() == math.inf


def test_planner_brakes_for_a_pedestrian_and_a_red_light_and_drives_otherwise():
    lat, lon, _ = location_to_gnss(0.0, 0.0)
    gnss, compass = np.array([lat, lon, 0.0]), compass_of(0.0)
    empty = np.zeros((80, 160), np.uint8)
    assert _planner_on_straight_road().step(gnss, compass, 6.0, Perception(empty, 0.0)).throttle > 0
    c = _planner_on_straight_road().step(gnss, compass, 6.0, Perception(_mask_with_obstacle(2, 9.0, 0.0), 0.0))
    assert c.brake > 0.5 and c.throttle == 0
    assert _planner_on_straight_road(junction_at=13.0).step(gnss, compass, 4.0, Perception(empty, 0.95)).brake > 0.3
    # a red seen far from any stop line of the plan is someone else's: keep driving
    assert _planner_on_straight_road(junction_at=90.0).step(gnss, compass, 4.0, Perception(empty, 0.95)).throttle > 0
    assert _planner_on_straight_road().step(gnss, compass, 4.0, Perception(empty, 0.95)).throttle > 0


def _lamp_row(cam: CameraSpec, ahead_m: float, z_m: float, side_m: float = 0.0) -> int:
    """Light-map row of a lamp ``ahead_m`` [m] before the front bumper, as training labels it."""
    pos, yaw, pitch, roll = camera_world_pose((0.0, 0.0), 0.0, cam)
    (u, v), = project_points(np.array([[FRONT_M + ahead_m, side_m, z_m]]), pos, yaw, pitch, roll, cam)[0]
    return int(round((v - 1.5) / 8))


@pytest.mark.parametrize("cam", [CameraSpec(), CameraSpec(pose=Pose(x=1.3, z=2.3, pitch=-5.0))])
@pytest.mark.parametrize("gap", [0.0, 5.0, 15.0, 30.0, 39.0])
def test_own_head_rows_hold_the_junctions_lamps_and_not_the_next_junctions(cam, gap):
    rows = own_head_rows(gap, 20, cam)
    for beyond in np.linspace(*HEAD_BEYOND_LINE_M, 5):
        for z in LAMP_Z_M:
            assert rows[_lamp_row(cam, gap + beyond, z, side_m=3.0)]
    if gap < 10.0:  # near the line the next junction's head (100 m on) is below the band
        assert not rows[_lamp_row(cam, gap + 100.0 + HEAD_BEYOND_LINE_M[0], LAMP_Z_M[1])]


def test_planner_reads_the_light_only_where_its_own_head_is():
    """Standing at a stop line: a red lamp at the next junction's row does not hold the car when its
    own head shows green; a red at its own head's row does."""
    lat, lon, _ = location_to_gnss(0.0, 0.0)
    gnss, compass = np.array([lat, lon, 0.0]), compass_of(0.0)
    empty = np.zeros((80, 160), np.uint8)
    cam = CameraSpec()

    def maps(stop_row: int, go_row: int | None) -> np.ndarray:
        m = np.zeros((3, 13, 40), np.float32)
        m[0] = 1.0
        for row, k, p in ((stop_row, 1, 0.95), (go_row, 2, 0.5)):  # read over all rows, stop would win
            if row is not None:
                m[:, row, 20] = (1.0 - p, 0.0, 0.0)
                m[k, row, 20] = p
        return m

    planner = lambda: _planner_on_straight_road(junction_at=FRONT_M + 5.0 + 1.0)  # noqa: E731  line 1 m ahead
    gap = planner().stop_line_gap()
    own, nxt = _lamp_row(cam, gap + 20.0, 5.5), _lamp_row(cam, gap + 120.0, 5.5)
    assert own != nxt
    assert planner().step(gnss, compass, 0.0, Perception(empty, 0.5, maps(nxt, own))).throttle > 0
    assert planner().step(gnss, compass, 0.0, Perception(empty, 0.5, maps(own, None))).brake > 0.3
