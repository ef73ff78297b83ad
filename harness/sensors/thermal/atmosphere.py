"""The LWIR atmosphere: the cold sky, and fog and water vapour between a surface and the lens.

The sky is a cold "surface" at the clear-sky effective temperature, 20-32 K below air temperature
(drier air: colder), raised towards air temperature by clouds and by fog overhead (a ``FOG_LAYER_M``
layer). Pixels of class SKY and any pixel at depth >= ``SKY_DEPTH_M`` are sky; the atmosphere along
their path is already in that temperature, so they get no further path attenuation.

Along a path of ``depth`` [m] the transmission is ``tau = exp(-beta_ir * depth)`` with
``beta_ir = thermal_fog_ratio * beta_visible_fog + beta_water_vapour`` [1/m], and the received band
radiance [W/(m^2 sr)] is ``L = tau * L_surface + (1 - tau) * L(T_air)``: the air in between radiates
at its own temperature. LWIR sees through fog far better than visible light (ratio 0.25 by default)
but not perfectly.
"""

from __future__ import annotations

import math

import numpy as np

from harness.weather import Weather

SKY_DEPTH_M = 1e4  # [m] pixels this far or farther are sky
FOG_LAYER_M = 100.0  # [m] fog depth overhead that hides the cold sky


def fog_extinction_ir(weather: Weather) -> float:
    """[1/m] LWIR extinction by fog droplets only."""
    return weather.thermal_fog_ratio * weather.fog_extinction_per_m


def sky_temperature(weather: Weather) -> float:
    """[K] effective sky temperature seen by the camera (the atmosphere's path already in it)."""
    clear_deficit = 32.0 - 12.0 * weather.relative_humidity  # [K] water vapour radiates back
    cloud = 1.0 - 0.85 * weather.cloudiness  # low clouds radiate near air temperature
    fog_overhead = math.exp(-fog_extinction_ir(weather) * FOG_LAYER_M)
    return weather.air_temperature_k - clear_deficit * cloud * fog_overhead


def extinction_ir(weather: Weather) -> float:
    """[1/m] total LWIR extinction: fog plus water-vapour absorption (about doubles per 11 K of air)."""
    vapour = 2.5e-4 * weather.relative_humidity * math.exp(0.064 * (weather.air_temperature_k - 293.0))
    # A floor keeps inf * beta at -inf for the sky's infinite depth (0 * inf would be NaN).
    return max(fog_extinction_ir(weather) + vapour, 1e-12)


def far_mask(depth: np.ndarray | None) -> np.ndarray | None:
    """Boolean ``(H, W)`` mask of pixels at sky distance (>= ``SKY_DEPTH_M``), or None when there are none."""
    if depth is None:
        return None
    far = depth >= SKY_DEPTH_M
    return far if far.any() else None


def through_atmosphere(emitted: np.ndarray, depth: np.ndarray, sky: np.ndarray, extinction: float,
                       air_radiance: float) -> np.ndarray:
    """Band radiance [W/(m^2 sr)] at the lens, float32 ``(H, W)``, computed in place in ``emitted``.

    ``emitted``: float32 radiance leaving each surface; ``depth``: float32 path length [m] (inf for
    sky); ``sky``: bool mask of sky pixels, which keep their radiance; ``extinction``: beta_ir [1/m];
    ``air_radiance``: L(T_air) [W/(m^2 sr)].
    """
    tau = np.exp(depth * np.float32(-extinction))  # [-] sky at depth inf gets 0, fixed below
    np.copyto(tau, np.float32(1.0), where=sky)  # the sky temperature already holds its path
    air = np.float32(air_radiance)
    emitted -= air
    emitted *= tau
    emitted += air  # tau * E + (1 - tau) * L_air
    return emitted
