"""The CARLA backend's episode: a route driven on a CARLA 0.9.16 server, scored like the embedded one.

Per route (``load``): the CARLA town of the scenario (``scenarios/routes/carla/towns.yaml``), synchronous mode
at 20 Hz, the traffic manager synchronous on this worker's port with the run's seed, and the route's
waypoints densified along the map's lanes (1 m, as the embedded routes).

Per episode (``reset``): the weather (:mod:`.weather`), street lights and vehicle lights at night, the
ego (``vehicle.lincoln.mkz_2020``, the leaderboard's) at the route start, the rig's sensors attached
(:mod:`.sensors`), the scenario's scripted events placed on the route from the seed (:mod:`.events`:
crossing pedestrians behind parked vans, braking lead cars, standing cars with hazard lights, as the
embedded world places them), NPC vehicles on the traffic manager's autopilot and walkers with CARLA's AI
controllers, as many as the scenario's traffic asks for, placed from the seed.

Per tick (``step``): the control applied, the scripted events advanced, one ``world.tick()``, every
camera's image of that frame (the thermal image made from the thermal-pose cameras by the shared
thermal model), and the events the metrics collector scores, from the same definitions as the
embedded world: collisions from the collision sensor (kind from the other actor's type), red lights
from the lights' states and stop waypoints, route progress from the shared tracker
(:class:`harness.world.routing.RouteProgress`), driving off-road or against the lane's direction from
the map, standing still and what stands in front (:func:`harness.backends.truth.standing_for`). The
events' actors are actors like any other: a contact with the scripted walker is a pedestrian
collision, with its van or cars a vehicle collision, and the ground truth lists them (brake lights
and hazards from the vehicles' light states in its flags). Where CARLA's events differ from the
embedded ones (walker physics, the van's size, spawning where there is room, the traffic manager
driving the lead car) is in :mod:`.events`.

Not on CARLA: privileged frames such as ``oracle_clean``'s (the same view in clear weather in the same
tick), which are refused with one line.
"""

from __future__ import annotations

import math
import queue
import random
from dataclasses import replace

import numpy as np

from harness.backends.base import Backend, SensorFrame, compass_of, location_to_gnss
from harness.backends.carla import sensors as S
from harness.backends.carla.events import CarlaEvents, junction_mask, map_edges, plan, warn
from harness.backends.carla.server import ServerSpec, connect, import_carla
from harness.backends.carla.towns import carla_town
from harness.backends.carla.weather import lights, to_carla
from harness.backends.records import Collision, RedLightRun, StepEvents, VehicleControl
from harness.backends.truth import GREEN, RED, YELLOW, ActorView, StopLine, next_stop_line, standing_for
from harness.errors import ConfigError, WrongOrderError
from harness.semantics import Sem
from harness.world.ego import EgoParams, EgoState
from harness.world.routing import POINT_STEP_M, RoadOption, Route, RouteProgress

DT = 0.05  # [s] 20 Hz, as the leaderboard runs CARLA
EGO_BLUEPRINT = "vehicle.lincoln.mkz_2020"
SENSOR_TIMEOUT_S = 10.0  # [s] wait for a camera's image of the frame just ticked
CONTACT_GAP_S = 1.0  # [s] a contact with the same actor after this long counts as a new collision
BLOCK_SPEED = 0.1  # [m/s]
NEAR_TRAFFIC_M = 50.0
SPAWN_CLEAR_M = 15.0  # [m] no NPC vehicle spawns this close to the ego's start
STOP_ON_ROUTE_M = 2.5  # [m] a stop waypoint this close to a route point is on the route


def map_name(name: str) -> str:
    """``Carla/Maps/Town05`` -> ``Town05``."""
    return str(name).rsplit("/", 1)[-1]


def route_from_dense(route_id: str, town: str, dense: np.ndarray) -> Route:
    """A :class:`Route` from ``(N, 5)`` x, y, z, yaw [deg], RoadOption points (``routes.densify``;
    ``(N, 4)``: every point LANEFOLLOW); lanes unknown: -1."""
    pts = np.ascontiguousarray(dense[:, :2], dtype=np.float64)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    n = len(pts)
    return Route(id=str(route_id), town=town, points=pts, headings=np.radians(dense[:, 3]), lanes=np.full(n, -1, np.int64),
                 options=(dense[:, 4].astype(np.int64) if dense.shape[1] > 4 else np.full(n, int(RoadOption.LANEFOLLOW), np.int64)),
                 s=s, lane_seq=())


