"""Where jobs run: local worker processes (default) or Ray actors. Both are supervised the same way.

An executor owns ``workers`` slots, each holding one simulator. ``submit`` hands a job to a free
slot; ``poll`` returns the outcomes that arrived and enforces the two watchdogs:

- step watchdog: a busy slot whose heartbeat is older than ``step_timeout_s`` is hung; its process
  (or actor) is killed and replaced, and the job's outcome is ``timeout``. Until a job's first step
  the worker is loading (a process starting, imports, the town, the GL context, the agent's
  weights: seconds alone, a minute or more on a loaded machine), and the limit is the longer
  ``LOAD_TIMEOUT_S``: a short step watchdog must not kill workers that are still starting;
- route limit: a job running longer than ``route_timeout_s`` of wall-clock time is killed the same way.

A slot whose process dies (segfault, OOM kill) gives ``simulation_crash``. Retrying and quarantine
are the caller's (``harness.runner.evaluate``), so both executors behave identically.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from harness.errors import ConfigError
from harness.runner.jobs import EvalJob
from harness.runner.worker import SIM_CRASH, TIMEOUT, fusion_threads_per_worker, process_main

DEFAULT_STEP_TIMEOUT_S = 120.0  # [s] no heartbeat for this long = hung (loading a town takes ~10 s)
DEFAULT_ROUTE_TIMEOUT_S = 3600.0  # [s] wall clock per route
LOAD_TIMEOUT_S = 300.0  # [s] most silence while a worker loads, before the job's first step (or step_timeout_s if longer)


@dataclass(frozen=True)
class Outcome:
    job: EvalJob
    attempt: int
    kind: str  # worker.OK or one of worker.FAILURE_KINDS
    payload: Any  # result dict when OK, else the failure message
    wall_s: float  # [s] wall clock from submit to outcome
    worker: str


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.job: tuple[EvalJob, int] | None = None
        self.started = 0.0


class _Slots:
    """Bookkeeping both executors share: which slot runs which job since when."""

    name = "slots"

    def __init__(self, workers: int, step_timeout_s: float, route_timeout_s: float) -> None:
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.step_timeout_s = step_timeout_s
        self.route_timeout_s = route_timeout_s
        self._slots = [_Slot(i) for i in range(workers)]
        self.restarts = 0

    def free_slots(self) -> int:
        return sum(s.job is None for s in self._slots)

    def busy(self) -> int:
        return self.workers - self.free_slots()

    def _take(self, job: EvalJob, attempt: int) -> _Slot:
        slot = next(s for s in self._slots if s.job is None)
        slot.job, slot.started = (job, attempt), time.monotonic()
        return slot

    def _finish(self, slot: _Slot, kind: str, payload: Any) -> Outcome:
        job, attempt = slot.job
        out = Outcome(job, attempt, kind, payload, time.monotonic() - slot.started, f"{self.name}-{slot.index}")
        slot.job = None
        return out

    def _overdue(self, slot: _Slot, beat: float, now: float) -> str | None:
        """Why the slot's job must be killed (watchdog or route limit), or None. ``beat`` is the
        worker's heartbeat (:data:`harness.runner.worker.Beat`: negative while loading)."""
        silent = now - abs(beat)
        if beat < 0:
            limit = max(LOAD_TIMEOUT_S, self.step_timeout_s)
            if silent > limit:
                return f"no sign of life for {silent:.1f} s while loading (limit {limit:g} s)"
        elif silent > self.step_timeout_s:
            return f"no simulation step for {silent:.1f} s (watchdog {self.step_timeout_s:g} s)"
        if now - slot.started > self.route_timeout_s:
            return f"route ran past {self.route_timeout_s:g} s of wall clock"
        return None


