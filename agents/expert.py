"""The privileged expert: the data source for training and the upper bound in evaluations.

It reads the ground truth of the world it drives in (every actor's pose and the signal states), so
it runs only on a backend that exposes it (``bind``). It follows the route with pure pursuit on the
dense route, keeps its lane, stops at red and yellow lights it can still stop for, and keeps an IDM
gap to whatever stands in, or is about to enter, its corridor: each actor's position now and
extrapolated ``PREDICT_S`` ahead from its velocity (pedestrians stepping off the kerb).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.autonomous_agent import AutonomousAgent
from harness.backends.records import VehicleControl
from harness.errors import AgentError, ConfigError, WrongOrderError
from harness.world.autopilot import CRUISE_MPS, RouteFollower
from harness.backends.truth import CORRIDOR_M
from harness.world.world import EGO_INSTANCE

PREDICT_S = (0.5, 1.0, 1.5)  # [s] look-ahead times for moving actors


class PredictiveFollower(RouteFollower):
    """RouteFollower whose obstacle gap also counts where moving actors will be in 0.5-1.5 s."""

    def __init__(self, world, cruise: float = CRUISE_MPS) -> None:
        super().__init__(world, cruise)
        self._last_xy: dict[int, np.ndarray] = {}
        self.light_gap = math.inf  # [m] to a red/yellow stop line (inf: none), for labels
        self.obstacle_gap = math.inf  # [m] to the first actor in the corridor

    def _gap(self, ahead: np.ndarray, xy: np.ndarray) -> float:
        view = self.world.actor_view(include_ego=False)
        last = self._last_xy
        self._last_xy = {int(i): p for i, p in zip(view.instance, view.xy)}
        if not len(view.xy) or len(ahead) < 2:
            self.obstacle_gap = math.inf
            return math.inf
        near = np.flatnonzero((np.hypot(*(view.xy - xy).T) < 50.0) & (view.instance != EGO_INSTANCE))
        if not len(near):
            self.obstacle_gap = math.inf
            return math.inf
        vel = np.array([(view.xy[k] - last[int(view.instance[k])]) / 0.05 if int(view.instance[k]) in last else (0.0, 0.0)
                        for k in near])
        # slow movers only: NPC cars in other lanes moving along them must not stop the ego
        moving = np.hypot(*vel.T) < 3.0
        cands = [view.xy[near]] + [view.xy[near] + vel * t for t in PREDICT_S]
        half = [view.size[near, 1] / 2] + [np.where(moving, view.size[near, 1] / 2, -10.0)] * len(PREDICT_S)
        best = math.inf
        for pos, hw in zip(cands, half):
            d = np.hypot(ahead[:, None, 0] - pos[None, :, 0], ahead[:, None, 1] - pos[None, :, 1])
            hit = d < (CORRIDOR_M + hw[None, :])
            if hit.any():
                best = min(best, max(0.0, int(np.argmax(hit.any(axis=1))) * 1.0 - 3.5))
        self.obstacle_gap = best
        return best

    def _stop_line(self) -> float:
        self.light_gap = super()._stop_line()
        return self.light_gap


class ExpertAgent(AutonomousAgent):
    """Privileged autopilot behind the leaderboard interface (``bind(backend)`` before the route)."""

    privileged = True

    def setup(self, path_to_conf_file: str) -> None:
        self.follower: PredictiveFollower | None = None
        self.cruise = CRUISE_MPS

    def sensors(self) -> list[dict[str, Any]]:
        return [{"type": "sensor.speedometer", "id": "speed"}]

    def bind(self, backend) -> None:
        """Hand the expert the ground truth of the route it drives; called by the runner after ``load``."""
        try:
            truth = backend.ground_truth
        except (AttributeError, ConfigError) as err:
            raise AgentError(f"the expert needs a backend that exposes its ground truth; {type(backend).__name__} "
                             f"does not ({err})") from None
        self.follower = PredictiveFollower(truth, self.cruise)

    def run_step(self, input_data: dict, timestamp: float) -> VehicleControl:
        if self.follower is None:
            raise WrongOrderError("ExpertAgent.run_step() before bind(backend); the runner binds it after load()")
        return self.follower()
