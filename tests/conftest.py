"""Shared fixtures and fakes for the test suite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROADSCENE = REPO.parent / "shared" / "data" / "roadscene"


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
