"""The evaluation runner: a matrix of jobs through an executor into the results store.

Order of work: every job gets its content key; jobs whose key already has a record (or a
quarantine entry) are skipped; the rest go to the executor's workers. Each outcome is handled the
moment it arrives: a result is written to the store at once (atomically); a failure (agent error,
simulator crash, watchdog timeout) is retried up to ``retries`` times, then quarantined with the
zero score the leaderboard records for a crashed route. A configuration error stops the run. An
interrupted or killed run continues with ``resume``: finished keys are not run again.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.backends.registry import preflight, scenario_for
from harness.errors import ConfigError
from harness.metrics import RouteMonitor
from harness.runner.executors import DEFAULT_ROUTE_TIMEOUT_S, DEFAULT_STEP_TIMEOUT_S, make_executor
from harness.runner.jobs import (NO_VARIANT, variant_fingerprint, with_fusion, EvalJob, Fault, build_matrix, check_checkpoint, input_fingerprint,
                                 parse_latency, route_digests, select_routes, waypoint_length)
from harness.runner.store import ResultStore, check_reuse_folder, reuse_records
from harness.runner.worker import CONFIG_ERROR, FAILURE_STATUS, OK
from harness.sensors.registration import Calibration

RECORD_VERSION = 1


@dataclass(frozen=True)
class RunOptions:
    workers: int = 1
    executor: str = "local"  # local | ray
    ray_address: str | None = None
    retries: int = 2  # extra attempts after a failure, before quarantine
    step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S  # [s] watchdog: longest silence of a worker
    route_timeout_s: float = DEFAULT_ROUTE_TIMEOUT_S  # [s] wall clock per route
    progress: bool = True
    gpus_per_worker: float = 0.0  # Ray: the share of a GPU each actor asks for (a fusion module on --device cuda)
    carla: Any = None  # harness.backends.carla.server.ServerSpec of --backend carla (None: its defaults)
    reuse: tuple[str, ...] = ()  # folders of earlier runs whose finished records are taken by key, not driven again


@dataclass
class RunStats:
    planned: int = 0
    skipped: int = 0  # found in the store (including those reused)
    reused: int = 0  # copied in by key from a --reuse folder
    finished: int = 0  # run now
    quarantined: int = 0
    retried: int = 0
    wall_s: float = 0.0
    failures: list[dict] = field(default_factory=list)


def job_keys(jobs: list[EvalJob]) -> list[str]:
    """Content key of every job (hashes computed once per scenario/route/agent/checkpoint). A job's
    key covers its own route only, so adding routes to a route file keeps every record made so far."""
    prints: dict[tuple, str] = {}
    scenarios: dict[tuple, tuple] = {}  # (name, backend) -> (scenario, route digests)
    fusions: dict[str | None, str] = {}  # variant -> what it is made of (weights, source), '' for code-only ones
    keys = []
    for job in jobs:
        k = (job.scenario, job.route_id, job.agent, job.agent_config, job.backend)
        if k not in prints:
            if (job.scenario, job.backend) not in scenarios:
                sc = scenario_for(job.scenario, job.backend)
                scenarios[job.scenario, job.backend] = (sc, route_digests(sc))
            sc, digests = scenarios[job.scenario, job.backend]
            prints[k] = input_fingerprint(sc, job.route_id, job.agent_config, job.agent, digests)
        if job.variant not in fusions:
            fusions[job.variant] = variant_fingerprint(job.variant)
        keys.append(job.key(with_fusion(prints[k], fusions[job.variant])))
    if len(set(keys)) != len(keys):
        raise ConfigError("the job matrix lists the same job twice (repeated route, variant or seed); list each once")
    return keys


def _route_length(job: EvalJob) -> float:
    """[m] the route's length along its waypoints (for the record of a job that never ran)."""
    spec = next(r for r in scenario_for(job.scenario, job.backend).load_routes() if r.id == job.route_id)
    w = spec.waypoints
    return max(sum(math.hypot(b.x - a.x, b.y - a.y) for a, b in zip(w[:-1], w[1:])), 1.0)


def failed_record(job: EvalJob, key: str, failures: list[dict]) -> dict:
    """What a job that failed every attempt leaves: the leaderboard's record of a crashed route
    (nothing completed, status ``Failed - Simulation crashed`` or ``Failed - Agent crashed``)."""
    kind = failures[-1]["kind"]
    score = RouteMonitor(_route_length(job), rules=job.rules).finish(status_override=FAILURE_STATUS[kind])
    return {"version": RECORD_VERSION, "key": key, "job": job.spec(), "quarantined": True, "failure": kind,
            "failures": failures, "attempts": len(failures),
            "result": {"score": score.to_dict(), "steps": 0, "wall_s": 0.0, "agent_ms": None, "latency_ms": {}}}


