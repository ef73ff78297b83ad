"""How fast the embedded simulator steps: both cameras and traffic, as an evaluation runs them.

``python -m harness bench-sim`` prints :func:`bench_sim`'s dict. A lane-keeping driver moves the ego
so the views change as in a drive; each repeat loads the route with its own traffic seed.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time


def sized_scenario(scenario_name: str, size: tuple[int, int] | None = None):
    """The scenario, both cameras at ``size`` (W, H) when given."""
    from harness.scenario import load_scenario

    scenario = load_scenario(scenario_name)
    if size is not None:
        scenario = dataclasses.replace(scenario, rig=scenario.rig.with_sizes(size, size))
    return scenario


def one_route(scenario, route: str | None) -> str:
    """``route`` checked against the routes ``scenario`` runs (None: its first)."""
    from harness.errors import ConfigError
    from harness.runner.jobs import select_routes

    if route is None:
        return select_routes(scenario, "all")[0]
    ids = select_routes(scenario, route)
    if len(ids) != 1:
        raise ConfigError(f"expected one route id, got {route!r} ({len(ids)} routes); pass e.g. --route {ids[0]}")
    return ids[0]


def bench_sim(scenario: str, route: str | None = None, size: tuple[int, int] = (320, 160), steps: int = 400,
              repeats: int = 3, warmup: int = 20, privileged: bool = False, progress: bool = True) -> dict:
    """Median simulation steps per second over ``repeats`` runs of ``steps`` steps (after ``warmup``),
    CPU time per step and where a step's wall time goes (``ms_per_step_by_part``)."""
    from tqdm import tqdm

    from harness.backends.embedded import EmbeddedBackend
    from harness.world.autopilot import lane_keeper

    sc = sized_scenario(scenario, size)
    route_id = one_route(sc, route)  # checked before the simulator starts
    with EmbeddedBackend(sc, privileged=privileged) as be:
        rates, cpu, parts = [], [], []  # steps/s; CPU ms per step over all threads (llvmpipe rasterises on its own)
        for rep in range(repeats):
            be.load(route_id, rep)
            frame = be.reset()
            drive = lane_keeper(be)
            for _ in range(warmup):
                frame, _ = be.step(drive(frame))
            be.reset_timing()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in tqdm(range(steps), desc=f"repeat {rep + 1}/{repeats}", unit="step", file=sys.stderr, leave=False,
                          disable=not progress):
                frame, _ = be.step(drive(frame))
            wall = time.perf_counter() - t0
            rates.append(steps / wall)
            cpu.append(1000.0 * (time.process_time() - c0) / steps)
            ms = {k: 1000.0 * v / steps for k, v in be.part_s.items()}
            parts.append({**ms, "rest": 1000.0 * wall / steps - sum(ms.values())})  # the driver, tqdm, Python glue
        w = be.world
        return {"steps_per_s": round(statistics.median(rates), 2), "steps_per_s_all": [round(r, 2) for r in rates],
                "cpu_ms_per_step": round(statistics.median(cpu), 2),
                "ms_per_step_by_part": {k: round(statistics.median(p[k] for p in parts), 2) for k in parts[0]},
                "size": f"{size[0]}x{size[1]}", "scenario": be.scenario.name, "route": route_id,
                "steps": steps, "repeats": repeats, "vehicles": int(w.vehicles.n),
                "pedestrians": int(w.pedestrians.n), "privileged": privileged,
                "renderer": be.renderer.info["GL_RENDERER"], "gl_version": be.renderer.info["GL_VERSION"]}
