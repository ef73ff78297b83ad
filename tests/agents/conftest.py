"""Fixtures of the agent tests."""

from __future__ import annotations

import pytest


def _lane_kept_frames(weather: str, steps: int, every: int, privileged: bool = False):
    """Frames of clear_town05 route 0 (seed 0) under the ``weather`` preset, the lane keeper driving:
    every ``every``-th of ``steps`` steps."""
    import dataclasses

    from harness.backends.embedded import EmbeddedBackend
    from harness.scenario import load_scenario
    from harness.weather import preset
    from harness.world.autopilot import lane_keeper

    sc = dataclasses.replace(load_scenario("clear_town05"), weather=preset(weather))
    with EmbeddedBackend(sc, privileged=privileged) as be:
        be.load("0", 0)
        frame = be.reset()
        drive = lane_keeper(be)
        for step in range(steps):
            frame, _ = be.step(drive(frame))
            if step % every == every - 1:
                yield frame


@pytest.fixture(scope="session")
def lane_kept_frames(gl_ok):
    """:func:`_lane_kept_frames`, for tests that render (needs a GL context)."""
    return _lane_kept_frames
