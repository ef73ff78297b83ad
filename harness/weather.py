"""Weather and light: continuous knobs plus named presets.

Both the RGB renderer and the thermal sensor model read one :class:`Weather`. Presets are starting
points; a scenario may override any field (``weather: {preset: fog, fog_visibility_m: 40}``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from harness.errors import ConfigError
from harness.fields import check_fields, spec

CLEAR_VISIBILITY_M = 10_000.0  # [m] meteorological visibility treated as "no fog"


@dataclass(frozen=True)
class Weather:
    sun_altitude_deg: float = spec(60.0, unit="deg", ge=-90, le=90,
                                   doc="sun elevation; below 0 is night (CARLA's `sun_altitude_angle`)")
    sun_azimuth_deg: float = spec(45.0, unit="deg", doc="compass direction the sunlight comes from, CARLA convention")
    fog_visibility_m: float = spec(CLEAR_VISIBILITY_M, unit="m", ge=1,
                                   doc=f"distance at which contrast falls to 2 %; {CLEAR_VISIBILITY_M:g} means no fog")
    cloudiness: float = spec(0.1, ge=0, le=1, doc="dims direct sun, warms the sky in thermal")
    street_lights: bool | None = spec(None, doc="`null`: on when the sun is below 2 deg")
    headlights: bool | None = spec(None, doc="`null`: on when the sun is below 5 deg or visibility < 200 m")
    air_temperature_k: float = spec(293.0, unit="K", ge=200, le=340, doc="air temperature")
    relative_humidity: float = spec(0.5, ge=0, le=1, doc="raises LWIR absorption slightly")
    thermal_fog_ratio: float = spec(0.25, ge=0, le=1, doc="LWIR fog extinction / visible fog extinction")
    rgb_noise: float = spec(1.0, ge=0, le=10, doc="scale of the RGB sensor's shot and read noise; 0 turns it off")

    def __post_init__(self) -> None:
        check_fields(self)

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
