"""Record keys: a job's key covers its own route, the scenario file and the weights, so adding routes
to a route file keeps the records made so far, and editing a route or the scenario invalidates them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.runner.evaluate import job_keys
from harness.runner.jobs import build_matrix, input_fingerprint
from harness.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
YAML = """\
town: town01
routes: {routes}
weather: {{preset: clear}}
traffic: {{vehicles: 4, pedestrians: 4}}
"""


def _setup(folder: Path, keep: list[str]) -> Path:
    """A scenario over a copy of town01's route file holding only the routes ``keep``."""
    tree = ET.parse(REPO / "scenarios" / "routes" / "town01.xml")
    root = tree.getroot()
    for route in list(root):
        if route.get("id") not in keep:
            root.remove(route)
    routes = folder / "routes.xml"
    tree.write(routes)
    path = folder / "scenario.yaml"
    path.write_text(YAML.format(routes=routes))
    return path


def _keys(path: Path, routes: list[str]) -> dict[str, str]:
    jobs = build_matrix(str(path), routes, ["rgb"], [0], agent="expert")
    return {j.route_id: k for j, k in zip(jobs, job_keys(jobs))}


def test_adding_routes_to_the_file_keeps_the_keys_of_the_others(tmp_path):
    path = _setup(tmp_path, ["0", "1"])
    before = _keys(path, ["0", "1"])
    _setup(tmp_path, ["0", "1", "2", "3"])
    after = _keys(path, ["0", "1", "2"])
    assert after["0"] == before["0"] and after["1"] == before["1"]
    assert len(set(after.values())) == 3


def test_editing_a_route_or_the_scenario_changes_keys(tmp_path):
    path = _setup(tmp_path, ["0", "1"])
    before = _keys(path, ["0", "1"])
    routes = tmp_path / "routes.xml"
    tree = ET.parse(routes)
    wp = tree.getroot().find("route[@id='1']").find(".//position")
    wp.set("x", str(float(wp.get("x")) + 1.0))
    tree.write(routes)
    edited = _keys(path, ["0", "1"])
    assert edited["0"] == before["0"] and edited["1"] != before["1"]
    path.write_text(path.read_text().replace("vehicles: 4", "vehicles: 5"))
    assert set(_keys(path, ["0", "1"]).values()).isdisjoint(edited.values())


def test_a_route_the_scenario_does_not_have_is_refused(tmp_path):
    path = _setup(tmp_path, ["0"])
    with pytest.raises(ConfigError, match="route '7' is not among"):
        input_fingerprint(load_scenario(path), "7", agent="expert")