def light_state(carla, state) -> int:
    """``carla.TrafficLightState`` -> RED / YELLOW / GREEN (Off and Unknown count as green: no stop)."""
    return {carla.TrafficLightState.Red: RED, carla.TrafficLightState.Yellow: YELLOW}.get(state, GREEN)


class CarlaTruth:
    """:class:`harness.backends.truth.GroundTruth` answered from the CARLA world of a backend."""

    def __init__(self, backend: "CarlaBackend") -> None:
        self.b = backend

    @property
    def t(self) -> float:
        return self.b.t

    @property
    def route(self) -> Route:
        return self.b.route

    @property
    def ego_params(self) -> EgoParams:
        return self.b.ego_params

    @property
    def ego(self) -> EgoState:
        tf, v = self.b.ego.get_transform(), self.b.ego.get_velocity()
        return EgoState(tf.location.x, tf.location.y, math.radians(tf.rotation.yaw), math.hypot(v.x, v.y))

    def route_index(self) -> int:
        return self.b.progress.index

    def actor_view(self, include_ego: bool = True) -> ActorView:
        rows = []
        actors = list(self.b.world.get_actors().filter("vehicle.*")) + list(self.b.world.get_actors().filter("walker.pedestrian.*"))
        down = self.b.events.knocked_down if self.b.events is not None else set()
        L = self.b.carla.VehicleLightState
        hazards = int(L.LeftBlinker) | int(L.RightBlinker)
        for a in sorted(actors, key=lambda a: (a.id != self.b.ego.id, a.id)):
            if a.id == self.b.ego.id and not include_ego:
                continue
            tf, ext = a.get_transform(), a.bounding_box.extent
            walker = a.type_id.startswith("walker")
            sem = Sem.PEDESTRIAN if walker else Sem.CAR
            # flags as the embedded world's: bit 0 braking, bit 1 hazard lights, bit 2 knocked down
            lit = 0 if walker else int(a.get_light_state())
            flags = int(bool(lit & int(L.Brake))) | (2 if (lit & hazards) == hazards else 0) | (4 if a.id in down else 0)
            rows.append((tf.location.x, tf.location.y, math.radians(tf.rotation.yaw), 2 * ext.x, 2 * ext.y, 2 * ext.z, int(sem),
                         a.id, flags))
        a = np.array(rows, dtype=np.float64).reshape(-1, 9)
        n = len(a)
        return ActorView(a[:, :2].copy(), a[:, 2].copy(), a[:, 3:6].copy(), a[:, 6].astype(np.int64), a[:, 7].astype(np.int64),
                         np.zeros((n, 3)), a[:, 8].astype(np.int64))

    def signal_state(self, signal: int) -> int:
        return light_state(self.b.carla, self.b.lights_by_id[signal].get_state())

    def signal_lamps(self) -> list[tuple[int, float, float]]:
        return [(i, tl.get_location().x, tl.get_location().y) for i, tl in sorted(self.b.lights_by_id.items())]

    def stop_lines_ahead(self, horizon: int) -> list[StopLine]:
        i0 = self.route_index()
        return [StopLine(sig, xy) for idx, sig, xy in self.b.route_stops if i0 <= idx < i0 + horizon]

    def next_stop_line(self, horizon: int = 60) -> tuple[float, int | None]:
        return next_stop_line(self, horizon)

    def standing_for(self) -> str:
        return standing_for(self)


