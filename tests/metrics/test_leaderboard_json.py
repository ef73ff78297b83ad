"""simulation_results.json: the leaderboard 2.0 checkpoint shape, hand-computed global record, round
trip, atomic writes, and the keys existing parsers read."""

from __future__ import annotations

import json
import re

import pytest

from harness.errors import ConfigError
from harness.metrics import build_results, read_results, route_scores_from_results, score_route, write_results
from harness.metrics.leaderboard_json import LABELS, sensor_icons, write_json_atomic
from harness.backends.records import Collision, StepEvents

L = 100.0  # [m]
PLANNED = [("0", 0), ("1", 0), ("2", 0)]


def step(k: int, *, off: float = 0.0, outside: float = 0.0, traffic: float | None = None,
         speed: float = 10.0, collisions=()) -> StepEvents:
    rc = min(100.0, 0.5 * k)  # 0.5 m of the 100 m route per 20 Hz step
    return StepEvents(k, k / 20, speed, 0.5, rc, off, outside, 0.0, traffic, tuple(collisions), (), rc >= 100.0)


def perfect():
    return score_route([step(k) for k in range(1, 201)], L)


def deviated():
    """1 vehicle collision, 10 m outside lanes, deviation at 40 %: IS = 0.6 * (1 - 10/40) = 0.45, DS 18."""
    evs = [step(k, outside=0.5 if k <= 20 else 0.0,
                collisions=(Collision(5, "vehicle", 0, 25.0, 0.0, 10.0),) if k == 50 else ()) for k in range(1, 80)]
    evs.append(step(80, off=45.0))
    return score_route(evs, L)


def slow():
    """Completed at half the traffic's speed: four min-speed checkpoints at 50 %."""
    return score_route([step(k, speed=5.0, traffic=10.0) for k in range(1, 201)], L)


def test_route_scores_used_below():
    d = deviated()
    assert (d.RC, d.IS, d.DS, d.status) == (40.0, 0.45, 18.0, "Failed - Agent deviated from the route")


def test_shape_and_hand_computed_global_record():
    data = build_results({("0", 0): perfect(), ("1", 0): deviated()}, PLANNED, sensors=["carla_camera"])
    assert list(data) == ["_checkpoint", "entry_status", "eligible", "sensors", "values", "labels"]
    ck = data["_checkpoint"]
    assert ck["progress"] == [2, 3]
    rec = ck["records"][1]
    assert list(rec) == ["index", "route_id", "status", "num_infractions", "infractions", "scores", "meta"]
    assert rec["route_id"] == "RouteScenario_1_rep0" and rec["index"] == 1
    assert rec["scores"] == {"score_route": 40.0, "score_penalty": 0.45, "score_composed": 18.0}
    assert rec["meta"] == {"route_length": 100.0, "duration_game": 4.0, "duration_system": -1.0}
    assert rec["num_infractions"] == 3
    assert rec["infractions"]["outside_route_lanes"] == [
        "Agent went outside its route lanes for about 10.0 meters (25.0% of the completed route)"]
    assert rec["infractions"]["collisions_vehicle"] == [
        "Agent collided against object with type=vehicle.car and id=5 at (x=25.0, y=0.0, z=0.0)"]
    assert len(rec["infractions"]) == 12 and rec["infractions"]["route_timeout"] == []

    g = ck["global_record"]
    assert (g["index"], g["route_id"], g["status"]) == (-1, -1, "Failed")
    # means over the 3 planned routes (route 2 missing): (100 + 18) / 3, (100 + 40) / 3, (1 + 0.45) / 3
    assert g["scores_mean"] == {"score_composed": 39.333333, "score_route": 46.666667, "score_penalty": 0.483333}
    # sqrt(sum over the 2 records of (x - mean)^2 / (3 - 1))
    assert g["scores_std_dev"] == {"score_composed": 45.473, "score_route": 38.006, "score_penalty": 0.366}
    # km driven 0.1 * 1.0 + 0.1 * 0.4 = 0.14; outside lanes: 10 m = 0.01 km (not per km)
    assert g["infractions"]["collisions_vehicle"] == 7.143 and g["infractions"]["route_dev"] == 7.143
    assert g["infractions"]["outside_route_lanes"] == 0.01 and g["infractions"]["red_light"] == 0.0
    assert g["meta"]["total_length"] == 200.0 and g["meta"]["duration_game"] == 14.0
    assert g["meta"]["exceptions"] == [["RouteScenario_1_rep0", 1, "Failed - Agent deviated from the route"]]
    assert data["values"][:3] == ["39.333333", "46.666667", "0.483333"]
    assert data["values"][4] == "7.143" and data["labels"] == list(LABELS) and len(LABELS) == 15
    # a planned route without a record: the leaderboard's validation marks the entry invalid
    assert (data["entry_status"], data["eligible"]) == ("Invalid", False)


