"""Where the driving score went: the split of a DS drop into route-completion and penalty causes."""

from __future__ import annotations

import dataclasses
import math

import pytest

from harness.errors import ConfigError
from harness.metrics import rules as R
from harness.metrics.attribution import (END_CAUSES, LossAttribution, RouteOutcome, attribute_loss, end_cause,
                                         outcome_of_row, outcome_of_score, penalty_by_kind, split_loss)
from harness.metrics.records import Infraction, RouteScore


def _inf(kind: str, penalty: float) -> Infraction:
    return Infraction(kind, 0, 0.0, 1.0, 2.0, None, penalty, kind)


def _score(rc: float, infs: tuple[Infraction, ...] = (), status: str | None = None) -> RouteScore:
    p = math.prod(i.penalty for i in infs)
    status = status or (R.COMPLETED if rc == 100.0 else R.FAILED)
    return RouteScore(rc * p, rc, p, status, 60.0, -1.0, 1000.0, 10.0 * rc, 0.0, infs)


def test_blocked_route_with_a_collision_splits_exactly_by_hand():
    base = {("0", 0): _score(100.0)}
    other = {("0", 0): _score(40.0, (_inf(R.COLLISIONS_VEHICLE, 0.6), _inf(R.VEHICLE_BLOCKED, 1.0)),
                              f"{R.FAILED} - {R.MSG_BLOCKED}")}
    a = attribute_loss(base, other)
    assert a.loss == pytest.approx(100.0 - 40.0 * 0.6)  # 76 points
    assert a.completion["blocked"] == pytest.approx(60.0 * (1.0 + 0.6) / 2)  # 48
    assert a.penalties == pytest.approx({R.COLLISIONS_VEHICLE: 0.4 * (100.0 + 40.0) / 2})  # 28
    assert a.completion_total + a.penalty_total == pytest.approx(a.loss)
    assert a.share(R.COLLISIONS_VEHICLE) == pytest.approx(28 / 76)
    assert LossAttribution.from_dict(a.to_dict()) == a


def test_kinds_split_by_log_penalty_and_fewer_infractions_give_points_back():
    # base: two red lights; other: one red light and two vehicle collisions, both complete
    base = {("0", 0): _score(100.0, (_inf(R.RED_LIGHT, 0.7),) * 2)}
    other = {("0", 0): _score(100.0, (_inf(R.RED_LIGHT, 0.7), _inf(R.COLLISIONS_VEHICLE, 0.6), _inf(R.COLLISIONS_VEHICLE, 0.6)))}
    a = attribute_loss(base, other)
    drop = 100.0 * (0.49 - 0.7 * 0.36)
    assert a.loss == pytest.approx(drop) and a.completion_total == 0.0
    d_red, d_veh = math.log(0.7), -2 * math.log(0.6)  # change of log P per kind, base minus other
    assert a.penalties[R.RED_LIGHT] == pytest.approx(drop * d_red / (d_red + d_veh)) and a.penalties[R.RED_LIGHT] < 0
    assert a.penalties[R.COLLISIONS_VEHICLE] == pytest.approx(drop * d_veh / (d_red + d_veh))
    assert sum(a.penalties.values()) == pytest.approx(drop)


def test_a_better_run_gains_points_under_the_cause_the_base_suffered():
    base = {("0", 0): _score(30.0, (_inf(R.ROUTE_TIMEOUT, 1.0),), f"{R.FAILED} - {R.MSG_TIMED_OUT}")}
    other = {("0", 0): _score(100.0)}
    a = attribute_loss(base, other)
    assert a.loss == pytest.approx(-70.0) and a.completion["timeout"] == pytest.approx(-70.0)


def test_missing_runs_count_zero_and_means_run_over_planned_pairs():
    base = {("0", 0): _score(100.0), ("1", 0): _score(100.0)}
    other = {("0", 0): _score(100.0)}
    a = attribute_loss(base, other, planned=[("0", 0), ("1", 0)])
    assert a.n_pairs == 2 and a.loss == pytest.approx(50.0) and a.completion["missing"] == pytest.approx(50.0)
    assert attribute_loss(base, other).n_pairs == 1  # without planned: the keys both recorded
    with pytest.raises(ConfigError, match="same routes and seeds"):
        split_loss([])