class CarlaBackend(Backend):
    """One CARLA server connection (this worker's ports); one route at a time."""

    name = "carla"

    def __init__(self, scenario, privileged: bool = False, server: ServerSpec | None = None, worker: int = 0,
                 client=None, carla_module=None) -> None:
        self.carla = carla_module or import_carla()
        self.scenario = scenario
        self.rig = scenario.rig
        self.privileged = privileged
        self.thermal = True
        self.server = server or ServerSpec()
        self.ports = self.server.for_worker(worker)
        self.client = client if client is not None else connect(self.server, worker)
        self.town, _ = carla_town(scenario)
        self._specs = {r.id: r for r in scenario.load_routes()}
        self.world = None
        self.map = None
        self._geo: tuple[float, float] | None = None
        self.route: Route | None = None
        self.route_stops: list[tuple[int, int, tuple[float, float]]] = []
        self.lights_by_id: dict[int, object] = {}
        self.tm = None
        self.ego = None
        self.ego_params = EgoParams()
        self.planned: list = []  # the route's scripted events (harness.backends.carla.events.plan), from load
        self.events: CarlaEvents | None = None  # ... as actors, from reset
        self._route_z = np.zeros(0)
        self._actors: list = []
        self._controllers: list = []
        self._sensors: dict[str, tuple[object, queue.Queue]] = {}
        self._reset_done = False
        self.seed = 0

    # -- what callers may read ---------------------------------------------------------------------
    @property
    def geo_reference(self) -> tuple[float, float]:
        """The map's origin in GPS (its OpenDRIVE header's geo reference; CARLA's own towns are at (0, 0))."""
        if self.map is None:
            return (0.0, 0.0)
        if self._geo is None:
            g = self.map.transform_to_geolocation(self.carla.Location(x=0.0, y=0.0, z=0.0))
            self._geo = (float(g.latitude), float(g.longitude))
        return self._geo

    @property
    def ground_truth(self) -> CarlaTruth:
        if self.route is None:
            raise WrongOrderError("CarlaBackend.ground_truth before load(route_id, seed); call load first")
        return CarlaTruth(self)  # reads the world when asked: valid from reset on

    @property
    def route_ids(self) -> list[str]:
        return list(self._specs)

    @property
    def image_source(self) -> str | None:
        try:
            return f"CARLA {self.client.get_server_version()}"
        except Exception:  # noqa: BLE001 (provenance only: an unanswered query must not fail the route)
            return None

    def configure(self, rig, privileged: bool, thermal: bool = True) -> None:
        if privileged:
            raise ConfigError("privileged frames (oracle_clean's clear-weather view, data collection) are not available on "
                              "the CARLA backend: CARLA renders one weather per tick")
        self.rig, self.privileged, self.thermal = rig, privileged, thermal

    # -- a route -----------------------------------------------------------------------------------
    def load(self, route_id: str, seed: int) -> Route:
        from harness.backends.carla.routes import densify

        route_id = str(route_id)
        if route_id not in self._specs:
            raise ConfigError(f"route {route_id!r} is not in {self.scenario.routes_path}; available: {', '.join(self._specs)}")
        world = self.client.get_world()
        if map_name(world.get_map().name) != self.town:
            world = self.client.load_world(self.town)
        settings = world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = DT
        world.apply_settings(settings)
        self.world, self.map, self._geo = world, world.get_map(), None
        self.tm = self.client.get_trafficmanager(self.ports.traffic_manager)
        self.tm.set_synchronous_mode(True)
        self.tm.set_random_device_seed(int(seed))
        world.set_pedestrians_seed(int(seed))
        spec = self._specs[route_id]
        dense = densify(self.map, [(w.x, w.y, w.z) for w in spec.waypoints], POINT_STEP_M, self.carla)
        self.route = route_from_dense(route_id, self.town, dense)
        self.seed = int(seed)
        self._route_z = np.ascontiguousarray(dense[:, 2], dtype=np.float64)
        in_junction = junction_mask(self.map, self.carla, self.route.points, self._route_z)
        self.planned, skipped = plan(self.scenario.events, self.route, in_junction, self.seed,
                                     map_edges(self.map, self.carla, self.route, self._route_z))
        for ev in skipped:
            warn(f"CARLA events: no place on route {route_id} for the {ev.kind} at {ev.route_m:g} m (none from there on a "
                 "lane clear of junctions, after the first stretch and before the end); that event is skipped")
        self._reset_done = False
        return self.route

    def reset(self) -> SensorFrame:
        if self.route is None:
            raise WrongOrderError("CarlaBackend.reset() before load(route_id, seed); call load first")
        carla = self.carla
        self._destroy()
        w = self.scenario.weather
        self.world.set_weather(to_carla(w, carla))
        lit = lights(w)
        lm = self.world.get_lightmanager()
        street = lm.get_all_lights(carla.LightGroup.Street)
        (lm.turn_on if lit.street_lights else lm.turn_off)(street)
        lib = self.world.get_blueprint_library()
        bp = lib.find(EGO_BLUEPRINT)
        bp.set_attribute("role_name", "hero")
        p0, yaw0 = self.route.points[0], math.degrees(float(self.route.headings[0]))
        start = carla.Transform(carla.Location(x=float(p0[0]), y=float(p0[1]), z=0.5), carla.Rotation(yaw=yaw0))
        self.ego = self.world.spawn_actor(bp, start)
        self._actors.append(self.ego)
        ext = self.ego.bounding_box.extent
        self.ego_params = replace(EgoParams(), length=2 * ext.x, width=2 * ext.y, height=2 * ext.z)
        if lit.vehicle_lights:
            self.ego.set_light_state(carla.VehicleLightState(carla.VehicleLightState.LowBeam | carla.VehicleLightState.Position))
        for b in S.sensor_blueprints(self.rig, self.thermal):
            sbp = lib.find(b.blueprint)
            for k, v in b.attributes.items():
                if sbp.has_attribute(k):
                    sbp.set_attribute(k, v)
            sensor = self.world.spawn_actor(sbp, S.transform(b.pose, carla), attach_to=self.ego)
            q: queue.Queue = queue.Queue()
            sensor.listen(q.put)
            self._sensors[b.name] = (sensor, q)
            self._actors.append(sensor)
        self.events = CarlaEvents(self, self.planned, self._route_z, lit.vehicle_lights)
        self.events.spawn(lib)  # before the traffic, so that no NPC spawns on an event's actors
        self._spawn_traffic(lib, lit.vehicle_lights)
        from harness.sensors.thermal import ThermalCamera

        self._thermal_cam = ThermalCamera(self.rig.thermal, self.seed) if self.thermal else None
        self._noise = np.random.default_rng([self.seed, 1])
        self.lights_by_id = {tl.id: tl for tl in self.world.get_actors().filter("traffic.traffic_light*")}
        self.route_stops = self._route_stops()
        self.progress = RouteProgress(self.route)
        self.t, self.frame, self.completion, self.blocked_s = 0.0, 0, 0.0, 0.0
        self._xy = (float(p0[0]), float(p0[1]))
        self._contacts: dict[int, float] = {}
        self._red_done: set[int] = set()
        self._reset_done = True
        frame_id = self.world.tick()
        for c in self._controllers:  # a walker's AI starts after its first tick
            c.start()
            c.go_to_location(self.world.get_random_location_from_navigation())
            c.set_max_speed(1.0 + 0.5 * random.Random(self.seed * 7919 + c.id).random())
        return self._sensor_frame(frame_id)

    def step(self, control: VehicleControl) -> tuple[SensorFrame, StepEvents]:
        if not self._reset_done:
            raise WrongOrderError("CarlaBackend.step() before reset(); call load(...) then reset()")
        self.ego.apply_control(self.carla.VehicleControl(throttle=float(control.throttle), steer=float(control.steer),
                                                         brake=float(control.brake), hand_brake=bool(control.hand_brake),
                                                         reverse=bool(control.reverse)))
        tf, v = self.ego.get_transform(), self.ego.get_velocity()
        self.events.advance(self.t + DT, (tf.location.x, tf.location.y), math.hypot(v.x, v.y),
                            float(self.route.s[self.progress.index]), DT)
        frame_id = self.world.tick()
        self.t += DT
        self.frame += 1
        frame = self._sensor_frame(frame_id)
        return frame, self._events(frame_id)

    def close(self) -> None:
        try:
            self._destroy()
            if self.world is not None:
                settings = self.world.get_settings()
                settings.synchronous_mode = False
                settings.fixed_delta_seconds = None
                self.world.apply_settings(settings)
            if self.tm is not None:
                self.tm.set_synchronous_mode(False)
        finally:
            self.world = None

    # -- inside ------------------------------------------------------------------------------------
    def _destroy(self) -> None:
        if self.events is not None:
            self.events.destroy()
            self.events = None
        for sensor, _ in self._sensors.values():
            sensor.stop()
        for c in self._controllers:
            c.stop()
        for a in reversed(self._controllers + self._actors):
            a.destroy()
        self._actors, self._controllers, self._sensors = [], [], {}
        self.ego = None

    def _spawn_points(self):
        pts = list(self.map.get_spawn_points())
        if not pts:  # a map without the level's spawn points (an OpenDRIVE-only map): lanes every 10 m
            pts = [w.transform for w in self.map.generate_waypoints(10.0) if not w.is_junction]
        p0 = self.route.points[0]
        return [t for t in pts if math.hypot(t.location.x - p0[0], t.location.y - p0[1]) > SPAWN_CLEAR_M]

    def _spawn_traffic(self, lib, vehicle_lights: bool) -> None:
        carla, rng = self.carla, random.Random(self.seed)
        cars = sorted((b for b in lib.filter("vehicle.*") if not b.has_attribute("number_of_wheels")
                       or b.get_attribute("number_of_wheels").as_int() == 4), key=lambda b: b.id)
        spots = self._spawn_points()
        rng.shuffle(spots)
        for tf in spots[: self.scenario.traffic.vehicles]:
            bp = rng.choice(cars)
            tf = carla.Transform(carla.Location(x=tf.location.x, y=tf.location.y, z=tf.location.z + 0.5), tf.rotation)
            v = self.world.try_spawn_actor(bp, tf)
            if v is None:
                continue
            v.set_autopilot(True, self.ports.traffic_manager)
            if vehicle_lights:
                self.tm.update_vehicle_lights(v, True)
            self._actors.append(v)
        people = sorted(lib.filter("walker.pedestrian.*"), key=lambda b: b.id)
        ai = lib.find("controller.ai.walker")
        for _ in range(self.scenario.traffic.pedestrians):
            loc = self.world.get_random_location_from_navigation()
            if loc is None or not people:
                continue
            bp = rng.choice(people)
            if bp.has_attribute("is_invincible"):
                bp.set_attribute("is_invincible", "false")
            walker = self.world.try_spawn_actor(bp, carla.Transform(loc))
            if walker is None:
                continue
            self._actors.append(walker)
            self._controllers.append(self.world.spawn_actor(ai, carla.Transform(), attach_to=walker))

    def _route_stops(self) -> list[tuple[int, int, tuple[float, float]]]:
        """(route index, light id, stop line centre) of every stop waypoint on the route, in route order."""
        pts, out = self.route.points, []
        for lid, tl in self.lights_by_id.items():
            for wp in tl.get_stop_waypoints():
                loc = wp.transform.location
                d = np.hypot(pts[:, 0] - loc.x, pts[:, 1] - loc.y)
                k = int(np.argmin(d))
                heading = math.radians(wp.transform.rotation.yaw)
                aligned = math.cos(heading - float(self.route.headings[k])) > 0.5
                if d[k] <= STOP_ON_ROUTE_M and aligned:
                    out.append((k, lid, (float(loc.x), float(loc.y))))
        return sorted(out)

    def _wait(self, name: str, frame_id: int):
        sensor, q = self._sensors[name]
        while True:
            try:
                data = q.get(timeout=SENSOR_TIMEOUT_S)
            except queue.Empty:
                raise RuntimeError(f"CARLA sent no {name} data for frame {frame_id} within {SENSOR_TIMEOUT_S:g} s") from None
            if data.frame >= frame_id:
                return data

    def _image(self, name: str, frame_id: int, cam) -> np.ndarray:
        return S.bgra(self._wait(name, frame_id).raw_data, cam.height, cam.width)

    def _sensor_frame(self, frame_id: int) -> SensorFrame:
        rgb = S.rgb_of(self._image("rgb", frame_id, self.rig.rgb))
        if self.thermal:
            tcam = self.rig.thermal.camera
            th = S.thermal_frame(self._thermal_cam, self._image("thermal_semantic", frame_id, tcam),
                                 self._image("thermal_instance", frame_id, tcam), self._image("thermal_depth", frame_id, tcam),
                                 self.scenario.weather, self._noise)
            thermal, kelvin = th.image, th.kelvin
        else:
            thermal, kelvin = np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.float32)
        tf, v = self.ego.get_transform(), self.ego.get_velocity()
        return SensorFrame(frame=self.frame, timestamp=self.t, rgb=rgb, thermal=thermal, thermal_kelvin=kelvin,
                           speed=float(math.hypot(v.x, v.y)),
                           gnss=location_to_gnss(tf.location.x, tf.location.y, tf.location.z, *self.geo_reference),
                           compass=compass_of(math.radians(tf.rotation.yaw)))

    def _drain(self, name: str, frame_id: int) -> list:
        _, q = self._sensors[name]
        out = []
        while True:
            try:
                ev = q.get_nowait()
            except queue.Empty:
                return out
            if ev.frame <= frame_id:
                out.append(ev)

    def _events(self, frame_id: int) -> StepEvents:
        truth = CarlaTruth(self)
        ego = truth.ego
        xy = (ego.x, ego.y)
        dist = math.hypot(xy[0] - self._xy[0], xy[1] - self._xy[1])
        completion, off = self.progress.update(np.array(xy))
        self.completion = max(self.completion, completion)
        collisions = []
        for ev in self._drain("collision", frame_id):
            other = ev.other_actor
            last = self._contacts.get(other.id)
            self._contacts[other.id] = self.t
            if last is not None and self.t - last < CONTACT_GAP_S:
                continue
            tid = other.type_id
            self.events.hit(other.id)
            kind, sem = (("pedestrian", Sem.PEDESTRIAN) if tid.startswith("walker") else
                         ("vehicle", Sem.CAR) if tid.startswith("vehicle") else ("static", Sem.UNLABELED))
            collisions.append(Collision(other_id=int(other.id), kind=kind, sem=int(sem), x=xy[0], y=xy[1], ego_speed=ego.speed))
        self._drain("lane_invasion", frame_id)  # outside-lane driving is measured from the map below
        reds = []
        for idx, sig, (sx, sy) in self.route_stops:
            if sig in self._red_done or truth.signal_state(sig) != RED:
                continue
            h = float(self.route.headings[idx])
            before = (self._xy[0] - sx) * math.cos(h) + (self._xy[1] - sy) * math.sin(h)
            after = (xy[0] - sx) * math.cos(h) + (xy[1] - sy) * math.sin(h)
            lateral = abs(-(xy[0] - sx) * math.sin(h) + (xy[1] - sy) * math.cos(h))
            if before < 0.0 <= after and lateral < 3.5:
                self._red_done.add(sig)
                reds.append(RedLightRun(signal_id=int(sig), x=xy[0], y=xy[1]))
        outside = 0.0
        wp = self.map.get_waypoint(self.carla.Location(x=xy[0], y=xy[1], z=0.0), project_to_road=False,
                                   lane_type=self.carla.LaneType.Driving)
        if wp is None:
            outside = dist
        elif not wp.is_junction and math.cos(math.radians(wp.transform.rotation.yaw) - ego.yaw) < 0.0:
            outside = dist  # against the lane's direction
        self.blocked_s = self.blocked_s + DT if ego.speed < BLOCK_SPEED else 0.0
        props = self.events.prop_ids  # parked vans are not traffic
        near = [a for a in self.world.get_actors().filter("vehicle.*") if a.id != self.ego.id and a.id not in props
                and math.hypot(a.get_location().x - xy[0], a.get_location().y - xy[1]) < NEAR_TRAFFIC_M]
        traffic = float(np.mean([math.hypot(a.get_velocity().x, a.get_velocity().y) for a in near])) if near else None
        done = self.progress.index >= len(self.route.points) - 2 or self.completion >= 99.5
        self._xy = xy
        return StepEvents(frame=self.frame, time=self.t, speed=ego.speed, distance_m=dist, route_completion=self.completion,
                          off_route_m=off, outside_lanes_m=outside, blocked_s=self.blocked_s, traffic_speed=traffic,
                          collisions=tuple(collisions), red_lights=tuple(reds), route_done=done,
                          standing_for=truth.standing_for() if ego.speed < BLOCK_SPEED else None)
