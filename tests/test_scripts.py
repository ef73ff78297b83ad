"""The shell scripts that reproduce figures (scripts/*.sh, results/reference/**/run.sh) parse: a syntax error in one
is found here, not by the next person who needs the figure (they take hours to run, some only on a GPU machine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(ROOT.glob("scripts/*.sh")) + sorted(ROOT.glob("results/reference/**/run.sh")) + sorted(ROOT.glob(".ci/*"))


def test_there_are_scripts_to_check():
    names = {p.name for p in SCRIPTS}
    assert {"gpu_checks.sh", "gpu_bench.sh", "gpu_teacher_loop.sh", "run.sh"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_script_parses(path):
    if path.suffix != ".sh" and not path.read_text().startswith("#!/usr/bin/env bash"):
        pytest.skip(f"{path.name} is not a bash script")
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
