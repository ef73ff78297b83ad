"""A small stand-in for what only a CARLA server does: the world that ticks, its actors and sensors.

Everything a client builds without a server is the real ``carla`` 0.9.16 object: the map (from
OpenDRIVE the tests write), transforms, locations, controls, weather, world settings, geolocation.
The fake adds, as simply as keeps the backend honest: a synchronous world that advances 50 ms per
``tick()``; an ego with a kinematic bicycle model; NPC vehicles that follow their lane at a constant
speed (the traffic manager's desired speed where one is set); walkers that stand on the kerb, or walk
where their ``carla.WalkerControl`` sends them; light states, physics off (a parked prop stays put);
traffic lights that cycle red and green with stop waypoints
from the real map; cameras whose images have CARLA's encodings (semantic ids in red, depth in 24
bits, instance ids in green and blue); a collision sensor that fires
when the ego's box meets another actor's.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import random

import carla
import numpy as np

from harness.backends.carla import sensors as S
from harness.semantics import Sem

DT = 0.05
NPC_SPEED = 4.0  # [m/s]
RED_S, GREEN_S = 6.0, 6.0
BLUEPRINTS = ("vehicle.lincoln.mkz_2020", "vehicle.tesla.model3", "vehicle.mercedes.sprinter", "vehicle.bh.crossbike",
              "walker.pedestrian.0001",
              "walker.pedestrian.0002", "controller.ai.walker", "sensor.camera.rgb", "sensor.camera.semantic_segmentation",
              "sensor.camera.instance_segmentation", "sensor.camera.depth", "sensor.other.collision",
              "sensor.other.lane_invasion")


class Attribute:
    def __init__(self, value: str) -> None:
        self.value = value

    def as_int(self) -> int:
        return int(self.value)


class Blueprint:
    def __init__(self, bp_id: str) -> None:
        self.id = bp_id
        self.attrs: dict[str, str] = {"role_name": "autopilot"}
        if bp_id.startswith("vehicle."):
            self.attrs["number_of_wheels"] = "2" if "bike" in bp_id else "4"
        if bp_id.startswith("walker."):
            self.attrs["is_invincible"] = "true"
        if bp_id.startswith("sensor.camera"):
            self.attrs |= {"image_size_x": "800", "image_size_y": "600", "fov": "90", "sensor_tick": "0.0", "gamma": "2.2"}

    def has_attribute(self, k: str) -> bool:
        return k in self.attrs

    def set_attribute(self, k: str, v: str) -> None:
        if k not in self.attrs:
            raise IndexError(f"blueprint {self.id} has no attribute {k}")
        self.attrs[k] = str(v)

    def get_attribute(self, k: str) -> Attribute:
        return Attribute(self.attrs[k])


class Library:
    def find(self, bp_id: str) -> Blueprint:
        if bp_id not in BLUEPRINTS:
            raise IndexError(f"no blueprint {bp_id}")
        return Blueprint(bp_id)

    def filter(self, pattern: str) -> list[Blueprint]:
        return [Blueprint(b) for b in BLUEPRINTS if fnmatch.fnmatch(b, pattern)]


class ActorList(list):
    def filter(self, pattern: str) -> "ActorList":
        return ActorList(a for a in self if fnmatch.fnmatch(a.type_id, pattern))


class Actor:
    def __init__(self, world: "World", type_id: str, tf: carla.Transform, parent: "Actor | None" = None) -> None:
        self.world, self.type_id, self.parent = world, type_id, parent
        self.id = next(world.ids)
        self.tf = tf
        self.speed = 0.0
        self.bounding_box = carla.BoundingBox(carla.Location(), carla.Vector3D(0.3, 0.3, 0.9))
        self.alive = True
        self.physics = True

    def get_transform(self) -> carla.Transform:
        if self.parent is None:
            return carla.Transform(carla.Location(x=self.tf.location.x, y=self.tf.location.y, z=self.tf.location.z),
                                   carla.Rotation(pitch=self.tf.rotation.pitch, yaw=self.tf.rotation.yaw, roll=self.tf.rotation.roll))
        p = self.parent.get_transform()
        loc = p.transform(self.tf.location)
        return carla.Transform(loc, carla.Rotation(pitch=self.tf.rotation.pitch, yaw=p.rotation.yaw + self.tf.rotation.yaw,
                                                   roll=self.tf.rotation.roll))

    def get_location(self) -> carla.Location:
        return self.get_transform().location

    def get_velocity(self) -> carla.Vector3D:
        yaw = math.radians(self.tf.rotation.yaw)
        return carla.Vector3D(self.speed * math.cos(yaw), self.speed * math.sin(yaw), 0.0)

    def set_transform(self, tf: carla.Transform) -> None:
        assert isinstance(tf, carla.Transform)
        self.tf = tf

    def set_simulate_physics(self, enabled: bool = True) -> None:
        self.physics = bool(enabled)

    def set_target_velocity(self, v: carla.Vector3D) -> None:
        self.speed = math.hypot(v.x, v.y)

    def destroy(self) -> bool:
        self.alive = False
        self.world.actors = [a for a in self.world.actors if a is not self]
        return True


class Vehicle(Actor):
    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.bounding_box = carla.BoundingBox(carla.Location(), carla.Vector3D(2.45, 1.05, 0.75))
        self.control = carla.VehicleControl()
        self.autopilot = False
        self.light_state = None
        self.tm_speed: float | None = None  # [m/s] the traffic manager's desired speed for it, if set

    def apply_control(self, control: carla.VehicleControl) -> None:
        assert isinstance(control, carla.VehicleControl)
        self.control = control

    def set_autopilot(self, on: bool, port: int) -> None:
        self.autopilot, self.tm_port = on, port

    def set_light_state(self, state) -> None:
        assert isinstance(state, carla.VehicleLightState)
        self.light_state = state

    def get_light_state(self):
        return carla.VehicleLightState.NONE if self.light_state is None else self.light_state

    def get_control(self) -> carla.VehicleControl:
        return self.control

    def advance(self, cmap) -> None:
        if not self.physics:
            return
        yaw = math.radians(self.tf.rotation.yaw)
        if self.autopilot:
            v = NPC_SPEED if self.tm_speed is None else self.tm_speed
            wp = cmap.get_waypoint(self.tf.location)
            nxt = wp.next(v * DT) if wp is not None and v > 0 else []
            if nxt:
                self.speed = v
                self.tf = carla.Transform(nxt[0].transform.location + carla.Location(z=self.tf.location.z),
                                          nxt[0].transform.rotation)
            return
        c = self.control
        a = 3.0 * c.throttle - 8.0 * c.brake
        self.speed = max(0.0, self.speed + a * DT)
        yaw += self.speed * math.tan(math.radians(35.0) * c.steer) / 2.9 * DT
        loc = self.tf.location
        self.tf = carla.Transform(carla.Location(x=loc.x + self.speed * math.cos(yaw) * DT,
                                                 y=loc.y + self.speed * math.sin(yaw) * DT, z=loc.z),
                                  carla.Rotation(yaw=math.degrees(yaw)))


class Walker(Actor):
    """Stands until a ``carla.WalkerControl`` sends it: then ``speed`` m/s along ``direction``, facing it."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.control = carla.WalkerControl()

    def apply_control(self, control: carla.WalkerControl) -> None:
        assert isinstance(control, carla.WalkerControl)
        self.control = control

    def get_control(self) -> carla.WalkerControl:
        return self.control

    def advance(self) -> None:
        d, v = self.control.direction, self.control.speed
        n = math.hypot(d.x, d.y)
        self.speed = v if n > 0 else 0.0
        if self.speed <= 0.0:
            return
        loc = self.tf.location
        self.tf = carla.Transform(carla.Location(x=loc.x + v * d.x / n * DT, y=loc.y + v * d.y / n * DT, z=loc.z),
                                  carla.Rotation(yaw=math.degrees(math.atan2(d.y, d.x))))