class LocalExecutor(_Slots):
    """``workers`` spawned processes, one simulator each."""

    name = "local"

    def __init__(self, workers: int = 1, step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
                 route_timeout_s: float = DEFAULT_ROUTE_TIMEOUT_S, carla: dict | None = None) -> None:
        super().__init__(workers, step_timeout_s, route_timeout_s)
        self.carla = carla  # the CARLA server spec (ServerSpec fields) workers connect to; None: embedded only
        self._ctx = mp.get_context("spawn")  # a fresh interpreter: no forked GL or torch state
        self._procs: list[Any] = [None] * workers
        self._conns: list[Any] = [None] * workers
        self._beats: list[Any] = [None] * workers

    def _start(self, i: int) -> None:
        parent, child = self._ctx.Pipe()
        beat = self._ctx.Value("d", -time.monotonic(), lock=False)  # loading
        proc = self._ctx.Process(target=process_main, args=(child, beat, fusion_threads_per_worker(self.workers),
                                                            carla_env(self.carla, i)),
                                 daemon=True, name=f"harness-worker-{i}")
        proc.start()
        child.close()
        self._procs[i], self._conns[i], self._beats[i] = proc, parent, beat

    def _kill(self, i: int) -> None:
        proc = self._procs[i]
        if proc is not None and proc.is_alive():
            proc.kill()
        if proc is not None:
            proc.join(5)
        if self._conns[i] is not None:
            self._conns[i].close()
        self._procs[i] = self._conns[i] = None

    def submit(self, job: EvalJob, attempt: int) -> None:
        i = self._take(job, attempt).index
        if self._procs[i] is None or not self._procs[i].is_alive():
            if self._procs[i] is not None:
                self._kill(i)
            self._start(i)
        self._beats[i].value = -time.monotonic()  # loading until the job's first step
        self._conns[i].send((job, attempt))

    def poll(self, timeout: float = 0.5) -> list[Outcome]:
        busy = [s for s in self._slots if s.job is not None]
        if not busy:
            return []
        waitables = {}
        for s in busy:
            waitables[self._conns[s.index]] = s
            waitables[self._procs[s.index].sentinel] = s
        ready = wait(list(waitables), timeout)
        outcomes: list[Outcome] = []
        for r in ready:
            s = waitables[r]
            if s.job is None:
                continue
            conn = self._conns[s.index]
            if conn.poll():
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    kind, payload = SIM_CRASH, "worker process closed its pipe mid-route"
                    self._kill(s.index)
                outcomes.append(self._finish(s, kind, payload))
            elif not self._procs[s.index].is_alive():
                code = self._procs[s.index].exitcode
                self._kill(s.index)
                self.restarts += 1
                outcomes.append(self._finish(s, SIM_CRASH, f"worker process died (exit code {code}) mid-route"))
        now = time.monotonic()
        for s in self._slots:
            if s.job is None:
                continue
            why = self._overdue(s, self._beats[s.index].value, now)
            if why:
                self._kill(s.index)
                self.restarts += 1
                outcomes.append(self._finish(s, TIMEOUT, why))
        return outcomes

    def close(self) -> None:
        for i in range(self.workers):
            if self._conns[i] is not None and self._slots[i].job is None:
                try:
                    self._conns[i].send(None)
                except (BrokenPipeError, OSError):
                    pass
        for i in range(self.workers):
            p = self._procs[i]
            if p is not None:
                p.join(10 if self._slots[i].job is None else 0)
            self._kill(i)


