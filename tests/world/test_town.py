import numpy as np
import pytest

from harness.errors import TownError
from harness.world.town import TOWN_SPECS, generate_town, load_town
from harness.world.towns import TOWN_NAMES


def test_every_registered_town_has_a_spec():
    assert set(TOWN_SPECS) == set(TOWN_NAMES)


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
