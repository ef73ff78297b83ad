"""The scenario's scripted events on CARLA: the embedded world's three (:mod:`harness.world.events`) as CARLA
actors, after scenario_runner's DynamicObjectCrossing, FollowLeadingVehicle and a parked, broken-down obstacle.

Placement (:func:`plan`, pure): the embedded rules and draws on the CARLA route. A route point may hold an
event where it is outside junctions (``carla.Waypoint.is_junction``, :func:`junction_mask`), more than
``JUNCTION_CLEARANCE_M`` along the route from any junction point, after ``FIRST_EVENT_M`` and more than
``LAST_EVENT_GAP_M`` before the end (the constants of :mod:`harness.world.events`); from those spots
:func:`harness.world.events.place_events` picks the explicit and automatic events with the embedded world's
event stream of the seed (:func:`event_rng`), and :func:`harness.world.events.crossing_at` the crossing's
geometry and the walker's speed, with the kerbs from the map's lanes there (:func:`road_edges`). Same spots,
same seed: the embedded events at the same distances, the same walker speeds.

- ``pedestrian_crossing``: when ``occluded`` a van (``vehicle.mercedes.sprinter``, physics off) parked half
  on the kerb of ``side``, its centre 3 m before the crossing point as the embedded van's; a walker at the
  point, 1.6 m beyond that kerb, hidden behind it. When the ego is within the embedded trigger distance of
  the point along the route (``max(10, v * reach / walker speed + 3)`` m) the walker crosses:
  ``carla.WalkerControl`` towards the far kerb at its speed (1.8-2.4 m/s from the seed), applied each tick,
  until it has walked the road's width plus 3.5 m, then it stands on the far kerb. A walker the ego hits
  stops walking.
- ``lead_vehicle_brake``: when the ego is 90 m before the point, a car appears on the route 50 m before it
  at the ego's speed (at least 5 m/s), on the traffic manager's autopilot along the route (``set_path``,
  no lane changes) at 8 m/s; where it reaches the point (the ego's route distance plus its distance to
  the ego, as embedded) the autopilot lets go and brake control brings it down at the event's
  ``decel_mps2``, brake lights on; 4 s after it began to brake it is back on the autopilot at the speed
  limit.
- ``stopped_vehicle``: a car standing in the ego's lane at the point from the start, hand brake on, hazard
  lights (``LeftBlinker | RightBlinker``); once the ego has stood (below 0.5 m/s) within 30 m of it for 3 s,
  or been within 30 m for 15 s, its hazards go off and it drives on along the route on the autopilot.

The events' actors are ordinary actors: the collision sensor scores a contact with any of them (the walker
as a pedestrian, the van and the cars as vehicles), and the ground truth lists them; its flags carry brake
lights and hazards from the vehicles' light states and "knocked down" for a walker the ego hit.

What differs from the embedded world, where the API cannot do the same:

- The walker walks by CARLA's walker physics: what it has walked is read from its position, kerbs and
  the van's body are in its way; one that has not arrived after twice its walking time stands.
  A hit walker is not knocked over (the embedded one falls and the ego slows to 70 %): it stops walking.
- The van is the blueprint's size (a Sprinter, about 5.9 x 2.0 x 2.6 m, not the embedded 5.2 x 2.0 x 2.1
  box), moved back by what it is longer (its front stays 0.4 m before the point, clear of the walker),
  and floats 0.3 m above the road with physics off, as scenario_runner's blocker; its colour is the
  seed's where the blueprint takes one.
- The embedded world moves NPC vehicles out of the way of an event vehicle; on CARLA an event spawns
  where the spot is free, trying up to 10 m either way along the route (the crossing 0.4 m steps forward,
  as scenario_runner), and one that finds no room is skipped with one warning line. The standing car and
  the crossing's actors spawn before the traffic, so NPCs never spawn on them.
- The lead car's approach is the traffic manager's driving (which also stops at red lights and behind
  traffic, as the embedded IDM does), its braking a brake command that follows the deceleration
  (feed-forward from an assumed 8 m/s^2 at full brake, plus the speed error), with the steering held.
- Events advance before each ``world.tick()`` from the ego's state after the last tick (the embedded world
  after the ego has moved): a trigger can come one tick (50 ms) later.
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness.scenario.schema import EventSpec, EventsSpec
from harness.world.events import (FIRST_EVENT_M, JUNCTION_CLEARANCE_M, LAST_EVENT_GAP_M, Prop, ScriptedPedestrian,
                                  crossing_at, place_events, route_pose)
from harness.world.routing import RoadOption, Route

# the embedded world's event stream: harness.world.world.World.reset draws its events from the 4th of 5
# generators spawned from SeedSequence([seed, 20260])
EVENT_SEED_KEY, EVENT_STREAM, STREAMS = 20260, 3, 5
# the embedded timings and distances (harness.world.world.World._step_events, _spawn_on_route)
CROSS_MIN_LEAD_M = 10.0  # [m] the walker steps out when the ego is this far before the point, at least
CROSS_LEAD_EXTRA_M = 3.0  # [m] ... or v * reach / walker speed plus this
LEAD_APPEAR_M = 90.0  # [m] the lead car appears when the ego is this far before the point
LEAD_START_M = 50.0  # [m] ... this far before the point
LEAD_MIN_SPEED = 5.0  # [m/s] ... at the ego's speed, at least this
LEAD_CAP_MPS = 8.0  # [m/s] its speed until it brakes
LEAD_HOLD_S = 4.0  # [s] from the start of its braking to driving on
STOPPED_NEAR_M = 30.0  # [m] the ego waits behind the standing car within this
STOPPED_EGO_STILL = 0.5  # [m/s] ... below this speed
STOPPED_WAIT_S = 3.0  # [s] it drives on after the ego waited this long
STOPPED_NEAR_S = 15.0  # [s] ... or was near it this long
# CARLA's side
VAN_FRONT_GAP_M = 0.4  # [m] the van's front before the crossing point (the embedded 5.2 m van, 3 m back)
VAN_Z_M = 0.3  # [m] the van, physics off, this high above the route (scenario_runner's blocker)
WALKER_Z_M = 1.0  # [m] a walker's origin above the ground
VEHICLE_Z_M = 0.5  # [m] as the ego spawns
VAN_BLUEPRINTS = ("vehicle.mercedes.sprinter", "vehicle.volkswagen.t2_2021", "vehicle.volkswagen.t2")
CAR_BLUEPRINTS = ("vehicle.tesla.model3", "vehicle.lincoln.mkz_2020")
SPAWN_SHIFTS_M = (0.0, 5.0, -5.0, 10.0, -10.0)  # [m] along the route, tried in turn for an event vehicle
CROSSING_TRIES = 20  # scenario_runner's DynamicObjectCrossing: 20 tries, 0.4 m apart
CROSSING_STEP_M = 0.4
FULL_BRAKE_MPS2 = 8.0  # [m/s^2] assumed deceleration at brake 1.0 (feed-forward; the speed error corrects it)
BRAKE_GAIN = 0.5  # [1/(m/s)] brake per m/s above the braking profile
PATH_STEP_M = 10.0  # [m] the traffic manager's path: a route point every this far
MAX_LANES = 12  # lanes walked across for a road's edge


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


# -------------------------------------------------------------------------------------------- placement


def event_rng(seed: int) -> np.random.Generator:
    """The generator the embedded world draws a seed's events from (``World.reset``)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), EVENT_SEED_KEY]).spawn(STREAMS)[EVENT_STREAM])


