"""The embedded world: one fixed step order over the town, signals, traffic, pedestrians, scripted
events and the ego. Knows nothing of rendering, gymnasium or torch.

Step order (20 Hz): ego control -> ego kinematics -> collisions (ego pose reverted on hard contact)
-> signals -> NPC vehicles -> pedestrians -> scripted events -> red lights, lanes, route progress.

Over 400 lines on purpose: the step order is the world's contract, and it reads best in one class
(as HighwayEnv's abstract env keeps its step in one place). What each part does lives beside it:
vehicles, pedestrians, signals, events and infractions have their own modules; this one orders them
and answers the ground-truth questions that need all of them (``standing_for``, ``next_stop_line``).
"""

from __future__ import annotations

import math

import numpy as np

from harness.backends.records import Collision, RedLightRun, StepEvents, VehicleControl
from harness.backends.truth import CORRIDOR_M, STANDING_AHEAD_M, STANDING_FOR, ActorView, StopLine, next_stop_line, standing_for  # noqa: F401 (re-exported)
from harness.errors import WrongOrderError
from harness.scenario.schema import EventsSpec, TrafficSpec
from harness.semantics import Sem
from harness.world.events import ActiveEvent, Prop, make_crossing, plan_events, route_pose
from harness.world.ego import EgoParams, EgoState, step_ego
from harness.world.geometry import obb_corners, obb_overlap
from harness.world.pedestrians import SIZE as PED_SIZE, Pedestrians
from harness.world.routing import Route, RouteProgress, local_frame
from harness.world.signals import GREEN, RED, SignalController
from harness.world.town import Town
from harness.world.vehicles import Vehicles

DT = 0.05  # [s] 20 Hz fixed step, as the leaderboard runs CARLA
EGO_INSTANCE = 1
VEHICLE_INSTANCE0 = 1000
PED_INSTANCE0 = 5000
SCRIPTED_INSTANCE0 = 9000
BLOCK_SPEED = 0.1  # [m/s]


