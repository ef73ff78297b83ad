"""Routes on a CARLA map (``carla.Map``, from a server or from an OpenDRIVE file, no server needed).

- :func:`densify`: a leaderboard route's sparse waypoints, joined along the road by the map's own
  lanes (the shortest path over the lane topology between each pair), sampled every ``step_m``,
  as the leaderboard's route interpolation does with CARLA's global route planner.
- :func:`generate`: routes for a town that has none (``harness routes --backend carla``): from seeded
  random starts on driving lanes, drive the lane graph (random turn at each fork, never back onto a
  lane already driven) until the length falls within ``[min_m, max_m]``; keypoints every
  ``key_every_m`` metres, written as leaderboard 2.x XML.

The lane graph is ``carla.Map.get_topology()``: one edge per lane segment, entry to exit waypoint;
segment B follows A where A's exit is B's entry (within :data:`JOIN_M`).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError

JOIN_M = 0.5  # [m] an exit and an entry this close are one node of the lane graph
MAX_SNAP_M = 5.0  # [m] a route waypoint further than this from any driving lane is an error
STRAIGHT_DEG = 35.0  # [deg] a junction crossed within this of its entry heading is STRAIGHT (CARLA's route planner's threshold)


def lane_key(wp) -> tuple[int, int, int]:
    return (wp.road_id, wp.section_id, wp.lane_id)


@dataclass
class LaneGraph:
    entries: dict[tuple[int, int, int], object]  # segment -> its entry waypoint
    exits: dict[tuple[int, int, int], object]
    length: dict[tuple[int, int, int], float]
    after: dict[tuple[int, int, int], list[tuple[int, int, int]]]


def _dist(a, b) -> float:
    return a.transform.location.distance(b.transform.location)


def lane_graph(cmap) -> LaneGraph:
    entries, exits, length = {}, {}, {}
    for a, b in cmap.get_topology():
        k = lane_key(a)
        entries[k], exits[k] = a, b
        length[k] = max(_dist(a, b), 0.01)
    after = {k: [j for j, e in entries.items() if j != k and _dist(exits[k], e) < JOIN_M] for k in entries}
    return LaneGraph(entries, exits, length, after)


def _snap(cmap, carla, xyz: tuple[float, float, float], where: str):
    loc = carla.Location(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))
    wp = cmap.get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Driving)
    if wp is None or wp.transform.location.distance(loc) > MAX_SNAP_M:
        raise ConfigError(f"{where} ({xyz[0]:.1f}, {xyz[1]:.1f}) is not within {MAX_SNAP_M:g} m of a driving lane of map "
                          f"{cmap.name}; is the route file for this town?")
    return wp


def _progress(wp) -> float:
    """Distance travelled along the lane's driving direction (right lanes: s grows; left: it falls)."""
    return wp.s if wp.lane_id < 0 else -wp.s


def _path(graph: LaneGraph, a, b) -> list[tuple[int, int, int]]:
    """Lane segments from ``a``'s to ``b``'s, shortest by length (Dijkstra)."""
    start, goal = lane_key(a), lane_key(b)
    if start == goal and _progress(b) >= _progress(a):
        return [start]
    if start not in graph.after or goal not in graph.entries:
        raise ConfigError(f"no lane segment for road {start[0]} lane {start[2]} or road {goal[0]} lane {goal[2]} in the "
                          "map's topology")
    # Dijkstra from the segments after a's (so a route may come back round to a's own segment)
    best: dict = {}
    prev: dict = {}
    heap: list = []
    for j in graph.after[start]:
        if graph.length[j] < best.get(j, math.inf):
            best[j], prev[j] = graph.length[j], None
            heapq.heappush(heap, (graph.length[j], j))
    while heap:
        d, k = heapq.heappop(heap)
        if k == goal:
            break
        if d > best[k]:
            continue
        for j in graph.after[k]:
            nd = d + graph.length[j]
            if nd < best.get(j, math.inf):
                best[j], prev[j] = nd, k
                heapq.heappush(heap, (nd, j))
    if goal not in best:
        raise ConfigError(f"no way along the lanes from road {start[0]} lane {start[2]} to road {goal[0]} lane {goal[2]}; "
                          "the route's waypoints are not connected in driving direction")
    out, k = [goal], goal
    while prev[k] is not None:
        k = prev[k]
        out.append(k)
    return [start] + out[::-1]


def _follow(graph: LaneGraph, a, b, step_m: float) -> list:
    """Waypoints from ``a`` to ``b`` every ``step_m`` along the lane path."""
    path = _path(graph, a, b)
    out, cur, i = [a], a, 0
    goal = lane_key(b)
    for _ in range(200_000):
        if lane_key(cur) == goal and i == len(path) - 1 and _progress(b) - _progress(cur) <= step_m:
            break
        options = cur.next(step_m)
        if not options:
            raise ConfigError(f"the lane ends at road {cur.road_id} lane {cur.lane_id} before the route's next waypoint")
        ahead = set(path[i:i + 2])
        pick = next((w for w in options if lane_key(w) in ahead), None)
        if pick is None:  # a short junction piece may be skipped over by one step
            pick = next((w for w in options if lane_key(w) in set(path[i:])), options[0])
        cur = pick
        if lane_key(cur) in path[i:]:
            i = path.index(lane_key(cur), i)
        out.append(cur)
    out.append(b)
    return out


