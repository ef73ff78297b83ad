"""Sensor rig: each camera's resolution, field of view and mounting pose on the ego vehicle.

Poses follow CARLA: metres relative to the vehicle's centre on the ground, x forward, y right, z up;
angles in degrees (pitch up positive, yaw clockwise seen from above, i.e. towards +y).

Every field is defined once, with :func:`harness.fields.spec` (unit, range, doc).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from harness.errors import ConfigError
from harness.fields import check_fields, spec

MAX_SIDE = 4096  # [px] largest camera side


@dataclass(frozen=True)
class Pose:
    x: float = spec(0.0, unit="m", doc="forward of the vehicle's centre")
    y: float = spec(0.0, unit="m", doc="right of the vehicle's centre")
    z: float = spec(0.0, unit="m", doc="up from the ground")
    roll: float = spec(0.0, unit="deg", doc="roll")
    pitch: float = spec(0.0, unit="deg", doc="up positive")
    yaw: float = spec(0.0, unit="deg", doc="towards +y (right) positive")

    def __post_init__(self) -> None:
        check_fields(self)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class CameraSpec:
    width: int = spec(320, unit="px", ge=8, le=MAX_SIDE, doc="image width")
    height: int = spec(160, unit="px", ge=8, le=MAX_SIDE, doc="image height")
    fov: float = spec(90.0, unit="deg", ge=5, le=170, doc="horizontal field of view, as CARLA's sensor attribute")
    pose: Pose = spec(default_factory=lambda: Pose(x=1.3, y=0.0, z=2.3), doc="mounting pose on the ego vehicle")

    def __post_init__(self) -> None:
        check_fields(self)

    @property
    def focal_px(self) -> float:
        """Pinhole focal length in pixels (square pixels)."""
        return self.width / (2.0 * math.tan(math.radians(self.fov) / 2.0))

    @property
    def vfov(self) -> float:
        """[deg] vertical field of view."""
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.focal_px)))

    def intrinsics(self) -> "list[list[float]]":
        f = self.focal_px
        return [[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]]


@dataclass(frozen=True)
class ThermalSpec:
    """Thermal camera: geometry plus the sensor's radiometric properties."""

    camera: CameraSpec = spec(
        default_factory=lambda: CameraSpec(width=320, height=160, fov=95.0, pose=Pose(x=1.3, y=0.25, z=2.2)),
        doc="the thermal camera's geometry, keys as for `rgb`",
    )
    netd_mk: float = spec(50.0, unit="mK", ge=0, le=2000, doc="noise-equivalent temperature difference at 300 K")
    fpn_percent: float = spec(0.5, unit="%", ge=0, le=20, doc="fixed-pattern gain non-uniformity (1 sigma)")
    blur_sigma_px: float = spec(0.7, unit="px", ge=0, le=10,
                                doc="optics and detector blur at the thermal camera's resolution")
    agc_low_pct: float = spec(1.0, unit="%", ge=0, le=100, doc="automatic gain control: percentile mapped to 0")
    agc_high_pct: float = spec(99.5, unit="%", ge=0, le=100,
                               doc="percentile mapped to 255; above `agc_low_pct` (`linear` mode)")
    agc_smoothing: float = spec(0.8, ge=0, lt=1, doc="weight of the previous frame's AGC mapping (temporal smoothing)")
    agc_mode: Literal["plateau", "linear"] = spec(
        "plateau", doc="`plateau`: plateau histogram equalisation (FLIR's default); `linear`: percentile window")
    agc_plateau_pct: float = spec(5.0, unit="%", ge=0.1, le=100,
                                  doc="most pixels one 0.16 K histogram bin may claim (`plateau` mode)")

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.agc_low_pct < self.agc_high_pct:
            raise ConfigError(f"ThermalSpec: AGC percentiles need low < high, got agc_low_pct={self.agc_low_pct!r}, "
                              f"agc_high_pct={self.agc_high_pct!r}")


@dataclass(frozen=True)
class Rig:
    rgb: CameraSpec = spec(default_factory=CameraSpec, doc="the RGB camera")
    thermal: ThermalSpec = spec(default_factory=ThermalSpec, doc="the thermal camera")

    def __post_init__(self) -> None:
        check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_sizes(self, rgb_size: tuple[int, int] | None = None, thermal_size: tuple[int, int] | None = None) -> "Rig":
        rgb = self.rgb if rgb_size is None else replace(self.rgb, width=rgb_size[0], height=rgb_size[1])
        th = self.thermal
        if thermal_size is not None:
            th = replace(th, camera=replace(th.camera, width=thermal_size[0], height=thermal_size[1]))
        return Rig(rgb=rgb, thermal=th)
