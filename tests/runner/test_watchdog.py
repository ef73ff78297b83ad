"""The supervisor: a short step watchdog for stepping workers, a longer limit while loading; Ray placement."""

from __future__ import annotations

import time

import pytest

from harness.runner.executors import LOAD_TIMEOUT_S, _Slots
from harness.runner.jobs import EvalJob


def _busy_slot(step_timeout_s: float = 6.0):
    slots = _Slots(1, step_timeout_s, route_timeout_s=3600.0)
    return slots, slots._take(EvalJob("s", "0", "rgb", 0), 0)


def test_a_loading_worker_gets_the_load_limit_not_the_step_watchdog():
    """Start-up (spawn, imports, town, GL, weights) on a loaded machine can outlast a 6-s step watchdog;
    killing it there would fail every attempt of the route (seen: three timeouts in a row at load 5)."""
    slots, slot = _busy_slot()
    now = time.monotonic()
    assert slots._overdue(slot, -(now - 8.0), now) is None, "8 s silent while loading: still loading"
    why = slots._overdue(slot, -(now - LOAD_TIMEOUT_S - 1.0), now)
    assert why is not None and "while loading" in why


def test_a_stepping_worker_gets_the_step_watchdog():
    slots, slot = _busy_slot()
    now = time.monotonic()
    assert slots._overdue(slot, now - 5.0, now) is None
    why = slots._overdue(slot, now - 8.0, now)
    assert why is not None and why.startswith("no simulation step for 8.0 s (watchdog 6 s)")


def test_a_step_watchdog_longer_than_the_load_limit_applies_while_loading_too():
    slots, slot = _busy_slot(step_timeout_s=LOAD_TIMEOUT_S * 2)
    now = time.monotonic()
    assert slots._overdue(slot, -(now - LOAD_TIMEOUT_S - 1.0), now) is None


@pytest.mark.slow  # starts a local Ray
def test_ray_actors_ask_for_their_share_of_a_gpu():
    """``--gpus-per-worker`` reaches Ray's placement: each actor asks for that share of a GPU (and a
    core), so a fusion module on --device cuda gets one on a cluster."""
    pytest.importorskip("ray", reason="Ray is the optional distributed executor: pip install -e '.[ray]'")
    from harness.runner.executors import make_executor

    executor = make_executor("ray", 2, gpus_per_worker=0.5)
    try:
        assert executor._actor_cls._default_options["num_gpus"] == 0.5
        assert executor._actor_cls._default_options["num_cpus"] == 1
    finally:
        executor.close()
