"""The CARLA backend's episode over the fake server (``fake_carla``): the same backend contract as the
embedded simulator, the expert driving a route to the end through a traffic light, and the events
the metrics collector scores (a red light run, a collision) coming out of CARLA's own sensors."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

carla = pytest.importorskip("carla", reason="the carla client (pip install carla==0.9.16, Python 3.10-3.12) is not installed")

from harness.backends.base import gnss_to_location  # noqa: E402
from harness.backends.carla import towns  # noqa: E402
from harness.backends.records import VehicleControl  # noqa: E402
from harness.backends.truth import GroundTruth  # noqa: E402
from harness.scenario import load_scenario, write_routes  # noqa: E402
from harness.scenario.routes_xml import RouteSpec, Waypoint  # noqa: E402
from harness.scenario.schema import TrafficSpec  # noqa: E402

from . import fake_carla  # noqa: E402
from .opendrive import LANE_W, RADIUS, stadium  # noqa: E402

STOP_X = 80.0  # the light's stop line on the bottom straight, driving lane -1


@pytest.fixture
def carla_scenario(tmp_path, monkeypatch):
    """fog_town05 as it runs on CARLA, with the stadium as Town05 and one 208 m route round a bend."""
    (tmp_path / "routes").mkdir()
    route = RouteSpec(id="0", town="Town05", waypoints=(Waypoint(10.0, LANE_W / 2), Waypoint(60.0, LANE_W / 2),
                                                        Waypoint(50.0, -(2 * RADIUS + LANE_W / 2))))
    write_routes(tmp_path / "routes" / "Town05.xml", [route])
    (tmp_path / "carla_towns.yaml").write_text("town05: {town: Town05, routes: routes/Town05.xml}\n")
    monkeypatch.setattr(towns, "TABLE", tmp_path / "carla_towns.yaml")
    sc = towns.on_carla(load_scenario("fog_town05"))
    return replace(sc, traffic=TrafficSpec(vehicles=3, pedestrians=2))


def make_carla(scenario, light_phase: float = 0.0):
    from harness.backends.carla.backend import CarlaBackend

    client = fake_carla.Client(carla.Map("Town05", stadium()), lights=[(STOP_X, LANE_W / 2, light_phase)])
    return CarlaBackend(scenario, client=client, carla_module=carla)


def make_embedded(scenario):
    from harness.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(scenario)


@pytest.fixture(params=["embedded", "carla_over_the_fake"])  # ("carla" alone would read as the server marker)
def backend(request, small_scenario, carla_scenario):
    be = make_embedded(small_scenario) if request.param == "embedded" else make_carla(carla_scenario)
    yield be
    be.close()


def test_the_backend_contract(backend):
    """What the runner relies on, on either simulator."""
    route = backend.load(backend.route_ids[0], 0)
    steps = np.hypot(*np.diff(route.points, axis=0).T)
    assert route.length > 50 and np.median(steps) == pytest.approx(1.0, abs=0.05)
    frame = backend.reset()
    rig = backend.rig
    assert frame.rgb.shape == (rig.rgb.height, rig.rgb.width, 3) and frame.rgb.dtype == np.uint8
    assert frame.thermal.shape == (rig.thermal.camera.height, rig.thermal.camera.width) and frame.thermal.dtype == np.uint8
    x, y = gnss_to_location(frame.gnss[0], frame.gnss[1], *backend.geo_reference)
    assert math.hypot(x - route.points[0, 0], y - route.points[0, 1]) < 1.5
    truth = backend.ground_truth
    assert isinstance(truth, GroundTruth)
    last, t0 = 0.0, None
    for _ in range(40):
        frame, ev = backend.step(VehicleControl(throttle=0.6))
        t0 = ev.time if t0 is None else t0
        assert ev.route_completion >= last and ev.distance_m >= 0
        last = ev.route_completion
    assert ev.time == pytest.approx(t0 + 39 * 0.05)
    assert last > 0 and truth.route_index() > 0 and frame.speed > 0.5
    gap, sig = truth.next_stop_line(500)
    assert (sig is None) == (not truth.stop_lines_ahead(500))
    assert truth.standing_for() in ("red_light", "actor", "nothing")
    # what made the images, as records keep it: the GL renderer's name, or the CARLA server's version
    assert backend.image_source == (backend.renderer.info["GL_RENDERER"] if backend.name == "embedded" else "CARLA 0.9.16")


def test_the_expert_drives_the_route_on_carla_and_stops_at_the_red(carla_scenario):
    from agents.expert import ExpertAgent
    from harness.runner.episode import run_episode

    be = make_carla(carla_scenario, light_phase=0.0)
    try:
        reds = []
        res = run_episode(be, ExpertAgent(), "0", 0, on_step=lambda f, c, ev: reds.extend(ev.red_lights))
    finally:
        be.close()
    score = res.score
    assert score.RC > 95 and not reds
    assert score.DS == pytest.approx(100.0 * score.IS * score.RC / 100.0)


class FullThrottle:
    def sensors(self):
        return [{"type": "sensor.speedometer", "id": "speed"}]

    def run_step(self, input_data, timestamp):
        return VehicleControl(throttle=1.0)


def test_running_the_red_and_hitting_a_car_are_scored_from_carlas_sensors(carla_scenario):
    be = make_carla(replace(carla_scenario, traffic=TrafficSpec(vehicles=0, pedestrians=0)), light_phase=6.0)
    try:
        be.load("0", 0)
        be.reset()
        lib = be.world.get_blueprint_library()
        parked = be.world.spawn_actor(lib.find("vehicle.tesla.model3"),
                                      carla.Transform(carla.Location(x=92.0, y=LANE_W / 2, z=0.5), carla.Rotation()))
        reds, hits = [], []
        for _ in range(200):
            _, ev = be.step(VehicleControl(throttle=1.0))
            reds += ev.red_lights
            hits += ev.collisions
            if hits:
                break
        assert len(reds) == 1 and reds[0].x == pytest.approx(STOP_X, abs=2.0)
        assert [h.kind for h in hits] == ["vehicle"] and hits[0].other_id == parked.id
        _, ev = be.step(VehicleControl(brake=1.0))
        assert not ev.collisions  # the same contact is one collision
    finally:
        be.close()


def test_oracle_clean_is_refused_on_carla(carla_scenario):
    from harness.errors import ConfigError

    be = make_carla(carla_scenario)
    with pytest.raises(ConfigError, match="not available on the CARLA backend"):
        be.configure(be.rig, privileged=True)
    be.close()
