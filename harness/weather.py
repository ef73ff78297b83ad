"""Weather and light: continuous knobs plus named presets.

Both the RGB renderer and the thermal sensor model read one :class:`Weather`. Presets are starting
points; a scenario may override any field (``weather: {preset: fog, fog_visibility_m: 40}``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from harness.errors import ConfigError

CLEAR_VISIBILITY_M = 10_000.0  # meteorological visibility treated as "no fog"


@dataclass(frozen=True)
class Weather:
    sun_altitude_deg: float = 60.0  # [deg] sun elevation; < 0 is night, CARLA's sun_altitude_angle
    sun_azimuth_deg: float = 45.0  # [deg] compass direction the sunlight comes from, CARLA convention
    fog_visibility_m: float = CLEAR_VISIBILITY_M  # [m] distance at which contrast falls to 2 %
    cloudiness: float = 0.1  # [0..1] dims direct sun, warms the sky in thermal
    street_lights: bool | None = None  # None: on when the sun is below 2 deg
    headlights: bool | None = None  # None: on when the sun is below 5 deg or visibility < 200 m
    air_temperature_k: float = 293.0  # [K]
    relative_humidity: float = 0.5  # [0..1] raises LWIR absorption slightly
    thermal_fog_ratio: float = 0.25  # [-] LWIR fog extinction / visible fog extinction
    rgb_noise: float = 1.0  # [-] scale of the RGB sensor's shot/read noise (0 turns it off)

    def __post_init__(self) -> None:
        checks = [
            ("sun_altitude_deg", -90.0 <= self.sun_altitude_deg <= 90.0, "within [-90, 90]"),
            ("fog_visibility_m", self.fog_visibility_m >= 1.0, ">= 1 m"),
            ("cloudiness", 0.0 <= self.cloudiness <= 1.0, "within [0, 1]"),
            ("air_temperature_k", 200.0 <= self.air_temperature_k <= 340.0, "within [200, 340] K"),
            ("relative_humidity", 0.0 <= self.relative_humidity <= 1.0, "within [0, 1]"),
            ("thermal_fog_ratio", 0.0 <= self.thermal_fog_ratio <= 1.0, "within [0, 1]"),
            ("rgb_noise", 0.0 <= self.rgb_noise <= 10.0, "within [0, 10]"),
        ]
        for name, ok, expected in checks:
            value = getattr(self, name)
            if not ok or (isinstance(value, float) and math.isnan(value)):
                raise ConfigError(f"weather.{name}: expected {expected}, got {value!r}")

    # Derived quantities used by both sensors.
    @property
    def is_night(self) -> bool:
        return self.sun_altitude_deg < 0.0

    @property
    def fog_extinction_per_m(self) -> float:
        """Visible-band extinction coefficient beta [1/m] (Koschmieder: V = 3.912 / beta)."""
        if self.fog_visibility_m >= CLEAR_VISIBILITY_M:
            return 3.912 / 40_000.0  # clean-air haze
        return 3.912 / self.fog_visibility_m

    @property
    def street_lights_on(self) -> bool:
        return self.sun_altitude_deg < 2.0 if self.street_lights is None else self.street_lights

    @property
    def headlights_on(self) -> bool:
        if self.headlights is not None:
            return self.headlights
        return self.sun_altitude_deg < 5.0 or self.fog_visibility_m < 200.0

    @property
    def daylight(self) -> float:
        """[0..1] scale of sky/sun illumination: 1 at high sun, about 0.002 on a moonlit night."""
        s = math.sin(math.radians(max(self.sun_altitude_deg, -18.0)))
        day = max(s, 0.0) ** 0.5
        twilight = 0.05 * max(0.0, 1.0 + self.sun_altitude_deg / 18.0) if s < 0.05 else 0.0
        return max(day, twilight, 0.002)

    def with_overrides(self, **changes: Any) -> "Weather":
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"weather: unknown field(s) {unknown}; known fields: {sorted(known)}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Weather":
        return cls().with_overrides(**data)


PRESETS: dict[str, Weather] = {
    "clear": Weather(),
    "clear_noon": Weather(sun_altitude_deg=70.0),
    "clear_sunset": Weather(sun_altitude_deg=8.0, sun_azimuth_deg=270.0, air_temperature_k=291.0),
    "cloudy": Weather(cloudiness=0.8),
    "dusk": Weather(sun_altitude_deg=-4.0, air_temperature_k=289.0),
    "night": Weather(sun_altitude_deg=-30.0, cloudiness=0.2, air_temperature_k=285.0),
    "fog": Weather(sun_altitude_deg=35.0, cloudiness=0.9, fog_visibility_m=50.0,
                   air_temperature_k=284.0, relative_humidity=0.98),
    "night_fog": Weather(sun_altitude_deg=-30.0, cloudiness=0.9, fog_visibility_m=40.0,
                         air_temperature_k=282.0, relative_humidity=0.98),
}


def preset(name: str) -> Weather:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown weather preset {name!r}; known presets: {sorted(PRESETS)}") from None
