"""Which CARLA town and route file a scenario runs on ``--backend carla`` (``scenarios/routes/carla/towns.yaml``).

Scenario files stay as they are (their bytes are part of every record's key); the backend maps the
scenario's embedded town to a CARLA town and that town's route file. Route selection (``--routes``)
then names routes of the CARLA file, and their content enters the job keys as the embedded routes'
does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from harness.errors import ConfigError

TABLE = Path(__file__).resolve().parents[3] / "scenarios" / "routes" / "carla" / "towns.yaml"


def carla_town(scenario, table: Path | None = None) -> tuple[str, Path]:
    """(CARLA town, its route file) for ``scenario``'s town (``table``: :data:`TABLE`); one ConfigError
    line when unknown or missing."""
    table = Path(table or TABLE)
    entries = yaml.safe_load(Path(table).read_text()) or {}
    entry = entries.get(scenario.town)
    if not isinstance(entry, dict) or "town" not in entry or "routes" not in entry:
        raise ConfigError(f"{table} names no CARLA town for {scenario.town!r}; add `{scenario.town}: {{town: TownNN, "
                          "routes: routes/carla/TownNN.xml}`")
    routes = (Path(table).parent / entry["routes"]).resolve()
    if not routes.is_file():
        raise ConfigError(
            f"no CARLA route file {routes} for {entry['town']} (scenario {scenario.name}); generate one with `python -m "
            f"harness routes --backend carla --town {entry['town']} --xodr $CARLA_ROOT/CarlaUE4/Content/Carla/Maps/OpenDrive/"
            f"{entry['town']}.xodr --out {routes}`, or put the leaderboard's route file for {entry['town']} there")
    return str(entry["town"]), routes


def on_carla(scenario, table: Path | None = None):
    """``scenario`` as it runs on CARLA: the CARLA town's route file, every route in it."""
    _, routes = carla_town(scenario, table)
    return replace(scenario, routes_path=routes, route_ids=None)
