"""Routes: planning over the lane graph, dense route geometry, progress, and deterministic route
generation per town.

A route as the leaderboard gives it is a few sparse waypoints; :func:`plan_route` turns them into a
:class:`Route` (points every metre with the lane and the CARLA ``RoadOption`` at each), the same way
CARLA's GlobalRoutePlanner densifies a leaderboard route. :func:`generate_routes` writes a town's
route files; its options keep new routes on signalised junctions and off the roads of other routes
(:func:`route_file_roads`), so that routes held out from training share no street with it.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import IntEnum
from itertools import pairwise

import numpy as np

from harness.errors import RouteError
from harness.scenario.routes_xml import RouteSpec, Waypoint, read_routes
from harness.world.geometry import right_of
from harness.world.town import Town

LANE_CHANGE_COST_M = 25.0
LANE_CHANGE_LEN_M = 20.0
POINT_STEP_M = 1.0
SHUN_WEIGHT = 0.1  # generate_routes: relative odds of starting on or turning into a shunned road


class RoadOption(IntEnum):
    """CARLA's agents.navigation.local_planner.RoadOption values."""

    VOID = -1
    LEFT = 1
    RIGHT = 2
    STRAIGHT = 3
    LANEFOLLOW = 4
    CHANGELANELEFT = 5
    CHANGELANERIGHT = 6