def test_entry_status_finished_and_crashed():
    full = {("0", 0): perfect(), ("1", 0): deviated(), ("2", 0): slow()}
    data = build_results(full, PLANNED)
    assert (data["entry_status"], data["eligible"]) == ("Finished", True)
    assert data["_checkpoint"]["global_record"]["status"] == "Failed"
    crashed = {**full, ("2", 0): score_route([step(1)], L, status_override="Simulation crashed")}
    assert build_results(crashed, PLANNED)["entry_status"] == "Crashed"
    perfect_only = build_results({("0", 0): perfect()}, [("0", 0)])
    assert perfect_only["_checkpoint"]["global_record"]["status"] == "Perfect"
    assert perfect_only["_checkpoint"]["global_record"]["scores_std_dev"]["score_composed"] == 0.0


def test_partial_write_has_no_global_record():
    data = build_results({("0", 0): perfect()}, PLANNED, final=False)
    assert data["_checkpoint"]["global_record"] == {} and data["_checkpoint"]["progress"] == [1, 3]
    assert (data["entry_status"], data["eligible"], data["values"], data["labels"]) == ("Started", False, [], [])


def test_round_trip(tmp_path):
    scores = {("0", 0): perfect(), ("1", 0): deviated(), ("2", 0): slow()}
    path = write_results(tmp_path / "simulation_results.json", scores, PLANNED, sensors=sensor_icons(
        ["sensor.camera.rgb", "sensor.speedometer"]))
    data = read_results(path)
    assert data == json.loads(path.read_text())
    assert data["sensors"] == ["carla_camera", "carla_speedometer"]
    back = route_scores_from_results(data)
    assert set(back) == set(scores)
    for key, s in scores.items():
        b = back[key]
        assert (b.DS, b.RC, b.IS, b.status, b.counts()) == (s.DS, s.RC, s.IS, s.status, s.counts())
        assert b.outside_lanes_m == pytest.approx(s.outside_lanes_m)
    assert [i.value for i in back[("2", 0)].infractions] == [50.0] * 4
    assert back[("1", 0)].infractions[0].penalty == 0.6
    # rebuilding the file from what was read gives the same file
    assert build_results(back, PLANNED, data["sensors"]) == data


def test_existing_parsers_find_their_keys(tmp_path):
    path = write_results(tmp_path / "simulation_results.json",
                         {("0", 0): perfect(), ("1", 0): deviated(), ("2", 0): slow()}, PLANNED)
    data = json.loads(path.read_text())
    names = ["collisions_layout", "collisions_pedestrian", "collisions_vehicle", "red_light", "stop_infraction",
             "outside_route_lanes", "min_speed_infractions", "yield_emergency_vehicle_infractions",
             "scenario_timeouts", "route_dev", "vehicle_blocked", "route_timeout"]
    for rec in data["_checkpoint"]["records"]:
        assert re.search(r"_(\d+)_", rec["route_id"])  # route id extraction of common result parsers
        assert int(rec["route_id"].split("_")[1]) >= 0 and int(rec["route_id"].split("_rep")[-1]) == 0
        for k in ("score_route", "score_penalty", "score_composed"):
            assert isinstance(rec["scores"][k], float)
        for k in ("route_length", "duration_game", "duration_system"):
            assert isinstance(rec["meta"][k], float)
        assert all(isinstance(rec["infractions"][n], list) for n in names)
    dev = data["_checkpoint"]["records"][1]["infractions"]["outside_route_lanes"][0]
    assert float(dev.split(" ")[8]) == 10.0  # the leaderboard's own global statistics read word 8
    assert [float(x) for x in re.findall(r"\d+\.\d+", dev)] == [10.0, 25.0]  # metres, percentage
    slow_msg = data["_checkpoint"]["records"][2]["infractions"]["min_speed_infractions"][0]
    assert float(re.findall(r"(\d+(\.\d+)?)%", slow_msg)[0][0]) == 50.0
    g = data["_checkpoint"]["global_record"]
    assert set(g) == {"index", "route_id", "status", "infractions", "scores_mean", "scores_std_dev", "meta"}
    assert set(g["infractions"]) == set(names)
    assert set(g["meta"]) == {"total_length", "duration_game", "duration_system", "exceptions"}


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "simulation_results.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["simulation_results.json"]


def test_read_errors_say_what_is_wrong(tmp_path):
    bad = tmp_path / "simulation_results.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        read_results(bad)
    bad.write_text(json.dumps({"_checkpoint": {}}))
    with pytest.raises(ConfigError, match="missing"):
        read_results(bad)
    with pytest.raises(ConfigError, match="not planned"):
        build_results({("5", 0): perfect()}, PLANNED)
