"""Records the metrics collector produces: one :class:`Infraction` per scored event and one
:class:`RouteScore` per (route, repetition). Plain ``to_dict``/``from_dict`` for storage."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields

from harness.errors import ConfigError
from harness.metrics.rules import INFRACTION_KINDS, SUCCESS_STATUSES


def _check_keys(cls, d: dict) -> None:
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    missing = {f.name for f in fields(cls) if f.name not in d and f.default is MISSING and f.default_factory is MISSING}
    if unknown or missing:
        raise ConfigError(f"{cls.__name__}.from_dict: expected keys {sorted(known)}, got unknown "
                          f"{sorted(unknown)} and missing {sorted(missing)}; write it with to_dict()")


@dataclass(frozen=True)
class Infraction:
    """One scored event, named as the leaderboard names it (``rules.INFRACTION_KINDS``)."""

    kind: str  # leaderboard infraction key, e.g. "collisions_vehicle", "route_dev"
    frame: int | None  # simulation frame of the event (None when read back from a leaderboard file)
    time: float | None  # [s] simulation time of the event (None when unknown)
    x: float | None  # [m] where it happened (ego position; the signal's for red lights); None if unknown
    y: float | None  # [m]
    value: float | None  # [%] min speed: ego/traffic speed; outside lanes: share of route; else None
    penalty: float  # factor this infraction multiplies the penalty P by (1.0 for route-ending ones)
    description: str  # the leaderboard's message for it (what goes into simulation_results.json)

    def __post_init__(self) -> None:
        if self.kind not in INFRACTION_KINDS:
            raise ConfigError(f"Infraction.kind must be one of {list(INFRACTION_KINDS)}, got {self.kind!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Infraction:
        _check_keys(cls, d)
        return cls(**d)


@dataclass(frozen=True)
class RouteScore:
    """The leaderboard's score of one route run: ``DS = RC * IS``."""

    DS: float  # [%] driving score (score_composed), 0..100
    RC: float  # [%] route completion (score_route), 0..100, frozen when the route ended
    IS: float  # infraction penalty P (score_penalty), 0..1
    status: str  # "Perfect" | "Completed" | "Failed" | "Failed - <reason>" (leaderboard strings)
    duration_game_s: float  # [s] simulation time the route ran
    duration_system_s: float  # [s] wall-clock time the route ran (-1 when not measured)
    route_length_m: float  # [m]
    meters_driven: float | None  # [m] ego odometer until the route ended (None: not in leaderboard files)
    outside_lanes_m: float  # [m] of route traversed outside route lanes (OutsideRouteLanesTest)
    infractions: tuple[Infraction, ...] = ()
    rules: str = "2.x"  # leaderboard version whose rules scored it
    # not in leaderboard files (the harness's own, from the ground truth of the embedded world):
    # [s] the ego stood still (below 0.1 m/s), by what was in front of it: "red_light", "actor" or
    # "nothing" (``World.standing_for``); empty where the backend does not tell or in older records
    standing_s: dict[str, float] = field(default_factory=dict)
    # for a route that ended blocked: "nothing" when the way was free for over 5 s of the final
    # stand-still, else the longer of "actor" and "red_light" (``route.blocked_by``); None: not
    # blocked, or not known
    blocked_by: str | None = None

    @property
    def success(self) -> bool:
        """Route completed (with or without infractions)."""
        return self.status in SUCCESS_STATUSES

    def counts(self) -> dict[str, int]:
        """Number of infractions per leaderboard key (every key present)."""
        out = dict.fromkeys(INFRACTION_KINDS, 0)
        for inf in self.infractions:
            out[inf.kind] += 1
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["infractions"] = [i.to_dict() for i in self.infractions]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RouteScore:
        _check_keys(cls, d)
        d = dict(d)
        d["infractions"] = tuple(Infraction.from_dict(i) for i in d["infractions"])
        return cls(**d)
