"""The RGB policy's planner and controller: no ground truth, only what a SENSORS-track agent has.

- Pose: GNSS (inverse of CARLA's Mercator conversion) and the IMU compass.
- Path: the leaderboard's sparse route plan (a point every ~50 m and at every RoadOption change,
  each with its heading), densified with cubic Hermite curves to a point per metre.
- Obstacles: the perception network's vehicle/pedestrian mask. The lowest masked pixel of each image
  column is taken as the obstacle's ground contact (flat ground, known camera pose), projected into
  the ego frame, and counted when it lies within the corridor around the path ahead.
- Lights: where the stop lines are comes from the route plan: the leaderboard keeps every
  RoadOption change, so each junction entry (LANEFOLLOW -> LEFT/RIGHT/STRAIGHT) is a plan point,
  and the stop line is ``STOP_SETBACK_M`` before it. Within ``LIGHT_RANGE_M`` of a stop line the
  network's red/yellow probability decides whether to stop there, read only from the rows of the
  light map where the junction's own signal head can be (``own_head_rows``): the towns' heads hang
  across the junction, so from the gap to the stop line and the camera's pose the head's image
  row is known to a band; the heads of the next junction down the road, which also face the car,
  lie below that band.
- Control: pure pursuit on the path; IDM on the nearer of obstacle gap and stop-line gap; the same
  constants as the expert, so differences in driving come from perception alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.backends.base import gnss_to_location
from harness.rig import CameraSpec
from agents.rgb_policy.model import LIGHT_CELL_CENTRE_PX, LIGHT_CELL_PX, LIGHT_RANGE_M, decide_stop
from harness.backends.records import VehicleControl
from harness.world.ego import EgoParams

CRUISE_MPS = 8.0  # [m/s] as the expert
TURN_MPS = 5.0  # [m/s] in junction turns
# [m] half-width around the path for an obstacle's nearest visible point, per class (vehicle,
# pedestrian): the expert keeps 1.4 m to an actor's side, and a bumper above the ground projects
# about 15 % further out than it is; wider, and a car parked half on the kerb blocks the policy
CORRIDOR_M = {1: 1.5, 2: 1.8}
HORIZON_M = 45.0  # [m] path length checked for obstacles
STOP_SETBACK_M = 5.0  # [m] stop line before the junction entry (the towns' convention, as CARLA's)
FRONT_M = 2.45  # [m] from the vehicle's centre to its front bumper
JUNCTION_OPTIONS = (1, 2, 3)  # RoadOption LEFT, RIGHT, STRAIGHT
# where a junction's own signal head is, the towns' convention (``harness.world.town``): across the
# junction, this far beyond its stop line (15-25 m in the training frames: 17.5 m on two-lane roads,
# 24.9 m on town05's arterials), with lamps this high
HEAD_BEYOND_LINE_M = (14.0, 28.0)
LAMP_Z_M = (4.9, 5.5)  # [m] green and red lamp centres


def gnss_to_xy(lat: float, lon: float) -> tuple[float, float]:
    """GNSS -> world (x, y) [m], for the embedded towns' (0, 0) geo reference."""
    return gnss_to_location(lat, lon)


def compass_to_yaw(compass: float) -> float:
    """IMU compass (0 = north = -y, clockwise) -> yaw [rad] (0 = +x, towards +y)."""
    return (compass - math.pi / 2 + math.pi) % (2 * math.pi) - math.pi


def densify(points: np.ndarray, headings: np.ndarray, step_m: float = 1.0) -> np.ndarray:
    """Cubic Hermite curves through the plan points with the plan's headings as tangents -> (M, 2)."""
    out = [points[:1]]
    for a, b, ha, hb in zip(points[:-1], points[1:], headings[:-1], headings[1:]):
        chord = float(np.hypot(*(b - a)))
        if chord < 1e-6:
            continue
        n = max(2, int(math.ceil(chord / step_m)) + 1)
        t = np.linspace(0.0, 1.0, n)[1:, None]
        ta = chord * np.array([math.cos(ha), math.sin(ha)])
        tb = chord * np.array([math.cos(hb), math.sin(hb)])
        h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
        out.append(h00 * a + h10 * ta + h01 * b + h11 * tb)
    pts = np.concatenate(out)
    # resample at equal arc length
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    q = np.arange(0.0, s[-1], step_m)
    return np.stack([np.interp(q, s, pts[:, 0]), np.interp(q, s, pts[:, 1])], -1)