RecordHook = Callable[[EvalJob, str, dict], None]  # (job, key, record) once a record is in the store


def start_order(jobs: list[EvalJob]) -> list[int]:
    """Indices of ``jobs`` in the order to start them: grouped by the simulator a worker keeps (scenario,
    weather, backend: a weather sweep's conditions one after another, as planned, so each worker rebuilds
    its world once per condition), then the seeds in planned order and, within a seed, the longest routes
    first (waypoint polyline length; ties in planned order), the variants of one (route, seed) still
    together. A run then ends with its shortest route runs rather than with one long route running
    alone while the other workers idle (make eval's five ``fog_town05`` routes with five variants,
    their recorded route times replayed on two workers: 2372 s of wall in this order against 2527 s in
    planned order; ``scripts/replay_start_order.py``). Only the start order changes: keys, records and
    reports follow the planned order. A route whose length cannot be read (a scenario that does not
    load) keeps its planned place."""
    lengths: dict[tuple[str, str], dict[str, float]] = {}

    def length(job: EvalJob) -> float:
        where = (job.scenario, job.backend)
        if where not in lengths:
            try:
                lengths[where] = {r.id: waypoint_length(r) for r in scenario_for(*where).load_routes()}
            except Exception:  # noqa: BLE001 - ordering is an optimisation; the run reports a bad scenario itself
                lengths[where] = {}
        return lengths[where].get(job.route_id, 0.0)

    worlds = {w: k for k, w in enumerate(dict.fromkeys((j.scenario, j.weather, j.backend) for j in jobs))}
    seeds = {s: k for k, s in enumerate(dict.fromkeys(j.seed for j in jobs))}
    return sorted(range(len(jobs)), key=lambda i: (worlds[(jobs[i].scenario, jobs[i].weather, jobs[i].backend)],
                                                   seeds[jobs[i].seed], -length(jobs[i])))


def run_jobs(jobs: list[EvalJob], keys: list[str], store: ResultStore, opts: RunOptions = RunOptions(),
             desc: str = "eval", on_record: RecordHook | None = None) -> RunStats:
    """Run every job whose key has no record yet; returns what happened. Records of ``opts.reuse``
    folders with a planned key are copied in first (:func:`reuse_records`). ``on_record`` sees each
    record (finished, quarantined or reused) the moment it is written, for callers that print as they go."""
    from tqdm import tqdm

    store.prepare()
    unique = dict(zip(keys, jobs))  # a sweep may plan one job under several conditions: run it once
    done = store.done_keys()
    taken = reuse_records(store, keys, opts.reuse, done)
    done |= taken.keys()
    for key, record in taken.items():
        if on_record is not None:
            on_record(unique[key], key, record)
    if taken and opts.progress:
        per_source = Counter(r["reused_from"] for r in taken.values())
        print("reused " + ", ".join(f"{n} route run(s) from {src}" for src, n in per_source.items())
              + " (same keys: not driven again)", file=sys.stderr)
    left = [(key, job) for key, job in unique.items() if key not in done]
    todo = deque((left[i][1], left[i][0], 0) for i in start_order([job for _, job in left]))
    stats = RunStats(planned=len(unique), skipped=len(unique) - len(todo), reused=len(taken))
    if not todo:
        return stats
    executor = make_executor(opts.executor, min(opts.workers, len(todo)), opts.step_timeout_s, opts.route_timeout_s,
                             opts.ray_address, opts.gpus_per_worker,
                             carla=vars(opts.carla) if opts.carla is not None and any(j.backend == "carla" for j, _, _ in todo) else None)
    keyof = {id(job): key for job, key, _ in todo}
    failures: dict[str, list[dict]] = {}
    bar = tqdm(total=len(unique), initial=stats.skipped, desc=desc, unit="route", file=sys.stderr,
               disable=not opts.progress, smoothing=0.1)
    t0 = time.monotonic()
    try:
        while todo or executor.busy():
            while todo and executor.free_slots():
                job, key, attempt = todo.popleft()
                executor.submit(job, attempt)
            for o in executor.poll(0.5):
                key = keyof[id(o.job)]
                if o.kind == OK:
                    record = {"version": RECORD_VERSION, "key": key, "job": o.job.spec(), "quarantined": False,
                              "failure": None, "failures": failures.get(key, []), "attempts": o.attempt + 1,
                              "worker": f"{platform.node()}/{o.worker}", "result": o.payload}
                    store.write(key, record)
                    if on_record is not None:
                        on_record(o.job, key, record)
                    stats.finished += 1
                    bar.update()
                    s = o.payload["score"]
                    bar.set_postfix_str(f"last: {o.job.label} DS {s['DS']:.1f}", refresh=False)
                    continue
                if o.kind == CONFIG_ERROR:
                    raise ConfigError(f"{o.job.label}: {o.payload}")
                entry = {"attempt": o.attempt, "kind": o.kind, "message": str(o.payload), "wall_s": round(o.wall_s, 2),
                         "worker": o.worker}
                failures.setdefault(key, []).append(entry)
                stats.failures.append({"key": key, "job": o.job.label, **entry})
                tqdm.write(f"{o.job.label}: attempt {o.attempt + 1} failed ({o.kind}): {o.payload}", file=sys.stderr)
                if o.attempt < opts.retries:
                    stats.retried += 1
                    todo.appendleft((o.job, key, o.attempt + 1))
                else:
                    record = failed_record(o.job, key, failures[key])
                    store.quarantine(key, record)
                    if on_record is not None:
                        on_record(o.job, key, record)
                    stats.quarantined += 1
                    bar.update()
                    tqdm.write(f"{o.job.label}: quarantined after {o.attempt + 1} attempts", file=sys.stderr)
    finally:
        executor.close()
        bar.close()
        stats.wall_s = time.monotonic() - t0
    return stats


