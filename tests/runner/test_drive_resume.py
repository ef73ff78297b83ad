"""`harness drive` runs through eval's store: killed with kill -9 after its first record, it resumes
with every route recorded once and the scores of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.runner.store import ResultStore

REPO = Path(__file__).resolve().parents[2]
ROUTES = ("0", "1", "2")
# what must not depend on how the run went (agent_ms and fusion_ms are wall-clock timings)
SCORE_KEYS = ("route", "DS", "RC", "IS", "status", "infractions", "penalties", "standing_s", "blocked_by", "steps")


def _cmd(scenario: str, out: Path, resume: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "harness", "drive", "--scenario", scenario, "--variant", "rgb", "--routes", "0-2",
           "--out", str(out), "--json"]
    return cmd + (["--resume"] if resume else [])


def _result(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _scores(result: dict) -> list[dict]:
    return [{k: row[k] for k in SCORE_KEYS} for row in result["routes"]]


@pytest.mark.slow  # four drives of 40-step routes in subprocesses, one killed (~45 s on 2 shared cores)
def test_drive_resumes_after_kill_9_with_every_route_once(eval_scenario, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    reference = _result(subprocess.run(_cmd(eval_scenario, tmp_path / "ref"), cwd=REPO, env=env, capture_output=True,
                                       text=True, timeout=600))
    assert [r["route"] for r in reference["routes"]] == list(ROUTES)

    out = tmp_path / "killed"
    for _ in range(3):  # a machine fast enough to finish all three routes before the kill lands: try again
        proc = subprocess.Popen(_cmd(eval_scenario, out), cwd=REPO, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while proc.poll() is None and not ResultStore(out).finished() and time.monotonic() - t0 < 300:
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the runner and its worker, right after the first record
            proc.wait()
            break
        subprocess.run(["rm", "-rf", str(out)], check=True)
    else:
        pytest.fail("the drive finished every time before it could be killed")
    recorded = len(ResultStore(out).finished())
    assert 1 <= recorded < len(ROUTES), f"the kill landed after {recorded} records; expected mid-run"
    assert not (out / "drive.json").exists()

    refused = subprocess.run(_cmd(eval_scenario, out), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--resume" in refused.stderr  # eval's rule: an occupied folder needs --resume

    resumed = subprocess.run(_cmd(eval_scenario, out, resume=True), cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=600)
    result = _result(resumed)
    assert resumed.stderr.count("(recorded before)") == recorded  # the routes of the killed run are not driven again
    assert _scores(result) == _scores(reference)
    assert {k: result[k] for k in ("DS", "DS_ci", "RC", "IS", "infraction_counts", "weights")} == \
           {k: reference[k] for k in ("DS", "DS_ci", "RC", "IS", "infraction_counts", "weights")}
    records = ResultStore(out).finished()
    assert sorted(r["job"]["route_id"] for r in records.values()) == list(ROUTES)  # each route once
    assert not list((out / "records").glob(".*.tmp"))
    assert json.loads((out / "drive.json").read_text()) == result
