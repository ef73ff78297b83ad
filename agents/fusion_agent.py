"""Put a fusion module between the cameras and any leaderboard agent.

``FusionAgent(agent, "thermal")`` adds the thermal camera (from the rig) to the wrapped agent's
sensors, registers each thermal frame to the wrapped agent's RGB camera (``harness.sensors.
registration``, with an optional injected calibration error), runs the fusion module, and hands the
agent the fused image in place of its RGB camera's data, under the agent's own sensor id and in the
same format (BGRA ``(H, W, 4) uint8``). The agent never sees the thermal camera. The wrapper times
the registration and the fusion module per frame (``latency_summary``). It only touches sensor data,
so it is the same on the embedded and the CARLA backend.

Latency-aware mode (``latency="measured"`` or a number of milliseconds): the world does not wait
for the fusion module. The fused image of the frame taken at time ``t`` is ready at ``t + L`` (``L``
the module's measured registration + fusion time for that frame, or the given figure), and each tick
the agent acts on the newest image that is ready by then; its other sensors (speed, GNSS, IMU) stay
current. Until the first image is ready the agent gets the first frame's. With ``none`` every tick
waits for its own image (the world is paused while the module computes).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np
import torch

from fusion.base import Fuser
from fusion.io import fuse_frame
from fusion.registry import Variant, build_cached, get_variant
from harness.errors import AgentError, ConfigError
from harness.rig import CameraSpec, Rig
from harness.runner.jobs import parse_latency
from harness.sensors.registration import Calibration, Registrar
from harness.sensors.suite import CLEAN, RGB, THERMAL, bgra_to_rgb, parse_sensors, to_bgra

THERMAL_ID = "_fusion_thermal"
FUSION_THREADS_ENV = "HARNESS_FUSION_THREADS"  # the runner sets it per worker: cores / workers
CLEAN_ID = "_fusion_clean_rgb"


def default_fusion_threads() -> int:
    """Threads a CPU fusion module runs on: ``$HARNESS_FUSION_THREADS`` (the runner sets it to
    cores / workers in each worker), else every core of this machine."""
    text = os.environ.get(FUSION_THREADS_ENV, "").strip()
    if not text:
        return max(1, os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"${FUSION_THREADS_ENV} must be a positive integer, got {text!r}")
    return int(text)


def _camera_dict(kind: str, sid: str, cam: CameraSpec) -> dict[str, Any]:
    p = cam.pose
    return {"type": kind, "id": sid, "x": p.x, "y": p.y, "z": p.z, "roll": p.roll, "pitch": p.pitch, "yaw": p.yaw,
            "width": cam.width, "height": cam.height, "fov": cam.fov}


class FusionAgent:
    """Wraps ``agent`` (anything with setup/sensors/run_step/destroy) with fusion ``variant``."""

    def __init__(self, agent: Any, variant: str | Variant, rig: Rig = Rig(), calibration: Calibration = Calibration(),
                 module: Fuser | None = None, latency: str | float = "none", device: str = "cpu",
                 precision: str = "fp32", runtime: str = "torch", threads: int | None = None) -> None:
        missing = [m for m in ("sensors", "run_step", "destroy") if not callable(getattr(agent, m, None))]
        if missing:
            raise ConfigError(f"FusionAgent wraps a leaderboard agent; {type(agent).__name__} lacks {', '.join(missing)}()")
        self.agent = agent
        self.variant = variant if isinstance(variant, Variant) else get_variant(variant)
        # torch's threads are per process, and the policy takes one (deterministic, one core per
        # worker): the fusion module gets its own count while it runs, then the policy's is restored
        self.threads = threads if threads is not None else default_fusion_threads()
        # built once per process (build_cached): the routes a worker drives share the module. Built
        # with the module's thread count set, which an ONNX Runtime session takes as its own
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            self.module = module if module is not None else build_cached(self.variant, device, precision, runtime)
        finally:
            torch.set_num_threads(before)
        if isinstance(self.module, torch.nn.Module):
            self.module.eval()
        self.device = device
        self.seed = 0  # the job's traffic seed (bind() reads it from the backend): stochastic modules' noise
        self.rig = rig
        self.calibration = calibration
        self._rgb_id: str | None = None
        self._registrar: Registrar | None = None
        self.fusion_ms: list[float] = []
        self.register_ms: list[float] = []
        self.latency = parse_latency(str(latency))  # 'none' | 'measured' | ms as text
        self._pending: list[tuple[float, np.ndarray, float]] = []  # (ready at [s], image, taken at [s])
        self._shown: np.ndarray | None = None
        self._shown_at = 0.0  # [s] when the frame behind the shown image was taken
        self.delay_ms: list[float] = []  # [ms] age of the image the agent acted on, per tick
        self.last_image: np.ndarray | None = None

    @property
    def wrapped_name(self) -> str:
        return type(self.agent).__name__

    # -- leaderboard interface ----------------------------------------------------------------
    def setup(self, path_to_conf_file: str) -> None:
        self.agent.setup(path_to_conf_file)

    def sensors(self) -> list[dict[str, Any]]:
        inner = self.agent.sensors()
        specs = parse_sensors(inner, self.wrapped_name)
        rgb = [s for s in specs if s.type == RGB]
        if not rgb:
            raise AgentError(f"FusionAgent replaces the RGB camera of the agent it wraps, but "
                             f"{self.wrapped_name}.sensors() declares no {RGB!r}")
        for s in specs:
            if s.id in (THERMAL_ID, CLEAN_ID):
                raise AgentError(f"{self.wrapped_name}.sensors() uses the id {s.id!r}, which FusionAgent reserves")
            if s.type in (THERMAL, CLEAN):
                raise AgentError(f"{self.wrapped_name}.sensors() declares {s.type!r} itself; FusionAgent adds it")
        self._rgb_id = rgb[0].id
        cam = rgb[0].camera
        self._registrar = Registrar(cam, self.rig.thermal.camera, self.calibration)
        extra = []
        if self.variant.needs_thermal:
            extra.append(_camera_dict(THERMAL, THERMAL_ID, self.rig.thermal.camera))
        if self.variant.needs_clean:
            extra.append(_camera_dict(CLEAN, CLEAN_ID, cam))
        return [*inner, *extra]

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        if hasattr(self.agent, "set_global_plan"):
            self.agent.set_global_plan(global_plan_gps, global_plan_world_coord)

    def bind(self, backend) -> None:
        self.seed = int(getattr(backend, "seed", 0) or 0)
        if hasattr(self.agent, "bind"):
            self.agent.bind(backend)

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float):
        if self._rgb_id is None:
            raise AgentError("FusionAgent.run_step() before sensors(); the runner reads the sensor list first")
        frame, image = input_data[self._rgb_id]
        n_fused, n_reg = len(self.fusion_ms), len(self.register_ms)
        fused = self.fuse(input_data)
        if self.latency != "none":
            if self.latency == "measured":
                ms = sum(self.fusion_ms[n_fused:]) + sum(self.register_ms[n_reg:])
            else:
                ms = float(self.latency)
            fused = self._delayed(fused, timestamp, ms)
        self.last_image = fused  # (H, W, 3) uint8 RGB: what the agent acts on (for infraction clips)
        data = {k: v for k, v in input_data.items() if k not in (THERMAL_ID, CLEAN_ID)}
        data[self._rgb_id] = (frame, to_bgra(fused) if image.shape[-1] == 4 else fused)
        return self.agent.run_step(data, timestamp)

    def destroy(self) -> None:
        self.agent.destroy()

    # -- fusion -------------------------------------------------------------------------------
    def fuse(self, input_data: dict[str, tuple[int, Any]]) -> np.ndarray:
        """The image the wrapped agent gets: (H, W, 3) uint8 RGB."""
        image = input_data[self._rgb_id][1]
        rgb = bgra_to_rgb(image) if image.shape[-1] == 4 else image
        if self.variant.needs_clean:
            return bgra_to_rgb(input_data[CLEAN_ID][1])
        thermal = None
        if self.variant.needs_thermal:
            t0 = time.perf_counter()
            thermal = self._registrar(input_data[THERMAL_ID][1])
            self.register_ms.append(1e3 * (time.perf_counter() - t0))
        frame = int(input_data[self._rgb_id][0])
        t0 = time.perf_counter()
        before = torch.get_num_threads()
        if before != self.threads:
            torch.set_num_threads(self.threads)
        try:
            fused = fuse_frame(self.module, self.variant, rgb, thermal, self.seed, frame, self.device)
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()  # the time is the module's, not the launch's
        finally:
            if before != self.threads:
                torch.set_num_threads(before)
        self.fusion_ms.append(1e3 * (time.perf_counter() - t0))
        return fused

    def _delayed(self, fused: np.ndarray, timestamp: float, ms: float) -> np.ndarray:
        """The newest image ready at ``timestamp`` [s] when this frame's takes ``ms`` to compute."""
        self._pending.append((timestamp + ms / 1e3, fused, timestamp))
        ready = [k for k, (t, _, _) in enumerate(self._pending) if t <= timestamp + 1e-9]
        if ready:
            _, self._shown, taken = self._pending[ready[-1]]
            self._shown_at = taken
            del self._pending[: ready[-1] + 1]
        if self._shown is None:  # nothing ready yet: the first frame stands in
            self.delay_ms.append(0.0)
            return self._pending[0][1]
        self.delay_ms.append(1e3 * (timestamp - self._shown_at))
        return self._shown

    def latency_summary(self) -> dict[str, float]:
        out = {}
        if self.delay_ms:
            out["observation_delay_ms"] = statistics.mean(self.delay_ms)
        if self.fusion_ms:
            out["fusion_ms"] = statistics.median(self.fusion_ms)
        if self.register_ms:
            out["register_ms"] = statistics.median(self.register_ms)
        return out

