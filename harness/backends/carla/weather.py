"""Our :class:`harness.weather.Weather` as CARLA's ``carla.WeatherParameters``, and the lights.

- Sun: ``sun_altitude_deg`` and ``sun_azimuth_deg`` pass through (CARLA's own convention, which ours
  follows); night is a sun below the horizon, as on the leaderboard.
- Clouds: ``cloudiness`` [0, 1] -> CARLA's [0, 100].
- Fog: CARLA has no fog preset and no visibility knob; it has Unreal's exponential height fog,
  driven by ``fog_density`` [0, 100], ``fog_distance`` [m] (where the fog starts) and ``fog_falloff``
  (how fast it thins with height). Ours is a meteorological visibility V [m] (Koschmieder: contrast
  falls to 2 % at V, extinction beta = 3.912 / V). The mapping: fog from the camera on
  (``fog_distance`` 0), nearly uniform over the few metres a road scene spans (``fog_falloff``
  :data:`FOG_FALLOFF`), and ``fog_density = beta / FOG_BETA_PER_DENSITY``. The constant is
  Unreal 4's: the height fog's density is applied per 1000 world units (cm), so Unreal's density d
  is an extinction of d / 10 per metre, and CARLA's weather blueprint sets Unreal's density to
  ``fog_density / 100``; together 0.001 /m per unit of ``fog_density``. So density 100 is a
  visibility of about 39 m, the densest fog CARLA makes: a scenario asking for less visibility is
  refused, not silently clamped. This follows the engine's documented scaling; it was not measured
  on a server here (none can run on these machines). ``harness.backends.carla.weather`` is where to
  change it once someone measures contrast against distance on a server.
- Lights: street lights and vehicle lights on by our weather's rules (sun below 2 deg, headlights
  below 5 deg or in fog under 200 m), as the leaderboard switches them on at night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.weather import CLEAR_VISIBILITY_M, Weather

FOG_BETA_PER_DENSITY = 0.001  # [1/m] extinction per unit of CARLA's fog_density (see the module docstring)
FOG_FALLOFF = 0.01  # thin with height slowly: uniform over the camera's few metres
KOSCHMIEDER = 3.912  # -ln(0.02)
MIN_VISIBILITY_M = KOSCHMIEDER / (100.0 * FOG_BETA_PER_DENSITY)  # density 100: about 39 m


def fog_density(visibility_m: float) -> float:
    """CARLA's ``fog_density`` for a visibility [m]; 0 for clear air."""
    if visibility_m >= CLEAR_VISIBILITY_M:
        return 0.0
    if visibility_m < MIN_VISIBILITY_M - 1e-6:
        raise ConfigError(f"fog_visibility_m {visibility_m:g}: CARLA's densest fog (fog_density 100) is a visibility of "
                          f"about {MIN_VISIBILITY_M:.0f} m; use at least that on the carla backend")
    return min(100.0, KOSCHMIEDER / visibility_m / FOG_BETA_PER_DENSITY)


def visibility_of(density: float) -> float:
    """The inverse of :func:`fog_density` [m] (clear air for 0)."""
    return CLEAR_VISIBILITY_M if density <= 0 else KOSCHMIEDER / (density * FOG_BETA_PER_DENSITY)


@dataclass(frozen=True)
class Lights:
    street_lights: bool
    vehicle_lights: bool


def lights(w: Weather) -> Lights:
    return Lights(street_lights=w.street_lights_on, vehicle_lights=w.headlights_on)


def to_carla(w: Weather, carla=None):
    """``carla.WeatherParameters`` for ``w`` (the real client class; ``carla`` is the module, imported
    when not given)."""
    if carla is None:
        from harness.backends.carla.server import import_carla

        carla = import_carla()
    density = fog_density(w.fog_visibility_m)
    return carla.WeatherParameters(
        cloudiness=100.0 * w.cloudiness, precipitation=0.0, precipitation_deposits=0.0, wind_intensity=10.0,
        sun_azimuth_angle=float(w.sun_azimuth_deg % 360.0), sun_altitude_angle=float(w.sun_altitude_deg),
        fog_density=density, fog_distance=0.0, fog_falloff=FOG_FALLOFF if density > 0 else 0.2,
        wetness=0.0,  # dry roads: the embedded renderer has no wet-road reflections either
        scattering_intensity=1.0, mie_scattering_scale=0.03, rayleigh_scattering_scale=0.0331, dust_storm=0.0)


def from_carla(params) -> dict[str, float]:
    """The Weather fields a ``carla.WeatherParameters`` stands for (for route files' weather)."""
    out = {"sun_altitude_deg": float(params.sun_altitude_angle), "sun_azimuth_deg": float(params.sun_azimuth_angle),
           "cloudiness": max(0.0, min(1.0, float(params.cloudiness) / 100.0))}
    if params.fog_density > 0:
        out["fog_visibility_m"] = max(1.0, min(CLEAR_VISIBILITY_M, visibility_of(float(params.fog_density))))
    if not math.isfinite(out["sun_altitude_deg"]):
        raise ConfigError(f"weather: sun_altitude_angle must be finite, got {params.sun_altitude_angle}")
    return out
