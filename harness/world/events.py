"""Scripted, perception-critical events along a route (CARLA scenario_runner's counterparts):

- ``pedestrian_crossing``: a pedestrian steps out from behind a parked van on the kerb and runs
  across the road when the ego is a few seconds away (DynamicObjectCrossing).
- ``lead_vehicle_brake``: a vehicle cut in ahead of the ego on its route brakes hard at the event
  point, waits, then drives on (FollowLeadingVehicle).
- ``stopped_vehicle``: a broken-down vehicle stands in the ego's lane with hazard lights and pulls
  away once the ego has waited behind it (a completable variant of Accident / ParkedObstacle).

Placement is a pure function of the route, the scenario's EventsSpec and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.scenario.schema import EventSpec, EventsSpec
from harness.semantics import Sem
from harness.world.geometry import right_of
from harness.world.routing import RoadOption, Route
from harness.world.town import Town

FIRST_EVENT_M = 80.0  # [m] nothing happens in the first stretch of a route
LAST_EVENT_GAP_M = 40.0
JUNCTION_CLEARANCE_M = 25.0


@dataclass
class Prop:
    """A static actor placed by an event (parked van)."""

    x: float
    y: float
    yaw: float  # [rad]
    length: float
    width: float
    height: float
    sem: int
    instance: int
    color: tuple[float, float, float]


@dataclass
class ScriptedPedestrian:
    instance: int
    start: np.ndarray  # (2,) [m]
    direction: np.ndarray  # (2,) unit
    distance: float  # [m] total walk
    speed: float  # [m/s]
    trigger_route_m: float
    reach_m: float = 3.0  # [m] walk from the start to the ego lane's centre
    started_at: float | None = None
    walked: float = 0.0
    hit: bool = False

    @property
    def xy(self) -> np.ndarray:
        return self.start + self.direction * self.walked


@dataclass
class ActiveEvent:
    spec: EventSpec
    route_m: float
    state: str = "pending"  # pending | active | done
    vehicle: int = -1  # index into Vehicles for vehicle events
    pedestrian: ScriptedPedestrian | None = None
    waited: float = 0.0
    extra: dict = field(default_factory=dict)


def valid_event_positions(route: Route, town: Town) -> np.ndarray:
    """Route distances [m] where an event may sit: on a road lane (no junction, no lane change),
    clear of junctions, after the first stretch and before the end."""
    s = route.s
    lane_s = np.zeros(len(s))
    lane_len = np.zeros(len(s))
    for lid in np.unique(route.lanes):
        m = route.lanes == lid
        lane = town.lanes[lid]
        proj = town.lane_set.lookup(np.full(m.sum(), lid), np.zeros(m.sum()))[0]
        lane_s[m] = np.hypot(*(route.points[m] - proj).T)
        lane_len[m] = lane.length
    ok = (route.options == RoadOption.LANEFOLLOW) & (lane_s > JUNCTION_CLEARANCE_M)
    ok &= lane_s < lane_len - JUNCTION_CLEARANCE_M
    ok &= (s > FIRST_EVENT_M) & (s < route.length - LAST_EVENT_GAP_M)
    return s[ok]


def plan_events(spec: EventsSpec, route: Route, town: Town, rng: np.random.Generator) -> list[EventSpec]:
    """Concrete events for one route: the explicit ones (snapped forward to the nearest valid spot)
    plus ``auto_per_km`` automatic ones drawn from the seed."""
    return place_events(spec, route.length, valid_event_positions(route, town), rng)


def place_events(spec: EventsSpec, length: float, valid: np.ndarray, rng: np.random.Generator) -> list[EventSpec]:
    """:func:`plan_events` on a route of ``length`` [m] whose valid spots are ``valid`` (route distances
    [m], ascending; the CARLA backend finds its own from the map)."""
    out: list[EventSpec] = []
    for ev in spec.explicit:
        later = valid[valid >= ev.route_m]
        if len(later):
            out.append(EventSpec(ev.kind, float(later[0]), ev.occluded, ev.side, ev.decel_mps2))
    n_auto = int(round(spec.auto_per_km * length / 1000.0))
    taken = [e.route_m for e in out]
    for _ in range(n_auto):
        free = np.array([v for v in valid if all(abs(v - t) >= spec.min_spacing_m for t in taken)])
        if not len(free) or not spec.kinds:
            break
        at = float(free[rng.integers(len(free))])
        kind = spec.kinds[rng.integers(len(spec.kinds))]
        side = "right" if rng.random() < 0.75 else "left"
        out.append(EventSpec(kind, at, occluded=True, side=side, decel_mps2=float(rng.uniform(6.0, 8.0))))
        taken.append(at)
    return sorted(out, key=lambda e: e.route_m)


def route_pose(route: Route, route_m: float) -> tuple[np.ndarray, float, int]:
    k = int(np.clip(np.searchsorted(route.s, route_m), 0, len(route.s) - 1))
    return route.points[k], float(route.headings[k]), int(route.lanes[k])


def kerb_offset(town: Town, lane_id: int, side: str) -> float:
    """Lateral distance [m] from a lane's centre to the kerb on ``side`` (right positive)."""
    lane = town.lanes[lane_id]
    road = town.roads[lane.road]
    n = road.lanes_per_dir
    if side == "right":
        return (n - lane.index - 0.5) * lane.width
    return -(n + lane.index + 0.5) * lane.width


def make_crossing(ev: EventSpec, route: Route, town: Town, instance_ped: int, instance_prop: int,
                  rng: np.random.Generator) -> tuple[ScriptedPedestrian, Prop | None]:
    p, h, lid = route_pose(route, ev.route_m)
    road_width = town.roads[town.lanes[lid].road].half_width * 2
    return crossing_at(ev, p, h, kerb_offset(town, lid, ev.side), road_width, instance_ped, instance_prop, rng)


def crossing_at(ev: EventSpec, p: np.ndarray, h: float, kerb: float, road_width: float, instance_ped: int, instance_prop: int,
                rng: np.random.Generator) -> tuple[ScriptedPedestrian, Prop | None]:
    """:func:`make_crossing` at route point ``p`` heading ``h`` [rad], the kerb on ``ev.side`` ``kerb`` [m] from the
    ego lane's centre (right positive) and ``road_width`` [m] from kerb to kerb."""
    fwd = np.array([np.cos(h), np.sin(h)])
    r = right_of(fwd)
    sign = 1.0 if ev.side == "right" else -1.0
    prop = None
    # the van parks half on the sidewalk just before the crossing point; the pedestrian waits behind it
    if ev.occluded:
        c = p + r * (kerb + sign * 0.9) - fwd * 3.0
        prop = Prop(float(c[0]), float(c[1]), h, 5.2, 2.0, 2.1, int(Sem.CAR), instance_prop,
                    tuple(rng.uniform(0.5, 0.9, 3)))
    start = p + r * (kerb + sign * 1.6)
    ped = ScriptedPedestrian(instance_ped, start, -r * sign, road_width + 3.5, float(rng.uniform(1.8, 2.4)),
                             trigger_route_m=ev.route_m, reach_m=abs(kerb) + 1.6)
    return ped, prop
