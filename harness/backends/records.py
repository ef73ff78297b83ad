"""The records a backend and its callers exchange, whichever simulator runs: the control an agent
sends (``VehicleControl``, CARLA's fields and ranges) and the per-tick events the metrics collector
scores (``StepEvents`` with its ``Collision`` and ``RedLightRun``). Both backends fill the same types,
so the scoring, reports and agents never depend on the embedded world."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from harness.errors import ConfigError


@dataclass(frozen=True)
class VehicleControl:
    """Same fields and ranges as ``carla.VehicleControl``."""

    throttle: float = 0.0  # [0, 1]
    steer: float = 0.0  # [-1, 1], positive steers right (towards +y)
    brake: float = 0.0  # [0, 1]
    hand_brake: bool = False
    reverse: bool = False

    def __post_init__(self) -> None:
        for name, lo, hi in (("throttle", 0.0, 1.0), ("steer", -1.0, 1.0), ("brake", 0.0, 1.0)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
                raise ConfigError(f"VehicleControl.{name} must be a finite number in [{lo}, {hi}], got {v!r}")

    @classmethod
    def clipped(cls, throttle: float = 0.0, steer: float = 0.0, brake: float = 0.0, **kw) -> "VehicleControl":
        """Build a control from unchecked numbers, clipping them into range (NaN becomes 0)."""
        def c(v: float, lo: float, hi: float) -> float:
            v = float(v)
            return 0.0 if math.isnan(v) else min(max(v, lo), hi)
        return cls(c(throttle, 0, 1), c(steer, -1, 1), c(brake, 0, 1), **kw)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Collision:
    other_id: int  # instance id of the other actor (0 for static layout)
    kind: str  # "pedestrian" | "vehicle" | "static"
    sem: int  # semantic class of the other actor
    x: float  # [m] ego position at contact
    y: float  # [m]
    ego_speed: float  # [m/s]


@dataclass(frozen=True)
class RedLightRun:
    signal_id: int
    x: float  # [m]
    y: float  # [m]


@dataclass(frozen=True)
class StepEvents:
    frame: int
    time: float  # [s] simulation time after this step
    speed: float  # [m/s] ego speed
    distance_m: float  # [m] ego travel in this step
    route_completion: float  # [%] of the route length, monotone
    off_route_m: float  # [m] distance from the route centre line
    outside_lanes_m: float  # [m] of this step's travel off-road or in an opposite-direction lane
    blocked_s: float  # [s] ego continuously below 0.1 m/s
    traffic_speed: float | None  # [m/s] mean speed of NPC vehicles within 50 m (None when none)
    collisions: tuple[Collision, ...] = ()
    red_lights: tuple[RedLightRun, ...] = ()
    route_done: bool = False
    # while the ego stands still (below 0.1 m/s): what the ground truth has in front of it, one of
    # ``World.standing_for``'s "red_light" / "actor" / "nothing"; None while it moves, or from a backend
    # that does not tell
    standing_for: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)