class RayExecutor(_Slots):
    """``workers`` Ray actors, one simulator each; ``address`` as for ``ray.init`` (None: the
    ``RAY_ADDRESS`` environment variable, else a local Ray started for this run).

    Actors are threaded (two calls at once) so the supervisor can read an actor's heartbeat while
    it runs a route; an actor that does not answer within ``step_timeout_s`` counts as hung."""

    name = "ray"

    def __init__(self, workers: int = 1, step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
                 route_timeout_s: float = DEFAULT_ROUTE_TIMEOUT_S, address: str | None = None,
                 gpus_per_worker: float = 0.0, carla: dict | None = None, cpus_per_worker: int = 1) -> None:
        self.carla = carla
        if not (0.0 <= gpus_per_worker <= 8.0) or cpus_per_worker < 1:
            raise ConfigError(f"--gpus-per-worker must be within [0, 8] and cpus per worker >= 1, got "
                              f"{gpus_per_worker}, {cpus_per_worker}")
        try:
            import ray
        except ImportError as err:
            raise ConfigError("--executor ray needs Ray: pip install -e '.[ray]' (or pip install ray)") from err
        self.ray = ray
        super().__init__(workers, step_timeout_s, route_timeout_s)
        self._owns = False
        if not ray.is_initialized():
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            address = address or os.environ.get("RAY_ADDRESS")
            if address:  # a cluster: ship this checkout's code (not its venv, data or results) to the workers
                runtime_env = {"working_dir": root, "excludes": [".venv", ".git", "data", "results", ".gl", ".whl"]}
            else:  # a local Ray: the workers read this checkout directly
                runtime_env = {"env_vars": {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}}
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                         runtime_env=runtime_env)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ConfigError(f"cannot start or reach Ray at {address or 'a new local instance'}: "
                                  f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}") from err
            self._owns = True
        # an actor asks Ray for its cores and (for a fusion module on CUDA) a share of a GPU: Ray
        # places it on a node that has them and sets CUDA_VISIBLE_DEVICES; its fusion module gets its cores
        self._actor_cls = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_concurrency=2,
                                     max_restarts=0)(_RayWorker)
        self._fusion_threads = cpus_per_worker
        self._actors: list[Any] = [None] * workers
        self._refs: list[Any] = [None] * workers

    def submit(self, job: EvalJob, attempt: int) -> None:
        i = self._take(job, attempt).index
        if self._actors[i] is None:
            self._actors[i] = self._actor_cls.remote(self._fusion_threads, carla_env(self.carla, i))
        self._refs[i] = self._actors[i].run.remote(job, attempt)

    def _finish(self, slot: _Slot, kind: str, payload: Any) -> Outcome:
        self._refs[slot.index] = None
        return super()._finish(slot, kind, payload)

    def _replace(self, i: int) -> None:
        if self._actors[i] is not None:
            try:
                self.ray.kill(self._actors[i], no_restart=True)
            except Exception:  # noqa: BLE001 (already dead)
                pass
        self._actors[i] = None
        self.restarts += 1

    def poll(self, timeout: float = 0.5) -> list[Outcome]:
        ray = self.ray
        busy = [s for s in self._slots if s.job is not None]
        if not busy:
            return []
        refs = [self._refs[s.index] for s in busy]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        outcomes: list[Outcome] = []
        for s in busy:
            if self._refs[s.index] not in done:
                continue
            try:
                kind, payload = ray.get(self._refs[s.index])
            except ray.exceptions.RayActorError as err:
                self._replace(s.index)
                kind, payload = SIM_CRASH, f"Ray actor died mid-route ({type(err).__name__})"
            except ray.exceptions.RayError as err:
                self._replace(s.index)
                kind, payload = SIM_CRASH, f"Ray task failed: {type(err).__name__}: {str(err).splitlines()[0]}"
            outcomes.append(self._finish(s, kind, payload))
        now = time.monotonic()
        for s in self._slots:
            if s.job is None:
                continue
            try:  # the actor's own clock: the silence it measured, signed as its heartbeat is
                silent, loading = ray.get(self._actors[s.index].silence.remote(), timeout=self.step_timeout_s)
                beat = -(now - silent) if loading else now - silent
            except ray.exceptions.GetTimeoutError:
                beat = 0.0  # no answer within the watchdog: hung whatever it was doing
            except ray.exceptions.RayError:
                continue  # died: the next wait() reports it
            why = self._overdue(s, beat, now)
            if why:
                self._replace(s.index)
                outcomes.append(self._finish(s, TIMEOUT, why))
        return outcomes

    def close(self) -> None:
        for i in range(self.workers):
            if self._actors[i] is not None:
                try:
                    self.ray.kill(self._actors[i], no_restart=True)
                except Exception:  # noqa: BLE001
                    pass
                self._actors[i] = None
        if self._owns:
            self.ray.shutdown()


class _RayWorker:
    """The Ray actor: runs jobs and reports how long ago it last stepped.

    Ray serves a threaded actor's calls from a pool of threads, but an OpenGL context belongs to the
    thread that made it current: every job runs on one dedicated thread, the pool only waits for it."""

    def __init__(self, fusion_threads: int = 1, env: dict | None = None) -> None:
        import os
        from concurrent.futures import ThreadPoolExecutor

        from harness.runner.worker import set_fusion_threads

        set_fusion_threads(fusion_threads)
        os.environ.update(env or {})
        self.value = -time.monotonic()  # the heartbeat (worker.Beat: negative while loading)
        self._sim_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulator")
        import harness  # noqa: F401  (the agents path merge)

    def run(self, job: EvalJob, attempt: int):
        from harness.runner.worker import run_job

        self.value = -time.monotonic()
        return self._sim_thread.submit(run_job, job, attempt, self).result()

    def silence(self) -> tuple[float, bool]:
        """([s] since the last heartbeat, still loading), measured here: clocks of different machines never mix."""
        return time.monotonic() - abs(self.value), self.value < 0


def carla_env(carla: dict | None, index: int) -> dict[str, str]:
    """What worker ``index`` needs to reach its CARLA server (``harness.runner.worker.carla_server``)."""
    import json

    return {} if carla is None else {"HARNESS_CARLA": json.dumps(carla), "HARNESS_WORKER_INDEX": str(index)}


def make_executor(name: str, workers: int, step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
                  route_timeout_s: float = DEFAULT_ROUTE_TIMEOUT_S, address: str | None = None,
                  gpus_per_worker: float = 0.0, carla: dict | None = None):
    if name == "local":
        if address:
            raise ConfigError("--ray-address is for --executor ray")
        if gpus_per_worker:
            raise ConfigError("--gpus-per-worker is for --executor ray (local workers see this machine's GPUs)")
        return LocalExecutor(workers, step_timeout_s, route_timeout_s, carla)
    if name == "ray":
        return RayExecutor(workers, step_timeout_s, route_timeout_s, address, gpus_per_worker, carla)
    raise ConfigError(f"executor must be 'local' or 'ray', got {name!r}")
