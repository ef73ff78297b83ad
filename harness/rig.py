"""Sensor rig: each camera's resolution, field of view and mounting pose on the ego vehicle.

Poses follow CARLA: metres relative to the vehicle's centre on the ground, x forward, y right, z up;
angles in degrees (pitch up positive, yaw clockwise seen from above, i.e. towards +y).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.errors import ConfigError

MAX_SIDE = 4096


@dataclass(frozen=True)
class Pose:
    x: float = 0.0  # [m] forward
    y: float = 0.0  # [m] right
    z: float = 0.0  # [m] up
    roll: float = 0.0  # [deg]
    pitch: float = 0.0  # [deg] up positive
    yaw: float = 0.0  # [deg] towards +y positive

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class CameraSpec:
    width: int = 320  # [px]
    height: int = 160  # [px]
    fov: float = 90.0  # [deg] horizontal field of view, as CARLA's sensor attribute
    pose: Pose = field(default_factory=lambda: Pose(x=1.3, y=0.0, z=2.3))

    def __post_init__(self) -> None:
        if not (8 <= self.width <= MAX_SIDE and 8 <= self.height <= MAX_SIDE):
            raise ConfigError(f"camera size must be within 8..{MAX_SIDE} px per side, got {self.width}x{self.height}")
        if not 5.0 <= self.fov <= 170.0:
            raise ConfigError(f"camera fov must be within [5, 170] deg, got {self.fov}")

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

    camera: CameraSpec = field(
        default_factory=lambda: CameraSpec(width=320, height=160, fov=95.0, pose=Pose(x=1.3, y=0.25, z=2.2))
    )
    netd_mk: float = 50.0  # [mK] noise-equivalent temperature difference at 300 K
    fpn_percent: float = 0.5  # [%] fixed-pattern gain non-uniformity (1 sigma)
    blur_sigma_px: float = 0.7  # [px] optics + detector blur at the thermal camera's resolution
    agc_low_pct: float = 1.0  # [%] automatic gain control: percentile mapped to 0
    agc_high_pct: float = 99.5  # [%] percentile mapped to 255
    agc_smoothing: float = 0.8  # [0..1) weight of the previous frame's AGC mapping (temporal smoothing)
    agc_mode: str = "plateau"  # "plateau": plateau histogram equalisation (FLIR's default) | "linear": percentile window
    agc_plateau_pct: float = 5.0  # [%] most pixels one 0.16 K histogram bin may claim ("plateau" mode)

    def __post_init__(self) -> None:
        if not 0.0 <= self.netd_mk <= 2000.0:
            raise ConfigError(f"thermal netd_mk must be within [0, 2000] mK, got {self.netd_mk}")
        if not 0.0 <= self.fpn_percent <= 20.0:
            raise ConfigError(f"thermal fpn_percent must be within [0, 20] %, got {self.fpn_percent}")
        if not 0.0 <= self.blur_sigma_px <= 10.0:
            raise ConfigError(f"thermal blur_sigma_px must be within [0, 10] px, got {self.blur_sigma_px}")
        if not 0.0 <= self.agc_low_pct < self.agc_high_pct <= 100.0:
            raise ConfigError(
                f"thermal AGC percentiles need 0 <= low < high <= 100, got {self.agc_low_pct}, {self.agc_high_pct}"
            )
        if self.agc_mode not in ("plateau", "linear"):
            raise ConfigError(f"thermal agc_mode must be 'plateau' or 'linear', got {self.agc_mode!r}")
        if not 0.1 <= self.agc_plateau_pct <= 100.0:
            raise ConfigError(f"thermal agc_plateau_pct must be within [0.1, 100] %, got {self.agc_plateau_pct}")
        if not 0.0 <= self.agc_smoothing < 1.0:
            raise ConfigError(f"thermal agc_smoothing must be within [0, 1), got {self.agc_smoothing}")


@dataclass(frozen=True)
class Rig:
    rgb: CameraSpec = field(default_factory=CameraSpec)
    thermal: ThermalSpec = field(default_factory=ThermalSpec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_sizes(self, rgb_size: tuple[int, int] | None = None, thermal_size: tuple[int, int] | None = None) -> "Rig":
        rgb = self.rgb if rgb_size is None else replace(self.rgb, width=rgb_size[0], height=rgb_size[1])
        th = self.thermal
        if thermal_size is not None:
            th = replace(th, camera=replace(th.camera, width=thermal_size[0], height=thermal_size[1]))
        return Rig(rgb=rgb, thermal=th)