def junction_mask(cmap, carla, points: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """``(N,)`` bool: route point ``(x, y)`` (at height ``z``) lies in a junction of the map's driving lanes."""
    z = np.zeros(len(points)) if z is None else z
    out = np.zeros(len(points), bool)
    for i, ((x, y), h) in enumerate(zip(points, z)):
        wp = cmap.get_waypoint(carla.Location(x=float(x), y=float(y), z=float(h)), project_to_road=True,
                               lane_type=carla.LaneType.Driving)
        out[i] = wp is not None and bool(wp.is_junction)
    return out


def valid_event_positions(route: Route, in_junction: np.ndarray) -> np.ndarray:
    """Route distances [m] where an event may sit (:func:`harness.world.events.valid_event_positions` on a
    CARLA route): following the lane outside junctions, more than ``JUNCTION_CLEARANCE_M`` along the route
    from every junction point, after the first stretch and before the end."""
    s = route.s
    inj = np.asarray(in_junction, bool)
    ok = (route.options == RoadOption.LANEFOLLOW) & ~inj
    js = s[inj]
    if len(js):
        i = np.searchsorted(js, s)
        behind = np.where(i > 0, s - js[np.maximum(i - 1, 0)], np.inf)
        ahead = np.where(i < len(js), js[np.minimum(i, len(js) - 1)] - s, np.inf)
        ok &= (behind > JUNCTION_CLEARANCE_M) & (ahead > JUNCTION_CLEARANCE_M)
    ok &= (s > FIRST_EVENT_M) & (s < route.length - LAST_EVENT_GAP_M)
    return s[ok]


def road_edges(wp, p: np.ndarray, h: float, carla) -> tuple[float, float]:
    """The road's two edges at waypoint ``wp`` (route point ``p``, heading ``h`` [rad]) as lateral offsets [m]
    from ``p``, right positive: ``(right, left)``, ``left < 0 < right``. Walks the lanes outward on each
    side (``get_right_lane`` / ``get_left_lane`` by where each lies, as CARLA flips left and right at the
    centre line) up to a sidewalk or the last lane; parking, shoulder and other lanes on the way count as
    road, as the walker crosses them."""
    r = np.array([-math.sin(h), math.cos(h)])

    def lat(w) -> float:
        loc = w.transform.location
        return float((loc.x - p[0]) * r[0] + (loc.y - p[1]) * r[1])

    edges = []
    for sign in (1.0, -1.0):
        cur, seen = wp, {wp.lane_id}
        edge = lat(wp) + sign * wp.lane_width / 2
        for _ in range(MAX_LANES):
            nxt = [w for w in (cur.get_right_lane(), cur.get_left_lane())
                   if w is not None and w.lane_id not in seen and sign * (lat(w) - lat(cur)) > 0.05]
            if not nxt or nxt[0].lane_type == carla.LaneType.Sidewalk:
                break
            cur = nxt[0]
            seen.add(cur.lane_id)
            edge = lat(cur) + sign * cur.lane_width / 2
        edges.append(edge)
    return edges[0], edges[1]


def map_edges(cmap, carla, route: Route, z: np.ndarray) -> Callable[[float], tuple[float, float] | None]:
    """``edges(route_m)`` for :func:`plan`: :func:`road_edges` at the route's point there on ``cmap``."""

    def edges(route_m: float) -> tuple[float, float] | None:
        p, h, _ = route_pose(route, route_m)
        k = int(np.clip(np.searchsorted(route.s, route_m), 0, len(route.s) - 1))
        wp = cmap.get_waypoint(carla.Location(x=float(p[0]), y=float(p[1]), z=float(z[k])), project_to_road=True,
                               lane_type=carla.LaneType.Driving)
        return None if wp is None else road_edges(wp, p, h, carla)

    return edges


@dataclass
class Planned:
    """One event placed on a route; a crossing with its walker (start, direction, walk, speed) and van."""

    spec: EventSpec
    walker: ScriptedPedestrian | None = None
    van: Prop | None = None


def plan(spec: EventsSpec, route: Route, in_junction: np.ndarray, seed: int,
         edges: Callable[[float], tuple[float, float] | None]) -> tuple[list[Planned], list[EventSpec]]:
    """The events of one route and seed, and the explicit ones that found no place (no valid spot at or
    after their ``route_m``, or no road edges there). ``edges(route_m)``: the road's ``(right, left)`` edges
    there (:func:`road_edges`), None where the map has no lane."""
    valid = valid_event_positions(route, in_junction)
    rng = event_rng(seed)
    skipped = [ev for ev in spec.explicit if not (valid >= ev.route_m).any()]
    out = []
    for ev in place_events(spec, route.length, valid, rng):
        if ev.kind != "pedestrian_crossing":
            out.append(Planned(ev))
            continue
        e = edges(ev.route_m)
        if e is None:
            skipped.append(ev)
            continue
        right, left = e
        p, h, _ = route_pose(route, ev.route_m)
        walker, van = crossing_at(ev, p, h, right if ev.side == "right" else left, right - left, -1, -1, rng)
        out.append(Planned(ev, walker, van))
    return out, skipped


# -------------------------------------------------------------------------------------------- on the server


@dataclass
class Running:
    """An event's actors and state in one episode (``state``: pending | active | done)."""

    plan: Planned
    state: str = "pending"
    actor: object = None  # the walker, the lead car or the standing car
    van: object = None
    origin: tuple[float, float] = (0.0, 0.0)  # the walker's spawn point
    started_at: float | None = None
    braked_at: float | None = None
    brake_v0: float = 0.0
    steer: float = 0.0
    waited: float = 0.0
    near_s: float = 0.0
    hit: bool = False

    @property
    def kind(self) -> str:
        return self.plan.spec.kind


class CarlaEvents:
    """The planned events of one episode on a :class:`harness.backends.carla.backend.CarlaBackend`: spawned by
    :meth:`spawn` (reset), advanced by :meth:`advance` before each ``world.tick()``, gone with :meth:`destroy`."""

    def __init__(self, backend, planned: list[Planned], route_z: np.ndarray, lights_on: bool) -> None:
        self.b = backend
        self.carla = backend.carla
        self.route = backend.route
        self.z = route_z
        self.lights_on = lights_on
        self.events = [Running(p) for p in planned]
        self.actors: list = []
        self.lib = None  # the server's blueprint library, from spawn

    # -- what the backend reads ------------------------------------------------------------------------
    @property
    def prop_ids(self) -> set[int]:
        return {r.van.id for r in self.events if r.van is not None}

    @property
    def knocked_down(self) -> set[int]:
        return {r.actor.id for r in self.events if r.hit and r.actor is not None}

    def hit(self, actor_id: int) -> None:
        """The ego hit ``actor_id``: a scripted walker stops walking."""
        for r in self.events:
            if r.kind == "pedestrian_crossing" and r.actor is not None and r.actor.id == actor_id:
                r.hit = True

    # -- lifecycle -------------------------------------------------------------------------------------
    def spawn(self, lib) -> None:
        """The crossings' vans and walkers and the standing cars (before the traffic: nothing spawns on them)."""
        self.lib = lib
        for k, r in enumerate(self.events):
            if r.kind == "pedestrian_crossing":
                self._spawn_crossing(r, k)
            elif r.kind == "stopped_vehicle":
                r.actor = self._spawn_on_route(r.plan.spec.route_m, "standing car")
                if r.actor is None:
                    r.state = "done"
                    continue
                r.actor.apply_control(self.carla.VehicleControl(brake=1.0, hand_brake=True))
                r.actor.set_light_state(self._lights(self.carla.VehicleLightState.LeftBlinker
                                                     | self.carla.VehicleLightState.RightBlinker))

    def destroy(self) -> None:
        for a in reversed(self.actors):
            a.destroy()
        self.actors = []
        for r in self.events:
            r.actor = r.van = None

    # -- the step --------------------------------------------------------------------------------------
    def advance(self, t: float, ego_xy: tuple[float, float], ego_speed: float, ego_m: float, dt: float) -> None:
        """One tick of every event, before ``world.tick()``: ``t`` [s] the time after it, the ego's position,
        speed and route distance [m] after the last tick."""
        for r in self.events:
            if r.state == "done":
                continue
            if r.kind == "pedestrian_crossing":
                self._cross(r, t, ego_speed, ego_m)
            elif r.kind == "lead_vehicle_brake":
                self._lead(r, t, ego_xy, ego_speed, ego_m, dt)
            elif r.kind == "stopped_vehicle":
                self._stand(r, ego_xy, ego_speed, dt)

    def _cross(self, r: Running, t: float, ego_speed: float, ego_m: float) -> None:
        carla, ped, walker = self.carla, r.plan.walker, r.actor
        if r.state == "pending":
            # time the step-out so the walker reaches the ego's lane as the ego arrives there (embedded rule)
            lead = max(CROSS_MIN_LEAD_M, abs(ego_speed) * ped.reach_m / ped.speed + CROSS_LEAD_EXTRA_M)
            if ego_m < r.plan.spec.route_m - lead:
                return
            r.state, r.started_at = "active", t
        d = ped.direction
        loc = walker.get_location()
        walked = (loc.x - r.origin[0]) * d[0] + (loc.y - r.origin[1]) * d[1]
        late = t - r.started_at > 2.0 * ped.distance / ped.speed
        arrived = r.hit or walked >= ped.distance or late
        direction = carla.Vector3D(x=float(d[0]), y=float(d[1]), z=0.0)
        walker.apply_control(carla.WalkerControl(direction=direction, speed=0.0 if arrived else float(ped.speed)))
        if arrived:
            r.state = "done"

    def _lead(self, r: Running, t: float, ego_xy, ego_speed: float, ego_m: float, dt: float) -> None:
        carla, ev = self.carla, r.plan.spec
        if r.state == "pending":
            if ego_m < ev.route_m - LEAD_APPEAR_M:
                return
            r.actor = car = self._spawn_on_route(ev.route_m - LEAD_START_M, "lead car")
            if car is None:
                r.state = "done"
                return
            r.state = "active"
            v, yaw = max(abs(ego_speed), LEAD_MIN_SPEED), math.radians(car.get_transform().rotation.yaw)
            car.set_target_velocity(carla.Vector3D(x=v * math.cos(yaw), y=v * math.sin(yaw), z=0.0))
            self._autopilot(car, ev.route_m - LEAD_START_M, desired_mps=LEAD_CAP_MPS)
            return
        car = r.actor
        loc = car.get_location()
        car_m = ego_m + math.hypot(loc.x - ego_xy[0], loc.y - ego_xy[1])
        if r.braked_at is None:
            if car_m < ev.route_m:
                return
            r.braked_at = t
            vel = car.get_velocity()
            r.brake_v0, r.steer = math.hypot(vel.x, vel.y), float(car.get_control().steer)
            car.set_autopilot(False, self.b.ports.traffic_manager)
            car.set_light_state(self._lights(carla.VehicleLightState.Brake))
        elif t - r.braked_at > LEAD_HOLD_S:
            car.set_light_state(self._lights(carla.VehicleLightState.NONE))
            self._autopilot(car, car_m, desired_mps=None)
            r.state = "done"
            return
        vel = car.get_velocity()
        v = math.hypot(vel.x, vel.y)
        target = r.brake_v0 - ev.decel_mps2 * (t - r.braked_at + dt)  # the speed at the end of this tick
        brake = 1.0 if target <= 0.0 else ev.decel_mps2 / FULL_BRAKE_MPS2 + BRAKE_GAIN * (v - target)
        car.apply_control(carla.VehicleControl(throttle=0.0, steer=r.steer, brake=float(np.clip(brake, 0.0, 1.0))))

    def _stand(self, r: Running, ego_xy, ego_speed: float, dt: float) -> None:
        car = r.actor
        loc = car.get_location()
        if math.hypot(loc.x - ego_xy[0], loc.y - ego_xy[1]) < STOPPED_NEAR_M:
            r.waited += dt if abs(ego_speed) < STOPPED_EGO_STILL else 0.0
            r.near_s += dt
        if r.waited > STOPPED_WAIT_S or r.near_s > STOPPED_NEAR_S:
            car.set_light_state(self._lights(self.carla.VehicleLightState.NONE))
            car.apply_control(self.carla.VehicleControl())
            self._autopilot(car, r.plan.spec.route_m, desired_mps=None)
            r.state = "done"

    # -- inside ----------------------------------------------------------------------------------------
    def _lights(self, extra):
        """``extra`` plus the lights every vehicle has on at night."""
        L = self.carla.VehicleLightState
        base = (int(L.LowBeam) | int(L.Position)) if self.lights_on else 0
        return L(base | int(extra))

    def _index(self, route_m: float) -> int:
        return int(np.clip(np.searchsorted(self.route.s, route_m), 0, len(self.route.s) - 1))

    def _blueprint(self, names: tuple[str, ...], role: str):
        """The first of ``names`` the server has, else its first four-wheeled vehicle; None where it has none."""
        for name in names:
            found = self.lib.filter(name)
            if found:
                bp = found[0]
                break
        else:
            cars = sorted((b for b in self.lib.filter("vehicle.*") if not b.has_attribute("number_of_wheels")
                           or b.get_attribute("number_of_wheels").as_int() == 4), key=lambda b: b.id)
            if not cars:
                return None
            bp = cars[0]
        if bp.has_attribute("role_name"):
            bp.set_attribute("role_name", role)
        return bp

    def _spawn_on_route(self, route_m: float, what: str):
        """A car on the route at ``route_m`` (or the nearest free spot within 10 m along it), in its lane's
        direction; None, with one warning line, where there is no room."""
        carla = self.carla
        bp = self._blueprint(CAR_BLUEPRINTS, "scenario")
        for shift in SPAWN_SHIFTS_M if bp is not None else ():
            k = self._index(route_m + shift)
            p, h = self.route.points[k], float(self.route.headings[k])
            tf = carla.Transform(carla.Location(x=float(p[0]), y=float(p[1]), z=float(self.z[k]) + VEHICLE_Z_M),
                                 carla.Rotation(yaw=math.degrees(h)))
            car = self.b.world.try_spawn_actor(bp, tf)
            if car is not None:
                self.actors.append(car)
                if self.lights_on:
                    car.set_light_state(self._lights(carla.VehicleLightState.NONE))
                return car
        warn(f"CARLA events: no room for the {what} near {route_m:.0f} m on route {self.route.id}; that event is skipped")
        return None

    def _autopilot(self, car, from_m: float, desired_mps: float | None) -> None:
        """``car`` on the traffic manager along the route ahead of ``from_m``: at ``desired_mps``, or at the speed
        limit (None); no lane changes; lights by the traffic manager at night, as the NPCs'."""
        tm, carla = self.b.tm, self.carla
        car.set_autopilot(True, self.b.ports.traffic_manager)
        tm.auto_lane_change(car, False)
        if desired_mps is None:
            tm.vehicle_percentage_speed_difference(car, 0.0)  # drops a desired speed set before
        else:
            tm.set_desired_speed(car, desired_mps * 3.6)  # [km/h]
        k0 = self._index(from_m + PATH_STEP_M)
        step = max(1, int(round(PATH_STEP_M / max(float(np.median(np.diff(self.route.s))), 1e-6))))
        path = [carla.Location(x=float(self.route.points[k, 0]), y=float(self.route.points[k, 1]), z=float(self.z[k]))
                for k in range(k0, len(self.route.points), step)]
        if path:
            tm.set_path(car, path)
        if self.lights_on:
            tm.update_vehicle_lights(car, True)

    def _spawn_crossing(self, r: Running, k: int) -> None:
        carla, ped, van = self.carla, r.plan.walker, r.plan.van
        ev = r.plan.spec
        i = self._index(ev.route_m)
        z = float(self.z[i])
        h = float(self.route.headings[i])
        fwd = np.array([math.cos(h), math.sin(h)])
        people = sorted(self.lib.filter("walker.pedestrian.*"), key=lambda b: b.id)
        if not people:
            warn(f"CARLA events: the server has no walker blueprints; the crossing at {ev.route_m:.0f} m on route "
                 f"{self.route.id} is skipped")
            r.state = "done"
            return
        wbp = random.Random(self.b.seed * 7919 + k).choice(people)
        if wbp.has_attribute("is_invincible"):
            wbp.set_attribute("is_invincible", "false")
        if wbp.has_attribute("role_name"):
            wbp.set_attribute("role_name", "scenario")
        vbp = None
        if van is not None:
            vbp = self._blueprint(VAN_BLUEPRINTS, "scenario")
            if vbp is None:
                warn(f"CARLA events: the server has no vehicle blueprints for the van; the crossing at {ev.route_m:.0f} m on "
                     f"route {self.route.id} is skipped")
                r.state = "done"
                return
            if vbp.has_attribute("color"):
                vbp.set_attribute("color", ",".join(str(int(round(255 * c))) for c in van.color))
        yaw = math.degrees(math.atan2(ped.direction[1], ped.direction[0]))
        for attempt in range(CROSSING_TRIES):
            shift = fwd * (CROSSING_STEP_M * attempt)
            parked = None
            if vbp is not None:
                c = np.array([van.x, van.y]) + shift
                parked = self.b.world.try_spawn_actor(vbp, carla.Transform(
                    carla.Location(x=float(c[0]), y=float(c[1]), z=z + VAN_Z_M), carla.Rotation(yaw=math.degrees(van.yaw))))
                if parked is None:
                    continue
                parked.set_simulate_physics(False)
                # keep the van's front where the embedded van's is: a longer blueprint goes back by the difference
                back = max(0.0, parked.bounding_box.extent.x - van.length / 2)
                if back > 0.0:
                    c = c - fwd * back
                    parked.set_transform(carla.Transform(carla.Location(x=float(c[0]), y=float(c[1]), z=z + VAN_Z_M),
                                                         carla.Rotation(yaw=math.degrees(van.yaw))))
            s = ped.start + shift
            walker = self.b.world.try_spawn_actor(wbp, carla.Transform(
                carla.Location(x=float(s[0]), y=float(s[1]), z=z + WALKER_Z_M), carla.Rotation(yaw=yaw)))
            if walker is None:
                if parked is not None:
                    parked.destroy()
                continue
            if parked is not None:
                self.actors.append(parked)
            self.actors.append(walker)
            r.actor, r.van, r.origin = walker, parked, (float(s[0]), float(s[1]))
            return
        warn(f"CARLA events: no room for the crossing's {'van and ' if van is not None else ''}walker at "
             f"{ev.route_m:.0f} m on route {self.route.id}; that event is skipped")
        r.state = "done"
