"""Shared fixtures and fakes for the test suite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROADSCENE = REPO.parent / "shared" / "data" / "roadscene"


@pytest.fixture(scope="session")
def town05():
    from harness.world.town_gen import load_town

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


def _carla_server() -> str | None:
    """``host:port`` of a CARLA server that answers, or None (``CARLA_HOST``/``CARLA_PORT``, default localhost:2000)."""
    import os
    import socket

    host, port = os.environ.get("CARLA_HOST", "localhost"), int(os.environ.get("CARLA_PORT", "2000"))
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return f"{host}:{port}"
    except OSError:
        return None


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``gpu`` skip without a CUDA device and ``carla`` without a CARLA server, saying so;
    ``slow`` tests run (``make test-fast`` deselects them)."""
    gpu = [i for i in items if "gpu" in i.keywords]
    carla = [i for i in items if "carla" in i.keywords]
    if gpu:
        import torch

        if not torch.cuda.is_available():
            for item in gpu:
                item.add_marker(pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False here)"))
    if carla and _carla_server() is None:
        for item in carla:
            item.add_marker(pytest.mark.skip(reason="needs a running CARLA server at $CARLA_HOST:$CARLA_PORT "
                                                    "(default localhost:2000); start CarlaUE4.sh -RenderOffScreen"))


SMALL_EVAL_YAML = """\
description: "tests: clear town01, light traffic, three routes"
town: town01
routes: {routes}
route_ids: ["0", "1", "2"]
weather: {{preset: clear}}
traffic: {{vehicles: 8, pedestrians: 10}}
seeds: [0]
max_steps: 40
"""


@pytest.fixture(scope="session")
def eval_scenario(tmp_path_factory, gl_ok) -> str:
    path = tmp_path_factory.mktemp("scenario") / "small_town01.yaml"
    path.write_text(SMALL_EVAL_YAML.format(routes=REPO / "scenarios" / "routes" / "town01.xml"))
    return str(path)