class World:
    def __init__(self, town: Town, route: Route, seed: int, traffic: TrafficSpec = TrafficSpec(),
                 events: EventsSpec = EventsSpec(), ego: EgoParams = EgoParams()) -> None:
        self.town = town
        self.route = route
        self.seed = int(seed)
        self.traffic = traffic
        self.events_spec = events
        self.ego_params = ego
        self._ready = False
        self._view: ActorView | None = None
        self._static = _static_obstacles(town)

    # -- lifecycle ----------------------------------------------------------------------------
    def reset(self) -> None:
        ss = np.random.SeedSequence([self.seed, 20260])
        r_sig, r_veh, r_ped, r_evt, self.rng = [np.random.default_rng(s) for s in ss.spawn(5)]
        self.t = 0.0
        self.frame = 0
        p0, h0 = self.route.points[0], float(self.route.headings[0])
        self.ego = EgoState(float(p0[0]), float(p0[1]), h0)
        self.signals = SignalController(self.town, r_sig)
        self.signal_states = self.signals.states(0.0)
        near = self.route.points
        self.vehicles = Vehicles(self.town, r_veh, self.traffic.vehicles, p0, VEHICLE_INSTANCE0, near=near)
        self.pedestrians = Pedestrians(self.town, r_ped, self.traffic.pedestrians, PED_INSTANCE0, near=near)
        self.progress = RouteProgress(self.route)
        self.props: list[Prop] = []
        self.active: list[ActiveEvent] = []
        inst = SCRIPTED_INSTANCE0
        for ev in plan_events(self.events_spec, self.route, self.town, r_evt):
            a = ActiveEvent(ev, ev.route_m)
            if ev.kind == "pedestrian_crossing":
                ped, prop = make_crossing(ev, self.route, self.town, inst, inst + 1, r_evt)
                a.pedestrian = ped
                if prop is not None:
                    self.props.append(prop)
                inst += 2
            elif ev.kind == "stopped_vehicle":
                a.vehicle = self._spawn_on_route(ev.route_m, 0.0, frozen=True)
            self.active.append(a)
        self._contacts: set[int] = set()
        self._lane = self.town.nearest_lane(p0, h0)
        self._red_done: set[int] = set()
        self.blocked_s = 0.0
        self.completion = 0.0
        self._view: ActorView | None = None
        self._ready = True

    def _spawn_on_route(self, route_m: float, speed: float, frozen: bool) -> int:
        """Put a vehicle on the route at ``route_m`` following the route's lanes; returns its index.
        Vehicles already within 12 m there are moved out of the way (sent to the back of the queue)."""
        p, h, lid = route_pose(self.route, route_m)
        veh = self.vehicles
        s, _, _ = self.town.lane_set.project(lid, p)
        clash = np.flatnonzero(np.hypot(*(veh.xy - p).T) < 12.0) if veh.n else []
        i = int(clash[0]) if len(clash) else self._grow_vehicles()
        k = int(np.searchsorted(self.route.s, route_m))
        ahead = list(dict.fromkeys(self.route.lanes[k:].tolist()))
        # follow the route until its first lane change
        path = []
        for l in ahead:
            if path and l not in self.town.lanes[path[-1]].successors:
                break
            path.append(l)
        veh.lane[i], veh.s[i], veh.v[i] = lid, s, speed
        veh.kind[i], veh.length[i], veh.width[i], veh.height[i], veh.sem[i] = 0, 4.6, 1.9, 1.5, int(Sem.CAR)
        veh.set_path(i, path or [lid])
        veh.frozen[i] = frozen
        veh._update_pose()
        for j in clash[1:] if len(clash) else []:
            veh.s[j] = max(0.0, veh.s[j] - 25.0)
        return i

    def _grow_vehicles(self) -> int:
        v = self.vehicles
        i = v.n
        v.n += 1
        for name, fill in (("lane", 0), ("s", 0.0), ("kind", 0), ("length", 4.6), ("width", 1.9), ("height", 1.5),
                           ("sem", int(Sem.CAR)), ("desire", 1.0), ("v", 0.0), ("braking", False), ("frozen", False),
                           ("speed_cap", np.inf), ("forced_decel", 0.0), ("yaw", 0.0)):
            setattr(v, name, np.append(getattr(v, name), fill))
        v.color = np.vstack([v.color, [[0.7, 0.1, 0.1]]])
        v.instance = np.append(v.instance, VEHICLE_INSTANCE0 + 3000 + i)
        v.xy = np.vstack([v.xy, [[0.0, 0.0]]])
        v.paths.append([0])
        return i

    # -- the step -----------------------------------------------------------------------------
    def step(self, control: VehicleControl) -> StepEvents:
        if not self._ready:
            raise WrongOrderError("World.step() called before World.reset(); call reset() first")
        prev = self.ego
        self._view = None
        self.ego = step_ego(prev, control, self.ego_params, DT)
        collisions = self._collide(prev)
        self.t += DT
        self.frame += 1
        self.signal_states = self.signals.states(self.t)
        self._step_events()
        obs_xy, obs_v, obs_r, obs_id = self._obstacles()
        self.vehicles.step(DT, self.signal_states, obs_xy, obs_v, obs_r, obs_id)
        self.pedestrians.step(DT, self.t, self.signals)
        self._view = None  # actors moved
        xy = np.array([self.ego.x, self.ego.y])
        dist = math.hypot(self.ego.x - prev.x, self.ego.y - prev.y)
        red = self._red_lights(prev, xy)
        completion, off = self.progress.update(xy)
        self.completion = max(self.completion, completion)
        self.blocked_s = self.blocked_s + DT if abs(self.ego.speed) < BLOCK_SPEED else 0.0
        outside = dist if self._lane is None else 0.0
        near = np.hypot(*(self.vehicles.xy - xy).T) < 50.0 if self.vehicles.n else np.zeros(0, bool)
        traffic_speed = float(self.vehicles.v[near].mean()) if near.any() else None
        done = self.progress.index >= len(self.route.points) - 2 or self.completion >= 99.5
        standing = self.standing_for() if abs(self.ego.speed) < BLOCK_SPEED else None
        return StepEvents(self.frame, self.t, self.ego.speed, dist, self.completion, off, outside,
                          self.blocked_s, traffic_speed, tuple(collisions), tuple(red), done, standing)

    def _obstacles(self):
        """Everything NPC vehicles must not drive into: positions, velocities, radii, ids.

        Vehicles (the ego included) are three discs of their half-width along their length, not one
        disc of their half-length: one disc would reach into the next lane and let cars side by
        side block each other for good (a bus beside a car is 3.5 m away, its half-length 3.75 m)."""
        v, p = self.vehicles, self.pedestrians
        P, e = self.ego_params, self.ego
        ego_v = [[math.cos(e.yaw) * e.speed, math.sin(e.yaw) * e.speed]]
        car_xy = np.concatenate([v.xy, [[e.x, e.y]]])
        car_yaw = np.concatenate([v.yaw, [e.yaw]])
        car_len = np.concatenate([v.length, [P.length]])
        car_half_w = np.concatenate([v.width, [P.width]]) / 2
        car_v = np.concatenate([v.velocities(), ego_v])
        car_id = np.concatenate([v.instance, [EGO_INSTANCE]])
        heading = np.stack([np.cos(car_yaw), np.sin(car_yaw)], -1)
        reach = np.maximum(car_len / 2 - car_half_w, 0.0)
        xs = [car_xy + heading * (f * reach)[:, None] for f in (-1.0, 0.0, 1.0)] + [p.xy]
        vs = [car_v] * 3 + [p.velocities()]
        rs = [car_half_w] * 3 + [np.full(p.n, 0.4)]
        ids = [car_id] * 3 + [p.instance]
        for a in self.active:
            if a.pedestrian is not None and a.state == "active":
                xs.append([a.pedestrian.xy]), vs.append([[0.0, 0.0]]), rs.append([0.4]), ids.append([a.pedestrian.instance])
        return (np.concatenate([np.reshape(x, (-1, 2)) for x in xs]), np.concatenate([np.reshape(x, (-1, 2)) for x in vs]),
                np.concatenate([np.ravel(r) for r in rs]), np.concatenate([np.ravel(i) for i in ids]))

    def _step_events(self) -> None:
        ego_m = float(self.progress.route.s[self.progress.index])
        for a in self.active:
            ev = a.spec
            if ev.kind == "pedestrian_crossing" and a.pedestrian is not None:
                ped = a.pedestrian
                # time the step-out so the pedestrian reaches the ego's lane as the ego arrives there
                lead = max(10.0, abs(self.ego.speed) * ped.reach_m / ped.speed + 3.0)
                if a.state == "pending" and ego_m >= ev.route_m - lead:
                    a.state, ped.started_at = "active", self.t
                if a.state == "active" and not ped.hit:
                    ped.walked = min(ped.distance, ped.walked + ped.speed * DT)
                    if ped.walked >= ped.distance:
                        a.state = "done"
            elif ev.kind == "lead_vehicle_brake":
                if a.state == "pending" and ego_m >= ev.route_m - 90.0:
                    a.vehicle = self._spawn_on_route(ev.route_m - 50.0, max(self.ego.speed, 5.0), frozen=False)
                    self.vehicles.speed_cap[a.vehicle] = 8.0
                    a.state = "active"
                elif a.state == "active":
                    i = a.vehicle
                    veh_m = ego_m + math.hypot(*(self.vehicles.xy[i] - [self.ego.x, self.ego.y]))
                    if "braked_at" not in a.extra and veh_m >= ev.route_m:
                        a.extra["braked_at"] = self.t
                        self.vehicles.forced_decel[i] = ev.decel_mps2
                    elif "braked_at" in a.extra and self.t - a.extra["braked_at"] > 4.0:
                        self.vehicles.forced_decel[i] = 0.0
                        self.vehicles.speed_cap[i] = np.inf
                        a.state = "done"
            elif ev.kind == "stopped_vehicle" and a.state != "done":
                i = a.vehicle
                gap = math.hypot(*(self.vehicles.xy[i] - [self.ego.x, self.ego.y]))
                if gap < 30.0:
                    a.waited += DT if abs(self.ego.speed) < 0.5 else 0.0
                    a.extra["near_s"] = a.extra.get("near_s", 0.0) + DT
                if a.waited > 3.0 or a.extra.get("near_s", 0.0) > 15.0:
                    self.vehicles.frozen[i] = False
                    a.state = "done"

    def _collide(self, prev: EgoState) -> list[Collision]:
        P = self.ego_params
        e = self.ego
        box = obb_corners(np.array(e.x), np.array(e.y), np.array(e.yaw), P.length / 2, P.width / 2)
        out: list[Collision] = []
        contacts: set[int] = set()
        hard = False
        view = self.actor_view(include_ego=False)
        near = np.hypot(*(view.xy - [e.x, e.y]).T) < 15.0
        if near.any():
            idx = np.flatnonzero(near)
            b = obb_corners(view.xy[idx, 0], view.xy[idx, 1], view.yaw[idx], view.size[idx, 0] / 2, view.size[idx, 1] / 2)
            for k in idx[obb_overlap(box, b)]:
                inst, sem = int(view.instance[k]), int(view.sem[k])
                kind = "pedestrian" if sem == Sem.PEDESTRIAN else "vehicle"
                contacts.add(inst)
                if kind == "vehicle":
                    hard = True
                else:
                    self._knock_down(inst)
                if inst not in self._contacts:
                    out.append(Collision(inst, kind, sem, e.x, e.y, abs(prev.speed)))
        cx, cy, corners, static_sem = self._static
        near = np.flatnonzero((np.abs(cx - e.x) < 30.0) & (np.abs(cy - e.y) < 30.0))
        if len(near):
            hit = near[obb_overlap(box, corners[near])]
            if len(hit):
                hard = True
                contacts.add(0)
                if 0 not in self._contacts:
                    out.append(Collision(0, "static", int(static_sem[hit[0]]), e.x, e.y, abs(prev.speed)))
        if hard:
            self.ego = EgoState(prev.x, prev.y, prev.yaw, 0.0, prev.wheel_angle, 0.0)
        elif any(c.kind == "pedestrian" for c in out):
            self.ego.speed *= 0.7
        self._contacts = contacts
        return out

    def _knock_down(self, inst: int) -> None:
        p = self.pedestrians
        k = np.flatnonzero(p.instance == inst)
        if len(k):
            p.hit[k] = True
        for a in self.active:
            if a.pedestrian is not None and a.pedestrian.instance == inst:
                a.pedestrian.hit = True

    def _red_lights(self, prev: EgoState, xy: np.ndarray) -> list[RedLightRun]:
        old = self._lane
        self._lane = self._track_lane(xy)
        if old is None or self._lane is None:
            return []
        lid_old, s_old, _ = old
        lane = self.town.lanes[lid_old]
        if lane.stop_s is None or lane.signal in self._red_done:
            return []
        lid_new, s_new, _ = self._lane
        s_now = s_new if lid_new == lid_old else lane.length + 1.0
        crossed = s_old < lane.stop_s <= s_now
        if crossed and self.signal_states[lane.signal] == RED:
            self._red_done.add(lane.signal)
            return [RedLightRun(lane.signal, float(xy[0]), float(xy[1]))]
        return []

    def _track_lane(self, xy: np.ndarray):
        """The lane the ego is in (same heading within 60 deg, within half a lane + 0.6 m).

        Looks at the current lane, its successors and neighbours first; a full search only when
        the ego has left all of them."""
        if self._lane is not None:
            cur = self.town.lanes[self._lane[0]]
            for lid in [cur.id, *cur.successors, cur.left, cur.right]:
                if lid < 0:
                    continue
                s, lat, dist = self.town.lane_set.project(lid, xy)
                if dist < 2.35 and -0.5 < s and abs(lat) <= dist + 1e-6:
                    _, h = self.town.lane_set.lookup(np.array([lid]), np.array([s]))
                    if abs((h[0] - self.ego.yaw + math.pi) % (2 * math.pi) - math.pi) < math.radians(60):
                        return lid, s, lat
        return self.town.nearest_lane(xy, self.ego.yaw, max_dist=2.35)

    # -- ground truth (harness.backends.truth.GroundTruth) ----------------------------------------------
    def route_index(self) -> int:
        return self.progress.index

    def signal_state(self, signal: int) -> int:
        return int(self.signal_states[signal])

    def signal_lamps(self) -> list[tuple[int, float, float]]:
        return [(h.id, float(h.head[0]), float(h.head[1])) for h in self.town.signals]

    def stop_lines_ahead(self, horizon: int) -> list[StopLine]:
        """The stop lines of the lanes under the next ``horizon`` route points (1 m each), in order."""
        out = []
        for lid in dict.fromkeys(self.route.lanes[self.progress.index : self.progress.index + horizon].tolist()):
            lane = self.town.lanes[lid]
            if lane.stop_s is None or lane.signal is None or lane.signal < 0:
                continue
            p = self.town.lane_set.lookup(np.array([lane.id]), np.array([lane.stop_s]))[0][0]
            out.append(StopLine(int(lane.signal), (float(p[0]), float(p[1]))))
        return out

    def next_stop_line(self, horizon: int = 60) -> tuple[float, int | None]:
        return next_stop_line(self, horizon)

    def standing_for(self) -> str:
        return standing_for(self)

    # -- views for sensors and agents -----------------------------------------------------------
    def actor_view(self, include_ego: bool = True) -> ActorView:
        """Every actor's pose, size, class, id, colour and light flags; the ego comes first.
        Built once per state and shared by collisions, sensors and the autopilot."""
        if self._view is None:
            self._view = self._build_view()
        view = self._view
        if include_ego:
            return view
        return ActorView(*(getattr(view, f)[1:] for f in ActorView.__dataclass_fields__))

    def _build_view(self) -> ActorView:
        include_ego = True
        v, p = self.vehicles, self.pedestrians
        parts = []
        if include_ego:
            P = self.ego_params
            parts.append(([[self.ego.x, self.ego.y]], [self.ego.yaw], [[P.length, P.width, P.height]], [int(Sem.CAR)],
                          [EGO_INSTANCE], [[0.15, 0.2, 0.35]], [0]))
        if v.n:
            flags = v.braking.astype(np.int64) | (v.frozen.astype(np.int64) << 1)
            parts.append((v.xy, v.yaw, np.stack([v.length, v.width, v.height], -1), v.sem, v.instance, v.color, flags))
        if p.n:
            size = np.tile(PED_SIZE, (p.n, 1))
            parts.append((p.xy, p.yaw, size, np.full(p.n, int(Sem.PEDESTRIAN)), p.instance, p.color,
                          p.hit.astype(np.int64) << 2))
        for prop in self.props:
            parts.append(([[prop.x, prop.y]], [prop.yaw], [[prop.length, prop.width, prop.height]], [prop.sem],
                          [prop.instance], [prop.color], [0]))
        for a in self.active:
            ped = a.pedestrian
            if ped is not None:
                d = ped.direction
                parts.append(([ped.xy], [math.atan2(d[1], d[0])], [PED_SIZE], [int(Sem.PEDESTRIAN)], [ped.instance],
                              [[0.3, 0.25, 0.2]], [4 if ped.hit else 0]))
        if not parts:
            z = np.zeros(0)
            return ActorView(np.zeros((0, 2)), z, np.zeros((0, 3)), z.astype(int), z.astype(int), np.zeros((0, 3)), z.astype(int))
        cols = list(zip(*parts))
        arr = [np.concatenate([np.asarray(c, dtype=float).reshape(len(c) if np.ndim(c) == 1 else -1, *np.shape(c)[1:]) for c in col]) for col in cols]
        return ActorView(arr[0].reshape(-1, 2), arr[1].ravel(), arr[2].reshape(-1, 3), arr[3].astype(np.int64).ravel(),
                         arr[4].astype(np.int64).ravel(), arr[5].reshape(-1, 3), arr[6].astype(np.int64).ravel())


def _static_obstacles(town: Town):
    """Centres and OBB corners of everything solid at the roadside: buildings, poles, trunks."""
    cx, cy, corners, sem = [], [], [], []
    for b in town.buildings:
        c = obb_corners(np.array(b.center[0]), np.array(b.center[1]), np.array(math.radians(b.yaw_deg)), b.size[0] / 2, b.size[1] / 2)
        cx.append(b.center[0]), cy.append(b.center[1]), corners.append(c), sem.append(b.sem)
    poles = [(x, y, Sem.POLE) for x, y, _, _ in town.lamps] + [(s.pole[0], s.pole[1], Sem.POLE) for s in town.signals]
    poles += [(x, y, Sem.VEGETATION) for x, y, _ in town.trees]
    for x, y, s in poles:
        corners.append(obb_corners(np.array(x), np.array(y), np.array(0.0), 0.2, 0.2))
        cx.append(x), cy.append(y), sem.append(int(s))
    return np.array(cx), np.array(cy), np.array(corners).reshape(-1, 4, 2), np.array(sem)
