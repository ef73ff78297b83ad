"""Radiometric LWIR thermal camera: an uncooled microbolometer (FLIR Boson / ADAS class) as a pure model.

Input is what any renderer can give at the thermal camera's pose: per-pixel CARLA semantic class ids,
instance ids and depth along the optical axis, plus the :class:`~harness.weather.Weather`. Both the
embedded simulator and the CARLA backend (semantic + instance + depth cameras) feed it unchanged.

Physics, in the order it is applied (units SI; radiance in W/(m^2 sr) integrated over 8-14 um):

1. Surface temperature T [K] and emissivity eps [-] per class. ``T = T_air + offset + gain * S`` where
   ``S = max(0, sin(sun altitude)) * (1 - cloudiness)`` is the solar load (0 at night). Asphalt gains
   most (about +20 K at high sun, +2 K of stored heat at night); vegetation stays near air temperature
   (transpiration); bare metal (poles, signs, guard rails) has low emissivity and so mirrors the cold sky.
   People are a skin/clothing mix near 305 K (head warmer). Only ids are known, so a vehicle's hot
   parts come from its instance mask: the lowest rows of each instance (tyres, exhaust, undercarriage)
   and, more mildly, its whole body are heated when it runs; whether it runs and how hot it is are
   drawn from a hash of the instance id, so about a quarter of vehicles are parked and cold.
2. The sky is a cold "surface" at the clear-sky effective temperature, 20-32 K below air (drier air:
   colder), raised towards air temperature by clouds and by fog overhead. Pixels of class SKY and any
   pixel at depth >= ``SKY_DEPTH_M`` are sky; the atmosphere along their path is already in that
   temperature, so they get no further path attenuation.
3. Band radiance ``L(T)`` from Planck's law, through a lookup table over 150-450 K at 0.05 K steps
   (and its inverse, the brightness temperature).
4. Atmosphere: ``tau = exp(-beta_ir * depth)`` with ``beta_ir = thermal_fog_ratio * beta_visible_fog +
   beta_water_vapour``; received ``L = tau * (eps L(T) + (1 - eps) L(T_sky)) + (1 - tau) L(T_air)``.
   LWIR sees through fog far better than visible light (ratio 0.25 by default) but not perfectly.
5. Sensor: Gaussian optics blur, temporal noise with the spec's NETD (converted to radiance with
   dL/dT at 300 K), fixed-pattern noise (per-pixel gain and offset, per-column offset; drawn once per
   camera from its seed: a property of the camera, identical in every frame), 14-bit counts linear in
   radiance spanning 213-423 K (-60..150 C: a cold clear sky to hot exhausts, about 0.01 K a count).
6. Automatic gain control: the ``agc_low_pct``..``agc_high_pct`` percentiles of the counts map to
   0..255, the range smoothed over frames (``agc_smoothing`` weight on the previous range).

Temporal noise comes from the caller's ``numpy.random.Generator``: same inputs, seed and generator
state give bit-identical frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.integrate import simpson

from harness.errors import ConfigError
from harness.rig import ThermalSpec
from harness.semantics import Sem
from harness.weather import Weather

# Physical constants, SI (2019 exact values).
_H = 6.62607015e-34  # [J s] Planck
_C = 2.99792458e8  # [m/s] speed of light
_KB = 1.380649e-23  # [J/K] Boltzmann

BAND_M = (8e-6, 14e-6)  # [m] LWIR band of an uncooled microbolometer
LUT_MIN_K, LUT_MAX_K, LUT_STEP_K = 150.0, 450.0, 0.05  # radiance table; temperatures outside saturate
SKY_DEPTH_M = 1e4  # [m] pixels this far or farther are sky
COUNTS_MAX = 16383  # 14-bit raw output
COUNTS_SPAN_K = (213.15, 423.15)  # [K] temperatures mapped to counts 0 and COUNTS_MAX
NUC_REFERENCE_K = 300.0  # [K] shutter temperature of the last flat-field correction: no gain FPN error there
FPN_OFFSET_SPAN_K = 10.0  # [K] offset FPN = gain FPN on this contrast (0.05 K at 0.5 %: about one NETD)
FPN_COLUMN_SHARE = 0.5  # [-] column-amplifier offsets relative to the per-pixel offset FPN
MIN_AGC_SPAN_K = 1.0  # [K] AGC never stretches less than this (caps the gain on a uniform scene)
AGC_MIN_SAMPLES = 4096  # histogram every pixel when a 2x2 subsample would hold fewer
FOG_LAYER_M = 100.0  # [m] fog depth overhead that hides the cold sky
SPEC_NOISE_K = 300.0  # [K] NETD is specified at this scene temperature

# Per class: (offset [K] over air temperature, solar gain [K] at full sun load, emissivity [-]).
# Offsets are night values (stored heat); gains reach the daytime excess at sun overhead, no clouds.
_DEFAULT_SURFACE = (0.0, 8.0, 0.93)
_SURFACE: dict[Sem, tuple[float, float, float]] = {
    Sem.ROAD: (2.0, 22.0, 0.95),  # dark asphalt: hottest by day, still slightly warm at night
    Sem.ROAD_LINE: (2.0, 15.0, 0.90),  # white paint reflects sunlight: cooler than asphalt by day
    Sem.SIDEWALK: (1.0, 14.0, 0.93),  # concrete
    Sem.BUILDING: (1.0, 8.0, 0.92),  # walls lose some interior heat at night
    Sem.WALL: (0.5, 9.0, 0.92),
    Sem.FENCE: (0.0, 6.0, 0.90),
    Sem.POLE: (0.0, 6.0, 0.40),  # bare / galvanised metal: reflects the sky
    Sem.TRAFFIC_LIGHT: (1.0, 6.0, 0.50),  # lamps warm the housing a little
    Sem.TRAFFIC_SIGN: (0.0, 8.0, 0.40),  # aluminium plate
    Sem.VEGETATION: (-0.5, 2.0, 0.97),  # transpiration holds leaves near air temperature
    Sem.TERRAIN: (-1.0, 10.0, 0.95),  # grass/soil cool radiatively at night
    Sem.SKY: (0.0, 0.0, 1.0),  # replaced by the sky temperature
    Sem.PEDESTRIAN: (0.0, 0.0, 0.98),  # replaced by the person temperature
    Sem.RIDER: (0.0, 0.0, 0.98),
    Sem.CAR: (0.0, 10.0, 0.85),  # metallic paint; body near air plus sun, engines added per instance
    Sem.TRUCK: (0.0, 10.0, 0.85),
    Sem.BUS: (0.0, 10.0, 0.85),
    Sem.TRAIN: (0.0, 10.0, 0.85),
    Sem.MOTORCYCLE: (0.0, 8.0, 0.80),
    Sem.BICYCLE: (0.0, 5.0, 0.60),  # thin metal frame, no engine
    Sem.WATER: (-1.0, 3.0, 0.96),  # large heat capacity: stays cool by day
    Sem.GROUND: (0.0, 12.0, 0.95),
    Sem.BRIDGE: (1.0, 14.0, 0.93),
    Sem.RAIL_TRACK: (0.0, 15.0, 0.70),  # steel rails on ballast
    Sem.GUARD_RAIL: (0.0, 8.0, 0.40),  # galvanised steel
}

# Instance heat (people and motor vehicles).
_PERSON, _MOTOR = 1, 2  # values of the heat-kind table
_PERSON_CLASSES = (Sem.PEDESTRIAN, Sem.RIDER)
_MOTOR_CLASSES = (Sem.CAR, Sem.TRUCK, Sem.BUS, Sem.MOTORCYCLE)
PERSON_K = 305.0  # [K] clothing/skin mix at 296 K air
PERSON_AIR_COUPLING = 0.35  # [-] dT_person / dT_air: clothing follows the air partly
PERSON_SOLAR_K = 3.0  # [K] clothing warmed by full sun
PERSON_HEAD_K = 2.5  # [K] bare face and neck over clothing
PERSON_HEAD_FRACTION = 0.15  # [-] top share of a person's rows that is head
PERSON_SPREAD_K = 1.5  # [K] +- per person (clothing insulation)
RUNNING_SHARE = 0.75  # [-] share of vehicles with a running (hot) engine
BODY_WARM_K = (2.0, 6.0)  # [K] range of the whole-body warming of a running vehicle (hood, cabin)
LOWER_HOT_K = (15.0, 40.0)  # [K] range of the excess of tyres/exhaust/undercarriage of a running one
LOWER_RAMP = (0.6, 0.9)  # [-] fraction of the instance's rows (top 0, bottom 1) where that heat ramps in


@dataclass(frozen=True)
class ThermalFrame:
    """One thermal frame; all arrays ``(H, W)`` at the thermal camera's resolution."""

    image: np.ndarray  # uint8 [0..255] after automatic gain control
    kelvin: np.ndarray  # float32 [K] scene surface temperature (before atmosphere/noise; sky = sky temperature)
    counts: np.ndarray  # uint16 [0..16383] raw 14-bit counts, linear in received band radiance


