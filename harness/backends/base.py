"""The backend interface both simulators implement (embedded default, CARLA).

A backend runs one route at a time: ``load`` picks scenario, route and seed; ``reset`` starts the
episode and returns the first :class:`SensorFrame`; ``step`` applies a ``VehicleControl`` for one
fixed 50 ms tick and returns the next frame plus the tick's :class:`StepEvents`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness.backends.records import StepEvents, VehicleControl
from harness.errors import ConfigError
from harness.world.routing import Route

if TYPE_CHECKING:
    from harness.backends.truth import GroundTruth
    from harness.rig import Rig
    from harness.scenario import Scenario

EARTH_RADIUS_M = 6378137.0  # CARLA's EARTH_RADIUS_EQUA


@dataclass(frozen=True)
class Privileged:
    """Ground truth a real car does not have (training data, upper bounds)."""

    clean_rgb: np.ndarray  # (H, W, 3) uint8 same view at clear noon, no noise
    semantic: np.ndarray  # (H, W) uint8 CARLA class ids, RGB camera
    instance: np.ndarray  # (H, W) int32, RGB camera
    depth: np.ndarray  # (H, W) float32 [m], RGB camera
    thermal_semantic: np.ndarray | None  # (Ht, Wt) uint8, thermal camera (None: the thermal camera is off)
    thermal_depth: np.ndarray | None  # (Ht, Wt) float32 [m] (None: the thermal camera is off)
    ego_pose: tuple[float, float, float]  # x [m], y [m], yaw [deg]


@dataclass(frozen=True)
class SensorFrame:
    frame: int
    timestamp: float  # [s]
    rgb: np.ndarray  # (H, W, 3) uint8, RGB order
    thermal: np.ndarray  # (Ht, Wt) uint8 after automatic gain control
    thermal_kelvin: np.ndarray  # (Ht, Wt) float32 scene temperature [K]
    speed: float  # [m/s]
    gnss: tuple[float, float, float]  # lat [deg], lon [deg], alt [m]
    compass: float  # [rad] 0 = north (-y), clockwise, as CARLA's IMU
    privileged: Privileged | None = None


def location_to_gnss(x: float, y: float, z: float = 0.0, lat_ref: float = 0.0, lon_ref: float = 0.0) -> tuple[float, float, float]:
    """CARLA's location -> (lat, lon, alt) conversion (Mercator about the map's geo reference)."""
    scale = math.cos(math.radians(lat_ref))
    mx = scale * lon_ref * math.pi * EARTH_RADIUS_M / 180.0 + x
    my = scale * EARTH_RADIUS_M * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0)) - y
    lon = mx * 180.0 / (math.pi * EARTH_RADIUS_M * scale)
    lat = 360.0 * math.atan(math.exp(my / (EARTH_RADIUS_M * scale))) / math.pi - 90.0
    return lat, lon, z


def gnss_to_location(lat: float, lon: float, lat_ref: float = 0.0, lon_ref: float = 0.0) -> tuple[float, float]:
    """Inverse of :func:`location_to_gnss`: (lat, lon) [deg] -> (x, y) [m]."""
    scale = math.cos(math.radians(lat_ref))
    mx = lon * math.pi * EARTH_RADIUS_M * scale / 180.0
    my = scale * EARTH_RADIUS_M * math.log(math.tan((90.0 + lat) * math.pi / 360.0))
    x0 = scale * lon_ref * math.pi * EARTH_RADIUS_M / 180.0
    y0 = scale * EARTH_RADIUS_M * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0))
    return mx - x0, -(my - y0)


def compass_of(yaw_rad: float) -> float:
    return (yaw_rad + math.pi / 2) % (2 * math.pi)


class Backend(ABC):
    """One simulator instance; not thread-safe; one route at a time.

    What every backend has, and its callers may read:

    - ``scenario``: the scenario as loaded (never changes); ``rig``: what the cameras render now
      (``configure`` sets it per episode from the agent's camera declarations, starting from
      ``scenario.rig``, never from the previous job's); ``seed``: the traffic seed of the loaded route;
    - ``geo_reference``: the map's (latitude, longitude) origin [deg], with which GNSS readings turn
      back into map coordinates (:func:`gnss_to_location`); CARLA's towns each have their own;
    - ``ground_truth``: the simulation as privileged readers see it (:mod:`harness.backends.truth`),
      after ``reset``.
    """

    name: str = "abstract"
    scenario: "Scenario"
    rig: "Rig"
    seed: int = 0

    @property
    def geo_reference(self) -> tuple[float, float]:
        """(lat_ref, lon_ref) [deg] of the map's origin; (0, 0) unless the map says otherwise."""
        return (0.0, 0.0)

    @property
    def image_source(self) -> str | None:
        """What makes this backend's camera images (the OpenGL renderer; the CARLA server and its version), or None
        when unknown. Records keep it: two renderers draw the same scene a few edge pixels apart (llvmpipe and an
        NVIDIA GPU: 0.004-0.1 % of pixels by more than 2 levels), so paired comparisons should come from one."""
        return None

    @property
    def ground_truth(self) -> "GroundTruth":
        """The loaded route's simulation as privileged readers see it (the expert, labellers,
        attribution, clips); one ConfigError line from a backend that cannot tell."""
        raise ConfigError(f"the {self.name} backend exposes no ground truth (harness.backends.truth.GroundTruth)")

    def configure(self, rig: "Rig", privileged: bool, thermal: bool = True) -> None:
        """Render ``rig`` from the next ``load`` on, with or without the privileged ground-truth images
        and the thermal camera. The default keeps ``scenario.rig`` and refuses another one."""
        if rig != self.scenario.rig:
            raise ConfigError(f"the {self.name} backend renders its scenario's rig only; this agent declares other cameras")

    @abstractmethod
    def load(self, route_id: str, seed: int) -> Route:
        """Prepare route ``route_id`` of the scenario with traffic seed ``seed``; returns the dense route."""

    @abstractmethod
    def reset(self) -> SensorFrame:
        """Start the loaded route; must follow ``load``."""

    @abstractmethod
    def step(self, control: VehicleControl) -> tuple[SensorFrame, StepEvents]:
        """Apply ``control`` for one 50 ms tick."""

    @abstractmethod
    def close(self) -> None:
        """Release the simulator (GL context, server connection)."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