@dataclass(frozen=True)
class Route:
    """Dense route: a point every ``POINT_STEP_M`` metres."""

    id: str
    town: str
    points: np.ndarray  # (N, 2) [m]
    headings: np.ndarray  # (N,) [rad]
    lanes: np.ndarray  # (N,) lane id at each point
    options: np.ndarray  # (N,) RoadOption
    s: np.ndarray  # (N,) [m] arc length
    lane_seq: tuple[int, ...]  # lanes in driving order (lane changes included)

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def sparse_waypoints(self) -> tuple[Waypoint, ...]:
        """Leaderboard-style waypoints: start, the middle of each road lane (not junction
        connectors, whose middles can lie on other connectors), end."""
        idx = [0]
        for lid in dict.fromkeys(self.lane_seq):
            where = np.flatnonzero((self.lanes == lid) & (self.options == RoadOption.LANEFOLLOW))
            if len(where):
                idx.append(int(where[len(where) // 2]))
        idx.append(len(self.points) - 1)
        idx = sorted(set(idx))
        return tuple(Waypoint(float(self.points[i, 0]), float(self.points[i, 1]), 0.0,
                              float(np.degrees(self.headings[i]))) for i in idx)

    def to_spec(self) -> RouteSpec:
        return RouteSpec(id=self.id, town=self.town, waypoints=self.sparse_waypoints())


def plan_route(town: Town, spec: RouteSpec, path: str = "<routes>") -> Route:
    """Densify a leaderboard route over the town's lanes; RouteError when it does not fit the town."""
    wps = spec.waypoints
    matches = []
    for k, wp in enumerate(wps):
        yaw = np.radians(wp.yaw) if wp.yaw is not None else _direction_hint(wps, k)
        xy = np.array([wp.x, wp.y])
        m = town.nearest_lane(xy, yaw, max_dist=4.0, include_connectors=False) or town.nearest_lane(xy, yaw, max_dist=4.0)
        if m is None:
            raise RouteError(path, f"route[id={spec.id}].waypoint[{k}]",
                             f"({wp.x:.1f}, {wp.y:.1f}) is not on a drivable lane of {town.name} "
                             "(more than 4 m from any lane going that way)")
        matches.append(m)
    seq: list[int] = [matches[0][0]]
    for k in range(1, len(matches)):
        (la, sa, _), (lb, sb, _) = matches[k - 1], matches[k]
        if la == lb and sb >= sa:
            continue
        path_lanes = _astar(town, la, lb)
        if path_lanes is None:
            raise RouteError(path, f"route[id={spec.id}].waypoint[{k}]",
                             f"no drivable path from waypoint {k - 1} to waypoint {k} in {town.name}")
        seq.extend(path_lanes[1:])
    return _densify(town, spec.id, seq, matches[0][1], matches[-1][1])


def _direction_hint(wps: tuple[Waypoint, ...], k: int) -> float | None:
    if len(wps) < 2:
        return None
    a, b = (wps[k], wps[k + 1]) if k + 1 < len(wps) else (wps[k - 1], wps[k])
    if np.hypot(b.x - a.x, b.y - a.y) < 1e-3:
        return None
    return float(np.arctan2(b.y - a.y, b.x - a.x))


def _neighbours(town: Town, lid: int):
    lane = town.lanes[lid]
    for nxt in lane.successors:
        yield nxt, lane.length
    if not lane.is_connector:
        for side in (lane.left, lane.right):
            if side >= 0:
                yield side, LANE_CHANGE_COST_M


def _astar(town: Town, start: int, goal: int) -> list[int] | None:
    """Lanes from ``start`` to ``goal`` (both included); a loop back when they are the same."""
    goal_pt = town.lanes[goal].polyline[0]

    def h(lid: int) -> float:
        return float(np.hypot(*(town.lanes[lid].polyline[-1] - goal_pt))) * 0.9

    best: dict[int, float] = {}
    prev: dict[int, int] = {}
    heap = []
    for nxt, cost in _neighbours(town, start):
        best[nxt], prev[nxt] = cost, start
        heapq.heappush(heap, (cost + h(nxt), cost, nxt))
    while heap:
        _, g, lid = heapq.heappop(heap)
        if g > best.get(lid, np.inf) + 1e-9:
            continue
        if lid == goal:
            out = [lid]
            while len(out) == 1 or out[-1] != start:
                out.append(prev[out[-1]])
            return out[::-1]
        for nxt, cost in _neighbours(town, lid):
            ng = g + cost
            if ng < best.get(nxt, np.inf):
                best[nxt], prev[nxt] = ng, lid
                heapq.heappush(heap, (ng + h(nxt), ng, nxt))
    return None


def _densify(town: Town, route_id: str, seq: list[int], s_start: float, s_end: float) -> Route:
    ls = town.lane_set
    pts, hds, lanes, opts = [], [], [], []
    k = 0
    carry_s = s_start
    while k < len(seq):
        lid = seq[k]
        lane = town.lanes[lid]
        is_last = k == len(seq) - 1
        nxt = seq[k + 1] if not is_last else None
        change = nxt is not None and nxt in (lane.left, lane.right)
        s0 = carry_s
        s1 = s_end if is_last else lane.length
        carry_s = 0.0
        if change:
            # drive on this lane, then blend across to the neighbour over LANE_CHANGE_LEN_M
            total = lane.length - s0
            s_change = s0 + max(0.0, min(total * 0.5, total - LANE_CHANGE_LEN_M - 8.0))
            s_change = max(s0, s_change)
            a_s = np.arange(s0, s_change, POINT_STEP_M)
            p, h = ls.lookup(np.full(len(a_s), lid), a_s)
            pts.append(p), hds.append(h), lanes.append(np.full(len(a_s), lid)), opts.append(np.full(len(a_s), RoadOption.LANEFOLLOW))
            b_s = np.arange(s_change, min(s_change + LANE_CHANGE_LEN_M, lane.length), POINT_STEP_M)
            pa, ha = ls.lookup(np.full(len(b_s), lid), b_s)
            pb, _ = ls.lookup(np.full(len(b_s), nxt), b_s)
            w = (b_s - s_change) / LANE_CHANGE_LEN_M
            w = (w * w * (3 - 2 * w))[:, None]
            opt = RoadOption.CHANGELANELEFT if nxt == lane.left else RoadOption.CHANGELANERIGHT
            pts.append(pa * (1 - w) + pb * w), hds.append(ha), lanes.append(np.where(w[:, 0] < 0.5, lid, nxt))
            opts.append(np.full(len(b_s), opt))
            carry_s = float(b_s[-1] + POINT_STEP_M) if len(b_s) else s_change
            k += 1
            continue
        a_s = np.arange(s0, max(s1, s0), POINT_STEP_M)
        if is_last and (not len(a_s) or a_s[-1] < s1):
            a_s = np.append(a_s, s1)
        p, h = ls.lookup(np.full(len(a_s), lid), a_s)
        opt = {"left": RoadOption.LEFT, "right": RoadOption.RIGHT, "straight": RoadOption.STRAIGHT}.get(lane.turn, RoadOption.LANEFOLLOW)
        pts.append(p), hds.append(h), lanes.append(np.full(len(a_s), lid)), opts.append(np.full(len(a_s), opt))
        if not is_last:
            carry_s = float(a_s[-1] + POINT_STEP_M - lane.length) if len(a_s) else 0.0
            carry_s = max(0.0, carry_s)
        k += 1
    P = np.concatenate(pts)
    seg = np.hypot(*np.diff(P, axis=0).T)
    keep = np.concatenate([[True], seg > 1e-6])
    P = P[keep]
    H = np.concatenate(hds)[keep]
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(P, axis=0).T))])
    return Route(route_id, town.name, P, H, np.concatenate(lanes)[keep].astype(np.int64),
                 np.concatenate(opts)[keep].astype(np.int8), s, tuple(seq))


