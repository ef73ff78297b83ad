"""Run one job inside a worker (a local process or a Ray actor): the simulator, the agent, the score.

Each worker keeps one simulator per (scenario, weather) and reuses it across routes; a failed job
drops it, so a broken simulator is never reused. The worker beats a heartbeat (a
``time.monotonic()`` stamp) before loading and on every 20 Hz step; the supervisor reads it to
tell a slow route from a hung simulator. Failures are returned as a kind the supervisor
understands (see :data:`FAILURE_KINDS`), never raised past the worker.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from dataclasses import replace
from typing import Any, Protocol

from harness.errors import AgentError, ConfigError
from harness.runner.jobs import EvalJob

OK = "ok"
AGENT_ERROR = "agent_error"  # the agent raised or broke the interface
SIM_CRASH = "simulation_crash"  # the simulator (or its worker process) raised or died
TIMEOUT = "timeout"  # no step within the watchdog time, or the route ran past its wall-clock limit
CONFIG_ERROR = "config_error"  # bad input: not retried, the run stops with the message
FAILURE_KINDS = (AGENT_ERROR, SIM_CRASH, TIMEOUT, CONFIG_ERROR)
# the leaderboard status a quarantined job is recorded with (statistics_manager FAILURE_MESSAGES)
FAILURE_STATUS = {AGENT_ERROR: "Agent_runtime", SIM_CRASH: "Simulation", TIMEOUT: "Simulation"}


class Beat(Protocol):
    # time.monotonic() of the last sign of life: negative while loading (before the job's first
    # step, where the supervisor allows a longer silence), positive from the first step on
    value: float


class _LocalBeat:
    value = 0.0


_CACHE: dict[str, Any] = {}  # per process: the simulator and what it was built for


def cached_backend(scenario_name: str, weather: tuple[tuple[str, float], ...] = (), backend: str = "embedded"):
    """This process's simulator for (scenario, weather overrides, backend), built on first use and reused."""
    from harness.backends.registry import make_backend, scenario_for

    key = repr((scenario_name, weather, backend))
    if _CACHE.get("key") != key:
        drop_backend()
        scenario = scenario_for(scenario_name, backend)
        if weather:
            scenario = replace(scenario, weather=scenario.weather.with_overrides(**dict(weather)))
        server, worker = carla_server()
        _CACHE["backend"] = make_backend(backend, scenario, privileged=False, server=server, worker=worker)
        _CACHE["key"] = key
    return _CACHE["backend"]


def carla_server():
    """(ServerSpec, worker index) this worker was given (``HARNESS_CARLA``), or (None, 0)."""
    import json

    text = os.environ.get("HARNESS_CARLA")
    if not text:
        return None, 0
    from harness.backends.carla.server import ServerSpec

    return ServerSpec(**json.loads(text)), int(os.environ.get("HARNESS_WORKER_INDEX", "0"))


def truth_or_none(backend):
    """The backend's ground truth, or None where it has none (the clips then go without a top view)."""
    try:
        return backend.ground_truth
    except (AttributeError, ConfigError):
        return None


def drop_backend() -> None:
    backend = _CACHE.pop("backend", None)
    _CACHE.pop("key", None)
    if backend is not None:
        try:
            backend.close()
        except Exception:  # noqa: BLE001 (a broken simulator may fail to close; it is dropped anyway)
            pass


def set_fusion_threads(threads: int | None) -> None:
    """Tell this worker's fusion agents how many torch threads their module gets
    (``agents.fusion_agent.default_fusion_threads`` reads it), and llvmpipe how many rasteriser
    threads to start (``LP_NUM_THREADS``, read when the GL context is made; a value already set
    wins). By default llvmpipe starts one per core in every worker: with a worker per core they
    fight over the cores."""
    if threads is not None:
        os.environ["HARNESS_FUSION_THREADS"] = str(max(1, int(threads)))
        os.environ.setdefault("LP_NUM_THREADS", str(max(1, int(threads))))


