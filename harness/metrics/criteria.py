"""The leaderboard's route criteria, one small incremental class each, fed one step at a time.

Each mirrors a scenario_runner criterion (``srunner/scenariomanager/scenarioatomics/
atomic_criteria.py``, branches ``leaderboard-2.0`` and ``leaderboard-1.0``) or behaviour
(``srunner/scenariomanager/timer.py``), re-expressed over :class:`~harness.backends.records.StepEvents`.
CARLA's criteria project the ego on the route themselves; here route progress comes from
``StepEvents.route_completion`` (``ds`` below: metres of route advanced in the step) and the ego's
displacement from ``StepEvents.distance_m``, since StepEvents carries no ego position.

Within one step the clearing half of a criterion (its ``update``) runs before the step's new events,
so "same actor within 5 s" means a repeat more than 5 s after the counted one counts again.
"""

from __future__ import annotations

import math

from harness.metrics.rules import MIN_SPEED_WEIGHT, RuleSet
from harness.backends.records import Collision, RedLightRun, StepEvents


class CollisionFilter:
    """CollisionTest: which reported contacts count as collisions.

    2.0 (``COLLISION_RADIUS``/``MAX_ID_TIME``/``EPSILON``): a contact is ignored while the ego is
    within 5 m of the last counted collision (whatever the actor), when it is with the same actor as
    the last counted one less than 5 s ago, or when the ego moves slower than 0.1 m/s. Static layout
    (actor id 0) never sets the "same actor" memory.
    1.0 (``MIN_AREA_OF_COLLISION``/``MAX_AREA_OF_COLLISION``/``MAX_ID_TIME``): every counted
    collision's place is remembered until the ego is more than 5 m away from it; a new contact within
    3 m of a remembered place, or with the last actor less than 5 s ago, is ignored.

    The ego's distance from a remembered place is its travelled path since then (>= its straight
    distance; equal while it drives on, which is what the route asks of it).
    """

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._places: list[tuple[float, float, float]] = []  # (x [m], y [m], odometer [m] at contact)
        self._last_id: int | None = None
        self._last_time = 0.0  # [s]

    def step(self, ev: StepEvents, odometer_m: float) -> list[Collision]:
        """The collisions of ``ev`` that count; ``odometer_m`` [m] is the ego's travel up to and
        including this step."""
        r = self.rules
        self._places = [p for p in self._places if odometer_m - p[2] <= r.collision_radius_m]
        if self._last_id is not None and ev.time - self._last_time > r.collision_same_actor_s:
            self._last_id = None
        counted = []
        for c in ev.collisions:
            if self._last_id is not None and c.other_id == self._last_id:
                continue
            if any(math.hypot(c.x - x, c.y - y) <= r.collision_min_area_m for x, y, _ in self._places):
                continue
            if abs(c.ego_speed) < r.collision_min_ego_speed:
                continue  # 2.0: a standing ego is not at fault
            counted.append(c)
            self._last_time = ev.time
            if r.name == "1.0":
                self._places.append((c.x, c.y, odometer_m))
            else:
                self._places = [(c.x, c.y, odometer_m)]
            if c.other_id != 0:
                self._last_id = c.other_id
        return counted


class RedLightFilter:
    """RunningRedLightTest: the light counted last is not counted again (``_last_red_light_id``)."""

    def __init__(self) -> None:
        self._last_id: int | None = None

    def step(self, ev: StepEvents) -> list[RedLightRun]:
        counted = []
        for run in ev.red_lights:
            if run.signal_id != self._last_id:
                counted.append(run)
                self._last_id = run.signal_id
        return counted


class OutsideLanesTest:
    """OutsideRouteLanesTest: the share of the driven route traversed outside the route's lanes.

    The source adds each route segment the ego passes to the total, and to the wrong distance when
    the ego is off-road or in an opposite lane at that tick; ``percentage = wrong / total * 100``.
    Here each step's route advance ``ds`` counts as wrong in the share of the step's travel that the
    world reports outside lanes (``outside_lanes_m / distance_m``).
    """

    def __init__(self) -> None:
        self.total_m = 0.0  # [m] route traversed
        self.wrong_m = 0.0  # [m] route traversed outside route lanes
        self.last_frame: int | None = None
        self.last_time: float | None = None

    def step(self, ev: StepEvents, ds: float) -> None:
        if ds <= 0.0:
            return
        if ev.distance_m > 0.0:
            share = min(1.0, max(0.0, ev.outside_lanes_m / ev.distance_m))
        else:
            share = 1.0 if ev.outside_lanes_m > 0.0 else 0.0
        self.total_m += ds
        self.wrong_m += ds * share
        if self.wrong_m > 0.0:  # the source refreshes the event's frame whenever the total moves on
            self.last_frame, self.last_time = ev.frame, ev.time

    @property
    def percentage(self) -> float:
        """[%] of the traversed route driven outside route lanes (0 before any progress)."""
        return 100.0 * self.wrong_m / self.total_m if self.total_m > 0.0 else 0.0


