"""Surface temperature [K] and emissivity [-] of every pixel, from its class, its instance and the weather.

Per class: ``T = T_air + offset + gain * S`` [K] where ``S = max(0, sin(sun altitude)) * (1 - cloudiness)``
[0..1] is the solar load (0 at night). Asphalt gains most (about +20 K at high sun, +2 K of stored heat
at night); vegetation stays near air temperature (transpiration); bare metal (poles, signs, guard
rails) has low emissivity and so mirrors the cold sky. The sky's "surface" is the sky temperature of
:mod:`~harness.sensors.thermal.atmosphere`.

People are a skin/clothing mix near 305 K (head warmer). Only ids are known, so a vehicle's hot parts
come from its instance mask: the lowest rows of each instance (tyres, exhaust, undercarriage) and,
more mildly, its whole body are heated when it runs; whether it runs and how hot it is are drawn from
a hash of the instance id, so about a quarter of vehicles are parked and cold, the same ones in every
frame.

What leaves a surface towards the camera is ``eps * L(T) + (1 - eps) * L(T_sky)`` [W/(m^2 sr)]:
its own emission plus the sky it reflects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from harness.semantics import Sem
from harness.sensors.thermal.atmosphere import extinction_ir, far_mask, sky_temperature
from harness.sensors.thermal.inputs import check_arrays, check_weather
from harness.sensors.thermal.radiometry import band_radiance
from harness.weather import Weather

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


def _solar_load(weather: Weather) -> float:
    """[0..1] direct solar heating: sin(sun altitude) dimmed by clouds, 0 at night."""
    return max(0.0, math.sin(math.radians(weather.sun_altitude_deg))) * (1.0 - weather.cloudiness)


@dataclass(frozen=True)
class SurfaceTable:
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
def surface_table(weather: Weather) -> SurfaceTable:
    """The class table for one weather (cached: weathers are frozen and few)."""
    air, solar = weather.air_temperature_k, _solar_load(weather)
    kelvin = np.full(256, air + _DEFAULT_SURFACE[0] + _DEFAULT_SURFACE[1] * solar, dtype=np.float64)
    eps = np.full(256, _DEFAULT_SURFACE[2], dtype=np.float64)
    for cls, (offset, gain, emissivity) in _SURFACE.items():
        kelvin[cls] = air + offset + gain * solar
        eps[cls] = emissivity
    sky = sky_temperature(weather)
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
    return SurfaceTable(*arrays, sky_radiance, air_radiance, sky, extinction_ir(weather))


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
class Parts:
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


def _parts(ids: np.ndarray, inst: np.ndarray, table: SurfaceTable) -> Parts | None:
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
    return Parts(index, cell, cells_k.ravel(), cells_e.ravel())


def surface_kelvin(ids: np.ndarray, inst: np.ndarray, far: np.ndarray | None,
                   table: SurfaceTable) -> tuple[np.ndarray, Parts | None]:
    """(kelvin, parts) for checked inputs; kelvin [K] is a fresh float32 ``(H, W)`` array.

    ``far``: the mask of pixels at sky distance, or None; they take the sky temperature.
    """
    kelvin = cv2.LUT(ids, table.kelvin)
    parts = _parts(ids, inst, table)
    if parts is not None:
        kelvin.ravel()[parts.index] = parts.kelvin[parts.cell]
    if far is not None:
        kelvin[far] = table.sky_kelvin
    return kelvin, parts


def emitted_radiance(ids: np.ndarray, parts: Parts | None, far: np.ndarray | None,
                     table: SurfaceTable) -> np.ndarray:
    """Band radiance [W/(m^2 sr)] leaving each surface towards the camera, a fresh float32 ``(H, W)``."""
    emitted = cv2.LUT(ids, table.emitted)
    if parts is not None:
        emitted.ravel()[parts.index] = parts.emitted[parts.cell]
    if far is not None:
        emitted[far] = table.sky_radiance
    return emitted


def surface_temperature(class_ids: np.ndarray, instance_ids: np.ndarray, weather: Weather,
                        depth_m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scene surface temperature [K] and emissivity [-], both float32 ``(H, W)``; a pure function.

    ``class_ids``: CARLA semantic ids ``(H, W)``; ``instance_ids``: ``(H, W)`` ints, 0 = no instance.
    With ``depth_m`` [m], pixels at ``SKY_DEPTH_M`` or farther count as sky. Raises ValueError.
    """
    ids, inst, depth = check_arrays(class_ids, instance_ids, depth_m)
    check_weather(weather)
    table = surface_table(weather)
    far = far_mask(depth)
    kelvin, _ = surface_kelvin(ids, inst, far, table)
    eps = cv2.LUT(ids, table.emissivity)
    if far is not None:
        eps[far] = 1.0
    return kelvin, eps
