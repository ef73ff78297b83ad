"""The supervisor's watchdog: a short step watchdog for stepping workers, a longer limit while loading."""

from __future__ import annotations

import time

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
