"""Gymnasium environment over any harness backend (the embedded one by default).

Registered as ``harness/FusionDrive-v0`` when the ``harness`` package is imported::

    import gymnasium as gym, harness
    env = gym.make("harness/FusionDrive-v0", scenario="fog_town05", route="0")

Observation (dict): ``rgb`` (H, W, 3) uint8, ``thermal`` (Ht, Wt) uint8, ``speed`` (1,) [m/s],
``route`` (N, 2) [m] the next route points every 2 m in the ego frame (x forward, y right).
With ``fusion="gff"`` (any name ``python -m fusion list`` gives, with parameters, ``py:`` and ``onnx:``
modules too) the observation also holds ``fused`` (H, W, 3) uint8: the variant's image from this step's
RGB frame and the thermal frame registered to it (``calibration`` injects a calibration error, as
``--misalign-px`` does), exactly as an evaluation feeds the policy; ``env.unwrapped.fusion_ms`` times it (not in ``info``,
which gymnasium holds to be the same for the same seed and actions), and
``render()`` gives camera | registered thermal | fused side by side. A variant that needs the clean image
(``oracle_clean``) turns the ground-truth views on.
Action: Box [steer, throttle, brake] in [-1, 1] x [0, 1] x [0, 1], as carla.VehicleControl.
Reward: metres of route progress this step, minus 10 per collision or red-light run. The episode
terminates when the route is done, on a collision with a vehicle or pedestrian, or when the ego
leaves the route by more than 30 m; it truncates after the scenario's max_steps (or the route's
leaderboard-style timeout).
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from harness import GYM_ENV_ID as ENV_ID  # registered by the package's __init__
from harness.errors import ConfigError
from harness.backends.records import VehicleControl
from harness.sensors.registration import Calibration
from harness.world.routing import local_frame

ROUTE_POINTS = 20
ROUTE_STEP_M = 2.0
DEVIATION_M = 30.0


class FusionDriveEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, scenario: str = "clear_town05", route: str | None = None, privileged: bool = False,
                 render_mode: str | None = None, backend=None, fusion: str | None = None,
                 calibration: Calibration = Calibration(), device: str = "cpu") -> None:
        from harness.backends.embedded import EmbeddedBackend
        from harness.scenario import load_scenario

        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if not isinstance(calibration, Calibration):
            raise ConfigError(f"calibration must be a harness.sensors.registration.Calibration, got {type(calibration).__name__}")
        self.render_mode = render_mode
        self.variant = None
        if fusion is not None:
            from fusion.registry import get_variant

            self.variant = get_variant(fusion)  # an unknown name or bad parameter: one ConfigError line, nothing built
            privileged = privileged or self.variant.needs_clean
        self.backend = backend or EmbeddedBackend(load_scenario(scenario), privileged=privileged)
        self.route_id = str(route) if route is not None else self.backend.route_ids[0]
        rig = self.backend.scenario.rig
        self.observation_space = spaces.Dict({
            "rgb": spaces.Box(0, 255, (rig.rgb.height, rig.rgb.width, 3), np.uint8),
            "thermal": spaces.Box(0, 255, (rig.thermal.camera.height, rig.thermal.camera.width), np.uint8),
            "speed": spaces.Box(-40.0, 40.0, (1,), np.float32),
            "route": spaces.Box(-1000.0, 1000.0, (ROUTE_POINTS, 2), np.float32),
            **({"fused": spaces.Box(0, 255, (rig.rgb.height, rig.rgb.width, 3), np.uint8)} if self.variant else {}),
        })
        self._module = self._registrar = self._fused = None
        self._device = device
        self._traffic_seed = 0
        self.fusion_ms = 0.0
        if self.variant is not None:
            from fusion.registry import build_cached
            from harness.sensors.registration import Registrar

            self._module = build_cached(self.variant, device)
            self._registrar = Registrar(rig.rgb, rig.thermal.camera, calibration)
        self.action_space = spaces.Box(np.array([-1.0, 0.0, 0.0], np.float32), np.array([1.0, 1.0, 1.0], np.float32))
        self._frame = None
        self._steps = 0
        self._max_steps = 0

    def _obs(self) -> dict[str, np.ndarray]:
        w = self.backend.ground_truth
        pts = w.route.points[np.minimum(w.route_index() + np.arange(ROUTE_POINTS) * int(ROUTE_STEP_M), len(w.route.points) - 1)]
        route = np.clip(local_frame(pts, np.array([w.ego.x, w.ego.y]), w.ego.yaw), -1000.0, 1000.0).astype(np.float32)
        obs = {"rgb": self._frame.rgb, "thermal": self._frame.thermal,
               "speed": np.array([self._frame.speed], np.float32), "route": route}
        if self.variant is not None:
            obs["fused"] = self._fuse()
        return obs

    def _fuse(self) -> np.ndarray:
        """This step's fused image, as the fusion agent makes it for the policy in an evaluation."""
        from fusion.io import fuse_frame

        f = self._frame
        t0 = time.perf_counter()
        if self.variant.needs_clean:
            if f.privileged is None:
                raise ConfigError(f"fusion {self.variant.name!r} needs the clean image: give a backend made with privileged=True")
            fused = f.privileged.clean_rgb
        else:
            thermal = self._registrar(f.thermal) if self.variant.needs_thermal else None
            fused = fuse_frame(self._module, self.variant, f.rgb, thermal, self._traffic_seed, f.frame, self._device)
        self.fusion_ms = 1e3 * (time.perf_counter() - t0)
        self._fused = fused
        return fused

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        traffic_seed = int(self.np_random.integers(0, 2**31 - 1)) if seed is None else int(seed)
        route = self.backend.load(self.route_id, traffic_seed)
        self._traffic_seed = traffic_seed
        self._frame = self.backend.reset()
        self._steps = 0
        cap = self.backend.scenario.max_steps
        # leaderboard-style route timeout: generous time for the route length at a low mean speed
        self._max_steps = cap if cap is not None else int((route.length / 2.0 + 60.0) * 20)
        return self._obs(), {"route_length_m": route.length, "traffic_seed": traffic_seed}

    def step(self, action):
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (3,):
            raise ConfigError(f"action must have 3 values [steer, throttle, brake], got shape {np.shape(action)}")
        control = VehicleControl.clipped(throttle=a[1], steer=a[0], brake=a[2])
        truth = self.backend.ground_truth
        before = truth.route.s[truth.route_index()]
        self._frame, ev = self.backend.step(control)
        self._steps += 1
        after = truth.route.s[truth.route_index()]
        reward = float(after - before) - 10.0 * (len(ev.collisions) + len(ev.red_lights))
        crashed = any(c.kind in ("vehicle", "pedestrian") for c in ev.collisions)
        terminated = bool(ev.route_done or crashed or ev.off_route_m > DEVIATION_M)
        truncated = bool(self._steps >= self._max_steps and not terminated)
        info = {"events": ev.to_dict()}
        return self._obs(), reward, terminated, truncated, info

    def render(self):
        """``rgb_array``: the camera image, or with ``fusion`` camera | registered thermal | fused side by side."""
        if self.render_mode != "rgb_array" or self._frame is None:
            return None
        rgb = self._frame.rgb
        if self.variant is None:
            return rgb
        thermal = self._registrar(self._frame.thermal)  # in the camera's view, as the fusion module gets it
        return np.hstack([rgb, np.repeat(thermal[..., None], 3, axis=2), self._fused])

    def close(self) -> None:
        self.backend.close()

