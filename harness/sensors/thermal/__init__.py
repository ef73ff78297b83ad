"""Radiometric LWIR thermal camera: an uncooled microbolometer (FLIR Boson / ADAS class) as a pure model.

Input is what any renderer can give at the thermal camera's pose: per-pixel CARLA semantic class ids,
instance ids and depth along the optical axis, plus the :class:`~harness.weather.Weather`. Both the
embedded simulator and the CARLA backend (semantic + instance + depth cameras) feed it unchanged.

Physics, in the order it is applied (units SI; radiance in W/(m^2 sr) integrated over 8-14 um), one
module each:

1. ``surfaces``: surface temperature T [K] and emissivity eps [-] per class, warmed by the sun
   (0 at night); people near 305 K; running vehicles' lower rows (tyres, exhaust) hot, from their
   instance masks; about a quarter of vehicles parked and cold.
2. ``atmosphere``: the sky as a cold surface 20-32 K below air, warmed by clouds and fog overhead;
   pixels of class SKY or at depth >= ``SKY_DEPTH_M`` are sky. Along a path ``tau = exp(-beta_ir *
   depth)`` and ``L = tau * (eps L(T) + (1 - eps) L(T_sky)) + (1 - tau) L(T_air)``; LWIR sees
   through fog far better than visible light, not perfectly.
3. ``radiometry``: band radiance ``L(T)`` from Planck's law through a table over 150-450 K at 0.05 K
   steps, and its inverse, the brightness temperature.
4. ``camera``: Gaussian optics blur of ``blur_sigma_px`` [px].
5. ``noise``: 14-bit counts linear in radiance spanning 213-423 K (about 0.01 K a count), with
   fixed-pattern noise (a property of the camera, drawn once from its seed) and temporal noise with
   the spec's NETD [mK].
6. ``gain``: automatic gain control to 8 bits, smoothed over frames (``agc_smoothing``). By default
   (``agc_mode="plateau"``, FLIR's default) plateau histogram equalisation: 0.16 K histogram bins
   each claim at most ``agc_plateau_pct`` % of the pixels, so surfaces a kelvin or two apart stay
   apart at night. With ``agc_mode="linear"`` the ``agc_low_pct``..``agc_high_pct`` percentiles
   of the counts map linearly to 0..255.

Temporal noise comes from the caller's ``numpy.random.Generator``: same inputs, seed and generator
state give bit-identical frames.
"""

from harness.sensors.thermal.atmosphere import FOG_LAYER_M, SKY_DEPTH_M
from harness.sensors.thermal.camera import ThermalCamera, ThermalFrame
from harness.sensors.thermal.gain import (
    AGC_MIN_SAMPLES,
    MIN_AGC_SPAN_K,
    PLATEAU_SHIFT,
    PLATEAU_SMOOTH_BINS,
    GainControl,
    LinearWindow,
    PlateauEqualisation,
)
from harness.sensors.thermal.noise import (
    COUNTS_MAX,
    COUNTS_SPAN_K,
    FPN_COLUMN_SHARE,
    FPN_OFFSET_SPAN_K,
    NUC_REFERENCE_K,
    SPEC_NOISE_K,
)
from harness.sensors.thermal.radiometry import (
    BAND_M,
    LUT_MAX_K,
    LUT_MIN_K,
    LUT_STEP_K,
    band_radiance,
    brightness_temperature,
)
from harness.sensors.thermal.surfaces import (
    BODY_WARM_K,
    LOWER_HOT_K,
    LOWER_RAMP,
    PERSON_AIR_COUPLING,
    PERSON_HEAD_FRACTION,
    PERSON_HEAD_K,
    PERSON_K,
    PERSON_SOLAR_K,
    PERSON_SPREAD_K,
    RUNNING_SHARE,
    surface_temperature,
)

__all__ = [
    "AGC_MIN_SAMPLES",
    "BAND_M",
    "BODY_WARM_K",
    "COUNTS_MAX",
    "COUNTS_SPAN_K",
    "FOG_LAYER_M",
    "FPN_COLUMN_SHARE",
    "FPN_OFFSET_SPAN_K",
    "GainControl",
    "LOWER_HOT_K",
    "LOWER_RAMP",
    "LUT_MAX_K",
    "LUT_MIN_K",
    "LUT_STEP_K",
    "LinearWindow",
    "MIN_AGC_SPAN_K",
    "NUC_REFERENCE_K",
    "PERSON_AIR_COUPLING",
    "PERSON_HEAD_FRACTION",
    "PERSON_HEAD_K",
    "PERSON_K",
    "PERSON_SOLAR_K",
    "PERSON_SPREAD_K",
    "PLATEAU_SHIFT",
    "PLATEAU_SMOOTH_BINS",
    "PlateauEqualisation",
    "RUNNING_SHARE",
    "SKY_DEPTH_M",
    "SPEC_NOISE_K",
    "ThermalCamera",
    "ThermalFrame",
    "band_radiance",
    "brightness_temperature",
    "surface_temperature",
]
