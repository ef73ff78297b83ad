"""Let our ``agents`` package and CARLA's PythonAPI ``agents`` package share one import name.

CARLA's PythonAPI (``PythonAPI/carla``) ships a top-level ``agents`` package (``agents.navigation``,
``agents.tools``) that the leaderboard and scenario_runner import. Ours is also ``agents`` (the
project layout). Python would let whichever directory comes first on ``sys.path`` hide the other, so
both directories are merged into the one package's ``__path__``:

- when ours is found first, ``agents/__init__.py`` adds every other ``agents`` directory on
  ``sys.path`` (``pkgutil.extend_path``);
- when CARLA's is found first (the usual ``PYTHONPATH=$CARLA_ROOT/PythonAPI/carla`` set-up), our
  directory is appended to its ``__path__`` as soon as any of ``harness``, ``fusion`` or ``distill``
  is imported: directly if ``agents`` is already imported, otherwise by a finder that adds it when
  ``agents`` is first imported.

Submodule names never collide: CARLA has ``navigation`` and ``tools``; ours are listed in
``agents/__init__.py``. The first-found directory keeps priority for any name both define.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import PathFinder
from pathlib import Path

OUR_AGENTS = str(Path(__file__).resolve().parent.parent / "agents")


class _MergeAgentsFinder(MetaPathFinder):
    """Finds ``agents`` exactly as the normal path search does, then appends our directory."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "agents":
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.submodule_search_locations is None:
            return None
        locations = list(spec.submodule_search_locations)
        if OUR_AGENTS not in locations:
            locations.append(OUR_AGENTS)
        spec.submodule_search_locations = locations
        return spec


def install() -> None:
    """Make ``import agents.<ours>`` work whichever ``agents`` directory comes first (idempotent)."""
    module = sys.modules.get("agents")
    if module is not None:
        path = getattr(module, "__path__", None)
        if isinstance(path, list) and OUR_AGENTS not in path:
            path.append(OUR_AGENTS)
        return
    if not any(isinstance(f, _MergeAgentsFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MergeAgentsFinder())
