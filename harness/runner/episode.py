"""One route, one agent, one seed: the closed loop the leaderboard runs, on any backend.

Order per tick (20 Hz): sensors -> ``agent.run_step(input_data, timestamp)`` -> ``backend.step``
-> the route monitor (route completion, infractions, route-ending rules). The route ends when the
monitor says so (completed, deviated > 30 m, blocked 180 s, timed out) or at ``max_steps``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.backends.base import Backend, SensorFrame, gnss_to_location
from harness.backends.records import StepEvents, VehicleControl
from harness.errors import AgentError, HarnessError
from harness.metrics import RouteMonitor, RouteScore
from harness.plan import DEFAULT_SAMPLE_M, global_plan
from harness.sensors.suite import InputBuilder, needs_privileged, needs_thermal, parse_sensors, rig_for

StepHook = Callable[[SensorFrame, Any, StepEvents], None]


@dataclass(frozen=True)
class EpisodeResult:
    route_id: str
    seed: int
    score: RouteScore
    steps: int  # 20 Hz ticks run
    wall_s: float  # [s] wall-clock time of the loop
    agent_ms: float  # [ms] median wall time of run_step (fusion included)
    latency_ms: dict[str, float] = field(default_factory=dict)  # agent-reported timings, e.g. fusion


def as_control(control: Any, agent_name: str) -> VehicleControl:
    """Our VehicleControl from any object with throttle/steer/brake (``carla.VehicleControl`` too)."""
    if isinstance(control, VehicleControl):
        return control
    try:
        return VehicleControl.clipped(throttle=control.throttle, steer=control.steer, brake=control.brake,
                                      hand_brake=bool(getattr(control, "hand_brake", False)),
                                      reverse=bool(getattr(control, "reverse", False)))
    except (AttributeError, TypeError, ValueError) as err:
        raise AgentError(f"{agent_name}.run_step() must return a control with throttle, steer and brake "
                         f"(carla.VehicleControl or harness.backends.records.VehicleControl), got {control!r}") from err


def run_episode(backend: Backend, agent: Any, route_id: str, seed: int, *, rules: str = "2.x",
                plan_sample_m: float = DEFAULT_SAMPLE_M, max_steps: int | None = None,
                privileged: bool = False, on_step: StepHook | None = None) -> EpisodeResult:
    """Drive ``agent`` along ``route_id`` with traffic seed ``seed`` and score it.

    ``privileged`` asks the backend for ground-truth images even when no sensor needs them (data
    collection); ``on_step(frame, control, events)`` sees every tick (frame before the control).
    """
    name = type(agent).__name__
    specs = parse_sensors(agent.sensors(), name)
    backend.configure(rig_for(specs, backend.scenario.rig), privileged or needs_privileged(specs), needs_thermal(specs))
    route = backend.load(route_id, seed)
    if hasattr(agent, "bind"):
        agent.bind(backend)
    if hasattr(agent, "set_global_plan"):
        agent.set_global_plan(*global_plan(route, plan_sample_m, backend.geo_reference))
    monitor = RouteMonitor(route.length, rules=rules)
    build = InputBuilder(specs)
    frame = backend.reset()
    agent_s: list[float] = []
    steps = 0
    t_start = time.perf_counter()
    while True:
        data = build(frame)
        t0 = time.perf_counter()
        try:
            raw = agent.run_step(data, frame.timestamp)
        except HarnessError:
            raise
        except Exception as err:  # a user's agent: anything it raises is an agent failure
            raise AgentError(f"{name}.run_step() raised {type(err).__name__}: {err}") from err
        agent_s.append(time.perf_counter() - t0)
        control = as_control(raw, name)
        new_frame, events = backend.step(control)
        if on_step is not None:
            on_step(frame, control, events)
        frame = new_frame
        steps += 1
        if monitor.update(events, ego_xy=gnss_to_location(frame.gnss[0], frame.gnss[1], *backend.geo_reference)) or (max_steps is not None and steps >= max_steps):
            break
    wall = time.perf_counter() - t_start
    latency = agent.latency_summary() if hasattr(agent, "latency_summary") else {}
    return EpisodeResult(str(route_id), int(seed), monitor.finish(), steps, wall,
                         1e3 * statistics.median(agent_s), dict(latency))