def fusion_threads_per_worker(workers: int) -> int:
    """This machine's cores shared among ``workers`` simulators (at least one each)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _inject(job: EvalJob, attempt: int, step: int) -> None:
    f = job.fault
    if f is None or attempt >= f.attempts or step != f.step:
        return
    if f.kind == "hang":
        while True:  # a simulator that stops answering: only the watchdog gets us out
            time.sleep(3600)
    if f.kind == "crash":
        os.kill(os.getpid(), signal.SIGKILL)  # as a segfaulting simulator would
    raise AgentError(f"injected agent fault at step {step} (attempt {attempt})")


def execute(job: EvalJob, attempt: int = 0, beat: Beat | None = None) -> dict:
    """Run ``job`` and return its result payload (JSON-ready); raises on failure."""
    from agents.registry import make_agent
    from harness.runner.episode import run_episode

    beat = beat if beat is not None else _LocalBeat()
    beat.value = -time.monotonic()  # loading
    backend = cached_backend(job.scenario, job.weather, job.backend)
    beat.value = -time.monotonic()
    agent = make_agent(job.agent, job.variant, rig=backend.scenario.rig, calibration=job.calibration,
                       conf=job.agent_config, latency=job.latency, device=job.device, precision=job.precision,
                       runtime=job.runtime)
    count = [0]
    clips = None
    if job.clips:
        from harness.report.clips import ClipRecorder, clip_name

        clips = ClipRecorder(job.clips, clip_name(job.agent, job.variant, job.route_id, job.seed))

    def on_step(frame, control, events) -> None:
        beat.value = time.monotonic()
        _inject(job, attempt, count[0])
        if clips is not None:
            clips.add(frame, getattr(agent, "last_image", None), events, truth_or_none(backend))
        count[0] += 1

    max_steps = job.max_steps if job.max_steps is not None else backend.scenario.max_steps
    try:
        res = run_episode(backend, agent, job.route_id, job.seed, rules=job.rules, max_steps=max_steps, on_step=on_step)
    finally:
        if clips is not None:
            clips.close()
        try:
            agent.destroy()
        except Exception:  # noqa: BLE001 (the run's own error, if any, is the one to report)
            pass
    return {"score": res.score.to_dict(), "steps": res.steps, "wall_s": round(res.wall_s, 3),
            "agent_ms": round(res.agent_ms, 3), "latency_ms": {k: round(v, 4) for k, v in res.latency_ms.items()},
            "image_source": backend.image_source}


def run_job(job: EvalJob, attempt: int = 0, beat: Beat | None = None) -> tuple[str, Any]:
    """``execute`` with failures classified: ``(OK, payload)`` or ``(kind, message)``."""
    try:
        return OK, execute(job, attempt, beat)
    except AgentError as err:
        drop_backend()
        return AGENT_ERROR, str(err)
    except ConfigError as err:
        drop_backend()
        return CONFIG_ERROR, str(err)
    except Exception as err:  # noqa: BLE001 (anything else is the simulator's failure)
        drop_backend()
        tb = traceback.extract_tb(err.__traceback__)
        where = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
        return SIM_CRASH, f"{type(err).__name__}: {err}{where}"


def exit_with_parent() -> threading.Thread | None:
    """In a spawned worker: a daemon thread that ends this process the moment its supervisor is gone.

    The supervisor stops its workers when it ends in any way Python sees (``executor.close()``), but a
    supervisor killed outright (``kill -9``, the OOM killer) cannot; its worker would drive its route
    to the end (up to an hour) beside the run that resumes it. None where there is no parent process
    (the main process)."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is None:
        return None

    def watch() -> None:
        wait([parent.sentinel])  # ready when the parent process has exited
        os._exit(0)  # nothing of this worker's is worth keeping: the supervisor writes the records

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def process_main(conn, beat, fusion_threads: int | None = None, env: dict | None = None) -> None:
    """A local worker process: jobs in through ``conn``, classified results out, until ``None``.
    ``fusion_threads``: torch threads for a CPU fusion module (the supervisor's share of cores);
    ``env``: settings for this worker (its CARLA server, ``executors.carla_env``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    exit_with_parent()
    set_fusion_threads(fusion_threads)
    os.environ.update(env or {})
    import harness  # noqa: F401  (the agents path merge)

    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg is None:
            break
        job, attempt = msg
        conn.send(run_job(job, attempt, beat))
    drop_backend()
