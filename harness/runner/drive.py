"""Drive one agent (optionally behind one fusion variant) over a scenario's routes with one seed.

``python -m harness drive`` is an evaluation of one variant and one seed: the same planner, keys,
executors (local processes or Ray), watchdog, retries, quarantine, results store and resume as
``eval`` (:mod:`harness.runner.evaluate`). What differs is the output: a row per route, handed to
the caller the moment its record is written, and one result with every row and the leaderboard
means, the JSON that ``results/reference/agents`` and ``harness.report.drive_rows`` read. The run
folder holds the store (``records/``, ``quarantine/``, ``run.json``, so ``report --out`` writes an
eval's tables from it too) and ``drive.json``, the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from harness.backends.registry import preflight, scenario_for
from harness.errors import ConfigError
from harness.metrics import RouteScore, summarize
from harness.metrics.attribution import penalty_by_kind
from harness.metrics.leaderboard_json import write_json_atomic
from harness.runner.evaluate import (RECORD_VERSION, EvalRequest, RunOptions, RunStats, _request_dict, check_out_dir,
                                     job_keys, opts_check, plan, run_jobs)
from harness.runner.jobs import NO_VARIANT, EvalJob, agent_weights_file, file_digest
from harness.runner.store import ResultStore

DRIVE_ROOT = Path("results") / "drive"  # default parent of the run folders, relative to the working directory
RESULT_FILE = "drive.json"


@dataclass(frozen=True)
class DrivenRoute:
    """One route's outcome as the caller sees it: the JSON row and the score it came from."""

    row: dict  # the route's entry in the result's "routes" (keys as drive --json has always written them)
    score: RouteScore
    earlier: bool  # recorded by an earlier run of the same folder (resume), not driven now


RouteHook = Callable[[DrivenRoute], None]


def default_out(req: EvalRequest) -> Path:
    """``results/drive/<scenario>-<agent>-<variant>-seed<seed>``, e.g.
    ``results/drive/night_fog_town05-rgb_policy-rgb-seed0``; characters a file name should not hold
    (a variant such as ``onnx:models/x.onnx``) become ``_``."""
    from harness.scenario import load_scenario

    variant, seed = _one_variant_one_seed(req)
    name = f"{load_scenario(req.scenario).name}-{req.agent}-{variant}-seed{seed}"
    return DRIVE_ROOT / re.sub(r"[^A-Za-z0-9_.,=+-]", "_", name)


def _one_variant_one_seed(req: EvalRequest) -> tuple[str, int]:
    if len(req.variants) != 1:
        raise ConfigError(f"drive runs one variant (or {NO_VARIANT!r} for the agent alone), got {list(req.variants)}; "
                          "use eval for several")
    if req.seeds is None or len(req.seeds) != 1:
        raise ConfigError(f"drive runs one seed, got {req.seeds!r}; use eval for several")
    return req.variants[0], req.seeds[0]


def plan_drive(req: EvalRequest, clips_dir: str | Path | None = None) -> list[EvalJob]:
    """The jobs of a drive: eval's plan of ``req`` (one variant, one seed), with infraction clips
    written into ``clips_dir`` when given (the folder does not enter the keys)."""
    _one_variant_one_seed(req)
    if req.clips:
        raise ConfigError("drive writes clips into the folder given as clips_dir, not into OUT/clips; pass clips_dir")
    jobs = plan(req)
    if clips_dir is not None:
        jobs = [replace(j, clips=str(Path(clips_dir).resolve())) for j in jobs]
    return jobs


def route_row(job: EvalJob, record: dict) -> DrivenRoute:
    """The row of one store record (finished, or quarantined with the zero score of a crashed route)."""
    res = record["result"]
    s = RouteScore.from_dict(res["score"])
    row = {"route": job.route_id, "DS": round(s.DS, 2), "RC": round(s.RC, 2), "IS": round(s.IS, 4), "status": s.status,
           "infractions": {k: v for k, v in s.counts().items() if v}, "penalties": penalty_by_kind(s),
           "standing_s": s.standing_s, "blocked_by": s.blocked_by, "steps": res["steps"],
           "agent_ms": None if res["agent_ms"] is None else round(res["agent_ms"], 2),
           **{k: round(v, 3) for k, v in res["latency_ms"].items()}}
    return DrivenRoute(row, s, earlier=False)


def drive(req: EvalRequest, out: str | Path, opts: RunOptions = RunOptions(), resume: bool = False,
          clips_dir: str | Path | None = None, on_route: RouteHook | None = None) -> tuple[dict, RunStats]:
    """Plan, run (or resume) and score a drive; returns (result, stats) and writes ``OUT/drive.json``.

    ``on_route`` sees each route as its record is written; with ``resume``, the routes recorded
    before come first (``earlier=True``)."""

    out = Path(out)
    preflight(req.backend, opts.carla)  # first: a CARLA run without a server stops here, having written nothing
    jobs = plan_drive(req, clips_dir)
    keys = job_keys(jobs)
    check_out_dir(out, resume)
    opts_check(opts, out)
    weights = agent_weights_file(req.agent, req.checkpoint)
    weights_id = file_digest(weights)[:16] if weights is not None else None  # read before the drives, as they load it
    scenario = scenario_for(req.scenario, req.backend)
    store = ResultStore(out)
    store.prepare()
    store.write_run({"version": RECORD_VERSION, "kind": "drive", "request": _request_dict(req),
                     "jobs": [{"key": k, **j.spec()} for j, k in zip(jobs, keys)]})
    if on_route is not None:
        done = {**store.quarantined(), **store.finished()}
        for job, key in zip(jobs, keys):
            if key in done:
                on_route(replace(route_row(job, done[key]), earlier=True))

    def hook(job: EvalJob, key: str, record: dict) -> None:
        if on_route is not None:
            on_route(route_row(job, record))

    variant = jobs[0].variant
    stats = run_jobs(jobs, keys, store, opts, desc=f"{req.agent}/{variant or '-'} on {scenario.name}", on_record=hook)
    result = drive_result(jobs, keys, store, scenario.name, weights_id)
    result["out"] = str(out)
    write_json_atomic(out / RESULT_FILE, result)
    return result, stats


def drive_result(jobs: list[EvalJob], keys: list[str], store: ResultStore, scenario_name: str,
                 weights_id: str | None) -> dict:
    """Every route's row, in the order planned, and the leaderboard means over all of them (a route
    without a record counts 0, as the leaderboard counts a missing route)."""
    done = {**store.quarantined(), **store.finished()}
    rows, scores = [], {}
    for job, key in zip(jobs, keys):
        if key in done:
            r = route_row(job, done[key])
            rows.append(r.row)
            scores[(job.route_id, 0)] = r.score
    summary = summarize(scores, [(j.route_id, 0) for j in jobs])
    first = jobs[0]
    return {"scenario": scenario_name, "agent": first.agent, "variant": first.variant, "seed": first.seed,
            "weights": weights_id,
            "DS": round(summary.DS, 2), "DS_ci": [round(v, 2) for v in summary.DS_ci], "RC": round(summary.RC, 2),
            "IS": round(summary.IS, 4), "infraction_counts": {k: v for k, v in summary.infraction_counts.items() if v},
            "routes": rows}
