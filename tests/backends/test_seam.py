"""What every backend shares: the record types, the declared interface, the geo reference."""

from __future__ import annotations

import math

import pytest

from harness.backends.base import Backend, gnss_to_location, location_to_gnss
from harness.errors import ConfigError
from harness.rig import CameraSpec, Rig


def test_the_records_are_one_set_of_types_for_every_backend():
    from harness.backends import records
    from harness.world import ego, infractions

    assert infractions.StepEvents is records.StepEvents and ego.VehicleControl is records.VehicleControl
    with pytest.raises(ConfigError, match="throttle"):
        records.VehicleControl(throttle=2.0)


@pytest.mark.parametrize("ref", [(0.0, 0.0), (49.0, 8.0), (-33.9, 151.2)])
def test_gnss_turns_back_into_map_coordinates_with_the_maps_own_reference(ref):
    for x, y in ((0.0, 0.0), (250.0, -130.0), (-4000.0, 3500.0)):
        lat, lon, _ = location_to_gnss(x, y, 0.0, *ref)
        bx, by = gnss_to_location(lat, lon, *ref)
        assert math.hypot(bx - x, by - y) < 0.01
    if ref != (0.0, 0.0):  # read with the wrong origin, a CARLA town's positions are kilometres off
        lat, lon, _ = location_to_gnss(250.0, -130.0, 0.0, *ref)
        assert math.hypot(*(a - b for a, b in zip(gnss_to_location(lat, lon), (250.0, -130.0)))) > 1000.0


class _Minimal(Backend):
    name = "minimal"

    def __init__(self, scenario):
        self.scenario, self.rig = scenario, scenario.rig

    def load(self, route_id, seed):
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError

    def step(self, control):
        raise NotImplementedError

    def close(self):
        pass


def test_a_backend_declares_what_its_callers_use(small_scenario):
    be = _Minimal(small_scenario)
    assert be.geo_reference == (0.0, 0.0) and be.seed == 0
    be.configure(small_scenario.rig, privileged=False)  # its own rig: fine
    other = Rig(rgb=CameraSpec(width=640, height=320))
    with pytest.raises(ConfigError, match="renders its scenario's rig only"):
        be.configure(other, privileged=False)


def test_the_embedded_world_is_ground_truth_from_load_on(small_scenario):
    from harness.backends.embedded import EmbeddedBackend
    from harness.backends.truth import GroundTruth
    from harness.errors import WrongOrderError

    with EmbeddedBackend(small_scenario) as be:
        with pytest.raises(WrongOrderError, match="before load"):
            be.ground_truth
        route = be.load("0", 0)
        be.reset()
        truth = be.ground_truth
        assert isinstance(truth, GroundTruth)
        assert truth.route is route and truth.route_index() == 0
        lamps = truth.signal_lamps()
        assert all(truth.signal_state(i) in (0, 1, 2) for i, _, _ in lamps)
        gap, sig = truth.next_stop_line(10_000)
        lines = truth.stop_lines_ahead(10_000)
        assert (sig is None) == (not lines) and (sig is None or sig == lines[0].signal)


def test_privileged_readers_refuse_a_backend_without_ground_truth(small_scenario):
    from agents.expert import ExpertAgent
    from harness.errors import AgentError
    from harness.runner.worker import truth_or_none

    be = _Minimal(small_scenario)
    with pytest.raises(ConfigError, match="exposes no ground truth"):
        be.ground_truth
    with pytest.raises(AgentError, match="needs a backend that exposes its ground truth"):
        ExpertAgent().bind(be)
    assert truth_or_none(be) is None  # the clips go without a top view


def test_light_states_are_one_table():
    from harness.backends import truth
    from harness.world import signals

    assert (truth.RED, truth.YELLOW, truth.GREEN) == (signals.RED, signals.YELLOW, signals.GREEN)


def test_workers_are_told_their_carla_server_and_index(monkeypatch):
    import json

    from harness.backends.carla.server import ServerSpec
    from harness.runner.executors import carla_env
    from harness.runner.worker import carla_server

    assert carla_env(None, 3) == {}
    spec = ServerSpec(host="10.0.0.5", port=3000, timeout_s=4.0)
    env = carla_env(vars(spec), 2)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    got, index = carla_server()
    assert got == spec and index == 2 and got.for_worker(index).rpc == 3020
    assert json.loads(env["HARNESS_CARLA"])["host"] == "10.0.0.5"
    monkeypatch.delenv("HARNESS_CARLA")
    assert carla_server() == (None, 0)
