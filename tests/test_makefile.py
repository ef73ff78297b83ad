"""The Makefile a newcomer starts from: `make help` lists every target with what it does, and the main
jobs expand to the commands and defaults the README promises (checked with `make -n`, nothing runs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed here")


def make(*args: str) -> str:
    run = subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def phony_targets() -> list[str]:
    text = (REPO / "Makefile").read_text()
    return re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split()


def test_help_lists_every_target_with_a_description():
    out = make("-s", "help")
    listed = dict(re.findall(r"^  (\S+)\s+(.+)$", out, re.M))
    missing = [t for t in phony_targets() if t not in listed]
    assert not missing, f"targets without a '## description' on their rule line: {missing}"
    assert all(len(d) > 10 for d in listed.values())


def eval_command(*variables: str) -> str:
    text = re.sub(r"\\\n\s*", " ", make("-n", "eval", *variables))  # a recipe's continued lines as one
    lines = [" ".join(line.split()) for line in text.splitlines() if "-m harness eval" in line]
    assert len(lines) == 1, lines
    return lines[0]


def test_eval_defaults_are_the_readmes():
    cmd = eval_command()
    assert "--scenario fog_town05" in cmd and "--variants rgb,fusionproxy,oracle_clean" in cmd
    assert "--routes shortest:5" in cmd and "--workers 2" in cmd and "--resume" in cmd
    assert "--out results/eval/fog_town05" in cmd and "--seeds" not in cmd and "--reuse" not in cmd


def test_eval_variables_reach_the_command():
    cmd = eval_command("SCENARIO=night_fog_town05", "VARIANTS=rgb,gff", "ROUTES=0-3", "SEEDS=0,1", "OUT=results/x",
                       "REUSE=results/a results/b", "BACKEND=carla", "CARLA_PORT=3000")
    for part in ("--scenario night_fog_town05", "--variants rgb,gff", "--routes 0-3", "--seeds 0,1", "--out results/x",
                 "--reuse results/a --reuse results/b", "--backend carla", "--carla-port 3000"):
        assert part in cmd, part
