"""The rig as CARLA sensors, and CARLA's camera images as the arrays our sensor models read.

Per the rig (:class:`harness.rig.Rig`):

- ``rgb``: ``sensor.camera.rgb`` at the RGB camera's pose, size and horizontal field of view;
- at the thermal camera's pose, size and field of view, the three cameras the thermal model reads:
  ``sensor.camera.semantic_segmentation`` (class ids in the red channel, CARLA's table, which
  :mod:`harness.semantics` shares), ``sensor.camera.instance_segmentation`` (class id in red, the
  object id in green + 256 x blue) and ``sensor.camera.depth`` (metres encoded in 24 bits over
  1000 m); the same :class:`harness.sensors.thermal.ThermalCamera` as the embedded backend turns
  them into the thermal image, so both backends' thermal frames come from one model;
- ``sensor.other.collision`` and ``sensor.other.lane_invasion`` for scoring. An agent's GNSS, compass
  and speed are the ego's own transform and velocity, turned into GPS about the map's geo reference
  in the leaderboard's convention (its ``_location_to_gps``; noise-free, as the leaderboard's default
  sensors), the same as on the embedded backend: CARLA versions and map projections differ in the
  sign their GNSS sensor gives latitude (carla-simulator/carla#1596, #9552), and an agent must not
  depend on which server it meets.

Every sensor ticks with the world (``sensor_tick`` 0 in synchronous mode at 20 Hz).

The leaderboard's sensor whitelist refuses segmentation and depth cameras, so the harness runs
routes itself under the leaderboard's rules rather than through its ``leaderboard_evaluator``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.rig import CameraSpec, Pose, Rig

DEPTH_FAR_M = 1000.0  # CARLA's depth camera range


@dataclass(frozen=True)
class SensorBlueprint:
    """One sensor to spawn attached to the ego: ``world.get_blueprint_library().find(blueprint)``
    with ``attributes`` set, at ``pose`` relative to the vehicle."""

    name: str
    blueprint: str
    attributes: dict[str, str] = field(default_factory=dict)
    pose: Pose = Pose()


def _camera(name: str, blueprint: str, cam: CameraSpec, extra: dict[str, str] | None = None) -> SensorBlueprint:
    attrs = {"image_size_x": str(cam.width), "image_size_y": str(cam.height), "fov": f"{cam.fov:g}", "sensor_tick": "0.0"}
    return SensorBlueprint(name, blueprint, attrs | (extra or {}), cam.pose)


def sensor_blueprints(rig: Rig, thermal: bool = True) -> list[SensorBlueprint]:
    """What the CARLA backend spawns for ``rig`` (no thermal cameras when ``thermal`` is False)."""
    out = [_camera("rgb", "sensor.camera.rgb", rig.rgb, {"gamma": "2.2"})]
    if thermal:
        t = rig.thermal.camera
        out += [_camera("thermal_semantic", "sensor.camera.semantic_segmentation", t),
                _camera("thermal_instance", "sensor.camera.instance_segmentation", t),
                _camera("thermal_depth", "sensor.camera.depth", t)]
    out += [SensorBlueprint("collision", "sensor.other.collision"),
            SensorBlueprint("lane_invasion", "sensor.other.lane_invasion")]
    return out


def transform(pose: Pose, carla):
    """``carla.Transform`` of a rig pose (both follow CARLA's axes: x forward, y right, z up, degrees)."""
    return carla.Transform(carla.Location(x=pose.x, y=pose.y, z=pose.z),
                           carla.Rotation(pitch=pose.pitch, yaw=pose.yaw, roll=pose.roll))


def bgra(raw: bytes | np.ndarray, height: int, width: int) -> np.ndarray:
    """A camera image's ``raw_data`` (BGRA, 8 bits each) as ``(H, W, 4)`` uint8."""
    a = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, (bytes, bytearray, memoryview)) else np.asarray(raw, np.uint8)
    if a.size != height * width * 4:
        raise ValueError(f"camera image holds {a.size} bytes; {width}x{height} BGRA needs {height * width * 4}")
    return a.reshape(height, width, 4)


def rgb_of(image: np.ndarray) -> np.ndarray:
    """BGRA -> RGB ``(H, W, 3)`` uint8."""
    return np.ascontiguousarray(image[..., 2::-1])


def depth_of(image: np.ndarray) -> np.ndarray:
    """A depth camera's BGRA -> metres ``(H, W)`` float32: ``(R + 256 G + 65536 B) / (2^24 - 1) * 1000``."""
    r, g, b = (image[..., i].astype(np.float64) for i in (2, 1, 0))
    return ((r + 256.0 * g + 65536.0 * b) / (256.0 ** 3 - 1.0) * DEPTH_FAR_M).astype(np.float32)


def semantic_of(image: np.ndarray) -> np.ndarray:
    """A semantic camera's BGRA (raw, no palette) -> class ids ``(H, W)`` uint8 (the red channel)."""
    return np.ascontiguousarray(image[..., 2])


def instance_of(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An instance camera's BGRA -> (class ids uint8, object ids int32 ``G + 256 B``)."""
    ids = image[..., 1].astype(np.int32) + 256 * image[..., 0].astype(np.int32)
    return np.ascontiguousarray(image[..., 2]), ids


def encode_depth(depth_m: np.ndarray) -> np.ndarray:
    """The inverse of :func:`depth_of` (for tests and fakes): metres -> BGRA uint8."""
    v = np.clip(np.rint(np.asarray(depth_m, np.float64) / DEPTH_FAR_M * (256.0 ** 3 - 1.0)), 0, 256 ** 3 - 1).astype(np.int64)
    out = np.zeros((*v.shape, 4), np.uint8)
    out[..., 2], out[..., 1], out[..., 0], out[..., 3] = v % 256, (v // 256) % 256, v // 65536, 255
    return out


def thermal_frame(camera, semantic_bgra: np.ndarray, instance_bgra: np.ndarray, depth_bgra: np.ndarray, weather, rng):
    """The thermal image of one tick from the three thermal-pose cameras, by the shared model
    (``camera`` is a :class:`harness.sensors.thermal.ThermalCamera`)."""
    _, objects = instance_of(instance_bgra)
    sem = semantic_of(semantic_bgra)
    # the instance camera's red channel is the same class id; the semantic camera is the reference
    return camera(sem, objects, depth_of(depth_bgra), weather, rng)
