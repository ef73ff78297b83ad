"""Every exception the harness raises on purpose.

Messages say what was expected, what came, and how to fix it. Callers chain the cause with
``raise ... from err`` so nothing is lost.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HarnessError(Exception):
    """Base class: the CLI prints ``error: <message>`` for these and exits non-zero."""


class ConfigError(HarnessError, ValueError):
    """A scenario, route or component configuration is invalid."""


class ScenarioError(ConfigError):
    """A scenario file cannot be read or does not match the schema.

    ``str(err)`` is one line: ``<file>: <field>: <reason>``.
    """

    def __init__(self, path: str, field: str, reason: str) -> None:
        self.path = str(path)
        self.field = field
        self.reason = reason
        super().__init__(f"{self.path}: {field}: {reason}")


class RouteError(ScenarioError):
    """A route file (CARLA leaderboard XML) is invalid or does not fit the town."""


class TownError(ConfigError):
    """An unknown town name or an impossible town specification."""


class SimulationError(HarnessError, RuntimeError):
    """The simulation is in a state where the requested call cannot run."""


class WrongOrderError(SimulationError):
    """A call came out of order (for example ``step`` before ``reset``); the message says the fix."""


class RenderError(SimulationError):
    """The renderer could not start or draw (EGL/OpenGL missing or broken)."""


class AgentError(HarnessError, RuntimeError):
    """An agent broke the leaderboard agent contract (bad sensor list, bad control, raised in run_step).

    The runner classifies these as agent failures, not simulator failures."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``: the tail of an error line."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

