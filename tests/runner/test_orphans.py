"""No simulator outlives its supervisor: a worker ends when the process that started it is killed
outright (kill -9, the OOM killer), and ``kill PID`` (SIGTERM) stops an evaluation as Ctrl-C does,
workers included, keeping what it finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SUPERVISOR = """
import sys, time
from harness.runner.executors import LocalExecutor
from harness.runner.jobs import EvalJob, Fault
ex = LocalExecutor(1, step_timeout_s=600.0)
ex.submit(EvalJob(sys.argv[1], "0", "rgb", 0, fault=Fault.parse("hang@3")), 0)
print(ex._procs[0].pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "State:\tZ" not in state  # a zombie has ended; only its exit status waits to be read


def _gone_within(pid: int, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    return not _alive(pid)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc (Linux)")
def test_a_worker_ends_when_its_supervisor_is_killed_outright(eval_scenario):
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR, eval_scenario], cwd=REPO, stdout=subprocess.PIPE,
                           text=True, start_new_session=True)
    worker = -1
    try:
        worker = int(sup.stdout.readline())
        time.sleep(3.0)  # the worker is loading or stepping (it hangs at step 3, as a stuck simulator would)
        assert _alive(worker)
        os.kill(sup.pid, signal.SIGKILL)  # the supervisor alone: nothing of Python's runs in it
        sup.wait(10)
        assert _gone_within(worker, 15.0), "the worker outlived its supervisor"
    finally:
        for pid in (sup.pid, worker):
            if pid > 0 and _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc (Linux)")
def test_sigterm_stops_an_eval_and_its_workers(eval_scenario, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "harness", "eval", "--scenario", eval_scenario, "--variants", "rgb", "--routes", "0",
           "--inject-fault", "hang@3", "--step-timeout", "600", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True)
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not kids:
            time.sleep(0.5)
            kids = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert kids, "the eval started no worker"
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "interrupted" in err and "(terminated)" in err and "--resume" in err
        assert all(_gone_within(k, 10.0) for k in kids), "a worker outlived the terminated eval"
        assert (out / "run.json").is_file() and not list((out / "records").glob("*.json"))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for k in kids:
            if _alive(k):
                os.kill(k, signal.SIGKILL)