# --------------------------------------------------------------------------------------------------
# Planck band radiance


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


def _radiance_slope(kelvin: float) -> float:
    """dL/dT [W/(m^2 sr K)] at one temperature, from the table."""
    return float(np.diff(band_radiance(np.array([kelvin - 0.5, kelvin + 0.5])))[0])


# --------------------------------------------------------------------------------------------------
# Surface temperatures


def _solar_load(weather: Weather) -> float:
    """[0..1] direct solar heating: sin(sun altitude) dimmed by clouds, 0 at night."""
    return max(0.0, math.sin(math.radians(weather.sun_altitude_deg))) * (1.0 - weather.cloudiness)


def _fog_extinction_ir(weather: Weather) -> float:
    """[1/m] LWIR extinction by fog droplets only."""
    return weather.thermal_fog_ratio * weather.fog_extinction_per_m


def _sky_temperature(weather: Weather) -> float:
    """[K] effective sky temperature seen by the camera (the atmosphere's path already in it)."""
    clear_deficit = 32.0 - 12.0 * weather.relative_humidity  # [K] water vapour radiates back
    cloud = 1.0 - 0.85 * weather.cloudiness  # low clouds radiate near air temperature
    fog_overhead = math.exp(-_fog_extinction_ir(weather) * FOG_LAYER_M)
    return weather.air_temperature_k - clear_deficit * cloud * fog_overhead


