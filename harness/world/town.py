"""The town model: lanes, roads, junctions, signal heads and props of a procedural town, and lane queries.

A :class:`Town` is plain data plus the spatial queries the world needs (nearest lane, on the road
surface?). Junction arms are indexed 0 E, 1 S, 2 W, 3 N (``ARM_VECTORS``); vehicles drive on the
right. Everything is in CARLA's frame (x east, y south, z up, metres).

The named towns' specs are ``TOWN_SPECS``; :mod:`harness.world.town_gen` builds a town from its spec
(``generate_town``) and caches the named ones (``load_town``). This module imports nothing of it.

The town knows nothing of rendering or simulation; ``harness.render`` turns it into meshes and
``harness.world.world`` moves actors on its lanes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.world.geometry import PolylineSet, right_of

ARM_VECTORS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # E, S, W, N in CARLA frame
STOP_LINE_BACK_M = 5.0  # [m] stop line this far before the junction box (a 4 m crosswalk lies between)
CROSSWALK_M = 4.0  # [m] width of a crosswalk, measured along the road


@dataclass(frozen=True)
class TownSpec:
    name: str
    seed: int
    nx: int  # junction columns
    ny: int  # junction rows
    spacing_m: float  # [m] mean distance between junction centres
    spacing_jitter_m: float  # [m] each gap between junctions varies uniformly by up to this much
    arterial_cols: tuple[int, ...] = ()  # north-south roads with two lanes per direction
    arterial_rows: tuple[int, ...] = ()  # east-west roads with two lanes per direction
    lane_width_m: float = 3.5
    sidewalk_m: float = 3.0
    kerb_m: float = 0.15  # sidewalk height
    building_height_m: tuple[float, float] = (8.0, 30.0)
    park_fraction: float = 0.15
    tree_spacing_m: float = 24.0
    lamp_spacing_m: float = 30.0
    speed_limit_mps: float = 30 / 3.6  # [m/s] streets
    arterial_speed_limit_mps: float = 40 / 3.6  # [m/s]


TOWN_SPECS: dict[str, TownSpec] = {
    "town01": TownSpec("town01", seed=1, nx=5, ny=4, spacing_m=95.0, spacing_jitter_m=15.0),
    "town02": TownSpec("town02", seed=2, nx=4, ny=4, spacing_m=75.0, spacing_jitter_m=10.0,
                       building_height_m=(6.0, 14.0), park_fraction=0.3),
    "town05": TownSpec("town05", seed=5, nx=7, ny=6, spacing_m=115.0, spacing_jitter_m=20.0,
                       arterial_cols=(1, 3, 5), arterial_rows=(1, 4), building_height_m=(10.0, 45.0)),
}
# harness.world.towns.TOWN_NAMES lists these names without importing numpy; a test keeps them equal.


@dataclass
class Lane:
    id: int
    polyline: np.ndarray  # (N, 2) [m]
    width: float  # [m]
    speed_limit: float  # [m/s]
    road: int = -1  # road id for road lanes, -1 for junction connectors
    direction: int = 0  # +1 from road's node a to b, -1 from b to a
    index: int = 0  # 0 = innermost (next to the centre line)
    to_node: int = -1
    from_node: int = -1
    junction: int = -1  # node id for connectors
    turn: str = "none"  # connectors: straight | left | right
    approach: int = -1  # connectors and incoming lanes: arm index at the junction they come from
    successors: list[int] = field(default_factory=list)
    predecessors: list[int] = field(default_factory=list)
    left: int = -1  # same-direction neighbour lane towards the centre line
    right: int = -1
    stop_s: float | None = None  # [m] stop line position along the lane at a signalised junction
    signal: int = -1  # traffic-light head controlling this lane's stop line

    @property
    def length(self) -> float:
        return float(np.hypot(*np.diff(self.polyline, axis=0).T).sum())

    @property
    def is_connector(self) -> bool:
        return self.junction >= 0


@dataclass(frozen=True)
class Road:
    id: int
    a: int  # node ids
    b: int
    lanes_per_dir: int
    p0: tuple[float, float]  # [m] start of the road surface (at node a's junction box)
    p1: tuple[float, float]  # [m] end (at node b's junction box)
    half_width: float  # [m] kerb to kerb / 2

    @property
    def direction(self) -> np.ndarray:
        d = np.subtract(self.p1, self.p0)
        return d / np.linalg.norm(d)

    @property
    def length(self) -> float:
        return float(np.hypot(*np.subtract(self.p1, self.p0)))


@dataclass(frozen=True)
class Junction:
    id: int
    center: tuple[float, float]
    half_x: float  # [m] half size of the junction box along x
    half_y: float
    arms: tuple[int, ...]  # arm indices present (0 E, 1 S, 2 W, 3 N)
    signalised: bool


@dataclass(frozen=True)
class SignalHead:
    """A traffic-light head: on a pole at the far-right corner, facing one approach."""

    id: int
    junction: int
    approach: int  # arm index the controlled traffic comes from
    pole: tuple[float, float]  # [m]
    head: tuple[float, float, float]  # [m] lamp housing centre
    facing_deg: float  # yaw [deg] of the direction the lamps face


@dataclass(frozen=True)
class Box:
    """An axis-aligned or rotated box prop (buildings, kiosks)."""

    center: tuple[float, float]
    size: tuple[float, float, float]  # [m] length (along yaw), width, height
    yaw_deg: float
    color: tuple[float, float, float]  # albedo 0..1
    sem: int
    windows: bool = False


@dataclass
class Town:
    spec: TownSpec
    xs: np.ndarray  # junction column x [m]
    ys: np.ndarray  # junction row y [m]
    roads: list[Road]
    lanes: list[Lane]
    junctions: list[Junction]
    signals: list[SignalHead]
    blocks: list[tuple[float, float, float, float]]  # (x0, y0, x1, y1) kerb rectangles [m]
    buildings: list[Box]
    trees: np.ndarray  # (N, 3) x, y, height [m]
    lamps: np.ndarray  # (N, 4) pole x, y, lamp x, y [m] (street lights)
    sidewalk_loops: list[np.ndarray]  # closed polylines (N, 2) along sidewalk centres
    crosswalks: list[tuple[int, int, np.ndarray]]  # (junction, arm, 2x2 endpoints across the road)
    lane_set: PolylineSet = field(init=False)

    def __post_init__(self) -> None:
        self.lane_set = PolylineSet([l.polyline for l in self.lanes])
        self.lane_lengths = self.lane_set.lengths
        # per-lane attributes as arrays, for vectorised traffic
        self.lane_speed_limit = np.array([l.speed_limit for l in self.lanes])  # [m/s]
        self.lane_stop_s = np.array([np.nan if l.stop_s is None else l.stop_s for l in self.lanes])  # [m], nan: none
        self.lane_signal = np.array([l.signal for l in self.lanes], dtype=np.int64)  # -1: unsignalised
        self.lane_is_turn = np.array([l.turn in ("left", "right") for l in self.lanes])
        self._lane_grid = _LaneGrid(self)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        m = 60.0
        return (self.xs[0] - m, self.ys[0] - m, self.xs[-1] + m, self.ys[-1] + m)

    def road_lane_km(self) -> float:
        return sum(l.length for l in self.lanes if not l.is_connector) / 1000.0

    def nearest_lane(self, xy: np.ndarray, yaw_rad: float | None = None, max_dist: float = 6.0,
                     include_connectors: bool = True) -> tuple[int, float, float] | None:
        """(lane id, s, lateral offset) of the lane closest to ``xy``; heading must agree within
        60 deg when ``yaw_rad`` is given. None when nothing lies within ``max_dist`` metres."""
        best = None
        for lid in self._lane_grid.near(xy):
            lane = self.lanes[lid]
            if lane.is_connector and not include_connectors:
                continue
            s, lat, dist = self.lane_set.project(lid, xy)
            if dist > max_dist:
                continue
            if yaw_rad is not None:
                _, h = self.lane_set.lookup(np.array([lid]), np.array([s]))
                if abs((h[0] - yaw_rad + np.pi) % (2 * np.pi) - np.pi) > np.radians(60):
                    continue
            score = dist + (0.5 if lane.is_connector else 0.0)
            if best is None or score < best[0]:
                best = (score, lid, s, lat)
        return None if best is None else best[1:]

    def on_drivable(self, xy: np.ndarray) -> bool:
        """True when ``xy`` lies on a road surface or inside a junction box."""
        x, y = float(xy[0]), float(xy[1])
        for j in self.junctions:
            if abs(x - j.center[0]) <= j.half_x and abs(y - j.center[1]) <= j.half_y:
                return True
        for r in self.roads:
            d = r.direction
            rel = np.array([x, y]) - np.asarray(r.p0)
            along = rel @ d
            if 0.0 <= along <= r.length and abs(rel @ right_of(d)) <= r.half_width:
                return True
        return False


class _LaneGrid:
    """Spatial hash of lane sample points for nearest-lane queries."""

    CELL = 20.0

    def __init__(self, town: Town) -> None:
        self.cells: dict[tuple[int, int], set[int]] = {}
        for lane in town.lanes:
            p = lane.polyline
            n = max(2, int(lane.length / 5.0) + 2)
            s = np.linspace(0, 1, n)
            seg = np.interp(s * (len(p) - 1), np.arange(len(p)), np.arange(len(p)))
            pts = np.stack([np.interp(seg, np.arange(len(p)), p[:, 0]), np.interp(seg, np.arange(len(p)), p[:, 1])], 1)
            for q in pts:
                self.cells.setdefault(self._key(q), set()).add(lane.id)

    def _key(self, q: np.ndarray) -> tuple[int, int]:
        return int(np.floor(q[0] / self.CELL)), int(np.floor(q[1] / self.CELL))

    def near(self, xy: np.ndarray) -> set[int]:
        kx, ky = self._key(np.asarray(xy))
        out: set[int] = set()
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                out |= self.cells.get((kx + dx, ky + dy), set())
        return out