def road_options(in_junction: np.ndarray, yaw_deg: np.ndarray) -> np.ndarray:
    """The leaderboard's RoadOption of each point of a dense route, as CARLA's global route planner
    labels one: LANEFOLLOW outside junctions; every point of a junction crossing LEFT, RIGHT or
    STRAIGHT by the turn from the heading before it to the heading after it (straight within
    :data:`STRAIGHT_DEG`; CARLA's yaw grows clockwise seen from above, so a right turn is a positive
    turn). A route that ends inside a junction is judged by its last heading there."""
    from harness.world.routing import RoadOption

    inj = np.asarray(in_junction, bool)
    yaw = np.asarray(yaw_deg, float)
    out = np.full(len(inj), int(RoadOption.LANEFOLLOW), np.int64)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inj.astype(np.int8), [0]])))
    for first, end in zip(edges[::2], edges[1::2]):  # [first, end) is one crossing
        before = yaw[first - 1] if first > 0 else yaw[first]
        after = yaw[end] if end < len(yaw) else yaw[end - 1]
        turn = (after - before + 180.0) % 360.0 - 180.0
        option = RoadOption.STRAIGHT if abs(turn) < STRAIGHT_DEG else (RoadOption.RIGHT if turn > 0 else RoadOption.LEFT)
        out[first:end] = int(option)
    return out


def densify(cmap, points: list[tuple[float, float, float]], step_m: float = 1.0, carla=None) -> np.ndarray:
    """``(N, 5)`` x, y, z [m], yaw [deg] and RoadOption (:func:`road_options`) every ``step_m``
    along the road through ``points``."""
    if carla is None:
        from harness.backends.carla.server import import_carla

        carla = import_carla()
    if len(points) < 2:
        raise ConfigError(f"a route needs at least two waypoints, got {len(points)}")
    if not step_m > 0:
        raise ConfigError(f"step must be > 0 m, got {step_m}")
    graph = lane_graph(cmap)
    snapped = [_snap(cmap, carla, p, f"waypoint {i}") for i, p in enumerate(points)]
    wps = [snapped[0]]
    for a, b in zip(snapped, snapped[1:]):
        wps += _follow(graph, a, b, step_m)[1:]
    dense = np.array([(w.transform.location.x, w.transform.location.y, w.transform.location.z, w.transform.rotation.yaw)
                      for w in wps], dtype=np.float64)
    options = road_options(np.array([bool(w.is_junction) for w in wps]), dense[:, 3])
    return np.concatenate([dense, options[:, None].astype(np.float64)], axis=1)


def length_m(dense: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(dense[:, :2], axis=0), axis=1).sum())


def generate(cmap, count: int, seed: int = 0, min_m: float = 500.0, max_m: float = 2000.0, step_m: float = 2.0,
             key_every_m: float = 50.0, town: str | None = None, tries: int = 2000):
    """``count`` routes (``harness.scenario.RouteSpec``) of ``min_m``..``max_m`` on ``cmap``, from ``seed``."""
    from harness.scenario.routes_xml import RouteSpec, Waypoint

    rng = random.Random(seed)
    starts = [w for w in cmap.generate_waypoints(step_m) if not w.is_junction]
    if not starts:
        raise ConfigError(f"map {cmap.name} has no driving lanes outside junctions to start a route on")
    routes = []
    for _ in range(tries):
        if len(routes) == count:
            break
        cur = rng.choice(starts)
        trail, run, seen = [cur], 0.0, {lane_key(cur)}
        target = rng.uniform(min_m, max_m)
        while run < target:
            # never back onto a lane already driven: a route does not go round in circles
            options = [w for w in cur.next(step_m) if lane_key(w) == lane_key(cur) or lane_key(w) not in seen]
            if not options:
                break
            nxt = rng.choice(options)
            seen.add(lane_key(nxt))
            run += _dist(cur, nxt)
            cur = nxt
            trail.append(cur)
        if run < min_m:
            continue
        every = max(1, int(round(key_every_m / step_m)))
        keys = trail[::every] + ([trail[-1]] if (len(trail) - 1) % every else [])
        pts = tuple(Waypoint(x=round(w.transform.location.x, 2), y=round(w.transform.location.y, 2),
                             z=round(w.transform.location.z, 2)) for w in keys)
        routes.append(RouteSpec(id=str(len(routes)), town=town or cmap.name, waypoints=pts))
    if len(routes) < count:
        raise ConfigError(f"found only {len(routes)} of {count} routes of {min_m:g}-{max_m:g} m on map {cmap.name} in "
                          f"{tries} tries; lower --min-m or --count")
    return routes