def ground_points(u: np.ndarray, v: np.ndarray, cam: CameraSpec) -> np.ndarray:
    """Ego-frame (x forward, y right) [m] where the rays through pixels (u, v) meet flat ground;
    NaN where a ray does not point down."""
    f = cam.focal_px
    p = cam.pose
    right = (u - cam.width / 2) / f
    up = -(v - cam.height / 2) / f
    pitch, yaw = math.radians(p.pitch), math.radians(p.yaw)
    fwd = math.cos(pitch) - up * math.sin(pitch)  # ray components with the camera's pitch applied
    z = math.sin(pitch) + up * math.cos(pitch)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(z < -1e-6, -p.z / z, np.nan)
    xf, yr = fwd * t, right * t
    x = p.x + xf * math.cos(yaw) - yr * math.sin(yaw)
    y = p.y + xf * math.sin(yaw) + yr * math.cos(yaw)
    return np.stack([x, y], -1)


def own_head_rows(gap_m, n_rows: int, cam: CameraSpec) -> np.ndarray:
    """(..., n_rows) bool: the rows of the light map (cells of ``LIGHT_CELL_PX``, row i centred on
    image row 8i + ``LIGHT_CELL_CENTRE_PX``) where the lamps of the signal head of a stop line ``gap_m`` [m] ahead of
    the front bumper can be: ``HEAD_BEYOND_LINE_M`` beyond the line, ``LAMP_Z_M`` high."""
    g = np.asarray(gap_m, np.float64)[..., None]
    p = cam.pose
    to_line = g + FRONT_M - p.x  # [m] camera to stop line, along the lane
    pitch = math.radians(p.pitch)

    def row(d, z):
        return cam.height / 2 - cam.focal_px * np.tan(np.arctan2(z - p.z, d) - pitch)

    top, bottom = row(to_line + HEAD_BEYOND_LINE_M[0], LAMP_Z_M[1]), row(to_line + HEAD_BEYOND_LINE_M[1], LAMP_Z_M[0])
    centre = np.arange(n_rows) * LIGHT_CELL_PX + LIGHT_CELL_CENTRE_PX
    half = LIGHT_CELL_PX / 2
    return (centre + half >= top) & (centre - half <= bottom)


@dataclass
class Perception:
    mask: np.ndarray  # (h, w) uint8 classes 0 background, 1 vehicle, 2 pedestrian; any resolution
    light_red: float  # [0, 1] probability that the ego's own signal shows red or yellow (all cells)
    light_maps: np.ndarray | None = None  # (3, h, w) per-cell probabilities none / stop / go; None: use light_red