class Controller(Actor):
    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def go_to_location(self, loc) -> None:
        self.target = loc

    def set_max_speed(self, v: float) -> None:
        self.max_speed = v


class Light(Actor):
    def __init__(self, world, tf, stop_wps, phase: float) -> None:
        super().__init__(world, "traffic.traffic_light", tf)
        self.stop_wps, self.phase = stop_wps, phase

    def get_state(self):
        t = (self.world.t + self.phase) % (RED_S + GREEN_S)
        return carla.TrafficLightState.Red if t < RED_S else carla.TrafficLightState.Green

    def get_stop_waypoints(self):
        return list(self.stop_wps)


class Data:
    """A sensor reading: ``frame`` plus what the kind carries (``raw_data``, ``latitude``...)."""

    def __init__(self, frame: int, **kw) -> None:
        self.frame = frame
        self.__dict__.update(kw)


class Sensor(Actor):
    def __init__(self, world, bp: Blueprint, tf, parent) -> None:
        super().__init__(world, bp.id, tf, parent)
        self.attrs = dict(bp.attrs)
        self.callback = None

    def listen(self, cb) -> None:
        self.callback = cb

    def stop(self) -> None:
        self.callback = None

    def emit(self, frame: int) -> None:
        if self.callback is None:
            return
        kind = self.type_id
        if kind.startswith("sensor.camera"):
            w, h = int(self.attrs["image_size_x"]), int(self.attrs["image_size_y"])
            self.callback(Data(frame, width=w, height=h, raw_data=self.world.image(kind, w, h).tobytes()))
        elif kind == "sensor.other.collision":
            for other in self.world.touching(self.parent):
                self.callback(Data(frame, other_actor=other, actor=self.parent))


