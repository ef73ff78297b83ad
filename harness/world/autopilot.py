"""A privileged route follower: pure pursuit on the dense route, speed from an IDM-style gap to
whatever stands in the ego's corridor (ground-truth actors) or a red/yellow stop line ahead. It reads
the simulation through :class:`harness.backends.truth.GroundTruth` only, so it drives on any backend.

It drives the ego for ``harness render`` / ``bench-sim`` and the gymnasium env's demos. The expert
agent (agents/) builds on it.
"""

from __future__ import annotations

import math

import numpy as np

from harness.backends.records import VehicleControl
from harness.world.routing import local_frame
from harness.world.signals import GREEN
from harness.backends.truth import GroundTruth
from harness.backends.truth import CORRIDOR_M
from harness.world.world import EGO_INSTANCE

CRUISE_MPS = 8.0


class RouteFollower:
    def __init__(self, world: GroundTruth, cruise: float = CRUISE_MPS) -> None:
        self.world = world
        self.cruise = cruise

    def __call__(self, *_ignored) -> VehicleControl:
        w = self.world
        e = w.ego
        xy = np.array([e.x, e.y])
        route = w.route
        i0 = w.route_index()
        # pure pursuit towards a point ~ (4 + 0.6 v) m ahead
        look = 4.0 + 0.6 * abs(e.speed)
        k = int(np.searchsorted(route.s, route.s[i0] + look))
        target = route.points[min(k, len(route.points) - 1)]
        loc = local_frame(target[None], xy, e.yaw)[0]
        curv = 2.0 * loc[1] / max(loc @ loc, 1e-3)
        steer = math.atan(curv * w.ego_params.wheelbase) / math.radians(w.ego_params.max_steer_deg)
        # speed: cruise, slow in turns, stop for obstacles and lights
        ahead = route.points[i0 : min(len(route.points), i0 + 45)]
        turn = abs(route.headings[min(i0 + 20, len(route.points) - 1)] - route.headings[i0])
        turn = min(turn, 2 * math.pi - turn)
        v_des = self.cruise if turn < 0.3 else min(self.cruise, 5.0)
        gap = self._gap(ahead, xy)
        stop = self._stop_line()
        gap = min(gap, stop)
        v = abs(e.speed)
        s_star = 3.0 + v * 1.2
        a = 1.5 * (1 - (v / v_des) ** 4 - (s_star / max(gap, 0.1)) ** 2) if np.isfinite(gap) else 1.5 * (1 - (v / v_des) ** 4)
        if a >= 0:
            return VehicleControl.clipped(throttle=min(1.0, a / 2.5 + 0.2), steer=steer)
        return VehicleControl.clipped(brake=min(1.0, -a / 6.0 + 0.1), steer=steer)

    def next_signal(self, horizon: int = 60) -> tuple[float, int | None]:
        """The next signalised stop line on the route within ``horizon`` route points (1 m each):
        gap from the ego's front to it [m] and its state (RED/YELLOW/GREEN); ``(inf, None)`` if none."""
        gap, sig = self.next_signal_id(horizon)
        return gap, (None if sig is None else self.world.signal_state(sig))

    def next_signal_id(self, horizon: int = 60) -> tuple[float, int | None]:
        """As :meth:`next_signal`, with the id of the signal head instead of its state."""
        return self.world.next_stop_line(horizon)

    def light_gap(self) -> float:
        """[m] from the ego to the stop line of a red/yellow light it should stop for (inf: none)."""
        return self._stop_line()

    def _gap(self, ahead: np.ndarray, xy: np.ndarray) -> float:
        view = self.world.actor_view(include_ego=False)
        if not len(view.xy) or len(ahead) < 2:
            return math.inf
        near = np.flatnonzero(np.hypot(*(view.xy - xy).T) < 50.0)
        near = near[view.instance[near] != EGO_INSTANCE]
        if not len(near):
            return math.inf
        d = np.hypot(ahead[:, None, 0] - view.xy[None, near, 0], ahead[:, None, 1] - view.xy[None, near, 1])
        hit = d < (CORRIDOR_M + view.size[near, 1][None, :] / 2)
        if not hit.any():
            return math.inf
        k = int(np.argmax(hit.any(axis=1)))
        return max(0.0, k * 1.0 - 2.5 - 1.0)

    def _stop_line(self) -> float:
        w = self.world
        seen = [line for line in w.stop_lines_ahead(45) if w.signal_state(line.signal) != GREEN]
        if not seen:
            return math.inf
        line = seen[0]
        e = w.ego
        loc = local_frame(np.array([line.xy]), np.array([e.x, e.y]), e.yaw)[0]
        if loc[0] < -0.5:
            return math.inf
        if w.signal_state(line.signal) == 1 and loc[0] < abs(e.speed) ** 2 / (2 * 3.0) - 2.0:
            return math.inf  # yellow too late to stop: go
        return max(0.0, loc[0] - 2.45)


def lane_keeper(backend) -> RouteFollower:
    return RouteFollower(backend.ground_truth)
