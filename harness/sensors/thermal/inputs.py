"""Checks of what a renderer hands the thermal model: class ids, instance ids, depth, weather, generator.

Every array is ``(H, W)``: CARLA semantic class ids (integers 0..255, in practice 0..28), instance ids
(integers, 0 = no instance) and depth along the optical axis [m] (>= 0; inf or >= ``SKY_DEPTH_M`` is
sky). Bad inputs raise ValueError with what was expected and what came.
"""

from __future__ import annotations

import numpy as np

from harness.sensors.thermal.atmosphere import SKY_DEPTH_M
from harness.weather import Weather


def check_arrays(class_ids, instance_ids, depth_m, expected: tuple[int, int] | None = None):
    """(class ids uint8, instance ids, depth float32 [m] or None), all C-contiguous ``(H, W)``.

    ``expected``: the ``(H, W)`` the camera was built for, or None for any size. Raises ValueError.
    """
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


def check_weather(weather: Weather) -> None:
    """Raises ValueError unless ``weather`` is a :class:`~harness.weather.Weather`."""
    if not isinstance(weather, Weather):
        raise ValueError(f"thermal: weather must be a harness.weather.Weather, got {type(weather).__name__}")


def check_rng(rng: np.random.Generator) -> None:
    """Raises ValueError unless ``rng`` is a ``numpy.random.Generator`` (the temporal noise's source)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"thermal: rng must be a numpy.random.Generator, got {type(rng).__name__}")