class TrafficManager:
    def __init__(self, port: int) -> None:
        self.port, self.sync, self.seed, self.lit = port, False, None, []
        self.paths: dict[int, list] = {}
        self.lane_changes: dict[int, bool] = {}

    def set_synchronous_mode(self, on: bool) -> None:
        self.sync = on

    def set_random_device_seed(self, seed: int) -> None:
        self.seed = seed

    def update_vehicle_lights(self, v, on: bool) -> None:
        self.lit.append(v.id)

    def set_desired_speed(self, actor, speed: float) -> None:  # [km/h]
        actor.tm_speed = max(0.0, speed) / 3.6

    def vehicle_percentage_speed_difference(self, actor, percentage: float) -> None:
        actor.tm_speed = None  # as the real one: drops the desired speed; the fake drives NPC_SPEED

    def set_path(self, actor, path: list, empty_buffer: bool = True) -> None:
        assert all(isinstance(p, carla.Location) for p in path)
        self.paths[actor.id] = list(path)

    def auto_lane_change(self, actor, enable: bool) -> None:
        self.lane_changes[actor.id] = bool(enable)


class LightManager:
    def __init__(self) -> None:
        self.on = None

    def get_all_lights(self, group):
        return ["street-lamp"]

    def turn_on(self, lights) -> None:
        self.on = True

    def turn_off(self, lights) -> None:
        self.on = False