def generate_routes(town: Town, count: int, seed: int, min_m: float = 500.0, max_m: float = 2000.0, *,
                    signalised: bool = False, avoid_roads: Collection[int] = (),
                    shun_roads: Collection[int] = ()) -> list[Route]:
    """``count`` routes of ``min_m``..``max_m`` metres, a deterministic function of town, seed and options.

    Random walks over the lane graph from random road lanes, turning at junctions, preferring not to
    revisit a junction; a walk is kept when its length lands in range and it is not a lane sequence
    already kept. Options, for routes held out from those of another file:

    - ``signalised``: keep only walks that cross at least one stop line under a traffic light;
    - ``avoid_roads``: road ids (:func:`route_roads`) never driven, in either direction; a junction
      those roads meet may still be crossed, on another movement;
    - ``shun_roads``: road ids a walk starts on or turns into ``SHUN_WEIGHT`` times as often as
      another road (few routes there, but not none).

    With the options left out, the draws are those of the generator before it had options, so the
    committed route files (none of which repeats a route) regenerate unchanged.
    """
    avoid, shun = frozenset(avoid_roads), frozenset(shun_roads)
    rng = np.random.default_rng([seed, sum(map(ord, town.name))])
    road_lanes = [l.id for l in town.lanes if not l.is_connector and l.length > 40.0 and l.road not in avoid]
    if not road_lanes:
        raise RouteError(town.name, "routes", "every road is avoided; there is no lane left to start a route on")
    start_p = None
    if shun:  # drawn with probabilities only when needed: another draw would change the default routes
        w = np.array([SHUN_WEIGHT if town.lanes[lid].road in shun else 1.0 for lid in road_lanes])
        start_p = w / w.sum()
    routes: list[Route] = []
    kept: set[tuple[int, ...]] = set()
    tries = 0
    while len(routes) < count:
        tries += 1
        if tries > 200 * count:
            what = f"{count} distinct{' signalised' if signalised else ''} routes of {min_m:g}-{max_m:g} m"
            raise RouteError(town.name, "routes", f"could not generate {what}"
                             + (f" off {len(avoid)} avoided roads" if avoid else ""))
        target = rng.uniform(min_m, max_m)
        lid = int(rng.choice(road_lanes, p=start_p))
        seq, length, seen = [lid], town.lanes[lid].length - 15.0, {town.lanes[lid].to_node}
        while length < target:
            lane = town.lanes[seq[-1]]
            options = [c for c in lane.successors if town.lanes[town.lanes[c].successors[0]].to_node not in seen
                       and town.lanes[town.lanes[c].successors[0]].road not in avoid]
            if not options:
                break
            # prefer straight slightly, as the leaderboard's routes do
            weights = np.array([(2.0 if town.lanes[c].turn == "straight" else 1.0)
                                * (SHUN_WEIGHT if town.lanes[town.lanes[c].successors[0]].road in shun else 1.0)
                                for c in options])
            c = int(options[rng.choice(len(options), p=weights / weights.sum())])
            out = town.lanes[c].successors[0]
            seq += [c, out]
            seen.add(town.lanes[out].to_node)
            length += town.lanes[c].length + town.lanes[out].length
        if length < min_m:
            continue
        end_lane = town.lanes[seq[-1]]
        over = length - target
        s_end = float(np.clip(end_lane.length - over, 10.0, end_lane.length - 12.0))
        route = _densify(town, str(len(routes)), seq, 15.0, s_end)
        if not min_m <= route.length <= max_m or route.lane_seq in kept:
            continue
        if signalised and not signals_passed(town, route):
            continue
        routes.append(route)
        kept.add(route.lane_seq)
    return routes


