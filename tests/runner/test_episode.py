"""One route, one agent: the closed loop, the global plan, and agent failures."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import AgentError
from harness.plan import downsample_indices, global_plan, plan_array
from harness.runner.episode import run_episode
from harness.world.routing import RoadOption


@pytest.fixture
def backend(gl_ok, small_scenario):
    from harness.backends.embedded import EmbeddedBackend

    with EmbeddedBackend(small_scenario, privileged=False) as be:
        yield be


def test_global_plan_is_leaderboard_style(backend):
    route = backend.route(backend.route_ids[0])
    keep = downsample_indices(route, 50.0)
    assert keep[0] == 0 and keep[-1] == len(route.points) - 1
    gaps = np.diff(route.s[keep])
    assert gaps.max() <= 50.0 + 1.0
    changes = [i for i in range(1, len(route.options)) if route.options[i] != route.options[i - 1]]
    assert set(changes) <= set(keep)  # every RoadOption change is kept
    gps, world = global_plan(route)
    assert len(gps) == len(world) == len(keep)
    assert set(gps[0][0]) == {"lat", "lon", "z"} and isinstance(world[0][1], RoadOption)
    pts, yaw, _ = plan_array(world)
    assert np.allclose(pts, route.points[keep]) and np.allclose(yaw, route.headings[keep])


def test_expert_drives_and_is_scored(backend):
    from agents.expert import ExpertAgent

    res = run_episode(backend, ExpertAgent(), backend.route_ids[0], seed=1, max_steps=200)
    assert res.steps == 200
    assert 0.0 < res.score.RC < 100.0
    assert res.score.counts()["collisions_pedestrian"] == 0 and res.score.counts()["collisions_vehicle"] == 0


class _Bad:
    def __init__(self, ret=None, exc=None):
        self.ret, self.exc = ret, exc

    def sensors(self):
        return [{"type": "sensor.speedometer", "id": "speed"}]

    def run_step(self, data, timestamp):
        if self.exc:
            raise self.exc
        return self.ret

    def destroy(self):
        pass


def test_agent_failures_are_agent_errors_with_their_cause(backend):
    with pytest.raises(AgentError, match="must return a control") as info:
        run_episode(backend, _Bad(ret="full throttle"), backend.route_ids[0], seed=0, max_steps=5)
    assert info.value.__cause__ is not None
    with pytest.raises(AgentError, match="raised ZeroDivisionError") as info:
        run_episode(backend, _Bad(exc=ZeroDivisionError("oops")), backend.route_ids[0], seed=0, max_steps=5)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_the_expert_needs_ground_truth():
    from agents.expert import ExpertAgent
    from harness.errors import WrongOrderError

    with pytest.raises(AgentError, match="exposes its ground truth"):
        ExpertAgent().bind(object())
    with pytest.raises(WrongOrderError, match="bind"):
        ExpertAgent().run_step({}, 0.0)


def test_the_world_does_not_depend_on_which_cameras_are_rendered(gl_ok, small_scenario):
    """Paired design: skipping the thermal camera (agents without one) must not change the traffic."""
    from harness.backends.embedded import EmbeddedBackend
    from harness.backends.records import VehicleControl

    tracks = []
    for thermal in (True, False):
        with EmbeddedBackend(small_scenario, privileged=False) as be:
            be.configure(small_scenario.rig, privileged=False, thermal=thermal)
            be.load(be.route_ids[0], 3)
            frame = be.reset()
            assert (frame.thermal.size > 0) == thermal
            for _ in range(40):
                frame, _ = be.step(VehicleControl.clipped(throttle=0.5))
            view = be.world.actor_view()
            tracks.append((view.xy.copy(), frame.rgb.copy()))
    assert np.array_equal(tracks[0][0], tracks[1][0])
    assert np.array_equal(tracks[0][1], tracks[1][1])
