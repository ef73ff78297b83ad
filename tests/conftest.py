"""Shared fixtures and fakes for the test suite."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROADSCENE = REPO.parent / "shared" / "data" / "roadscene"


@pytest.fixture(scope="session")
def reference_script():
    """Load a script under results/reference (not a package) as a module: ``reference_script("agents/summary.py")``."""

    def load(relative: str):
        path = REPO / "results" / "reference" / relative
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture(scope="session")
def town05():
    from harness.world.town import load_town

    return load_town("town05")


@pytest.fixture(scope="session")
def gl_ok() -> bool:
    from harness.errors import RenderError
    from harness.render.renderer import create_context

    try:
        create_context().release()
    except RenderError as err:
        pytest.skip(f"no headless OpenGL here ({err}); run `make setup`")
    return True


@pytest.fixture
def small_scenario():
    """clear_town01 with light traffic: quick to simulate."""
    from harness.scenario import load_scenario
    from harness.scenario.schema import TrafficSpec

    sc = load_scenario("clear_town01")
    return dataclasses.replace(sc, traffic=TrafficSpec(vehicles=12, pedestrians=15))


class ThirdPartyAgent:
    """A minimal leaderboard-style agent as a user writes it: no base class of ours, CARLA's sensor
    dicts, reads its camera as BGRA, returns an object with throttle/steer/brake. Records what it got."""

    def __init__(self, camera_id: str = "Center") -> None:
        self.camera_id = camera_id
        self.received: list[dict] = []
        self.plan = None
        self.destroyed = False

    def setup(self, path_to_conf_file: str) -> None:
        self.conf = path_to_conf_file

    def sensors(self) -> list[dict]:
        return [
            {"type": "sensor.camera.rgb", "id": self.camera_id, "x": 1.3, "y": 0.0, "z": 2.3, "roll": 0.0,
             "pitch": 0.0, "yaw": 0.0, "width": 320, "height": 160, "fov": 90},
            {"type": "sensor.speedometer", "id": "SPEED", "reading_frequency": 20},
        ]

    def set_global_plan(self, gps, world) -> None:
        self.plan = (gps, world)

    def run_step(self, input_data: dict, timestamp: float):
        self.received.append({k: (v[0], v[1].copy() if hasattr(v[1], "copy") else v[1]) for k, v in input_data.items()})

        class Control:  # duck-typed like carla.VehicleControl
            throttle, steer, brake = 0.3, 0.0, 0.0

        return Control()

    def destroy(self) -> None:
        self.destroyed = True


@pytest.fixture
def third_party_agent():
    return ThirdPartyAgent()