def _extinction_ir(weather: Weather) -> float:
    """[1/m] total LWIR extinction: fog plus water-vapour absorption (about doubles per 11 K of air)."""
    vapour = 2.5e-4 * weather.relative_humidity * math.exp(0.064 * (weather.air_temperature_k - 293.0))
    # A floor keeps inf * beta at -inf for the sky's infinite depth (0 * inf would be NaN).
    return max(_fog_extinction_ir(weather) + vapour, 1e-12)


@dataclass(frozen=True)
class _SurfaceTable:
    """Per-weather, per-class values, indexed by class id (256 entries, read-only)."""

    kelvin: np.ndarray  # float32 [K]
    emissivity: np.ndarray  # float32 [-]
    emitted: np.ndarray  # float32 [W/(m^2 sr)] eps L(T) + (1 - eps) L(T_sky) leaving the surface
    heat_kind: np.ndarray  # uint8: _PERSON, _MOTOR or 0
    sky_radiance: float  # [W/(m^2 sr)]
    air_radiance: float  # [W/(m^2 sr)]
    sky_kelvin: float  # [K]
    extinction: float  # [1/m] beta_ir


@lru_cache(maxsize=16)
def _surface_table(weather: Weather) -> _SurfaceTable:
    air, solar = weather.air_temperature_k, _solar_load(weather)
    kelvin = np.full(256, air + _DEFAULT_SURFACE[0] + _DEFAULT_SURFACE[1] * solar, dtype=np.float64)
    eps = np.full(256, _DEFAULT_SURFACE[2], dtype=np.float64)
    for cls, (offset, gain, emissivity) in _SURFACE.items():
        kelvin[cls] = air + offset + gain * solar
        eps[cls] = emissivity
    sky = _sky_temperature(weather)
    kelvin[Sem.SKY] = sky
    person = PERSON_K + PERSON_AIR_COUPLING * (air - 296.0) + PERSON_SOLAR_K * solar
    heat_kind = np.zeros(256, dtype=np.uint8)
    for cls in _PERSON_CLASSES:
        kelvin[cls] = person
        heat_kind[cls] = _PERSON
    for cls in _MOTOR_CLASSES:
        heat_kind[cls] = _MOTOR
    sky_radiance, air_radiance = (float(v) for v in band_radiance(np.array([sky, air])))
    emitted = eps * band_radiance(kelvin) + (1.0 - eps) * sky_radiance
    arrays = [kelvin.astype(np.float32), eps.astype(np.float32), emitted.astype(np.float32), heat_kind]
    for a in arrays:
        a.setflags(write=False)
    return _SurfaceTable(*arrays, sky_radiance, air_radiance, sky, _extinction_ir(weather))