class Planner:
    def __init__(self, camera: CameraSpec, ego: EgoParams = EgoParams(), cruise: float = CRUISE_MPS) -> None:
        self.camera = camera
        self.ego = ego
        self.cruise = cruise
        self.path = np.zeros((0, 2))
        self.path_yaw = np.zeros(0)
        self.index = 0
        self.stops = np.zeros(0, np.int64)  # path indices of stop lines
        self._light_on = False
        self._rays: tuple[tuple[int, int], np.ndarray] | None = None
        self.debug: dict[str, float] = {}

    def set_plan(self, points: np.ndarray, headings: np.ndarray, options: np.ndarray | None = None) -> None:
        self.path = densify(points, headings)
        d = np.diff(self.path, axis=0)
        self.path_yaw = np.concatenate([np.arctan2(d[:, 1], d[:, 0]), [math.atan2(d[-1, 1], d[-1, 0])]]) if len(d) else np.zeros(1)
        self.index = 0
        stops = []
        if options is not None and len(options) > 1:
            entering = np.isin(options[1:], JUNCTION_OPTIONS) & ~np.isin(options[:-1], JUNCTION_OPTIONS)
            for k in np.flatnonzero(entering) + 1:
                j = int(np.argmin(np.hypot(*(self.path - points[k]).T)))
                stops.append(max(0, j - int(round(STOP_SETBACK_M))))
        self.stops = np.array(sorted(set(stops)), np.int64)

    def stop_line_gap(self) -> float:
        """[m] from the front bumper to the next stop line on the path (inf: none ahead)."""
        ahead = self.stops[self.stops + FRONT_M + 0.5 >= self.index]
        if not len(ahead):
            return math.inf
        return max(0.0, float(ahead[0] - self.index) - FRONT_M)

    def _advance(self, xy: np.ndarray) -> None:
        hi = min(len(self.path), self.index + 40)
        k = int(np.argmin(np.hypot(*(self.path[self.index:hi] - xy).T)))
        self.index += k

    def _ground_table(self, h: int, w: int) -> np.ndarray:
        """Ego-frame ground point for the bottom edge of every cell of an (h, w) mask (cached)."""
        if self._rays is None or self._rays[0] != (h, w):
            sx, sy = self.camera.width / w, self.camera.height / h
            u = (np.arange(w) + 0.5) * sx
            v = (np.arange(h) + 1.0) * sy
            uu, vv = np.meshgrid(u, v)
            self._rays = ((h, w), ground_points(uu, vv, self.camera))
        return self._rays[1]

    def obstacle_gap(self, mask: np.ndarray, local_path: np.ndarray) -> float:
        """[m] along the path from the ego's front to the first masked obstacle in the corridor."""
        h, w = mask.shape
        table = self._ground_table(h, w)
        any_obs = mask > 0
        cols = np.flatnonzero(any_obs.any(axis=0))
        if not len(cols) or len(local_path) < 2:
            return math.inf
        rows = h - 1 - np.argmax(any_obs[::-1, cols], axis=0)  # lowest masked pixel per column
        pts = table[rows, cols]
        cls = mask[rows, cols]
        ok = np.isfinite(pts[:, 0])
        pts, cls = pts[ok], cls[ok]
        if not len(pts):
            return math.inf
        d = np.hypot(local_path[:, None, 0] - pts[None, :, 0], local_path[:, None, 1] - pts[None, :, 1])
        half = np.where(cls == 2, CORRIDOR_M[2], CORRIDOR_M[1])
        hit = d < half[None, :]
        if not hit.any():
            return math.inf
        k = int(np.argmax(hit.any(axis=1)))
        return max(0.0, k * 1.0 - 3.5)

    def step(self, gnss: np.ndarray, compass: float, speed: float, seen: Perception) -> VehicleControl:
        x, y = gnss_to_xy(float(gnss[0]), float(gnss[1]))
        yaw = compass_to_yaw(float(compass))
        xy = np.array([x, y])
        self._advance(xy)
        i0 = self.index
        c, s = math.cos(yaw), math.sin(yaw)
        ahead = self.path[i0 : i0 + int(HORIZON_M)]
        rel = ahead - xy
        local = np.stack([rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c], -1)
        # pure pursuit towards a point (4 + 0.6 v) m ahead
        look = 4.0 + 0.6 * abs(speed)
        target = local[min(int(look), len(local) - 1)] if len(local) else np.array([look, 0.0])
        curv = 2.0 * target[1] / max(float(target @ target), 1e-3)
        steer = math.atan(curv * self.ego.wheelbase) / math.radians(self.ego.max_steer_deg)
        # speed
        j = min(i0 + 20, len(self.path_yaw) - 1)
        turn = abs(self.path_yaw[j] - self.path_yaw[min(i0, j)])
        turn = min(turn, 2 * math.pi - turn)
        v_des = self.cruise if turn < 0.3 else min(self.cruise, TURN_MPS)
        gap = self.obstacle_gap(seen.mask, local)
        # lights: only near a stop line of the plan; hysteresis so one flickering frame does not
        # start or stop the car; a yellow seen too late to stop comfortably is driven through
        stop_gap = self.stop_line_gap()
        near = stop_gap < LIGHT_RANGE_M
        red = seen.light_red
        if near and seen.light_maps is not None:
            band = seen.light_maps[1:, own_head_rows(stop_gap, seen.light_maps.shape[1], self.camera)]
            red = float(decide_stop(*band.max(axis=(1, 2)))) if band.size else 0.0
        was_on = self._light_on
        self._light_on = near and red > (0.35 if was_on else 0.6)
        if self._light_on and not was_on and stop_gap < speed**2 / (2 * 3.0) - 2.0:
            self._light_on = False
        light_gap = stop_gap if self._light_on else math.inf
        self.debug = {"obstacle_gap_m": gap, "light_gap_m": light_gap, "stop_line_m": stop_gap, "light_red": red}
        gap = min(gap, light_gap)
        v = abs(speed)
        s_star = 3.0 + v * 1.2
        free = 1 - (v / v_des) ** 4
        a = 1.5 * (free - (s_star / max(gap, 0.1)) ** 2) if math.isfinite(gap) else 1.5 * free
        if a >= 0:
            return VehicleControl.clipped(throttle=min(1.0, a / 2.5 + 0.2), steer=steer)
        return VehicleControl.clipped(brake=min(1.0, -a / 6.0 + 0.1), steer=steer)