class DeviationTest:
    """InRouteTest(offroad_max=30): the route ends when the ego is 30 m or more from the route, or
    when the route driven while 15 m or more from it (``offroad_min = offroad_max / 2``) exceeds
    30 % of the route length (``MAX_ROUTE_PERCENTAGE``)."""

    def __init__(self, rules: RuleSet, route_length_m: float) -> None:
        self.max_m = rules.deviation_m
        self.min_m = rules.deviation_m / 2
        self.max_pct = rules.deviation_route_pct
        self.route_length_m = route_length_m
        self._safe = True
        self.out_route_m = 0.0  # [m] route driven between min_m and max_m off the route

    def step(self, ev: StepEvents, ds: float) -> bool:
        """True when the ego deviated in this step."""
        deviated = ev.off_route_m >= self.max_m
        if not deviated:
            self._safe = ev.off_route_m < self.min_m
        if ds > 0.0 and not self._safe:
            self.out_route_m += ds
            if 100.0 * self.out_route_m / self.route_length_m > self.max_pct:
                deviated = True
        return deviated


class MinSpeedTest:
    """MinimumSpeedRouteTest(checkpoints=4): the route is cut into checkpoints of ``L / 4``; in each,
    the ego's mean speed is compared with the mean speed of the surrounding traffic, over the steps
    that have traffic (``traffic_speed`` not None). A checkpoint closes when the route driven since
    the last close exceeds ``L / 4`` (the next one starts from where the ego is); the last, partial
    one closes when the route ends past 95 % of it. A checkpoint with value ``p = round(100 *
    ego / traffic, 2) < 100`` is an infraction with penalty ``1 - 0.3 * (1 - p / 100)``; no traffic,
    or traffic standing still, gives 100.
    """

    def __init__(self, rules: RuleSet, route_length_m: float) -> None:
        self.route_length_m = route_length_m
        self.checkpoint_m = route_length_m / rules.min_speed_checkpoints
        self.last_fraction = rules.min_speed_last_fraction
        self._start_m = 0.0  # [m] route position where the open checkpoint began
        self._ego_sum = 0.0  # [m/s] summed over the counted steps
        self._traffic_sum = 0.0  # [m/s]
        self._points = 0
        self.values: list[float] = []  # [%] one per closed checkpoint

    def step(self, ev: StepEvents, s_m: float) -> float | None:
        """Feed one step at route position ``s_m`` [m]; the closed checkpoint's value [%] when this
        step closed one with an infraction, else None."""
        value = None
        if s_m - self._start_m > self.checkpoint_m:
            value = self._close()
            self._start_m = s_m
        if ev.traffic_speed is not None:
            self._traffic_sum += ev.traffic_speed
            self._ego_sum += abs(ev.speed)
            self._points += 1
        return value

    def finish(self, s_m: float) -> float | None:
        """Close the last checkpoint when the route ended past 95 % of it (``terminate``)."""
        if s_m / self.route_length_m > self.last_fraction:
            return self._close()
        return None

    def _close(self) -> float | None:
        if self._points > 0 and self._traffic_sum:
            value = round(self._ego_sum / self._traffic_sum * 100.0, 2)
        else:
            value = 100.0
        self._ego_sum = self._traffic_sum = 0.0
        self._points = 0
        self.values.append(value)
        return value if value < 100.0 else None

    @staticmethod
    def penalty(value_pct: float) -> float:
        """Penalty factor of a checkpoint at ``value_pct`` [%] (PENALTY_PERC_DICT, 'decreases')."""
        return 1.0 - (1.0 - MIN_SPEED_WEIGHT) * (1.0 - value_pct / 100.0)


class RouteTimeout:
    """The route timeout.

    2.0 (RouteTimeoutBehavior): starts at 300 s and grows, for every metre of route the ego advances,
    by ``1 / (0.1 * speed_limit)`` seconds (the time to drive it at 10 % of the speed limit).
    1.0 (route_scenario._estimate_route_timeout): fixed, ``int(0.8 * L + 5)`` seconds.
    A given ``timeout_s`` replaces either with a fixed value. Times out when elapsed > timeout.
    """

    def __init__(self, rules: RuleSet, route_length_m: float, timeout_s: float | None,
                 speed_limit_mps: float) -> None:
        self.rules = rules
        self.speed_limit_mps = speed_limit_mps
        if timeout_s is not None:
            self.dynamic, self.value_s = False, float(timeout_s)
        elif rules.name == "1.0":
            self.dynamic, self.value_s = False, rules.fixed_timeout_s(route_length_m)
        else:
            self.dynamic, self.value_s = True, rules.timeout_min_s

    def step(self, elapsed_s: float, ds: float, speed_limit_mps: float | None = None) -> bool:
        """True when the route timed out at ``elapsed_s`` [s] after advancing ``ds`` [m]."""
        if self.dynamic and ds > 0.0:
            limit = self.speed_limit_mps if speed_limit_mps is None else speed_limit_mps
            self.value_s += ds / (limit * self.rules.timeout_speed_pct / 100.0)
        return elapsed_s > self.value_s