def route_roads(town: Town, route: Route) -> set[int]:
    """Ids of the roads ``route`` drives on (junction connectors belong to no road)."""
    return {town.lanes[lid].road for lid in route.lane_seq if town.lanes[lid].road >= 0}


def route_file_roads(town: Town, path: str | os.PathLike[str], ids: Iterable[str]) -> set[int]:
    """Ids of the roads the routes ``ids`` of the route file ``path`` drive on, planned in ``town``:
    what ``generate_routes`` takes as ``avoid_roads`` or ``shun_roads`` to keep new routes off them.

    Raises:
        RouteError: the file cannot be read, an id is not in it, or a route is in another town.
    """
    specs = {s.id: s for s in read_routes(path)}
    out: set[int] = set()
    for rid in ids:
        spec = specs.get(rid)
        if spec is None:
            raise RouteError(path, "routes", f"no route id {rid!r}; the file has {', '.join(specs)}")
        if spec.town.lower() != town.name:
            raise RouteError(path, f"route[id={rid}].town", f"is {spec.town}, not {town.name}; "
                             f"pick routes of {town.name}")
        out |= route_roads(town, plan_route(town, spec, str(path)))
    return out


def signals_passed(town: Town, route: Route) -> list[int]:
    """Ids of the traffic-light heads whose stop lines ``route`` crosses, in driving order: each road
    lane of the route that leads into a junction connector and carries a signal."""
    seq = route.lane_seq
    return [town.lanes[a].signal for a, b in pairwise(seq)
            if town.lanes[a].signal >= 0 and town.lanes[b].is_connector]


class RouteProgress:
    """Tracks the ego's projection on a route: completion, distance off the route."""

    WINDOW_M = 40.0

    def __init__(self, route: Route) -> None:
        self.route = route
        self.index = 0

    def update(self, xy: np.ndarray) -> tuple[float, float]:
        """Advance along the route and return ``(completion_pct, off_route_m)``."""
        r = self.route
        hi = int(np.searchsorted(r.s, r.s[self.index] + self.WINDOW_M))
        seg = r.points[self.index : max(hi, self.index + 1) + 1]
        d = np.hypot(*(seg - xy).T)
        k = int(np.argmin(d))
        self.index = self.index + k
        off = float(d[k])
        return 100.0 * float(r.s[self.index]) / max(r.length, 1e-6), off

    def lookahead(self, n: int, step: int = 1) -> np.ndarray:
        idx = np.minimum(self.index + np.arange(n) * step, len(self.route.points) - 1)
        return self.route.points[idx]


def local_frame(points: np.ndarray, xy: np.ndarray, yaw_rad: float) -> np.ndarray:
    """Express world points in the vehicle frame (x forward, y right) [m]."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    d = points - xy
    return np.stack([d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c], axis=-1)


__all__ = ["Route", "RoadOption", "RouteProgress", "plan_route", "generate_routes", "route_file_roads", "route_roads",
           "signals_passed", "local_frame", "right_of"]