class World:
    def __init__(self, cmap: carla.Map, lights: list[tuple[float, float, float]] = ()) -> None:
        self.map = cmap
        self.ids = itertools.count(100)
        self.actors: list[Actor] = []
        self.settings = carla.WorldSettings()
        self.frame, self.t = 1000, 0.0
        self.weather = None
        self.lm = LightManager()
        self.ped_rng = random.Random(0)
        for x, y, phase in lights:  # a light per (x, y) of a stop line, its cycle shifted by phase [s]
            wp = cmap.get_waypoint(carla.Location(x=x, y=y, z=0.0))
            pole = carla.Transform(wp.transform.transform(carla.Location(x=0.0, y=3.5, z=0.0)))
            self.actors.append(Light(self, pole, [wp], phase=phase))
        self.ticks = 0

    # -- client API
    def get_map(self):
        return self.map

    def get_settings(self):
        s = carla.WorldSettings()
        s.synchronous_mode, s.fixed_delta_seconds = self.settings.synchronous_mode, self.settings.fixed_delta_seconds
        return s

    def apply_settings(self, s) -> int:
        self.settings = s
        return self.frame

    def set_weather(self, w) -> None:
        assert isinstance(w, carla.WeatherParameters)
        self.weather = w

    def set_pedestrians_seed(self, seed: int) -> None:
        self.ped_rng = random.Random(seed)

    def get_lightmanager(self):
        return self.lm

    def get_blueprint_library(self):
        return Library()

    def get_actors(self) -> ActorList:
        return ActorList(self.actors)

    def get_random_location_from_navigation(self):
        wps = [w for w in self.map.generate_waypoints(5.0) if not w.is_junction]
        wp = self.ped_rng.choice(wps)
        return wp.transform.transform(carla.Location(x=0.0, y=4.5, z=0.0))  # on the kerb beside the lane

    def spawn_actor(self, bp: Blueprint, tf: carla.Transform, attach_to=None):
        actor = self._make(bp, tf, attach_to)
        if actor is None:
            raise RuntimeError("Spawn failed because of collision at spawn position")
        return actor

    def try_spawn_actor(self, bp: Blueprint, tf: carla.Transform, attach_to=None):
        return self._make(bp, tf, attach_to)

    def _make(self, bp: Blueprint, tf, parent):
        kind = bp.id
        if kind.startswith("vehicle."):
            if any(math.hypot(a.tf.location.x - tf.location.x, a.tf.location.y - tf.location.y) < 5.0
                   for a in self.actors if isinstance(a, Vehicle)):
                return None
            a = Vehicle(self, kind, tf)
        elif kind.startswith("walker."):
            a = Walker(self, kind, tf)
        elif kind.startswith("controller."):
            a = Controller(self, kind, tf, parent)
        else:
            a = Sensor(self, bp, tf, parent)
        self.actors.append(a)
        return a

    def tick(self) -> int:
        assert self.settings.synchronous_mode and self.settings.fixed_delta_seconds == DT, "tick() outside synchronous mode"
        self.frame += 1
        self.ticks += 1
        self.t += DT
        for a in self.actors:
            if isinstance(a, Vehicle):
                a.advance(self.map)
            elif isinstance(a, Walker):
                a.advance()
        for a in list(self.actors):
            if isinstance(a, Sensor):
                a.emit(self.frame)
        return self.frame

    # -- what the fake's sensors see
    def touching(self, ego: Actor) -> list[Actor]:
        e = ego.get_location()
        return [a for a in self.actors if a is not ego and (isinstance(a, Vehicle) or a.type_id.startswith("walker"))
                and math.hypot(a.get_location().x - e.x, a.get_location().y - e.y) < 2.0]

    def image(self, kind: str, w: int, h: int) -> np.ndarray:
        img = np.zeros((h, w, 4), np.uint8)
        img[..., 3] = 255
        sky = slice(0, h // 3)
        if kind.endswith("semantic_segmentation") or kind.endswith("instance_segmentation"):
            img[..., 2] = Sem.ROAD
            img[sky, :, 2] = Sem.SKY
            img[h // 2:, w // 3: w // 2, 2] = Sem.PEDESTRIAN  # a person ahead, warm in the thermal image
            if kind.endswith("instance_segmentation"):
                img[h // 2:, w // 3: w // 2, 1] = 7
        elif kind.endswith("depth"):
            depth = np.full((h, w), 15.0, np.float32)
            depth[sky] = 1000.0
            img = S.encode_depth(depth)
        else:
            img[..., :3] = 90
            img[sky, :, :3] = (200, 160, 120)  # BGR: a pale sky
        return img


class Client:
    def __init__(self, cmap: carla.Map, lights: list[tuple[float, float, float]] = ()) -> None:
        self.world = World(cmap, lights)
        self.tms: dict[int, TrafficManager] = {}
        self.loaded: list[str] = []

    def get_world(self) -> World:
        return self.world

    def load_world(self, name: str) -> World:
        self.loaded.append(name)
        return self.world

    def get_trafficmanager(self, port: int) -> TrafficManager:
        return self.tms.setdefault(port, TrafficManager(port))

    def get_server_version(self) -> str:
        return "0.9.16"

    def get_client_version(self) -> str:
        return "0.9.16"