@pytest.mark.parametrize("status, kinds, cause", [
    (f"{R.FAILED} - {R.MSG_BLOCKED}", (), "blocked"),
    (R.FAILED, (R.ROUTE_DEVIATION,), "deviation"),
    (f"{R.FAILED} - {R.MSG_TIMED_OUT}", (R.ROUTE_TIMEOUT,), "timeout"),
    (f"{R.FAILED} - Agent crashed", (), "failure"),
    (R.FAILED, (), "unfinished"),
])
def test_end_cause_from_status_and_kinds(status, kinds, cause):
    assert cause in END_CAUSES and end_cause(status, kinds, completed=False) == cause
    assert end_cause(status, kinds, completed=True) == "completed"


def test_blocked_routes_split_by_what_was_ahead():
    blocked = f"{R.FAILED} - {R.MSG_BLOCKED}"
    for ahead in ("nothing", "actor", "red_light"):
        assert end_cause(blocked, (), False, ahead) == f"blocked_{ahead}" in END_CAUSES
    assert end_cause(blocked, (), False, "a ghost") == "blocked"  # unknown: not a new cause
    assert end_cause(f"{R.FAILED} - {R.MSG_TIMED_OUT}", (R.ROUTE_TIMEOUT,), False, "nothing") == "timeout"
    s = dataclasses.replace(_score(30.0, (_inf(R.VEHICLE_BLOCKED, 1.0),), blocked), blocked_by="nothing")
    row = {"RC": 30.0, "IS": 1.0, "status": blocked, "infractions": {R.VEHICLE_BLOCKED: 1}, "blocked_by": "nothing"}
    assert outcome_of_score(s).end == outcome_of_row(row).end == "blocked_nothing"
    a = split_loss([(RouteOutcome(100.0, 1.0, "completed", {}), outcome_of_row(row))])
    assert a.completion["blocked_nothing"] == pytest.approx(70.0) and a.completion["blocked"] == 0.0


def test_drive_rows_with_and_without_penalties_give_the_same_outcome():
    infs = (_inf(R.RED_LIGHT, 0.7), _inf(R.MIN_SPEED, 0.85), _inf(R.VEHICLE_BLOCKED, 1.0))
    s = _score(50.0, infs, f"{R.FAILED} - {R.MSG_BLOCKED}")
    assert penalty_by_kind(s) == {R.RED_LIGHT: 0.7, R.MIN_SPEED: 0.85}
    row = {"RC": s.RC, "IS": s.IS, "status": s.status, "infractions": {k: n for k, n in s.counts().items() if n}}
    old = outcome_of_row(row)  # before drive rows named their penalties: min speed is what the fixed factors leave
    new = outcome_of_row({**row, "penalties": penalty_by_kind(s)})
    ref = outcome_of_score(s)
    for o in (old, new):
        assert o.end == ref.end == "blocked" and o.RC == ref.RC and o.IS == ref.IS
        assert o.log_penalty == pytest.approx(dict(ref.log_penalty))
    with pytest.raises(ConfigError, match="RC, IS and status"):
        outcome_of_row({"DS": 3.0})


def test_is_rounded_to_zero_in_a_drive_row_is_not_an_unexplained_penalty():
    row = {"RC": 100.0, "IS": 0.0, "status": R.COMPLETED, "infractions": {R.COLLISIONS_VEHICLE: 25}}  # 0.6**25 ~ 3e-6
    assert set(outcome_of_row(row).log_penalty) == {R.COLLISIONS_VEHICLE}
    a = split_loss([(RouteOutcome(100.0, 1.0, "completed", {}), outcome_of_row(row))])
    assert a.penalties == pytest.approx({R.COLLISIONS_VEHICLE: 100.0})
