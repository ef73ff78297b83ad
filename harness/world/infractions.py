"""Per-step event records the metrics collector scores (CARLA leaderboard rules live there)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
