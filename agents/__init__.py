"""Agents that speak the CARLA leaderboard interface (``setup``, ``sensors``, ``run_step``, ``destroy``).

Modules: ``autonomous_agent`` (the interface), ``expert`` (privileged autopilot), ``rgb_policy``
(the frozen clear-day RGB policy), ``fusion_agent`` (puts a fusion module in front of any agent).

This package shares its name with CARLA's PythonAPI ``agents`` (``agents.navigation``,
``agents.tools``); the two directories are merged into one package, whichever comes first on
``sys.path`` (see ``harness/_agents_path.py``). Import from the submodules, not from this file:
when CARLA's copy is found first, this ``__init__`` never runs.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