def _unit_hash(ids: np.ndarray, draws: int) -> np.ndarray:
    """Deterministic uniforms in [0, 1), ``(len(ids), draws)`` float32: lowbias32 hash of id and draw."""
    x = ids.astype(np.uint32)[:, None] * np.uint32(draws) + np.arange(1, draws + 1, dtype=np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return (x >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def _compact_ids(iid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique ids, group index per element) for positive ids; a bincount when ids are small."""
    top = int(iid.max())
    if top > 1 << 16:  # beyond 16-bit ids (CARLA packs them in 16 bits) a sort beats a huge bincount
        uniq, group = np.unique(iid, return_inverse=True)
        return uniq, group.astype(np.intp)
    uniq = np.flatnonzero(np.bincount(iid, minlength=top + 1))
    remap = np.zeros(top + 1, dtype=np.intp)
    remap[uniq] = np.arange(uniq.size)
    return uniq, remap[iid]


@dataclass(frozen=True)
class _Parts:
    """Pixels of people and motor vehicles that carry an instance id, with per-(part, row) values.

    A part is one instance's pixels of one heat kind (a motorcyclist's rider and machine are two
    parts); its extent is its visible rows. ``cell = part * H + row`` indexes the per-cell tables.
    """

    index: np.ndarray  # (N,) intp flat pixel indices
    cell: np.ndarray  # (N,) intp cell of each pixel
    kelvin: np.ndarray  # (parts * H,) float32 [K]
    emitted: np.ndarray  # (parts * H,) float32 [W/(m^2 sr)] eps L(T) + (1 - eps) L(T_sky)


def _heat_profile(frac: np.ndarray, is_motor: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Temperature excess [K] over the class value, ``(parts, H)``, from row fraction (0 top, <1 bottom)."""
    u = _unit_hash(ids, 3)  # per part: runs / person spread, body warmth, lower-part heat
    running = is_motor & (u[:, 0] < RUNNING_SHARE)
    body = BODY_WARM_K[0] + (BODY_WARM_K[1] - BODY_WARM_K[0]) * u[:, 1]
    base = np.where(is_motor, running * body, PERSON_SPREAD_K * (2.0 * u[:, 0] - 1.0))
    lower = running * (LOWER_HOT_K[0] + (LOWER_HOT_K[1] - LOWER_HOT_K[0]) * u[:, 2])
    head = np.where(is_motor, 0.0, PERSON_HEAD_K)
    ramp = np.minimum(np.maximum((frac - LOWER_RAMP[0]) * (1.0 / (LOWER_RAMP[1] - LOWER_RAMP[0])), 0.0), 1.0)
    return base[:, None] + lower[:, None] * ramp + head[:, None] * (frac < PERSON_HEAD_FRACTION)


def _parts(ids: np.ndarray, inst: np.ndarray, table: _SurfaceTable) -> _Parts | None:
    """Instance heat of people and motor vehicles, or None when the frame has none."""
    height, width = ids.shape
    kind = cv2.LUT(ids, table.heat_kind)
    index = np.flatnonzero(kind != 0)  # a bool mask: nonzero on it is ~8x faster than on uint8
    iid = inst.ravel()[index]
    keep = iid > 0
    if not keep.all():
        index, iid = index[keep], iid[keep]
    if index.size == 0:
        return None
    uniq, group = _compact_ids(iid)
    part = 2 * group + (kind.ravel()[index] == _MOTOR)
    n_parts = 2 * uniq.size
    cell = part * height + index // width
    occupied = np.bincount(cell, minlength=n_parts * height).reshape(n_parts, height) > 0
    present = np.flatnonzero(occupied.any(axis=1))
    occupied = occupied[present]
    top = occupied.argmax(axis=1)
    bottom = height - 1 - occupied[:, ::-1].argmax(axis=1)
    frac = (np.arange(height) - top[:, None]) / (bottom - top + 1)[:, None]  # rows outside a part unused
    part_class = np.zeros(n_parts, dtype=np.uint8)
    part_class[part] = ids.ravel()[index]  # one class per part in practice
    cls = part_class[present]
    kelvin = table.kelvin[cls][:, None] + _heat_profile(frac, present % 2 == 1, uniq[present // 2])
    eps = table.emissivity[cls][:, None]
    emitted = eps * band_radiance(kelvin) + (1.0 - eps) * table.sky_radiance
    cells_k = np.zeros((n_parts, height), dtype=np.float32)
    cells_e = np.zeros((n_parts, height), dtype=np.float32)
    cells_k[present] = kelvin
    cells_e[present] = emitted
    return _Parts(index, cell, cells_k.ravel(), cells_e.ravel())


def _surface(ids: np.ndarray, inst: np.ndarray, far: np.ndarray | None, table: _SurfaceTable):
    """(kelvin, parts) for checked inputs; kelvin is a fresh float32 ``(H, W)`` array."""
    kelvin = cv2.LUT(ids, table.kelvin)
    parts = _parts(ids, inst, table)
    if parts is not None:
        kelvin.ravel()[parts.index] = parts.kelvin[parts.cell]
    if far is not None:
        kelvin[far] = table.sky_kelvin
    return kelvin, parts


def surface_temperature(class_ids: np.ndarray, instance_ids: np.ndarray, weather: Weather,
                        depth_m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scene surface temperature [K] and emissivity [-], both float32 ``(H, W)``; a pure function.

    ``class_ids``: CARLA semantic ids ``(H, W)``; ``instance_ids``: ``(H, W)`` ints, 0 = no instance.
    With ``depth_m`` [m], pixels at ``SKY_DEPTH_M`` or farther count as sky. Raises ValueError.
    """
    ids, inst, depth = _check_arrays(class_ids, instance_ids, depth_m)
    _check_weather(weather)
    table = _surface_table(weather)
    far = _far_mask(depth)
    kelvin, _ = _surface(ids, inst, far, table)
    eps = cv2.LUT(ids, table.emissivity)
    if far is not None:
        eps[far] = 1.0
    return kelvin, eps


# --------------------------------------------------------------------------------------------------
# Input checks


def _check_arrays(class_ids, instance_ids, depth_m, expected: tuple[int, int] | None = None):
    named = [("class_ids", class_ids), ("instance_ids", instance_ids)]
    if depth_m is not None:
        named.append(("depth_m", depth_m))
    arrays = []
    for name, value in named:
        a = np.asarray(value)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"thermal: {name} must be a non-empty 2-D (H, W) array, got shape {a.shape}")
        if name != "depth_m" and not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"thermal: {name} must have an integer dtype, got {a.dtype}")
        if name == "depth_m" and not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"thermal: depth_m must have a real numeric dtype, got {a.dtype}")
        arrays.append(a)
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        got = ", ".join(f"{name} {a.shape}" for (name, _), a in zip(named, arrays))
        raise ValueError(f"thermal: input arrays must share one (H, W) shape, got {got}")
    if expected is not None and arrays[0].shape != expected:
        raise ValueError(
            f"thermal: expected inputs of shape {expected} (spec.camera height x width), got "
            f"{arrays[0].shape}; render the semantic/instance/depth cameras at the thermal camera's size"
        )
    ids = arrays[0]
    if ids.dtype != np.uint8:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"thermal: class_ids must be within 0..255 (CARLA ids 0..28), got {lo}..{hi}")
        ids = ids.astype(np.uint8)
    inst = arrays[1]
    if inst.dtype == np.uint64:  # bincount cannot take it; ids this large wrap, which is harmless
        inst = inst.astype(np.int64)
    depth = None
    if depth_m is not None:
        depth = np.ascontiguousarray(arrays[2], dtype=np.float32)
        low = depth.min()
        if not low >= 0.0:  # also catches NaN
            raise ValueError(
                f"thermal: depth_m must be >= 0 m and not NaN (sky: inf or >= {SKY_DEPTH_M:g}), got min {low}"
            )
    return np.ascontiguousarray(ids), np.ascontiguousarray(inst), depth


def _check_weather(weather: Weather) -> None:
    if not isinstance(weather, Weather):
        raise ValueError(f"thermal: weather must be a harness.weather.Weather, got {type(weather).__name__}")


def _far_mask(depth: np.ndarray | None) -> np.ndarray | None:
    """Boolean mask of pixels at sky distance, or None when there are none."""
    if depth is None:
        return None
    far = depth >= SKY_DEPTH_M
    return far if far.any() else None


# --------------------------------------------------------------------------------------------------
# The camera


class ThermalCamera:
    """A microbolometer camera with its own fixed-pattern noise and AGC state.

    ``__call__`` turns ``(H, W)`` class ids, instance ids and depth [m] into a :class:`ThermalFrame`;
    ``H, W`` must equal ``spec.camera.height, width``. Call :meth:`reset` at a new episode.
    """

    def __init__(self, spec: ThermalSpec, seed: int) -> None:
        if not isinstance(spec, ThermalSpec):
            raise ConfigError(f"ThermalCamera: spec must be a harness.rig.ThermalSpec, got {type(spec).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"ThermalCamera: seed must be a non-negative int, got {seed!r}")
        self.spec = spec
        self.shape = (spec.camera.height, spec.camera.width)
        lo_l, hi_l, ref_l = (float(v) for v in band_radiance(np.array([*COUNTS_SPAN_K, NUC_REFERENCE_K])))
        per_radiance = COUNTS_MAX / (hi_l - lo_l)  # [counts per W/(m^2 sr)]
        per_kelvin = per_radiance * _radiance_slope(SPEC_NOISE_K)  # [counts/K] near 300 K

        # Fixed pattern: counts = g * k * (L - L_ref) + c_ref + offset, g and offset per pixel, so the
        # gain error vanishes at the shutter (NUC) temperature and grows with scene contrast.
        fpn_rng = np.random.default_rng(seed)
        p = spec.fpn_percent / 100.0
        gain = 1.0 + p * fpn_rng.standard_normal(self.shape)
        offset = p * FPN_OFFSET_SPAN_K * per_kelvin * (
            fpn_rng.standard_normal(self.shape) + FPN_COLUMN_SHARE * fpn_rng.standard_normal((1, self.shape[1]))
        )
        self._gain = (gain * per_radiance).astype(np.float32)  # [counts per W/(m^2 sr)]
        self._base = (per_radiance * (ref_l - lo_l) - gain * per_radiance * ref_l + offset).astype(np.float32)
        # Temporal noise: binomial(32, 1/2) bit counts, std sqrt(8), centred by the shift.
        self._noise_step = spec.netd_mk / 1000.0 * per_kelvin / math.sqrt(8.0)  # [counts per bit]
        self._noise_shift = -16.0 * self._noise_step  # [counts]
        self._min_span = MIN_AGC_SPAN_K * per_kelvin  # [counts]
        self._low_q, self._high_q = spec.agc_low_pct / 100.0, spec.agc_high_pct / 100.0  # [0..1]
        self._agc: tuple[float, float] | None = None
        self._cdf: np.ndarray | None = None  # plateau AGC: smoothed cumulative histogram

    def reset(self) -> None:
        """Forget the AGC state (new episode); the fixed pattern stays, it belongs to the camera."""
        self._agc = None
        self._cdf = None

    def __call__(self, class_ids: np.ndarray, instance_ids: np.ndarray, depth_m: np.ndarray,
                 weather: Weather, rng: np.random.Generator) -> ThermalFrame:
        """Render one frame from ``(H, W)`` class ids, instance ids and depth [m]; raises ValueError."""
        ids, inst, depth = _check_arrays(class_ids, instance_ids, depth_m, self.shape)
        _check_weather(weather)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"thermal: rng must be a numpy.random.Generator, got {type(rng).__name__}")
        table = _surface_table(weather)
        far = _far_mask(depth)
        kelvin, parts = _surface(ids, inst, far, table)
        received = self._radiance_at_lens(ids, depth, far, parts, table)
        if self.spec.blur_sigma_px > 0.0:
            cv2.GaussianBlur(received, (0, 0), self.spec.blur_sigma_px, dst=received,
                             borderType=cv2.BORDER_REFLECT_101)
        counts = self._digitise(received, rng)
        return ThermalFrame(image=self._gain_control(counts), kelvin=kelvin, counts=counts)

    @staticmethod
    def _radiance_at_lens(ids, depth, far, parts, table: _SurfaceTable) -> np.ndarray:
        """Received band radiance [W/(m^2 sr)]: surface emission through the atmosphere, float32."""
        emitted = cv2.LUT(ids, table.emitted)
        if parts is not None:
            emitted.ravel()[parts.index] = parts.emitted[parts.cell]
        tau = np.exp(depth * np.float32(-table.extinction))  # [-] sky at depth inf gets 0, fixed below
        sky = ids == Sem.SKY
        if far is not None:
            sky |= far
            emitted[far] = table.sky_radiance
        np.copyto(tau, np.float32(1.0), where=sky)  # the sky temperature already holds its path
        air = np.float32(table.air_radiance)
        emitted -= air
        emitted *= tau
        emitted += air  # tau * E + (1 - tau) * L_air
        return emitted

    def _digitise(self, received: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """14-bit counts (uint16) with fixed-pattern and temporal noise; cv2 rounds and saturates."""
        signal = received * self._gain
        signal += self._base
        if self._noise_step > 0.0:
            bits = _random_bit_counts(rng, self.shape)
            counts = cv2.addWeighted(signal, 1.0, bits, self._noise_step, self._noise_shift, dtype=cv2.CV_16U)
        else:
            counts = cv2.addWeighted(signal, 1.0, signal, 0.0, 0.0, dtype=cv2.CV_16U)
        return cv2.min(counts, float(COUNTS_MAX))

    def _gain_control(self, counts: np.ndarray) -> np.ndarray:
        if self.spec.agc_mode == "plateau":
            return self._plateau_equalise(counts)
        return self._linear_window(counts)

    def _plateau_equalise(self, counts: np.ndarray) -> np.ndarray:
        """14-bit counts -> uint8 by plateau histogram equalisation (FLIR's default AGC).

        The histogram has 16-count bins (about 0.16 K); each bin may claim at most
        ``agc_plateau_pct`` % of the pixels, so a large flat surface (a road, a wall) gets a bounded
        share of the grey range instead of all of it, and surfaces a kelvin or two apart stay
        distinguishable at night, when a linear window spanning the cold sky would merge them.
        The cumulative histogram is smoothed over frames like the linear window is.
        """
        sample = counts[::2, ::2] if counts.size >= 4 * AGC_MIN_SAMPLES else counts
        raw = np.bincount((sample >> PLATEAU_SHIFT).ravel(), minlength=(COUNTS_MAX >> PLATEAU_SHIFT) + 1)
        occupied = np.flatnonzero(raw)
        # spread each surface's peak over neighbouring bins first, so that sensor noise flipping a
        # pixel between two adjacent bins moves it a few grey levels, not a whole plateau
        hist = gaussian_filter1d(raw.astype(np.float64), PLATEAU_SMOOTH_BINS, mode="constant")
        plateau = max(1.0, self.spec.agc_plateau_pct / 100.0 * sample.size)
        cdf = np.cumsum(np.minimum(hist, plateau))
        cdf = cdf / cdf[-1]
        if self._cdf is not None:
            s = self.spec.agc_smoothing
            cdf = s * self._cdf + (1.0 - s) * cdf
        self._cdf = cdf
        # the coldest occupied bin maps to 0, the hottest to 255
        lo_cdf, hi_cdf = cdf[occupied[0]], cdf[occupied[-1]]
        lut = np.clip(np.round(255.0 * (cdf - lo_cdf) / max(hi_cdf - lo_cdf, 1e-9)), 0, 255).astype(np.uint8)
        return lut[counts >> PLATEAU_SHIFT]

    def _linear_window(self, counts: np.ndarray) -> np.ndarray:
        """14-bit counts -> uint8 through the smoothed percentile window.

        Percentiles come from a histogram of 4-count bins (0.04 K) over every other row and column
        (every pixel on small sensors): a quarter of the cost, the same window to within a bin.
        """
        sample = counts[::2, ::2] if counts.size >= 4 * AGC_MIN_SAMPLES else counts
        cdf = np.cumsum(np.bincount((sample >> 2).ravel(), minlength=(COUNTS_MAX >> 2) + 1))
        n = int(cdf[-1])
        lo_bin, hi_bin = np.searchsorted(cdf, [max(q * n, 1.0) for q in (self._low_q, self._high_q)])
        lo, hi = 4.0 * lo_bin, 4.0 * hi_bin + 4.0  # [counts] bin edges enclosing both percentiles
        if self._agc is not None:
            s = self.spec.agc_smoothing
            lo, hi = s * self._agc[0] + (1.0 - s) * lo, s * self._agc[1] + (1.0 - s) * hi
        self._agc = (lo, hi)
        if hi - lo < self._min_span:
            mid = 0.5 * (lo + hi)
            lo, hi = mid - 0.5 * self._min_span, mid + 0.5 * self._min_span
        # Window start rounded to a whole count (0.01 K): then two saturating cv2 passes do the map.
        above = cv2.subtract(counts, float(round(lo)))
        return cv2.convertScaleAbs(above, alpha=255.0 / (hi - lo))


PLATEAU_SHIFT = 4  # plateau AGC bins of 2**4 counts (~0.16 K)
PLATEAU_SMOOTH_BINS = 3.0  # [bins] Gaussian spread of the histogram before clipping (~0.5 K)


def _random_bit_counts(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Per-pixel binomial(32, 1/2), uint8 (mean 16, std sqrt(8)): bit counts of random uint32 words.

    By the central limit theorem this is Gaussian to within 1/16 in kurtosis, in steps of 0.35 sigma,
    and it costs a seventh of ``rng.standard_normal`` (0.08 ms instead of 0.56 ms at 320x160 here).
    """
    n = shape[0] * shape[1]
    words = rng.integers(0, np.iinfo(np.uint64).max, size=(n + 1) // 2, dtype=np.uint64, endpoint=True)
    return _popcount(words.view(np.uint32)[:n]).reshape(shape)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint32, as uint8; numpy >= 2 has it built in, older numpy gets the SWAR sum."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    x = x - ((x >> np.uint32(1)) & np.uint32(0x55555555))
    x = (x & np.uint32(0x33333333)) + ((x >> np.uint32(2)) & np.uint32(0x33333333))
    x = (x + (x >> np.uint32(4))) & np.uint32(0x0F0F0F0F)
    return ((x * np.uint32(0x01010101)) >> np.uint32(24)).astype(np.uint8)
