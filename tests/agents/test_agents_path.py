"""Our ``agents`` package and CARLA's PythonAPI ``agents`` package on one sys.path, in either order."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def carla_pythonapi(tmp_path: Path) -> Path:
    """A stand-in for ``$CARLA_ROOT/PythonAPI/carla``: a regular ``agents`` package with navigation."""
    nav = tmp_path / "agents" / "navigation"
    nav.mkdir(parents=True)
    (tmp_path / "agents" / "__init__.py").write_text("")
    (nav / "__init__.py").write_text("")
    (nav / "basic_agent.py").write_text("class BasicAgent:\n    FROM = 'carla'\n")
    (tmp_path / "agents" / "tools").mkdir()
    (tmp_path / "agents" / "tools" / "__init__.py").write_text("")
    (tmp_path / "agents" / "tools" / "misc.py").write_text("def get_speed(v):\n    return 0.0\n")
    return tmp_path


# As a regular (non-editable) install: our packages in site-packages, after PYTHONPATH entries.
# The editable install's finder would resolve our submodules by itself and hide a clash.
AS_INSTALLED = f"""
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")
                    and "editable" not in getattr(type(f), "__module__", "")]
sys.path.append({str(REPO)!r})
"""


def _run(code: str, pythonpath: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": pythonpath, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", AS_INSTALLED + textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd="/", timeout=120)


BOTH = """
    from agents.navigation.basic_agent import BasicAgent
    from agents.tools.misc import get_speed
    from agents.fusion_agent import FusionAgent
    from agents.expert import ExpertAgent
    assert BasicAgent.FROM == 'carla'
    print('ok')
"""


def test_carla_first_on_path_then_harness_imported(carla_pythonapi):
    # the usual leaderboard set-up: PYTHONPATH=$CARLA_ROOT/PythonAPI/carla, our package installed
    r = _run("import harness\n" + textwrap.dedent(BOTH), str(carla_pythonapi))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_carla_agents_imported_before_ours(carla_pythonapi):
    # the leaderboard imports agents.navigation before loading a user's agent file
    code = "import agents.navigation.basic_agent\nimport fusion\n" + textwrap.dedent(BOTH)
    r = _run(code, str(carla_pythonapi))
    assert r.returncode == 0, r.stderr


def test_ours_first_on_path(carla_pythonapi):
    r = _run(BOTH, f"{REPO}:{carla_pythonapi}")
    assert r.returncode == 0, r.stderr


def test_the_clash_is_real_without_the_merge(carla_pythonapi):
    # CARLA first and none of our packages imported: Python alone finds only CARLA's agents
    r = _run("import agents.fusion_agent", str(carla_pythonapi))
    assert r.returncode != 0
    assert "No module named 'agents.fusion_agent'" in r.stderr


def test_without_carla_our_agents_import():
    r = _run("from agents.fusion_agent import FusionAgent\nimport agents\nprint(agents.__path__)", "")
    assert r.returncode == 0, r.stderr
    assert str(REPO / "agents") in r.stdout
