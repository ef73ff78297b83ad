"""Agents by name, optionally behind a fusion variant."""

from __future__ import annotations

from typing import Any, Callable

from harness.errors import ConfigError, did_you_mean
from harness.rig import Rig
from harness.sensors.registration import Calibration


def _expert(conf: str):
    from agents.expert import ExpertAgent

    return ExpertAgent(conf)


def _rgb_policy(conf: str):
    from agents.rgb_policy.agent import RGBPolicyAgent

    return RGBPolicyAgent(conf)


AGENTS: dict[str, tuple[Callable[[str], Any], str]] = {
    "rgb_policy": (_rgb_policy, "the frozen clear-day RGB policy (default)"),
    "expert": (_expert, "the privileged expert (ground truth; upper bound)"),
}
DEFAULT_AGENT = "rgb_policy"


def check_agent_name(name: str) -> None:
    """ConfigError naming the known agents (and the closest one) unless ``name`` is one."""
    if name not in AGENTS:
        raise ConfigError(f"unknown agent {name!r}{did_you_mean(name, AGENTS)}; known agents: {', '.join(AGENTS)}")


def make_agent(name: str = DEFAULT_AGENT, variant: str | None = None, rig: Rig = Rig(),
               calibration: Calibration = Calibration(), conf: str = "", latency: str = "none",
               device: str = "cpu", precision: str = "fp32", runtime: str = "torch") -> Any:
    """Build agent ``name``; with ``variant`` it is wrapped in a :class:`FusionAgent` (``latency``:
    see its latency-aware mode) whose module runs on ``device`` in ``precision`` with ``runtime``."""
    check_agent_name(name)
    if variant is not None:
        from fusion.registry import get_variant

        get_variant(variant)  # fail on a bad name before building the agent
    agent = AGENTS[name][0](conf)
    if variant is None:
        return agent
    from agents.fusion_agent import FusionAgent

    return FusionAgent(agent, variant, rig=rig, calibration=calibration, latency=latency, device=device,
                       precision=precision, runtime=runtime)
