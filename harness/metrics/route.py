"""Score one route run the way the CARLA leaderboard does: an incremental :class:`RouteMonitor`
(the runner feeds it each step and stops the route when it says so) and the pure
:func:`score_route` over a finished history.

Route score (``leaderboard/utils/statistics_manager.py``, ``compute_route_statistics``, 2.0):

- ``RC``: route completion [%] when the route ended, rounded to 2 digits (RouteCompletionTest);
  100 when the route was completed (``StepEvents.route_done``: the world's "past 99 % and at the
  end" test). It freezes when the route ends: on completion, route deviation, agent blocked or route
  timeout (those criteria and the timeout end the scenario).
- ``IS = P``: product over infractions of the fixed factors (pedestrian 0.50, vehicle 0.60,
  layout 0.65, red light 0.70, stop 0.80, scenario timeout 0.70, yield to emergency vehicle 0.70),
  times ``1 - 0.3 * (1 - p/100)`` per min-speed checkpoint below 100 %, times ``1 - pct/100`` for
  the share of the route driven outside route lanes. Route deviation, blocked and route timeout are
  recorded as infractions but carry no penalty: they cost through the frozen RC.
- ``DS = max(RC * P, 0)``; 2.0 rounds RC, P and DS to 6 digits.
- status: ``Perfect`` (completed, no infraction at all, timeouts and deviations included),
  ``Completed`` (completed with infractions; 1.0 always says ``Completed``), else ``Failed``, with
  ``" - <reason>"``: an external failure given to :meth:`RouteMonitor.finish` (``Simulation
  crashed``, ``Agent crashed``, ...), overridden by ``Agent timed out``, overridden by ``Agent
  deviated from the route`` / ``Agent got blocked`` (the order in which the source assigns them).

Stop signs, scenario timeouts and failures to yield to an emergency vehicle are not in StepEvents;
whoever detects them passes them to :meth:`RouteMonitor.record`.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import ConfigError, WrongOrderError
from harness.metrics import rules as R
from harness.metrics.criteria import (CollisionFilter, DeviationTest, MinSpeedTest, OutsideLanesTest,
                                      RedLightFilter, RouteTimeout)
from harness.metrics.records import Infraction, RouteScore
from harness.backends.records import StepEvents

# [m/s] the embedded towns' street limit (TownSpec.speed_limit_mps); pass the lane's to update()
DEFAULT_SPEED_LIMIT_MPS = 30 / 3.6
EXTERNAL_KINDS = (R.STOP_INFRACTION, R.SCENARIO_TIMEOUT, R.YIELD_EMERGENCY_VEHICLE)
_EXTERNAL_MESSAGES = {
    R.SCENARIO_TIMEOUT: "Agent timed out a scenario",
    R.YIELD_EMERGENCY_VEHICLE: "Agent failed to yield to an emergency vehicle",
}


# [s] of the final stand-still with nothing ahead (clear road, green or no light) that make a blocked
# route blocked by "nothing": longer than moving off at green takes, and a wait through a green is
# the agent's own however long the reds around it were
NOTHING_GRACE_S = 5.0


def blocked_by(spell: dict[str, float]) -> str | None:
    """What blocked the ego, from its final stand-still's seconds by what was ahead: "nothing" when
    the way was free for over ``NOTHING_GRACE_S`` of it (no signal cycle of the towns is 180 s
    long, so an ego standing at a stop line that long has stood through greens), else the longer of
    "actor" and "red_light"; None when the events did not say."""
    if not spell:
        return None
    if spell.get("nothing", 0.0) > NOTHING_GRACE_S:
        return "nothing"
    held = {k: v for k, v in spell.items() if k != "nothing"}
    return max(held, key=held.get) if held else "nothing"


def _at(x: float | None, y: float | None) -> str:
    return "" if x is None or y is None else f" at (x={round(x, 3)}, y={round(y, 3)}, z=0.0)"


class RouteMonitor:
    """Scores one route as it runs. ``update`` once per step (True: end the route now), then
    ``finish`` once.

    Args:
        route_length_m: [m] length of the route (the leaderboard's ``meta.route_length``).
        rules: leaderboard version, ``"2.x"`` or ``"1.0"``.
        timeout_s: [s] fixed route timeout replacing the version's own rule (None: the rule's).
        speed_limit_mps: [m/s] speed limit for the 2.x timeout when ``update`` gets none.
    """

    def __init__(self, route_length_m: float, rules: str = "2.x", timeout_s: float | None = None,
                 speed_limit_mps: float = DEFAULT_SPEED_LIMIT_MPS) -> None:
        if not route_length_m > 0.0:
            raise ConfigError(f"route_length_m must be > 0 m, got {route_length_m!r}; pass Route.length")
        if timeout_s is not None and not timeout_s > 0.0:
            raise ConfigError(f"timeout_s must be > 0 s or None (the leaderboard's rule), got {timeout_s!r}")
        if not speed_limit_mps > 0.0:
            raise ConfigError(f"speed_limit_mps must be > 0 m/s, got {speed_limit_mps!r}")
        self.rules = R.rule_set(rules)
        self.route_length_m = float(route_length_m)
        self._collisions = CollisionFilter(self.rules)
        self._red = RedLightFilter()
        self._outside = OutsideLanesTest()
        self._deviation = DeviationTest(self.rules, self.route_length_m)
        self._min_speed = MinSpeedTest(self.rules, self.route_length_m) if self.rules.min_speed else None
        self._timeout = RouteTimeout(self.rules, self.route_length_m, timeout_s, speed_limit_mps)
        self._infractions: list[Infraction] = []
        self._rc = 0.0  # [%] world's route completion at the last step
        self._completed = False
        self._odometer = 0.0  # [m]
        self._time = 0.0  # [s]
        self._frame: int | None = None
        self._ended_by: str | None = None  # "completed" | "deviated" | "blocked" | "timeout"
        self._finished = False
        self._standing: dict[str, float] = {}  # [s] stood still, by what the ground truth had ahead
        self._spell: dict[str, float] = {}  # the same within the current stand-still
        self._blocked_by: str | None = None

    @property
    def ended(self) -> bool:
        """The route has ended (completed or failed); further steps are not scored."""
        return self._ended_by is not None

    @property
    def timeout_s(self) -> float:
        """[s] the route timeout as it stands now (it grows with progress under 2.x)."""
        return self._timeout.value_s

    def update(self, ev: StepEvents, ego_xy: tuple[float, float] | None = None,
               speed_limit_mps: float | None = None) -> bool:
        """Score one step; True when the route must end now.

        ``ego_xy`` [m] locates route deviation / blocked / timeout infractions (StepEvents has no ego
        position); ``speed_limit_mps`` [m/s] is the speed limit where the ego is (2.x timeout).
        """
        if self._finished:
            raise WrongOrderError("RouteMonitor.update() after finish(); make a new RouteMonitor per route")
        if self.ended:
            raise WrongOrderError(f"RouteMonitor.update() after the route ended ({self._ended_by}); stop "
                                  "stepping when update() returns True, then call finish()")
        if self._frame is not None and ev.frame <= self._frame:
            raise WrongOrderError(f"StepEvents out of order: frame {ev.frame} after frame {self._frame}; "
                                  "feed each step once, in order")
        if not 0.0 <= ev.route_completion <= 100.0 + 1e-6:
            raise ConfigError(f"StepEvents.route_completion must be a percentage in [0, 100], got "
                              f"{ev.route_completion!r} at frame {ev.frame}; it is 100 * progress / route length")
        odd = [c.kind for c in ev.collisions if c.kind not in R.COLLISION_KINDS]
        if odd:
            raise ConfigError(f"Collision.kind must be one of {sorted(R.COLLISION_KINDS)}, got {odd} at frame "
                              f"{ev.frame}; the world reports pedestrian, vehicle or static contacts")
        rc = min(100.0, max(self._rc, float(ev.route_completion)))  # the source's route index never goes back
        ds = (rc - self._rc) / 100.0 * self.route_length_m  # [m] route advanced in this step
        self._stand(ev, float(ev.time) - self._time)
        self._rc, self._frame, self._time = rc, ev.frame, float(ev.time)
        self._odometer += float(ev.distance_m)
        s_m = rc / 100.0 * self.route_length_m
        x, y = ego_xy if ego_xy is not None else (None, None)

        self._outside.step(ev, ds)
        for c in self._collisions.step(ev, self._odometer):
            kind = R.COLLISION_KINDS[c.kind]
            self._add(kind, ev, c.x, c.y, None, R.PENALTY_FACTORS[kind],
                      f"Agent collided against object with type={R.COLLISION_TYPE_IDS[c.kind]} and "
                      f"id={c.other_id}{_at(c.x, c.y)}")
        for run in self._red.step(ev):
            self._add(R.RED_LIGHT, ev, run.x, run.y, None, R.PENALTY_FACTORS[R.RED_LIGHT],
                      f"Agent ran a red light {run.signal_id}{_at(run.x, run.y)}")
        if self._min_speed is not None:
            self._add_min_speed(self._min_speed.step(ev, s_m), ev.frame, ev.time)
        if ev.route_done:
            self._completed = True
            self._ended_by = "completed"
        if self._deviation.step(ev, ds):
            self._add(R.ROUTE_DEVIATION, ev, x, y, None, 1.0, f"Agent deviated from the route{_at(x, y)}")
            self._ended_by = self._ended_by or "deviated"
        if ev.blocked_s > self.rules.blocked_s:
            self._add(R.VEHICLE_BLOCKED, ev, x, y, None, 1.0, f"Agent got blocked{_at(x, y)}")
            self._ended_by = self._ended_by or "blocked"
            self._blocked_by = blocked_by(self._spell)
        if self._timeout.step(ev.time, ds, speed_limit_mps):
            self._add(R.ROUTE_TIMEOUT, ev, x, y, None, 1.0, "Route timeout.")
            self._ended_by = self._ended_by or "timeout"
        return self.ended

    def record(self, kind: str, frame: int, time: float, x: float | None = None, y: float | None = None,
               signal_id: int | None = None, description: str | None = None) -> None:
        """Add an infraction found outside StepEvents: ``stop_infraction`` (``signal_id``: the stop
        sign), ``scenario_timeouts`` or ``yield_emergency_vehicle_infractions``; ``description``
        replaces the leaderboard's message."""
        if self._finished:
            raise WrongOrderError("RouteMonitor.record() after finish(); record infractions before finishing")
        if kind not in EXTERNAL_KINDS or kind not in self.rules.kinds:
            allowed = [k for k in EXTERNAL_KINDS if k in self.rules.kinds]
            raise ConfigError(f"record() takes the infractions StepEvents does not carry, one of {allowed} "
                              f"under rules {self.rules.name!r}; got {kind!r}")
        if description is None:
            if kind == R.STOP_INFRACTION:
                description = f"Agent ran a stop with id={signal_id}{_at(x, y)}"
            else:
                description = _EXTERNAL_MESSAGES[kind]
        self._infractions.append(Infraction(kind, int(frame), float(time), x, y, None,
                                            R.PENALTY_FACTORS[kind], description))

    def finish(self, status_override: str | None = None, duration_system_s: float = -1.0) -> RouteScore:
        """The route's score. ``status_override`` names an external failure ("Simulation crashed",
        "Agent crashed", "Agent's sensors were invalid", "Agent couldn't be set up"); it becomes the
        status's reason unless the route completed or the events give another reason."""
        if self._finished:
            raise WrongOrderError("RouteMonitor.finish() called twice; keep the RouteScore it returned")
        reason = R.failure_message(status_override) if status_override is not None else ""
        self._finished = True
        if self._min_speed is not None:
            self._add_min_speed(self._min_speed.finish(self._rc / 100.0 * self.route_length_m),
                                self._frame, self._time)
        if self._outside.wrong_m > 0.0:
            pct = self._outside.percentage
            self._infractions.append(Infraction(
                R.OUTSIDE_ROUTE_LANES, self._outside.last_frame, self._outside.last_time, None, None, pct,
                1.0 - pct / 100.0,
                f"Agent went outside its route lanes for about {round(self._outside.wrong_m, 3)} meters "
                f"({round(pct, 2)}% of the completed route)"))
        return self._score(reason, duration_system_s)

    # -- internals ------------------------------------------------------------------------------
    def _stand(self, ev: StepEvents, dt: float) -> None:
        """Time standing still by what was ahead (``StepEvents.standing_for``); a stand-still ends
        when the ego moves (``blocked_s`` back to 0)."""
        reason = ev.standing_for
        if reason is None:
            if ev.blocked_s <= 0.0:
                self._spell = {}
            return
        self._standing[reason] = self._standing.get(reason, 0.0) + dt
        self._spell[reason] = self._spell.get(reason, 0.0) + dt

    def _add(self, kind: str, ev: StepEvents, x, y, value, penalty: float, text: str) -> None:
        self._infractions.append(Infraction(kind, ev.frame, float(ev.time), x, y, value, penalty, text))

    def _add_min_speed(self, value: float | None, frame: int | None, time: float) -> None:
        if value is None:
            return
        self._infractions.append(Infraction(
            R.MIN_SPEED, frame, time, None, None, value, MinSpeedTest.penalty(value),
            f"Average speed is {value}% of the surrounding traffic's one"))

    def _score(self, reason: str, duration_system_s: float) -> RouteScore:
        rules = self.rules
        penalty = 1.0
        for inf in self._infractions:
            penalty *= inf.penalty
        kinds = {inf.kind for inf in self._infractions}
        if R.ROUTE_TIMEOUT in kinds:
            reason = R.MSG_TIMED_OUT
        for inf in self._infractions:  # the source lets the later of deviation / blocked win
            if inf.kind == R.ROUTE_DEVIATION:
                reason = R.MSG_DEVIATED
            elif inf.kind == R.VEHICLE_BLOCKED:
                reason = R.MSG_BLOCKED
        rc = round(self._rc, 2) if rules.round_scores else self._rc
        # 2.0: target_reached = score_route >= 100; 1.0: only the ROUTE_COMPLETED event
        if self._completed or (rules.name == "2.x" and rc >= 100.0):
            rc = 100.0
            status = R.PERFECT if rules.perfect_status and not self._infractions else R.COMPLETED
        else:
            status = f"{R.FAILED} - {reason}" if reason else R.FAILED
        ds = max(rc * penalty, 0.0)
        if rules.round_scores:
            rc, penalty, ds = (round(v, R.ROUND_DIGITS_SCORE) for v in (rc, penalty, ds))
        return RouteScore(
            DS=ds, RC=rc, IS=penalty, status=status, duration_game_s=self._time,
            duration_system_s=float(duration_system_s), route_length_m=self.route_length_m,
            meters_driven=self._odometer, outside_lanes_m=self._outside.wrong_m,
            infractions=tuple(self._infractions), rules=rules.name,
            standing_s={k: round(v, 2) for k, v in sorted(self._standing.items())},
            blocked_by=self._blocked_by if R.MSG_BLOCKED in status else None)


def score_route(events: Iterable[StepEvents], route_length_m: float, rules: str = "2.x",
                timeout_s: float | None = None, speed_limit_mps: float = DEFAULT_SPEED_LIMIT_MPS,
                external: Iterable[Infraction] = (), status_override: str | None = None) -> RouteScore:
    """Score a finished history of steps (pure). Steps after the route ended are not scored (RC and
    infractions freeze there). ``external`` holds infractions StepEvents does not carry (kinds
    :data:`EXTERNAL_KINDS`), each added before the step with the same frame (None: the first step);
    those after the route ended are dropped like the steps."""
    mon = RouteMonitor(route_length_m, rules, timeout_s, speed_limit_mps)
    pending = sorted(external, key=lambda i: -1 if i.frame is None else i.frame)
    k = 0
    for ev in events:
        while k < len(pending) and (pending[k].frame is None or pending[k].frame <= ev.frame):
            inf = pending[k]
            mon.record(inf.kind, ev.frame if inf.frame is None else inf.frame,
                       ev.time if inf.time is None else inf.time, inf.x, inf.y, description=inf.description)
            k += 1
        if mon.update(ev):
            break
    return mon.finish(status_override)
