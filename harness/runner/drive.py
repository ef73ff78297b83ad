"""Drive one agent (optionally behind a fusion variant) over a scenario's routes and score it.

This is the single-configuration loop behind ``python -m harness drive``; the evaluation runner
(matrix of scenarios x routes x variants x seeds, resume, Ray) builds on ``run_episode`` too.
Routes run in ``workers`` processes, each with its own simulator; results do not depend on the
number of workers (each route is a pure function of scenario, route, seed and agent).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.errors import ConfigError
from harness.runner.episode import EpisodeResult, run_episode
from harness.sensors.registration import Calibration


@dataclass(frozen=True)
class DriveJob:
    scenario: str  # name or path
    agent: str
    variant: str | None
    route_id: str
    seed: int
    calibration: Calibration = field(default_factory=Calibration)
    max_steps: int | None = None
    clips: str = ""  # folder for infraction clips ('' = none)
    agent_config: str = ""  # passed to agent.setup(): the policy's checkpoint ('' = committed weights)


def parse_routes(text: str, available: list[str]) -> list[str]:
    """``"0-3"``, ``"0,2,5"``, ``"all"`` -> route ids, checked against ``available``."""
    if text.strip() == "all":
        return list(available)
    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part and all(p.strip().isdigit() for p in part.split("-", 1)):
            lo, hi = (int(p) for p in part.split("-", 1))
            if hi < lo:
                raise ConfigError(f"route range {part!r} runs backwards; write LOW-HIGH, e.g. 0-3")
            out += [str(i) for i in range(lo, hi + 1)]
        elif part:
            out.append(part)
    if not out:
        raise ConfigError(f"no route ids in {text!r}; use e.g. 0-3, 0,2,5 or all")
    unknown = [r for r in out if r not in available]
    if unknown:
        raise ConfigError(f"route ids {unknown} are not in the scenario's route file; available: {', '.join(available)}")
    return list(dict.fromkeys(out))


def _run(job: DriveJob) -> EpisodeResult:
    from agents.registry import make_agent
    from harness.runner.worker import cached_backend

    backend = cached_backend(job.scenario)
    agent = make_agent(job.agent, job.variant, rig=backend.scenario.rig, calibration=job.calibration, conf=job.agent_config)
    on_step = None
    if job.clips:
        from harness.report.clips import ClipRecorder, clip_name

        clips = ClipRecorder(job.clips, clip_name(job.agent, job.variant, job.route_id, job.seed))

        def on_step(frame, control, events) -> None:
            clips.add(frame, getattr(agent, "last_image", None), events, getattr(backend, "world", None))
    try:
        return run_episode(backend, agent, job.route_id, job.seed, max_steps=job.max_steps, on_step=on_step)
    finally:
        if job.clips:
            clips.close()
        agent.destroy()


def drive(jobs: list[DriveJob], workers: int = 1) -> Iterator[tuple[DriveJob, EpisodeResult]]:
    """Run ``jobs``; yields (job, result) as each finishes (in job order with one worker)."""
    if workers <= 1:
        for job in jobs:
            yield job, _run(job)
        return
    with mp.get_context("spawn").Pool(workers, maxtasksperchild=None) as pool:
        for job, result in zip(jobs, pool.imap(_run, jobs)):
            yield job, result


