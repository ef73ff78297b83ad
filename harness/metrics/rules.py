"""The scoring rules of the CARLA leaderboard, as constants, with where each one comes from.

Two rule sets: ``"2.x"`` (leaderboard 2.0, the branch ``leaderboard-2.0`` and ``master`` of
carla-simulator/leaderboard, with scenario_runner's ``leaderboard-2.0`` criteria) and ``"1.0"``
(branch ``leaderboard-1.0`` of both repositories). Leaderboard 2.1 (branch ``leaderboard-2.1``)
changed the penalty to ``1 / (1 + sum of weights)``; that is not what our design asks for and is not
implemented.

Sources (file paths inside those repositories):

- ``leaderboard/utils/statistics_manager.py``: penalty factors (``PENALTY_VALUE_DICT``), the
  percentage penalties (``PENALTY_PERC_DICT``: min speed ``[0.7, 'decreases']``, outside route lanes
  ``[0, 'increases']``), infraction names (``PENALTY_NAME_DICT`` plus ``'route_timeout'``), status
  strings, rounding (``ROUND_DIGITS = 3``, ``ROUND_DIGITS_SCORE = 6``), global aggregation, labels.
- ``leaderboard/scenarios/route_scenario.py``: which criteria a route has and their parameters
  (``InRouteTest(offroad_max=30)``, ``ActorBlockedTest(min_speed=0.1, max_time=180.0)``,
  ``MinimumSpeedRouteTest(checkpoints=4)``); 1.0: ``SECONDS_GIVEN_PER_METERS = 0.8``,
  ``INITIAL_SECONDS_DELAY = 5.0`` in ``_estimate_route_timeout``.
- ``srunner/scenariomanager/timer.py`` (scenario_runner 2.0): ``RouteTimeoutBehavior``
  (``MIN_TIMEOUT = 300`` s, ``TIMEOUT_ROUTE_PERC = 10`` % of the speed limit for each metre advanced).
- ``srunner/scenariomanager/scenarioatomics/atomic_criteria.py``: ``CollisionTest`` (2.0:
  ``COLLISION_RADIUS = 5`` m, ``MAX_ID_TIME = 5`` s, ``EPSILON = 0.1`` m/s; 1.0:
  ``MIN_AREA_OF_COLLISION = 3`` m, ``MAX_AREA_OF_COLLISION = 5`` m, ``MAX_ID_TIME = 5`` s),
  ``InRouteTest`` (``MAX_ROUTE_PERCENTAGE = 30`` %, ``offroad_min = offroad_max / 2``),
  ``RouteCompletionTest`` (``PERCENTAGE_THRESHOLD = 99`` %), ``MinimumSpeedRouteTest``,
  ``OutsideRouteLanesTest``, ``RunningRedLightTest``.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError

# Infraction keys, in the order the leaderboard's RouteRecord lists them (PENALTY_NAME_DICT, then
# 'route_timeout').
COLLISIONS_LAYOUT = "collisions_layout"
COLLISIONS_PEDESTRIAN = "collisions_pedestrian"
COLLISIONS_VEHICLE = "collisions_vehicle"
RED_LIGHT = "red_light"
STOP_INFRACTION = "stop_infraction"
OUTSIDE_ROUTE_LANES = "outside_route_lanes"
MIN_SPEED = "min_speed_infractions"
YIELD_EMERGENCY_VEHICLE = "yield_emergency_vehicle_infractions"
SCENARIO_TIMEOUT = "scenario_timeouts"
ROUTE_DEVIATION = "route_dev"
VEHICLE_BLOCKED = "vehicle_blocked"
ROUTE_TIMEOUT = "route_timeout"

INFRACTION_KINDS: tuple[str, ...] = (
    COLLISIONS_LAYOUT, COLLISIONS_PEDESTRIAN, COLLISIONS_VEHICLE, RED_LIGHT, STOP_INFRACTION,
    OUTSIDE_ROUTE_LANES, MIN_SPEED, YIELD_EMERGENCY_VEHICLE, SCENARIO_TIMEOUT, ROUTE_DEVIATION,
    VEHICLE_BLOCKED, ROUTE_TIMEOUT,
)

# Fixed penalty factors (statistics_manager.PENALTY_VALUE_DICT, 2.0; the PENALTY_* constants, 1.0).
PENALTY_FACTORS: dict[str, float] = {
    COLLISIONS_PEDESTRIAN: 0.50,
    COLLISIONS_VEHICLE: 0.60,
    COLLISIONS_LAYOUT: 0.65,
    RED_LIGHT: 0.70,
    STOP_INFRACTION: 0.80,
    SCENARIO_TIMEOUT: 0.70,
    YIELD_EMERGENCY_VEHICLE: 0.70,
}
MIN_SPEED_WEIGHT = 0.7  # PENALTY_PERC_DICT: P *= 1 - (1 - 0.7) * (1 - p/100)

# Collision kinds reported by the world -> infraction key (CollisionTest maps 'static'/'traffic'
# type ids to COLLISION_STATIC, 'vehicle' to COLLISION_VEHICLE, 'walker' to COLLISION_PEDESTRIAN).
COLLISION_KINDS: dict[str, str] = {
    "pedestrian": COLLISIONS_PEDESTRIAN,
    "vehicle": COLLISIONS_VEHICLE,
    "static": COLLISIONS_LAYOUT,
}
# CARLA-like type ids for the collision message (what parsers see in "type=...").
COLLISION_TYPE_IDS: dict[str, str] = {
    "pedestrian": "walker.pedestrian",
    "vehicle": "vehicle.car",
    "static": "static.prop",
}

# Status strings (statistics_manager.compute_route_statistics and FAILURE_MESSAGES).
PERFECT = "Perfect"
COMPLETED = "Completed"
FAILED = "Failed"
MSG_DEVIATED = "Agent deviated from the route"
MSG_BLOCKED = "Agent got blocked"
MSG_TIMED_OUT = "Agent timed out"
# failures from outside the scoring (FAILURE_MESSAGES: key -> (entry_status, message))
FAILURE_MESSAGES: dict[str, tuple[str, str]] = {
    "Simulation": ("Crashed", "Simulation crashed"),
    "Sensors": ("Rejected", "Agent's sensors were invalid"),
    "Agent_init": ("Started", "Agent couldn't be set up"),
    "Agent_runtime": ("Started", "Agent crashed"),
}
SUCCESS_STATUSES = (PERFECT, COMPLETED)

ROUND_DIGITS = 3  # statistics_manager: meta and global per-km values
ROUND_DIGITS_SCORE = 6  # statistics_manager: route scores and global means


@dataclass(frozen=True)
class RuleSet:
    """Thresholds of one leaderboard version. Build it with :func:`rule_set`."""

    name: str  # "2.x" | "1.0"
    deviation_m: float = 30.0  # [m] InRouteTest offroad_max: off route when distance >= this
    deviation_route_pct: float = 30.0  # [%] of the route driven 15..30 m off it ends the route too
    # ActorBlockedTest(min_speed=0.1, max_time=180): StepEvents.blocked_s already counts the time
    # below 0.1 m/s; the route ends when it exceeds this
    blocked_s: float = 180.0  # [s]
    # collisions (CollisionTest)
    collision_same_actor_s: float = 5.0  # [s] MAX_ID_TIME
    collision_radius_m: float = 5.0  # [m] 2.0 COLLISION_RADIUS; 1.0 MAX_AREA_OF_COLLISION (forget)
    collision_min_area_m: float = 5.0  # [m] ignore a collision this close to a counted one (1.0: 3)
    collision_min_ego_speed: float = 0.1  # [m/s] 2.0 EPSILON; 1.0 has no such filter (0)
    # min speed (MinimumSpeedRouteTest; 1.0 has none)
    min_speed: bool = True
    min_speed_checkpoints: int = 4  # route_scenario: MinimumSpeedRouteTest(checkpoints=4)
    min_speed_last_fraction: float = 0.95  # terminate(): last checkpoint counts past 95 % of the route
    # route timeout
    timeout_min_s: float = 300.0  # [s] 2.0 RouteTimeoutBehavior.MIN_TIMEOUT
    timeout_speed_pct: float = 10.0  # [%] of the speed limit credited per metre advanced (2.0)
    timeout_s_per_m: float = 0.8  # [s/m] 1.0 SECONDS_GIVEN_PER_METERS
    timeout_delay_s: float = 5.0  # [s] 1.0 INITIAL_SECONDS_DELAY
    perfect_status: bool = True  # 2.0 reports 'Perfect' for a completed route without infractions
    round_scores: bool = True  # 2.0 rounds RC to 2 digits and scores to 6; 1.0 does not
    kinds: tuple[str, ...] = INFRACTION_KINDS  # infraction keys this version knows

    def fixed_timeout_s(self, route_length_m: float) -> float:
        """1.0 route timeout [s]: ``int(0.8 * L + 5)`` (route_scenario._estimate_route_timeout)."""
        return float(int(self.timeout_s_per_m * route_length_m + self.timeout_delay_s))


_V1_KINDS = (COLLISIONS_PEDESTRIAN, COLLISIONS_VEHICLE, COLLISIONS_LAYOUT, RED_LIGHT, STOP_INFRACTION,
             OUTSIDE_ROUTE_LANES, ROUTE_DEVIATION, ROUTE_TIMEOUT, VEHICLE_BLOCKED)

RULE_SETS: dict[str, RuleSet] = {
    "2.x": RuleSet("2.x"),
    "1.0": RuleSet("1.0", collision_min_area_m=3.0, collision_min_ego_speed=0.0, min_speed=False,
                   perfect_status=False, round_scores=False, kinds=_V1_KINDS),
}


def rule_set(name: str) -> RuleSet:
    """The :class:`RuleSet` called ``name``; ConfigError for an unknown name."""
    try:
        return RULE_SETS[name]
    except KeyError:
        raise ConfigError(f"rules must be one of {sorted(RULE_SETS)} (leaderboard version), got {name!r}; "
                          "use '2.x' for the CARLA leaderboard 2.0 scoring") from None


def failure_message(status_override: str) -> str:
    """The leaderboard failure message for ``status_override``: a FAILURE_MESSAGES key
    ("Simulation"), its message ("Simulation crashed") or the full status
    ("Failed - Simulation crashed"). ConfigError otherwise."""
    text = status_override.removeprefix(f"{FAILED} - ")
    for key, (_, msg) in FAILURE_MESSAGES.items():
        if text in (key, msg):
            return msg
    allowed = [m for _, m in FAILURE_MESSAGES.values()]
    raise ConfigError(f"status_override must name an external failure, one of {allowed} (or keys "
                      f"{sorted(FAILURE_MESSAGES)}), got {status_override!r}; route deviation, blocked "
                      "and timeout come from the events themselves")
