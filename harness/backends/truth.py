"""Ground truth: what the privileged readers of a simulation may ask a backend, whichever it is.

The expert and the route follower, the labellers of the perception probe and of the training data,
the standing-still attribution and the infraction clips read the simulation only through this
interface (``backend.ground_truth``), never through a backend's own world. The embedded world
implements it directly; the CARLA backend answers it from its actors, traffic lights and stop
waypoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from harness.world.ego import EgoParams, EgoState
    from harness.world.routing import Route


@dataclass(frozen=True)
class ActorView:
    """Every moving actor at one instant (arrays of equal length; the ego first when included)."""

    xy: np.ndarray  # (N, 2) [m]
    yaw: np.ndarray  # (N,) [rad]
    size: np.ndarray  # (N, 3) length, width, height [m]
    sem: np.ndarray  # (N,) class id
    instance: np.ndarray  # (N,)
    color: np.ndarray  # (N, 3) albedo
    flags: np.ndarray  # (N,) bit 0 braking, bit 1 hazard lights, bit 2 knocked down


@dataclass(frozen=True)
class StopLine:
    """A stop line under a traffic light: the light's id and the line's centre on the lane [m]."""

    signal: int
    xy: tuple[float, float]


@runtime_checkable
class GroundTruth(Protocol):
    """The simulation as the privileged readers see it (map coordinates, metres, radians)."""

    t: float  # [s] simulation time
    route: "Route"  # the dense route being driven (points 1 m apart, their s and headings)
    ego: "EgoState"  # x, y [m], yaw [rad], speed [m/s]
    ego_params: "EgoParams"  # the ego's size, wheelbase and steering range

    def route_index(self) -> int:
        """The ego's index on ``route.points`` (monotone; the route tracker's)."""

    def actor_view(self, include_ego: bool = True) -> ActorView:
        """Every vehicle and pedestrian (and prop) now."""

    def signal_state(self, signal: int) -> int:
        """The state of traffic light ``signal`` (``harness.world.signals``: RED, YELLOW, GREEN)."""

    def signal_lamps(self) -> list[tuple[int, float, float]]:
        """Every traffic light's id and lamp position (x, y) [m]."""

    def stop_lines_ahead(self, horizon: int) -> list[StopLine]:
        """The stop lines of the lanes the next ``horizon`` route points run on, in route order."""

    def next_stop_line(self, horizon: int = 60) -> tuple[float, int | None]:
        """Gap from the ego's front bumper to the next stop line ahead on the route [m] and its
        light's id; ``(inf, None)`` when none within ``horizon`` route points."""

    def standing_for(self) -> str:
        """What is in front of the ego: ``"red_light"``, ``"actor"`` or ``"nothing"``."""
