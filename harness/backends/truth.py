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

import math

import numpy as np

from harness.world.routing import local_frame

if TYPE_CHECKING:
    from harness.world.ego import EgoParams, EgoState
    from harness.world.routing import Route


RED, YELLOW, GREEN = 0, 1, 2  # traffic light states (harness.world.signals uses the same values)
# [m] ahead of the ego's front bumper: a vehicle or pedestrian in its path, or a stop line at red or
# yellow, this close explains the ego standing still (the expert stands 3 m behind what it waits for)
STANDING_AHEAD_M = 12.0
CORRIDOR_M = 1.4  # [m] from the route to an actor's side that puts it in the ego's path (autopilot, expert)
STANDING_FOR = ("red_light", "actor", "nothing")


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


# -- read from any backend's ground truth: both backends answer these the same way -----------------

def next_stop_line(truth: GroundTruth, horizon: int = 60) -> tuple[float, int | None]:
    """The next signalised stop line on the route within ``horizon`` route points (1 m each) ahead:
    the gap from the ego's front bumper to it [m] and its signal head's id; ``(inf, None)`` if none."""
    xy = np.array([truth.ego.x, truth.ego.y])
    for line in truth.stop_lines_ahead(horizon):
        ahead = float(local_frame(np.array([line.xy]), xy, truth.ego.yaw)[0, 0])
        if ahead < -0.5:
            continue
        return max(0.0, ahead - truth.ego_params.length / 2), line.signal
    return math.inf, None


def standing_for(truth: GroundTruth) -> str:
    """What the ground truth has in front of the ego, the reasons a driver may stand still for:

    - ``"red_light"``: the next stop line on the route, within ``STANDING_AHEAD_M`` of the front
      bumper, shows red or yellow;
    - ``"actor"``: a vehicle or pedestrian (scripted ones and props included, knocked-down ones
      too) is in the ego's path: within ``CORRIDOR_M`` + its half-width of the route, its near end
      within ``STANDING_AHEAD_M`` of the front bumper (or beside the ego);
    - ``"nothing"``: neither. The road ahead is clear and the light green or far, so the privileged
      expert would drive on: the ego stands for something its sensors made up (or for nothing).

    The nearer of a red stop line and an actor wins. Positions only: an actor about to cross the
    path is "nothing" until it is in it, a second or two for the towns' traffic.
    """
    front = truth.ego_params.length / 2
    light_gap, sig = truth.next_stop_line(int(STANDING_AHEAD_M + front) + 2)
    if sig is None or truth.signal_state(sig) == GREEN or light_gap > STANDING_AHEAD_M:
        light_gap = math.inf
    actor_gap = math.inf
    view = truth.actor_view(include_ego=False)
    i0 = truth.route_index()
    path = truth.route.points[i0 : i0 + int(STANDING_AHEAD_M + front) + 10]  # +10 m: the centre of a bus in range
    near = np.flatnonzero(np.hypot(*(view.xy - (truth.ego.x, truth.ego.y)).T) < len(path) + 5.0) if len(view.xy) else []
    if len(near) and len(path):
        d = np.hypot(path[:, None, 0] - view.xy[None, near, 0], path[:, None, 1] - view.xy[None, near, 1])
        hit = d < CORRIDOR_M + view.size[near, 1][None, :] / 2
        on = hit.any(axis=0)
        if on.any():  # route points are 1 m apart: the first one an actor touches is its distance along the path
            gaps = np.argmax(hit, axis=0)[on] - front - view.size[near[on], 0] / 2
            actor_gap = float(gaps.min())
    if min(light_gap, actor_gap) > STANDING_AHEAD_M:
        return "nothing"
    return "red_light" if light_gap <= actor_gap else "actor"
