"""The start order of an evaluation's route runs: within a seed the longest routes first, the variants of
one (route, seed) together; keys, records and reports keep the planned order."""

from __future__ import annotations

from dataclasses import replace

from harness.runner import evaluate as ev
from harness.runner.evaluate import start_order
from harness.runner.executors import Outcome
from harness.runner.jobs import build_matrix, waypoint_length
from harness.runner.store import ResultStore
from harness.runner.worker import OK
from harness.scenario import load_scenario

SCENARIO = "fog_town05"  # make eval's default: routes 0, 2, 10, 11, 12, of three lengths


def _lengths() -> dict[str, float]:
    return {r.id: waypoint_length(r) for r in load_scenario(SCENARIO).load_routes()}


def _jobs(seeds=(0, 1)):
    return build_matrix(SCENARIO, ["0", "2", "10", "11", "12"], ["rgb", "thermal", None], list(seeds), agent="rgb_policy")


def test_within_a_seed_the_longest_routes_start_first_and_a_pair_stays_together():
    jobs = _jobs()
    lengths = _lengths()
    assert len(set(lengths[r] for r in ("0", "2", "10", "11", "12"))) > 1  # else the test shows nothing
    order = start_order(jobs)
    assert sorted(order) == list(range(len(jobs)))
    ran = [jobs[i] for i in order]
    assert [j.seed for j in ran] == sorted(j.seed for j in jobs)  # every job of seed 0 before any of seed 1
    for seed in (0, 1):
        mine = [j for j in ran if j.seed == seed]
        routes = list(dict.fromkeys(j.route_id for j in mine))
        assert [lengths[r] for r in routes] == sorted((lengths[r] for r in routes), reverse=True)
        for k in range(0, len(mine), 3):  # each route's three variants in a row, in planned order
            assert [j.route_id for j in mine[k:k + 3]] == [mine[k].route_id] * 3
            assert [j.variant for j in mine[k:k + 3]] == ["rgb", "thermal", None]


def test_a_scenario_that_does_not_load_keeps_the_planned_order():
    jobs = [replace(j, scenario="/nowhere/missing.yaml") for j in _jobs(seeds=(3,))]
    assert start_order(jobs) == list(range(len(jobs)))


def test_run_jobs_starts_in_that_order_and_records_every_job(tmp_path, monkeypatch):
    jobs = _jobs(seeds=(0,))
    keys = [f"k{i:02d}" for i in range(len(jobs))]
    started: list = []

    class Executor:  # one slot, every job finished at once
        def __init__(self):
            self.out: list = []

        def free_slots(self):
            return 0 if self.out else 1

        def busy(self):
            return bool(self.out)

        def submit(self, job, attempt):
            started.append(job)
            self.out.append(Outcome(job, attempt, OK, {"score": {"DS": 1.0}, "steps": 1, "wall_s": 0.0}, 0.0, "w0"))

        def poll(self, timeout):
            out, self.out = self.out, []
            return out

        def close(self):
            pass

    monkeypatch.setattr(ev, "make_executor", lambda *a, **k: Executor())
    store = ResultStore(tmp_path)
    stats = ev.run_jobs(jobs, keys, store, ev.RunOptions(workers=1, progress=False))
    assert stats.finished == len(jobs)
    assert started == [jobs[i] for i in start_order(jobs)]
    assert started != jobs  # the default routes are not planned longest first
    assert sorted(store.done_keys()) == keys


def test_a_weather_sweep_keeps_its_conditions_one_after_another():
    from harness.runner.jobs import with_weather

    dense, thin = ([with_weather(j, fog_visibility_m=v) for j in _jobs(seeds=(0,))] for v in (30.0, 80.0))
    jobs = dense + thin  # as a sweep plans them: condition by condition
    ran = [jobs[i] for i in start_order(jobs)]
    assert ran[: len(dense)] == sorted(dense, key=lambda j: -_lengths()[j.route_id])  # stable: pairs together
    assert {j.weather for j in ran[len(dense):]} == {thin[0].weather}
