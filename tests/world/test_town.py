"""Tests of the town model (harness.world.town): the registry, loading and lane queries."""

import subprocess
import sys

import numpy as np
import pytest

from harness.errors import TownError
from harness.world.town import TOWN_SPECS
from harness.world.town_gen import load_town
from harness.world.towns import TOWN_NAMES


def test_every_registered_town_has_a_spec():
    assert set(TOWN_SPECS) == set(TOWN_NAMES)


def test_the_model_imports_nothing_of_the_generator():
    """town_gen imports the model's records; the model must not import town_gen back (an import circle)."""
    code = "import sys, harness.world.town\nassert 'harness.world.town_gen' not in sys.modules, 'town imported town_gen'\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_town_is_cached_and_ignores_case():
    assert load_town("Town02") is load_town("town02")


def test_unknown_town_names_the_known_ones():
    with pytest.raises(TownError, match="known towns: town01"):
        load_town("town99")


def test_nearest_lane_respects_heading(town05):
    lane = next(l for l in town05.lanes if not l.is_connector and l.length > 50)
    p = lane.polyline[0] + (lane.polyline[-1] - lane.polyline[0]) * 0.5
    h = np.arctan2(*(lane.polyline[-1] - lane.polyline[0])[::-1])
    assert town05.nearest_lane(p, h)[0] == lane.id
    other = town05.nearest_lane(p, h + np.pi)
    assert other is None or other[0] != lane.id


def test_junction_centres_and_road_middles_are_drivable_and_block_centres_are_not(town05):
    for j in town05.junctions:
        assert town05.on_drivable(np.asarray(j.center))
    for r in town05.roads:
        assert town05.on_drivable((np.asarray(r.p0) + np.asarray(r.p1)) / 2)
    for x0, y0, x1, y1 in town05.blocks:
        assert not town05.on_drivable(np.array([(x0 + x1) / 2, (y0 + y1) / 2]))
