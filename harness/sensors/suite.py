"""An agent's sensor list (leaderboard format) -> the rig the backend renders, and each tick's
``input_data`` in the formats the leaderboard's sensor interface delivers.

Sensor types (CARLA's names, plus two of ours):

=============================  =====================================================================
``sensor.camera.rgb``          ``(H, W, 4) uint8`` BGRA, as CARLA's ``image.raw_data``
``sensor.camera.thermal``      ``(H, W) uint8`` after gain control (ours; CARLA has no thermal camera,
                               the CARLA backend computes it from semantic + depth cameras)
``sensor.privileged.clean_rgb``  ``(H, W, 4) uint8`` BGRA clean clear-noon view of the RGB camera
                               (ours; ground truth, for the ``oracle_clean`` upper bound only)
``sensor.other.gnss``          ``float64 [lat, lon, alt]``
``sensor.other.imu``           ``float64 [acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z, compass]``
                               (m/s^2, rad/s, rad; compass 0 = north, clockwise)
``sensor.speedometer``         ``{'speed': m/s}``
=============================  =====================================================================

The embedded backend renders one RGB camera and at most one thermal camera per ego; camera poses,
sizes and fields of view come from the agent's declaration, as in CARLA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.errors import AgentError
from harness.rig import CameraSpec, Pose, Rig

RGB, THERMAL, CLEAN = "sensor.camera.rgb", "sensor.camera.thermal", "sensor.privileged.clean_rgb"
GNSS, IMU, SPEED = "sensor.other.gnss", "sensor.other.imu", "sensor.speedometer"
CAMERAS = (RGB, THERMAL, CLEAN)
KNOWN = (*CAMERAS, GNSS, IMU, SPEED)
GRAVITY = 9.81  # [m/s^2]


@dataclass(frozen=True)
class SensorSpec:
    id: str
    type: str
    camera: CameraSpec | None = None  # cameras only


def parse_sensors(sensors: Any, agent_name: str = "agent") -> list[SensorSpec]:
    """Validate an agent's ``sensors()`` list; AgentError naming the entry and the fix otherwise."""
    if not isinstance(sensors, (list, tuple)) or not sensors:
        raise AgentError(f"{agent_name}.sensors() must return a non-empty list of dicts, got {type(sensors).__name__}")
    out: list[SensorSpec] = []
    for k, s in enumerate(sensors):
        if not isinstance(s, dict) or "type" not in s or "id" not in s:
            raise AgentError(f"{agent_name}.sensors()[{k}] must be a dict with 'type' and 'id', got {s!r}")
        kind, sid = s["type"], str(s["id"])
        if kind not in KNOWN:
            hint = " (the MAP track's OpenDRIVE sensor is not available in the embedded backend)" if kind == "sensor.opendrive_map" else ""
            raise AgentError(f"{agent_name}.sensors()[{k}] id {sid!r}: unknown sensor type {kind!r}{hint}; "
                             f"known types: {', '.join(KNOWN)}")
        if any(o.id == sid for o in out):
            raise AgentError(f"{agent_name}.sensors(): sensor id {sid!r} is used twice; ids must be unique")
        cam = None
        if kind in CAMERAS:
            try:
                cam = CameraSpec(width=int(s.get("width", 320)), height=int(s.get("height", 160)), fov=float(s.get("fov", 90.0)),
                                 pose=Pose(*(float(s.get(a, 0.0)) for a in ("x", "y", "z", "roll", "pitch", "yaw"))))
            except (TypeError, ValueError) as err:
                raise AgentError(f"{agent_name}.sensors()[{k}] id {sid!r}: bad camera attribute: {err}") from err
        out.append(SensorSpec(sid, kind, cam))
    for kind in CAMERAS:
        n = sum(o.type == kind for o in out)
        if n > 1:
            raise AgentError(f"{agent_name}.sensors(): {n} sensors of type {kind!r}; the embedded backend renders one per ego")
    rgb = [o for o in out if o.type == RGB]
    clean = [o for o in out if o.type == CLEAN]
    if clean and (not rgb or clean[0].camera != rgb[0].camera):
        raise AgentError(f"{agent_name}.sensors(): {CLEAN!r} must have the same size, fov and pose as the "
                         f"{RGB!r} camera (it is the clean view of that camera)")
    return out


def rig_for(sensors: list[SensorSpec], base: Rig) -> Rig:
    """The scenario's rig with the agent's camera declarations applied (thermal physics kept)."""
    rig = base
    for s in sensors:
        if s.type == RGB:
            rig = replace(rig, rgb=s.camera)
        elif s.type == THERMAL:
            rig = replace(rig, thermal=replace(rig.thermal, camera=s.camera))
    return rig


def needs_privileged(sensors: list[SensorSpec]) -> bool:
    return any(s.type == CLEAN for s in sensors)


def needs_thermal(sensors: list[SensorSpec]) -> bool:
    return any(s.type == THERMAL for s in sensors)


def to_bgra(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 4) BGRA with alpha 255, as CARLA delivers camera images."""
    out = np.empty((*rgb.shape[:2], 4), np.uint8)
    out[..., 0], out[..., 1], out[..., 2], out[..., 3] = rgb[..., 2], rgb[..., 1], rgb[..., 0], 255
    return out


def bgra_to_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 4) BGRA (CARLA) -> (H, W, 3) RGB, contiguous."""
    return np.ascontiguousarray(image[..., 2::-1])


class InputBuilder:
    """Builds ``input_data`` each tick; keeps the previous tick for the IMU's finite differences."""

    def __init__(self, sensors: list[SensorSpec], dt: float = 0.05) -> None:
        self.sensors = sensors
        self.dt = dt
        self._prev: tuple[float, float] | None = None  # speed [m/s], compass [rad]

    def __call__(self, frame) -> dict[str, tuple[int, Any]]:
        data: dict[str, tuple[int, Any]] = {}
        prev = self._prev or (frame.speed, frame.compass)
        self._prev = (frame.speed, frame.compass)
        for s in self.sensors:
            if s.type == RGB:
                value = to_bgra(frame.rgb)
            elif s.type == THERMAL:
                value = frame.thermal
            elif s.type == CLEAN:
                if frame.privileged is None:
                    raise AgentError(f"sensor {s.id!r} ({CLEAN}) needs a backend started with privileged outputs")
                value = to_bgra(frame.privileged.clean_rgb)
            elif s.type == GNSS:
                value = np.array(frame.gnss, dtype=np.float64)
            elif s.type == IMU:
                accel = (frame.speed - prev[0]) / self.dt
                turn = (frame.compass - prev[1] + math.pi) % (2 * math.pi) - math.pi
                value = np.array([accel, 0.0, GRAVITY, 0.0, 0.0, turn / self.dt, frame.compass], dtype=np.float64)
            else:  # SPEED
                value = {"speed": float(frame.speed)}
            data[s.id] = (frame.frame, value)
        return data
