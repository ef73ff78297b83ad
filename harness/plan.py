"""The route as the leaderboard hands it to an agent (``set_global_plan``).

The leaderboard densifies a route's keypoints (``interpolate_trajectory``), then downsamples it for
the agent (``downsample_route``): it keeps every point where the ``RoadOption`` changes (junction
entry and exit, lane changes) and otherwise one point per ``sample_m`` metres. The agent gets the
same points twice: as GNSS ``{'lat', 'lon', 'z'}`` dicts and as world ``Transform`` s (location in
metres, yaw in degrees), each with its ``RoadOption``.

``Location``/``Rotation``/``Transform`` mirror the attribute names of ``carla``'s classes, so agent
code written against CARLA reads them unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.backends.base import location_to_gnss
from harness.world.routing import RoadOption, Route

DEFAULT_SAMPLE_M = 50.0  # leaderboard 1.0's downsample_route(route, 50) on a 1 m route


@dataclass(frozen=True)
class Location:
    x: float = 0.0  # [m]
    y: float = 0.0  # [m]
    z: float = 0.0  # [m]


@dataclass(frozen=True)
class Rotation:
    pitch: float = 0.0  # [deg]
    yaw: float = 0.0  # [deg]
    roll: float = 0.0  # [deg]


@dataclass(frozen=True)
class Transform:
    location: Location = field(default_factory=Location)
    rotation: Rotation = field(default_factory=Rotation)


def downsample_indices(route: Route, sample_m: float = DEFAULT_SAMPLE_M) -> list[int]:
    """Indices of the dense route kept for the agent: option changes, every ``sample_m``, the end."""
    keep = [0]
    last_s = 0.0
    opts = route.options
    for i in range(1, len(route.points)):
        change = opts[i] != opts[i - 1] or (i + 1 < len(opts) and opts[i + 1] != opts[i])
        if change or route.s[i] - last_s >= sample_m:
            keep.append(i)
            last_s = float(route.s[i])
    if keep[-1] != len(route.points) - 1:
        keep.append(len(route.points) - 1)
    return keep


def global_plan(route: Route, sample_m: float = DEFAULT_SAMPLE_M, geo: tuple[float, float] = (0.0, 0.0)) -> tuple[list, list]:
    """``(global_plan_gps, global_plan_world_coord)`` for ``agent.set_global_plan``; GPS about the
    map's geo reference ``geo`` (lat, lon), as the backend's GNSS readings are."""
    gps, world = [], []
    for i in downsample_indices(route, sample_m):
        x, y = (float(v) for v in route.points[i])
        option = RoadOption(int(route.options[i]))
        lat, lon, z = location_to_gnss(x, y, 0.0, *geo)
        gps.append(({"lat": lat, "lon": lon, "z": z}, option))
        world.append((Transform(Location(x, y, 0.0), Rotation(yaw=math.degrees(float(route.headings[i])))), option))
    return gps, world


def plan_array(world_plan: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (N, 2) [m], headings (N,) [rad] and options (N,) from a world-coordinate plan."""
    pts = np.array([[t.location.x, t.location.y] for t, _ in world_plan], dtype=np.float64)
    yaw = np.radians([t.rotation.yaw for t, _ in world_plan])
    opts = np.array([int(o) for _, o in world_plan])
    return pts, yaw, opts
