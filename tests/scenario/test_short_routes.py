"""The short town05 routes (scenarios/routes/town05_short.xml) and the scenarios that drive them:
short, through a traffic light, off the training routes' roads, and exactly what `make routes` writes."""

from __future__ import annotations

import re
import shlex

import pytest

from harness.cli import main
from harness.scenario import load_scenario, read_routes, scenarios_dir, write_routes
from harness.world.routing import generate_routes, plan_route, route_file_roads, route_roads, signals_passed

ROUTES = scenarios_dir() / "routes"
SHORT = ROUTES / "town05_short.xml"
MAKEFILE = scenarios_dir().parent / "Makefile"
MIN_M, MAX_M = 150.0, 300.0  # [m] what the short routes promise
TOL_M = 1.0  # [m] a route replanned from its sparse waypoints may differ this much from the one generated
TRAIN_IDS = [str(i) for i in range(5, 10)]  # town05.xml: 5-8 train the RGB policy and fusion modules, 9 validates
SHORT_SCENARIOS = {"short_night_fog_town05": "night_fog_town05", "short_fog_town05": "fog_town05"}


@pytest.fixture(scope="module")
def short_routes(town05):
    return [plan_route(town05, spec, str(SHORT)) for spec in read_routes(SHORT)]


def test_there_are_ten_routes_of_150_to_300_m(short_routes):
    assert len(short_routes) == 10
    for r in short_routes:
        assert MIN_M - TOL_M <= r.length <= MAX_M + TOL_M, f"route {r.id}: {r.length:.1f} m"


def test_every_route_crosses_a_stop_line_under_a_traffic_light(short_routes, town05):
    for r in short_routes:
        heads = signals_passed(town05, r)
        assert heads, f"route {r.id} passes no traffic light"
        assert all(town05.junctions[town05.signals[h].junction].signalised for h in heads)


def test_no_route_drives_a_road_or_lane_of_the_training_routes(short_routes, town05):
    train_roads = route_file_roads(town05, ROUTES / "town05.xml", TRAIN_IDS)
    train_lanes = {lid for spec in read_routes(ROUTES / "town05.xml") if spec.id in TRAIN_IDS
                   for lid in plan_route(town05, spec).lane_seq}
    assert train_roads and train_lanes
    for r in short_routes:
        assert not route_roads(town05, r) & train_roads, f"route {r.id} drives a road of town05 routes 5-9"
        assert not set(r.lane_seq) & train_lanes, f"route {r.id} drives a lane of town05 routes 5-9"


@pytest.mark.parametrize("name", SHORT_SCENARIOS)
def test_short_scenarios_load_and_differ_from_their_long_twin_only_in_routes(name):
    sc, long = load_scenario(name), load_scenario(SHORT_SCENARIOS[name])
    assert sc.name == name and sc.town == "town05"
    assert sc.routes_path.resolve() == SHORT.resolve()
    assert sc.route_ids is None and [r.id for r in sc.load_routes()] == [str(i) for i in range(10)]
    assert tuple(sc.seeds) == (0,) and sc.max_steps is None
    assert (sc.weather, sc.rig, sc.traffic, sc.events) == (long.weather, long.rig, long.traffic, long.events)


def _makefile_command() -> list[str]:
    """The arguments of the Makefile's line that writes town05_short.xml (continuation lines joined)."""
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line for line in text.splitlines() if "town05_short.xml" in line and "-m harness routes" in line]
    assert len(lines) == 1, "the Makefile's routes target writes town05_short.xml in one command"
    return shlex.split(re.split(r"-m harness ", lines[0], maxsplit=1)[1])


def test_make_routes_writes_the_committed_file_byte_for_byte(tmp_path, monkeypatch):
    argv = _makefile_command()
    out = argv.index("--out")
    assert argv[out + 1] == "scenarios/routes/town05_short.xml"
    argv[out + 1] = str(tmp_path / "short.xml")
    monkeypatch.chdir(scenarios_dir().parent)  # the command's --avoid and --shun paths are the repository's
    assert main(argv) == 0
    assert (tmp_path / "short.xml").read_bytes() == SHORT.read_bytes()


def test_the_options_left_out_leave_the_long_route_file_as_it_was(tmp_path, town05):
    # generate_routes draws the same numbers as before its options existed: town05.xml regenerates unchanged
    routes = generate_routes(town05, 20, seed=0)
    write_routes(tmp_path / "town05.xml", [r.to_spec() for r in routes])
    assert (tmp_path / "town05.xml").read_bytes() == (ROUTES / "town05.xml").read_bytes()


@pytest.mark.parametrize("pick,fragment", [
    ("scenarios/routes/town05.xml", "expected FILE:IDS"),
    ("scenarios/routes/town05.xml:9-5", "runs backwards"),
    ("scenarios/routes/town05.xml:42", "no route id '42'"),
    ("scenarios/routes/town01.xml:0", "not town05"),
    ("scenarios/routes/missing.xml:0", "not found"),
])
def test_a_bad_avoid_is_one_line_naming_it(pick, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(scenarios_dir().parent)
    try:
        code = main(["routes", "--town", "town05", "--avoid", pick, "--out", str(tmp_path / "r.xml")])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "r.xml").exists()
