"""The embedded backend: the numpy world, the moderngl cameras and the radiometric thermal model,
in one process, with no server and no GPU."""

from __future__ import annotations

import math
import time
import numpy as np

from harness.backends.base import Backend, Privileged, SensorFrame, compass_of, location_to_gnss
from harness.errors import ConfigError, WrongOrderError
from harness.render.renderer import Renderer, SceneState
from harness.rig import Rig
from harness.scenario import Scenario
from harness.sensors.thermal import ThermalCamera
from harness.backends.records import VehicleControl
from harness.backends.records import StepEvents
from harness.world.routing import Route, plan_route
from harness.world.town_gen import load_town
from harness.world.world import World

SENSOR_STREAM = 1  # thermal noise: np.random.default_rng([frame seed, SENSOR_STREAM]), apart from the world's stream
PARTS = ("world", "render_rgb", "render_ids", "thermal")  # where a step's time goes (EmbeddedBackend.part_s):
# render_ids is the ids pass drawn and read back with the RGB pass set up meanwhile; thermal runs while
# the RGB pass is rasterised; render_rgb is the rest of the frame (what the thermal model did not hide)


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(self, scenario: Scenario, privileged: bool = True) -> None:
        self.scenario = scenario  # never replaced: each job's rig starts from the scenario's own
        self.rig = scenario.rig  # what the cameras render now (configure() applies an agent's declarations)
        self.privileged = privileged
        self.thermal = True  # render the thermal camera (configure() turns it off for agents without one)
        self.town = load_town(scenario.town)
        self._specs = {r.id: r for r in scenario.load_routes()}
        self._routes: dict[str, Route] = {}
        self._renderer: Renderer | None = None
        self.world: World | None = None
        self.seed = 0
        self._thermal: ThermalCamera | None = None
        self._reset_done = False
        self.reset_timing()

    def reset_timing(self) -> None:
        self.part_s = dict.fromkeys(PARTS, 0.0)  # [s] wall time spent in each part since the last reset_timing()

    @property
    def route_ids(self) -> list[str]:
        return list(self._specs)

    def route(self, route_id: str) -> Route:
        if route_id not in self._specs:
            raise ConfigError(f"route {route_id!r} is not in {self.scenario.routes_path}; "
                              f"available: {', '.join(self._specs)}")
        if route_id not in self._routes:
            self._routes[route_id] = plan_route(self.town, self._specs[route_id], str(self.scenario.routes_path))
        return self._routes[route_id]

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            self._renderer = Renderer(self.town, self.rig)
        return self._renderer

    @property
    def image_source(self) -> str:
        return self.renderer.info["GL_RENDERER"]

    def configure(self, rig: Rig, privileged: bool, thermal: bool = True) -> None:
        """Render ``rig`` (an agent's camera declarations) from the next ``load`` on; the GL
        renderer is rebuilt only when the rig changes. ``self.scenario`` keeps the scenario's own
        rig, so the next job starts from it, never from this one's. ``thermal=False`` skips the
        thermal camera (its frames are then ``(0, 0)`` and a privileged frame's thermal ids None); the
        world evolves the same either way:
        sensor noise draws from its own per-frame generator, never from the world's."""
        if rig != self.rig:
            self.rig = rig
            if self._renderer is not None:
                self._renderer.close()
                self._renderer = None
        self.privileged = privileged
        self.thermal = thermal

    @property
    def ground_truth(self) -> World:
        """The embedded world itself (it implements :class:`harness.backends.truth.GroundTruth`),
        from ``load`` on."""
        if self.world is None:
            raise WrongOrderError("EmbeddedBackend.ground_truth before load(route_id, seed); call load first")
        return self.world

    def load(self, route_id: str, seed: int) -> Route:
        route = self.route(str(route_id))
        self.seed = int(seed)  # the job's traffic seed (a stochastic fusion module seeds its noise from it)
        self.world = World(self.town, route, seed, self.scenario.traffic, self.scenario.events)
        self._thermal = ThermalCamera(self.rig.thermal, seed=seed)
        self._reset_done = False
        return route

    def reset(self) -> SensorFrame:
        if self.world is None:
            raise WrongOrderError("EmbeddedBackend.reset() before load(route_id, seed); call load first")
        self.world.reset()
        self._thermal.reset()
        self._reset_done = True
        return self._sense()

    def step(self, control: VehicleControl) -> tuple[SensorFrame, StepEvents]:
        if not self._reset_done:
            raise WrongOrderError("EmbeddedBackend.step() before reset(); call load(...) then reset()")
        t0 = time.perf_counter()
        events = self.world.step(control)
        self.part_s["world"] += time.perf_counter() - t0
        return self._sense(), events

    def _sense(self) -> SensorFrame:
        w = self.world
        weather = self.scenario.weather
        seed = int(w.rng.integers(0, 2**31 - 1))
        scene = SceneState((w.ego.x, w.ego.y), w.ego.yaw, w.actor_view(), w.signal_states, seed, w.t)
        rng = np.random.default_rng([seed, SENSOR_STREAM])
        timing = {}

        def thermal(ids):  # runs while the rasteriser threads draw the RGB view
            t = time.perf_counter()
            timing["ids_read"] = t  # with the RGB pass set up
            frame = self._thermal(ids.semantic, ids.instance, ids.depth, weather, rng)
            timing["thermal"] = time.perf_counter() - t
            return frame

        t0 = time.perf_counter()
        # the thermal camera's ids only when it is on: an agent with ground truth but no thermal
        # camera (oracle_clean) gets no thermal ids in its privileged frame
        views, ids, th = self.renderer.render(scene, weather, privileged=self.privileged, ids=self.thermal,
                                              overlap=thermal if self.thermal else None)
        total = time.perf_counter() - t0
        self.part_s["thermal"] += timing.get("thermal", 0.0)
        self.part_s["render_ids"] += timing.get("ids_read", t0) - t0  # ids drawn and read, RGB set up
        self.part_s["render_rgb"] += total - (timing.get("ids_read", t0) - t0) - timing.get("thermal", 0.0)
        if th is not None:
            th_image, th_kelvin = th.image, th.kelvin
        else:
            th_image, th_kelvin = np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.float32)
        priv = None
        if self.privileged:
            priv = Privileged(views.clean, views.semantic, views.instance, views.depth,
                              ids.semantic if ids is not None else None, ids.depth if ids is not None else None,
                              (w.ego.x, w.ego.y, math.degrees(w.ego.yaw)))
        return SensorFrame(w.frame, w.t, views.rgb, th_image, th_kelvin, w.ego.speed,
                           location_to_gnss(w.ego.x, w.ego.y, 0.0, *self.geo_reference), compass_of(w.ego.yaw), priv)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
