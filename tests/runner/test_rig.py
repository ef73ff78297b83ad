"""A job's rig comes from its own scenario and agent, never from the job before it on the same worker."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.fusion_agent import FusionAgent
from harness.backends.embedded import EmbeddedBackend
from harness.rig import CameraSpec, Pose
from harness.runner.episode import run_episode


@pytest.fixture
def agents(third_party_agent):
    """(small-camera agent class, thermal-reading agent class), both on the shared third-party fake."""
    base = type(third_party_agent)

    class SmallCameraAgent(base):
        """Declares a 160x80 RGB camera, 0.5 m further back than the scenario's."""

        def sensors(self) -> list[dict]:
            rgb, speed = super().sensors()
            return [{**rgb, "x": 0.8, "width": 160, "height": 80}, speed]

    class ThermalReader(base):
        """Declares the scenario's own cameras, thermal included, and records the thermal frame's size."""

        def __init__(self, rig) -> None:
            super().__init__()
            self.rig = rig
            self.thermal_shapes: list[tuple[int, ...]] = []

        def sensors(self) -> list[dict]:
            rgb, speed = super().sensors()
            cam = self.rig.thermal.camera
            p = cam.pose
            thermal = {"type": "sensor.camera.thermal", "id": "IR", "x": p.x, "y": p.y, "z": p.z, "roll": p.roll,
                       "pitch": p.pitch, "yaw": p.yaw, "width": cam.width, "height": cam.height, "fov": cam.fov}
            return [rgb, thermal, speed]

        def run_step(self, input_data: dict, timestamp: float):
            self.thermal_shapes.append(input_data["IR"][1].shape)
            return super().run_step(input_data, timestamp)

    return base, SmallCameraAgent, ThermalReader


def test_two_jobs_with_different_rigs_on_one_worker(small_scenario, gl_ok, agents):
    """The worker builds each job's agent from ``backend.scenario.rig``: a first job that declares other
    cameras (here a smaller RGB camera and, through its fusion wrapper, a smaller thermal camera) must
    leave that rig as the scenario has it, so the second job renders the scenario's cameras."""
    _, SmallCameraAgent, ThermalReader = agents
    small_thermal = dataclasses.replace(small_scenario.rig.thermal,
                                        camera=CameraSpec(width=96, height=48, fov=95.0, pose=Pose(x=1.3, y=0.25, z=2.2)))
    first_rig = dataclasses.replace(small_scenario.rig, thermal=small_thermal)
    with EmbeddedBackend(small_scenario, privileged=False) as backend:
        route = backend.route_ids[0]
        first = FusionAgent(SmallCameraAgent(), "thermal", rig=first_rig)
        run_episode(backend, first, route, 0, max_steps=3)
        assert first.agent.received[0]["Center"][1].shape == (80, 160, 4), "the first job renders its own camera"
        assert backend.rig.rgb.width == 160 and backend.rig.thermal.camera.width == 96
        assert backend.scenario == small_scenario, "configure() must not rewrite the scenario"

        second = ThermalReader(backend.scenario.rig)  # as harness.runner.worker.execute builds agents
        run_episode(backend, second, route, 0, max_steps=3)
        th = small_scenario.rig.thermal.camera
        assert set(second.thermal_shapes) == {(th.height, th.width)}
        assert second.received[0]["Center"][1].shape == (160, 320, 4)
        assert backend.rig.rgb == small_scenario.rig.rgb and backend.rig.thermal == small_scenario.rig.thermal


def test_a_job_renders_the_same_after_another_rig(small_scenario, gl_ok, agents):
    """Frames do not depend on the job before: a route driven after another rig equals a fresh drive."""
    ThirdPartyAgent, SmallCameraAgent, _ = agents
    with EmbeddedBackend(small_scenario, privileged=False) as fresh:
        a = ThirdPartyAgent()
        run_episode(fresh, a, fresh.route_ids[0], 0, max_steps=3)
    with EmbeddedBackend(small_scenario, privileged=False) as used:
        run_episode(used, SmallCameraAgent(), used.route_ids[0], 0, max_steps=3)
        b = ThirdPartyAgent()
        run_episode(used, b, used.route_ids[0], 0, max_steps=3)
    for ra, rb in zip(a.received, b.received):
        assert np.array_equal(ra["Center"][1], rb["Center"][1])
