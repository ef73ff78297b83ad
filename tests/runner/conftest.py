"""A small evaluation scenario (town01, light traffic) written as a user's YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SMALL_EVAL_YAML = """\
description: "tests: clear town01, light traffic, three routes"
town: town01
routes: {routes}
route_ids: ["0", "1", "2"]
weather: {{preset: clear}}
traffic: {{vehicles: 8, pedestrians: 10}}
seeds: [0]
max_steps: 40
"""


@pytest.fixture(scope="session")
def eval_scenario(tmp_path_factory, gl_ok) -> str:
    path = tmp_path_factory.mktemp("scenario") / "small_town01.yaml"
    path.write_text(SMALL_EVAL_YAML.format(routes=REPO / "scenarios" / "routes" / "town01.xml"))
    return str(path)
