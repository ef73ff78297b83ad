"""Tests of the procedural town generator (harness.world.town_gen)."""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from harness.errors import TownError
from harness.world.town import TOWN_SPECS
from harness.world.town_gen import generate_town, load_town
from harness.world.towns import TOWN_NAMES


@pytest.mark.parametrize("name", TOWN_NAMES)
def test_lane_graph_is_closed_and_signalised(name):
    town = load_town(name)
    for lane in town.lanes:
        assert lane.successors, f"lane {lane.id} is a dead end"
        assert lane.length > 1.0
    assert any(j.signalised for j in town.junctions)
    for lane in town.lanes:
        if lane.stop_s is not None:
            assert 0 < lane.stop_s < lane.length
            assert town.signals[lane.signal].junction == lane.to_node


def test_town05_is_a_multilane_grid_with_8km_of_lanes(town05):
    assert town05.road_lane_km() >= 8.0
    assert {r.lanes_per_dir for r in town05.roads} == {1, 2}
    assert len(town05.junctions) >= 30


def test_generation_is_deterministic():
    a, b = generate_town(TOWN_SPECS["town01"]), generate_town(TOWN_SPECS["town01"])
    assert len(a.lanes) == len(b.lanes)
    for la, lb in zip(a.lanes, b.lanes):
        np.testing.assert_array_equal(la.polyline, lb.polyline)
    assert [x.size for x in a.buildings] == [x.size for x in b.buildings]
    np.testing.assert_array_equal(a.trees, b.trees)


def test_fewer_than_2x2_junctions_is_a_town_error():
    with pytest.raises(TownError, match="needs at least 2x2 junctions, got 1x4"):
        generate_town(replace(TOWN_SPECS["town02"], nx=1))


def test_traffic_drives_on_the_right(town05):
    for lane in town05.lanes:
        if lane.is_connector:
            continue
        road = town05.roads[lane.road]
        d = lane.polyline[-1] - lane.polyline[0]
        d = d / np.linalg.norm(d)
        centre = np.asarray(road.p0)
        off = lane.polyline[0] - centre
        right = np.array([-d[1], d[0]])
        assert off @ right > 0, f"lane {lane.id} lies left of its road's centre line"


@pytest.mark.parametrize("first", ["harness.world.town_gen", "harness.world.town"])
def test_model_and_generator_import_in_either_order(first):
    """The generator imports the model's records and the model nothing of the generator: either order works."""
    code = (
        f"import {first}\n"
        "from harness.world.town_gen import load_town\n"
        "assert load_town('town02').name == 'town02'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