# ------------------------------------------------------------------------------------ the eval command

DEFAULT_VARIANTS = ("rgb", "thermal", "oracle_clean")


@dataclass(frozen=True)
class EvalRequest:
    """What ``python -m harness eval`` asks for; :func:`plan` checks all of it before anything runs."""

    scenario: str
    variants: tuple[str, ...] = DEFAULT_VARIANTS  # fusion variants; "none" runs the agent without a wrapper
    routes: str = "all"  # 0-3 | 0,2,5 | all (the scenario's route_ids, else every route in its file)
    seeds: tuple[int, ...] | None = None  # None: the scenario's seeds
    agent: str = "rgb_policy"
    checkpoint: str = ""  # the agent's weights ('' = its committed default)
    calibration: Calibration = Calibration()
    weather: tuple[tuple[str, float], ...] = ()
    latency: str = "none"
    rules: str = "2.x"
    max_steps: int | None = None
    fault: Fault | None = None  # test-only: inject a fault into the jobs of fault_routes
    fault_routes: tuple[str, ...] = ()
    clips: bool = False  # write infraction clips (MP4) into OUT/clips
    device: str = "cpu"  # where fusion modules run: cpu | cuda | cuda:N
    precision: str = "fp32"  # fusion modules' precision: fp32 | fp16 | bf16
    runtime: str = "torch"  # torch | onnx | tensorrt
    backend: str = "embedded"  # embedded | carla


