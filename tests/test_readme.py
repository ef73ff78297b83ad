"""The README's examples run as written: every ```python block and every command of every ```bash block.

Blocks tagged otherwise (```text, ```console) are output, long jobs or commands that rewrite committed
files, and are not run. Drives are shortened, never changed otherwise: harness commands that drive get
``--max-steps 20`` (through ``ARGS`` for make targets), bench-sim and fusion bench a short repeat, the
perception probe 6 frames, in-process episodes ``max_steps=20``; every output folder is moved under the test's temporary folder (the same folder for
the same name, so ``make plots OUT=x`` reads what ``make eval OUT=x`` wrote).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHORT_DRIVE = "--max-steps 20"
SHORT_BENCH = "--steps 20 --repeats 1 --warmup 2"
MAKE_DRIVES = ("eval", "sweep", "drive")  # make targets that drive routes
MAKE_WITH_OUT = ("eval", "sweep", "drive", "plots", "render")
# the set-up and test commands: CI runs exactly these (.ci/run), a test cannot run the suite it is in
NOT_RUN = ("make setup", "make test", "make test-fast")


def blocks(lang: str, text: str | None = None) -> list[str]:
    text = README.read_text() if text is None else text
    return [m.group(1) for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)]


def commands(block: str) -> list[str]:
    """Shell commands of a block: continuation lines joined, comments and blank lines dropped."""
    out, cur = [], ""
    for line in block.splitlines():
        cur += line.rstrip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        cmd = cur.split(" #", 1)[0].strip() if not cur.lstrip().startswith("#") else ""
        if cmd:
            out.append(cmd)
        cur = ""
    return out


def shortened(cmd: str, tmp: Path) -> list[str]:
    """``cmd`` as argv, drives shortened and outputs moved under ``tmp``."""
    argv = shlex.split(cmd)

    def moved(path: str) -> str:
        return str(tmp / path.strip("/").replace("/", "_"))

    if argv[0] == "make":
        target = argv[1]
        if target in MAKE_WITH_OUT:
            outs = [a for a in argv if a.startswith("OUT=")]
            argv = [a for a in argv if not a.startswith("OUT=")]
            argv.append(f"OUT={moved(outs[0][4:] if outs else 'make_' + target)}")
        if target in MAKE_DRIVES:
            argv.append(f"ARGS={SHORT_DRIVE}")
        if target == "bench-sim":
            argv.append(f"ARGS={SHORT_BENCH}")
        return argv
    if "-m" in argv and argv[argv.index("-m") + 1] == "fusion":
        sub = argv[argv.index("-m") + 2]
        if "--out" in argv:
            i = argv.index("--out")
            argv[i + 1] = moved(argv[i + 1])
        if sub == "perception":  # a few frames (their own cache, under tmp) instead of the figure's 200
            argv = [a for k, a in enumerate(argv) if a != "--frames" and (k == 0 or argv[k - 1] != "--frames")]
            argv += ["--frames", "6", "--cache", str(tmp / "perception_cache")]
        if sub == "bench":
            argv += ["--repeats", "5", "--warmup", "1"]
    if "-m" in argv and argv[argv.index("-m") + 1] == "harness":
        sub = argv[argv.index("-m") + 2]
        for flag in ("--out", "--save", "--plot"):  # table's --out lists folders: the committed ones are read
            if flag in argv:
                i = argv.index(flag)
                if not (flag == "--out" and sub == "table" and argv[i + 1].startswith("results/reference/")):
                    argv[i + 1] = moved(argv[i + 1])
        if sub in MAKE_DRIVES:
            argv += SHORT_DRIVE.split()
        if sub == "bench-sim":
            argv += SHORT_BENCH.split()
    return argv


def test_the_readme_shows_python_and_bash_examples():
    """The parser finds the examples (a README reformatted into other tags would make the test below vacuous)."""
    assert len(blocks("python")) >= 1
    cmds = [c for b in blocks("bash") for c in commands(b)]
    assert any(c.startswith("make eval") for c in cmds)
    assert [c.split() for c in commands("a \\\n  b  # note\n# only a comment\n\nc")] == [["a", "b"], ["c"]]


def test_shortening_moves_outputs_and_caps_drives(tmp_path):
    argv = shortened("make eval SCENARIO=fog_town05 OUT=results/nf", tmp_path)
    assert argv[-2:] == [f"OUT={tmp_path / 'results_nf'}", f"ARGS={SHORT_DRIVE}"]
    assert shortened("make plots OUT=results/nf", tmp_path)[-1] == f"OUT={tmp_path / 'results_nf'}"
    argv = shortened(".venv/bin/python -m harness eval --scenario s --out results/x --json", tmp_path)
    assert argv[argv.index("--out") + 1] == str(tmp_path / "results_x") and argv[-2:] == SHORT_DRIVE.split()
    argv = shortened(".venv/bin/python -m fusion perception --scenario s --variants rgb --frames 40 --out o", tmp_path)
    assert "40" not in argv and argv[argv.index("--frames") + 1] == "6" and argv[argv.index("--out") + 1] == str(tmp_path / "o")
    argv = shortened(".venv/bin/python -m harness table --out results/reference/a results/reference/b --plot results/t.png",
                     tmp_path)
    assert argv[argv.index("--out") + 1] == "results/reference/a" and argv[-1] == str(tmp_path / "results_t.png")


@pytest.mark.slow  # drives every example (shortened), Ray included: a few minutes
@pytest.mark.parametrize("kind", ["python", "bash"])
def test_readme_examples_run(kind, tmp_path, gl_ok):
    if kind == "python":
        for code in blocks("python"):
            code = re.sub(r"max_steps=\d+", "max_steps=20", code)
            run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=900)
            assert run.returncode == 0, f"README python example failed:\n{code}\n--- stderr:\n{run.stderr[-3000:]}"
        return
    for block in blocks("bash"):
        for cmd in commands(block):
            if cmd in NOT_RUN:
                continue
            argv = shortened(cmd, tmp_path)
            run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
            assert run.returncode == 0, f"README command failed: {cmd}\n(ran {argv})\n--- stderr:\n{run.stderr[-3000:]}"
