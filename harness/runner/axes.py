"""Sweep axes: what each severity of ``harness sweep`` (and ``harness render --axis``) changes.

- ``fog``: meteorological visibility [m] (``Weather.fog_visibility_m``);
- ``sun``: sun altitude [deg] (illumination; below 0 is night, street lights and headlights come on);
- ``misalign_px``: thermal-to-RGB registration error, horizontal shift [px];
- ``misalign_deg``: registration error, in-plane rotation [deg];
- ``latency``: per-frame fusion latency [ms] in latency-aware mode (the world keeps moving).

Plain data and checks only: the runner's sweep and the renderer's contact sheet both read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError


@dataclass(frozen=True)
class Axis:
    name: str
    label: str  # x-axis label of the plot, with unit
    defaults: tuple[float, ...]
    log_x: bool = False


AXES: dict[str, Axis] = {
    "fog": Axis("fog", "fog visibility [m] (lower is denser)", (1000.0, 200.0, 100.0, 50.0, 25.0), log_x=True),
    "sun": Axis("sun", "sun altitude [deg] (below 0: night)", (60.0, 10.0, 0.0, -10.0, -30.0)),
    "misalign_px": Axis("misalign_px", "thermal-RGB misalignment, horizontal shift [px]", (0.0, 15.0, 30.0, 60.0)),
    "misalign_deg": Axis("misalign_deg", "thermal-RGB misalignment, rotation [deg]", (0.0, 5.0, 10.0, 20.0)),
    "latency": Axis("latency", "fusion latency [ms] (the world keeps moving)", (0.0, 50.0, 100.0, 200.0)),
}


def axis_setting(axis: str, value: float) -> tuple[dict[str, float], dict[str, float], str | None]:
    """What severity ``value`` along ``axis`` sets: (Weather field overrides, Calibration field
    overrides, latency); ConfigError for an unknown axis or a value out of its range."""
    if axis == "fog":
        if value < 1.0:
            raise ConfigError(f"fog visibility must be >= 1 m, got {value:g}")
        return {"fog_visibility_m": value}, {}, None
    if axis == "sun":
        if not -90.0 <= value <= 90.0:
            raise ConfigError(f"sun altitude must be within [-90, 90] deg, got {value:g}")
        return {"sun_altitude_deg": value}, {}, None
    if axis == "misalign_px":
        return {}, {"dx_px": value}, None
    if axis == "misalign_deg":
        return {}, {"rot_deg": value}, None
    if axis == "latency":
        if value < 0:
            raise ConfigError(f"latency must be >= 0 ms, got {value:g}")
        return {}, {}, f"{value:g}"
    raise ConfigError(f"unknown sweep axis {axis!r}; axes: {', '.join(AXES)}")


def axis_values(axis: str, values=None) -> tuple[float, ...]:
    """``values`` along ``axis`` (None: the axis's defaults), checked: a known axis, at least one value, none twice."""
    if axis not in AXES:
        raise ConfigError(f"unknown sweep axis {axis!r}; axes: {', '.join(AXES)}")
    values = tuple(AXES[axis].defaults if values is None else values)
    if not values or len(set(values)) != len(values):
        raise ConfigError(f"sweep values must be distinct numbers, got {list(values)}")
    return values


def folder_name(axis: str, value: float) -> str:
    return f"{axis}={value:g}"
