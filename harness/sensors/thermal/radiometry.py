"""Band radiance of a black body in the LWIR band (8-14 um) of an uncooled microbolometer, and its inverse.

Planck's law integrated over the band gives the radiance ``L(T)`` [W/(m^2 sr)] a black body at
temperature ``T`` [K] emits towards the camera. The integral is tabulated once over 150-450 K at
0.05 K steps; :func:`band_radiance` interpolates linearly in that table (temperatures outside it
saturate at its ends) and :func:`brightness_temperature` inverts it. The rest of the thermal model
works in radiance, because emission, reflection of the sky and the atmosphere's path add linearly
there and not in temperature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.integrate import simpson

# Physical constants, SI (2019 exact values).
_H = 6.62607015e-34  # [J s] Planck
_C = 2.99792458e8  # [m/s] speed of light
_KB = 1.380649e-23  # [J/K] Boltzmann

BAND_M = (8e-6, 14e-6)  # [m] LWIR band of an uncooled microbolometer
LUT_MIN_K, LUT_MAX_K, LUT_STEP_K = 150.0, 450.0, 0.05  # radiance table; temperatures outside saturate


def _planck_band(kelvin: np.ndarray, samples: int = 241) -> np.ndarray:
    """Band radiance [W/(m^2 sr)] by Simpson integration of Planck's law over 8-14 um (float64)."""
    lam = np.linspace(BAND_M[0], BAND_M[1], samples)  # [m]
    t = np.asarray(kelvin, dtype=np.float64)[..., None]
    spectral = 2.0 * _H * _C**2 / lam**5 / np.expm1(_H * _C / (lam * _KB * t))  # [W/(m^2 sr m)]
    return simpson(spectral, x=lam, axis=-1)


@lru_cache(maxsize=1)
def _radiance_lut() -> tuple[np.ndarray, np.ndarray]:
    """(temperatures [K], band radiance [W/(m^2 sr)]) on the 0.05 K grid, float64, read-only."""
    n = int(round((LUT_MAX_K - LUT_MIN_K) / LUT_STEP_K)) + 1
    temps = LUT_MIN_K + LUT_STEP_K * np.arange(n)
    radiance = _planck_band(temps)
    temps.setflags(write=False)
    radiance.setflags(write=False)
    return temps, radiance


def band_radiance(kelvin: np.ndarray) -> np.ndarray:
    """In-band (8-14 um) black-body radiance [W/(m^2 sr)] of temperatures [K], float32, same shape.

    Linear interpolation in a Planck table over 150-450 K; temperatures outside saturate at its ends.
    Raises ValueError on NaN.
    """
    temps, radiance = _radiance_lut()
    x = np.clip((np.asarray(kelvin, dtype=np.float64) - LUT_MIN_K) / LUT_STEP_K, 0.0, temps.size - 1.0)
    if np.isnan(x).any():
        raise ValueError("band_radiance: expected finite temperatures [K], got NaN")
    i = np.minimum(x.astype(np.intp), temps.size - 2)
    lo = radiance[i]
    return (lo + (x - i) * (radiance[i + 1] - lo)).astype(np.float32)


def brightness_temperature(radiance: np.ndarray) -> np.ndarray:
    """Black-body temperature [K] with the given in-band radiance [W/(m^2 sr)], float32 (150-450 K)."""
    temps, table = _radiance_lut()
    return np.interp(np.asarray(radiance, dtype=np.float64), table, temps).astype(np.float32)


def radiance_slope(kelvin: float) -> float:
    """dL/dT [W/(m^2 sr K)] at one temperature [K], from the table (a 1 K central difference)."""
    return float(np.diff(band_radiance(np.array([kelvin - 0.5, kelvin + 0.5])))[0])