def plan(req: EvalRequest) -> list[EvalJob]:
    """The job matrix of ``req``; ConfigError (one line, with the fix) for any bad input."""
    from agents.registry import check_agent_name
    from fusion.registry import check_variant, get_variant
    from harness.metrics.rules import rule_set

    scenario = scenario_for(req.scenario, req.backend)
    routes = select_routes(scenario, req.routes)
    if not req.variants:
        raise ConfigError("no variants given; pass e.g. --variants rgb,thermal (or none for the agent alone)")
    from fusion.runtimes import check_target

    check_target(req.device, req.precision, req.runtime)  # also where no variant is a module: a typo is a typo
    # canonical names (gff:r1=45 is gff): the name enters the key, so one variant has one name
    names = [v if v == NO_VARIANT else check_variant(v, req.device, req.precision, req.runtime).name for v in req.variants]
    dup = sorted({v for v in names if names.count(v) > 1})
    if dup:
        raise ConfigError(f"variants {dup} are listed twice; list each once")
    check_agent_name(req.agent)
    check_checkpoint(req.agent, req.checkpoint)
    seeds = tuple(scenario.seeds if req.seeds is None else req.seeds)
    if not seeds or any((not isinstance(s, int)) or s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct integers >= 0, got {list(seeds)}")
    rule_set(req.rules)
    parse_latency(req.latency)
    if req.weather:
        scenario.weather.with_overrides(**dict(req.weather))
    # an override that sets a field to the scenario's own value changes nothing, and enters no key: a sweep's
    # severity that is the scenario itself (sun -30 on a night scenario) takes the plain evaluation's records
    weather = tuple(sorted((k, v) for k, v in req.weather if getattr(scenario.weather, k) != v))
    unknown = [r for r in req.fault_routes if r not in routes]
    if unknown:
        raise ConfigError(f"fault routes {unknown} are not among the routes run ({', '.join(routes)})")
    variants = [None if v == NO_VARIANT else v for v in names]
    jobs = build_matrix(req.scenario, routes, variants, list(seeds), agent=req.agent, agent_config=req.checkpoint,
                        calibration=req.calibration, weather=weather, latency=parse_latency(req.latency),
                        rules=req.rules, max_steps=req.max_steps, device=req.device, precision=req.precision,
                        runtime=req.runtime, backend=req.backend)
    # what a variant does not use does not enter its key: rgb ignores the thermal calibration, the
    # agent alone has no fusion latency, oracle_clean no module, so a sweep over those reuses one record
    jobs = [replace(j, calibration=Calibration()) if j.variant is None or not get_variant(j.variant).needs_thermal else j
            for j in jobs]
    jobs = [replace(j, latency="none") if j.variant is None else j for j in jobs]
    jobs = [replace(j, device="cpu", precision="fp32", runtime="torch")
            if j.variant is None or not get_variant(j.variant).is_module else j for j in jobs]
    if req.fault is not None:
        hit = set(req.fault_routes) or set(routes)
        jobs = [replace(j, fault=req.fault) if j.route_id in hit else j for j in jobs]
    return jobs


def check_out_dir(out: Path, resume: bool) -> None:
    """Refuse to write into a file, a folder holding another run (unless resuming), or a foreign folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a folder (it is created if missing)")
    store = ResultStore(out)
    if store.has_run() and not resume:
        raise ConfigError(f"{out} already holds a run (run.json); pass --resume to continue it, or choose another --out")
    if not store.has_run() and out.is_dir() and any(out.iterdir()) and not resume:
        raise ConfigError(f"{out} is not empty and holds no run of eval, sweep or drive (run.json missing); choose a "
                          "new or empty --out")


def evaluate(req: EvalRequest, out: str | Path, opts: RunOptions = RunOptions(), resume: bool = False,
             plots: bool = True, n_boot: int = 10000) -> tuple[dict, RunStats]:
    """Plan, run (or resume) and write every output of one evaluation; returns (summary, stats)."""
    from harness.report.outputs import write_outputs

    out = Path(out)
    preflight(req.backend, opts.carla)  # first: a CARLA run without a server stops here, having written nothing
    jobs = plan(req)
    if req.clips:
        jobs = [replace(j, clips=str((out / "clips").resolve())) for j in jobs]
    keys = job_keys(jobs)
    check_out_dir(out, resume)
    opts_check(opts, out)
    store = ResultStore(out)
    store.prepare()
    store.write_run({"version": RECORD_VERSION, "kind": "eval", "request": _request_dict(req),
                     "jobs": [{"key": k, **j.spec()} for j, k in zip(jobs, keys)],
                     "faults": {k: j.fault.__dict__ for j, k in zip(jobs, keys) if j.fault is not None}})
    stats = run_jobs(jobs, keys, store, opts, desc=f"eval {Path(req.scenario).stem}")
    summ = write_outputs(out, jobs, keys, store, n_boot=n_boot, plots=plots)
    return summ, stats


def dry_run(req: EvalRequest, out: str | Path, workers: int = 1, reuse: tuple[str, ...] = ()) -> dict:
    """What ``evaluate`` would run in ``out``, writing nothing: per variant the planned route runs, those
    already recorded there (finished or quarantined, as ``--resume`` keeps them), those a ``reuse``
    folder holds under the same key (copied in, not driven) and those left. Where a variant has finished
    records in ``out`` (else in a ``reuse`` folder), the median wall time of one of its route runs gives an
    estimate of its remaining time (other routes may be longer: an estimate, not a promise), and the sum
    over ``workers`` parallel simulators an estimate of the wall time left. No backend is contacted."""
    jobs = plan(req)
    return dry_run_jobs(jobs, job_keys(jobs), out, workers, reuse)


def dry_run_jobs(jobs: list[EvalJob], keys: list[str], out: str | Path, workers: int = 1,
                 reuse: tuple[str, ...] = ()) -> dict:
    """:func:`dry_run` of planned ``jobs`` (a sweep's conditions together); a key listed twice counts once."""
    from harness.report.outputs import variant_label

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a folder (it is created if missing)")
    first = dict(zip(keys, jobs))  # one run per key, as run_jobs drives it
    keys, jobs = list(first), list(first.values())
    for folder in reuse:
        check_reuse_folder(folder, out)
    store = ResultStore(out)
    done = store.done_keys()
    finished = store.finished() if done else {}
    sources = [ResultStore(f) for f in reuse]
    reusable = {k for k in keys if k not in done and any(src.record_path(k) for src in sources)}
    per: dict[str, dict] = {}
    for job, key in zip(jobs, keys):
        v = per.setdefault(variant_label(job.variant),
                           {"planned": 0, "recorded": 0, "reusable": 0, "left": 0, "left_routes": []})
        v["planned"] += 1
        if key in done:
            v["recorded"] += 1
        elif key in reusable:
            v["reusable"] += 1
        else:
            v["left"] += 1
            v["left_routes"].append([job.route_id, job.seed])

    def route_walls(records) -> dict[str, list[float]]:
        walls: dict[str, list[float]] = {}
        for rec in records:
            if not rec.get("quarantined") and rec.get("result", {}).get("wall_s"):
                walls.setdefault(variant_label(rec["job"].get("variant")), []).append(float(rec["result"]["wall_s"]))
        return walls

    walls = route_walls(finished.values())
    if any(v["left"] and name not in walls for name, v in per.items()):  # read the --reuse folders only if needed
        for name, w in route_walls(r for src in sources for r in src.finished().values()).items():
            walls.setdefault(name, w)  # a variant with no record here is timed by the --reuse folders' runs of it
    for name, v in per.items():
        known = sorted(walls.get(name, []))
        v["median_route_wall_s"] = round(known[len(known) // 2], 1) if known else None
        v["est_left_s"] = round(v["median_route_wall_s"] * v["left"], 1) if known else None
    estimable = [v for v in per.values() if v["left"]]
    total = (sum(v["est_left_s"] for v in estimable) / max(workers, 1)
             if estimable and all(v["est_left_s"] is not None for v in estimable) else None)
    return {"out": str(out), "holds_run": store.has_run(), "planned": len(jobs), "recorded": sum(k in done for k in keys),
            "reusable": len(reusable), "left": sum(k not in done and k not in reusable for k in keys), "workers": workers,
            "est_wall_left_s": total, "variants": per}


def opts_check(opts: RunOptions, out: str | Path | None = None) -> None:
    if opts.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {opts.workers}")
    if opts.retries < 0:
        raise ConfigError(f"--retries must be >= 0, got {opts.retries}")
    if not (opts.step_timeout_s > 0 and opts.route_timeout_s > 0):
        raise ConfigError(f"--step-timeout and --route-timeout must be > 0 s, got {opts.step_timeout_s}, {opts.route_timeout_s}")
    if opts.executor not in ("local", "ray"):
        raise ConfigError(f"--executor must be 'local' or 'ray', got {opts.executor!r}")
    if opts.ray_address and opts.executor != "ray":
        raise ConfigError("--ray-address is for --executor ray")
    if opts.gpus_per_worker and opts.executor != "ray":
        raise ConfigError("--gpus-per-worker is for --executor ray (local workers see this machine's GPUs)")
    for folder in opts.reuse:
        check_reuse_folder(folder, out)


def _request_dict(req: EvalRequest) -> dict:
    d = asdict(req)
    d["fault"] = None if req.fault is None else asdict(req.fault)
    return d


def request_from_dict(d: dict) -> EvalRequest:
    """The :class:`EvalRequest` a ``run.json`` records under ``request`` (the inverse of ``_request_dict``):
    what re-plans a committed run with today's code, e.g. to check its records' keys are still current."""
    d = dict(d)
    d["variants"] = tuple(d["variants"])
    d["seeds"] = None if d.get("seeds") is None else tuple(d["seeds"])
    d["calibration"] = Calibration(**d["calibration"])
    d["weather"] = tuple(tuple(w) for w in d.get("weather", ()))
    d["fault"] = None if d.get("fault") is None else Fault(**d["fault"])
    d["fault_routes"] = tuple(d.get("fault_routes", ()))
    return EvalRequest(**d)
