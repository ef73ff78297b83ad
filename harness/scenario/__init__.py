"""Scenarios: YAML files naming a town, routes, weather, sensor rig, traffic, events and seeds.

``load_scenario("fog_town05")`` reads ``scenarios/fog_town05.yaml``; ``scenarios/SCHEMA.md`` documents
every field. Route files are CARLA leaderboard XML (1.0 or 2.x), read by :func:`read_routes`.
"""

from harness.scenario.loader import list_scenarios, load_scenario, resolve_scenario_path, scenarios_dir
from harness.scenario.routes_xml import RouteScenario, RouteSpec, Waypoint, read_routes, write_routes
from harness.scenario.schema import (
    EVENT_KINDS,
    EventSpec,
    EventsSpec,
    Scenario,
    TrafficSpec,
    scenario_from_data,
)

__all__ = [
    "EVENT_KINDS",
    "EventSpec",
    "EventsSpec",
    "RouteScenario",
    "RouteSpec",
    "Scenario",
    "TrafficSpec",
    "Waypoint",
    "list_scenarios",
    "load_scenario",
    "read_routes",
    "resolve_scenario_path",
    "scenario_from_data",
    "scenarios_dir",
    "write_routes",
]
