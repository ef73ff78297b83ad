"""The evaluation runner: identical results whatever the workers and executor, resume after kill -9,
watchdog and retries, and the output files."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.runner.evaluate import EvalRequest, RunOptions, evaluate, plan
from harness.runner.jobs import Fault
from harness.runner.store import ResultStore

REPO = Path(__file__).resolve().parents[2]
VARIANTS = ("rgb", "thermal")


def scores(out: Path) -> dict[str, dict]:
    """What must not depend on how the run went: every record's job and score, by key."""
    return {k: {"job": r["job"], "score": r["result"]["score"], "steps": r["result"]["steps"]}
            for k, r in ResultStore(out).finished().items()}


def strip_time(score: dict) -> dict:
    return {k: v for k, v in score.items() if k != "duration_system_s"}


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k]["job"] == b[k]["job"]
        assert strip_time(a[k]["score"]) == strip_time(b[k]["score"]), a[k]["job"]
        assert a[k]["steps"] == b[k]["steps"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, eval_scenario):
    """One uninterrupted run with one local worker: 3 routes x 2 variants."""
    scenario = eval_scenario
    out = tmp_path_factory.mktemp("ref") / "run"
    summ, stats = evaluate(EvalRequest(scenario, VARIANTS), out, RunOptions(workers=1, progress=False), n_boot=200)
    return scenario, out, summ, stats


def test_outputs_of_a_run(reference):
    scenario, out, summ, stats = reference
    assert stats.finished == stats.planned == 6 and stats.quarantined == 0
    for name in ("records.csv", "infractions.csv", "summary.json", "simulation_results.json", "report.md",
                 "rgb/simulation_results.json", "thermal/simulation_results.json", "scores.png"):
        assert (out / name).is_file(), name
    rec = pd.read_csv(out / "records.csv", dtype={"route": str})
    assert len(rec) == 6 and rec["key"].is_unique
    assert set(rec["variant"]) == set(VARIANTS) and set(rec["route"]) == {"0", "1", "2"}
    s = json.loads((out / "summary.json").read_text())
    for v in VARIANTS:
        assert s["variants"][v]["n_routes"] == 3
        lo, hi = s["variants"][v]["DS_ci"]
        assert lo <= s["variants"][v]["DS"] <= hi
        assert s["variants"][v]["DS"] == pytest.approx(rec[rec["variant"] == v]["DS"].mean())
    assert s["variants"]["thermal"]["vs_rgb"]["DS"]["n_pairs"] == 3
    assert s["variants"]["thermal"]["latency_ms"]["fusion_ms"] > 0
    lb = json.loads((out / "rgb" / "simulation_results.json").read_text())
    assert lb["_checkpoint"]["progress"] == [3, 3] and lb["entry_status"] == "Finished"
    assert lb["sensors"][:2] == ["carla_camera", "carla_gnss"]  # icons, as the leaderboard stores them
    assert [r["route_id"] for r in lb["_checkpoint"]["records"]] == [f"RouteScenario_{i}_rep0" for i in range(3)]
    assert "| `thermal` |" in (out / "report.md").read_text()


def test_rerun_is_idempotent_and_refuses_to_overwrite(reference):
    from harness.errors import ConfigError

    scenario, out, _, _ = reference
    before = scores(out)
    with pytest.raises(ConfigError, match="--resume"):
        evaluate(EvalRequest(scenario, VARIANTS), out, RunOptions(progress=False), n_boot=200)
    _, stats = evaluate(EvalRequest(scenario, VARIANTS), out, RunOptions(progress=False), resume=True, n_boot=200)
    assert stats.skipped == 6 and stats.finished == 0
    same(before, scores(out))


def test_same_seed_same_traffic_for_every_variant(reference):
    """Paired design: the variant changes only what the agent sees, so the world's start is the same."""
    scenario, out, _, _ = reference
    jobs = plan(EvalRequest(scenario, VARIANTS))
    by_route = {}
    for j in jobs:
        by_route.setdefault((j.route_id, j.seed), set()).add(j.variant)
    assert all(v == set(VARIANTS) for v in by_route.values())


def test_two_workers_give_the_same_results(reference, tmp_path):
    scenario, ref_out, _, _ = reference
    evaluate(EvalRequest(scenario, VARIANTS), tmp_path / "w2", RunOptions(workers=2, progress=False), n_boot=200)
    same(scores(ref_out), scores(tmp_path / "w2"))


@pytest.mark.slow  # starts a local Ray and two actors (~30 s here, on 2 shared cores)
def test_ray_executor_gives_the_same_results(reference, tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional distributed executor: pip install -e '.[ray]'")
    scenario, ref_out, _, _ = reference
    evaluate(EvalRequest(scenario, VARIANTS), tmp_path / "ray", RunOptions(workers=2, executor="ray", progress=False),
             n_boot=200)
    same(scores(ref_out), scores(tmp_path / "ray"))


@pytest.mark.parametrize("kind", ["hang", "crash"])
def test_a_hung_or_crashed_simulator_is_detected_retried_and_the_run_completes(reference, tmp_path, kind):
    scenario, ref_out, _, _ = reference
    watchdog = 6.0
    req = EvalRequest(scenario, ("rgb",), routes="1", fault=Fault(kind, step=15))
    t0 = time.monotonic()
    _, stats = evaluate(req, tmp_path / kind, RunOptions(step_timeout_s=watchdog, progress=False), n_boot=200)
    assert stats.finished == 1 and stats.quarantined == 0 and stats.retried == 1
    (failure,) = stats.failures
    assert failure["kind"] == ("timeout" if kind == "hang" else "simulation_crash")
    if kind == "hang":  # noticed within the watchdog time (+ the 0.5 s poll interval)
        silent = float(re.search(r"no simulation step for ([0-9.]+) s", failure["message"]).group(1))
        assert watchdog <= silent < watchdog + 1.5
    ref = {k: v for k, v in scores(ref_out).items() if v["job"]["route_id"] == "1" and v["job"]["variant"] == "rgb"}
    same(ref, scores(tmp_path / kind))
    rec = next(iter(ResultStore(tmp_path / kind).finished().values()))
    assert rec["attempts"] == 2 and rec["failures"][0]["kind"] == failure["kind"]
    assert time.monotonic() - t0 < 120


def test_a_job_failing_every_attempt_is_quarantined_as_a_crashed_route(reference, tmp_path):
    scenario, _, _, _ = reference
    req = EvalRequest(scenario, ("rgb",), routes="0-1", fault=Fault("agent", step=3, attempts=9), fault_routes=("1",))
    summ, stats = evaluate(req, tmp_path / "q", RunOptions(retries=1, progress=False), n_boot=200)
    assert stats.finished == 1 and stats.quarantined == 1 and stats.retried == 1
    (q,) = ResultStore(tmp_path / "q").quarantined().values()
    assert q["failure"] == "agent_error" and q["result"]["score"]["status"] == "Failed - Agent crashed"
    assert q["result"]["score"]["DS"] == 0.0
    assert summ["variants"]["rgb"]["quarantined"] == [{"route": "1", "seed": 0, "failure": "agent_error"}]
    assert summ["variants"]["rgb"]["n_routes"] == 2  # the quarantined route counts, with score 0
    rec = pd.read_csv(tmp_path / "q" / "records.csv", dtype={"route": str})
    assert list(rec.sort_values("route")["quarantined"]) == [False, True]


def _eval_cmd(scenario: str, out: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "harness", "eval", "--scenario", scenario, "--variants", ",".join(VARIANTS),
           "--workers", "1", "--out", str(out), "--no-plots"]
    return cmd + (["--resume"] if resume else [])


@pytest.mark.slow  # at least six eval processes, five of them killed mid-run (~80 s on 2 shared cores)
def test_resume_after_repeated_kill_9_loses_and_duplicates_nothing(reference, tmp_path):
    scenario, ref_out, _, _ = reference
    out = tmp_path / "killed"
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    kills, progress = 0, []

    def wait_then_kill_point(proc) -> None:
        """Return once a record more than at the start is written, plus a random 0-0.3 s (the kill
        then lands at a random moment of the next route), or when the run ends: the kill lands mid-run
        whatever the machine's speed (a fixed delay killed every run before its first record on a
        slow machine; up to 1.5 s let a fast machine finish the 40-step routes before five kills)."""
        start, t0 = len(ResultStore(out).finished()), time.monotonic()
        while proc.poll() is None and len(ResultStore(out).finished()) <= start and time.monotonic() - t0 < 300:
            time.sleep(0.1)
        if proc.poll() is None:
            time.sleep(rng.uniform(0.0, 0.3))

    for attempt in range(12):
        proc = subprocess.Popen(_eval_cmd(scenario, out, resume=attempt > 0), cwd=REPO, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_then_kill_point(proc)
        try:
            proc.wait(timeout=0.01)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, at a random moment
            proc.wait()
            kills += 1
            progress.append(len(ResultStore(out).finished()))
        else:
            assert proc.returncode == 0
            if kills >= 5:
                break
            # finished before five kills: start again from scratch with fresh timing
            subprocess.run(["rm", "-rf", str(out)], check=True)
            kills, progress = 0, []
    assert kills >= 5, "the run always finished before it could be killed five times"
    assert any(0 < n < 6 for n in progress), f"no kill landed mid-run (records after each kill: {progress})"
    done = subprocess.run(_eval_cmd(scenario, out, resume=True), cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    same(scores(ref_out), scores(out))
    rec = pd.read_csv(out / "records.csv")
    assert len(rec) == 6 and rec["key"].is_unique
    assert not list((out / "records").glob(".*.tmp"))


def test_dry_run_says_what_is_left_and_writes_nothing(reference, tmp_path):
    """--dry-run: per variant planned / recorded / left, a time estimate from the records in --out,
    and not a file written (a new folder is not even created)."""
    from harness.runner.evaluate import dry_run

    scenario, out, _, _ = reference
    fresh = dry_run(EvalRequest(scenario, VARIANTS), tmp_path / "new", workers=2)
    assert (fresh["planned"], fresh["recorded"], fresh["left"]) == (6, 0, 6) and fresh["est_wall_left_s"] is None
    assert fresh["variants"]["rgb"]["left_routes"] == [["0", 0], ["1", 0], ["2", 0]]
    assert not (tmp_path / "new").exists()
    before = sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*"))
    done = dry_run(EvalRequest(scenario, VARIANTS), out, workers=2)
    assert (done["planned"], done["recorded"], done["left"]) == (6, 6, 0) and done["holds_run"]
    assert done["variants"]["thermal"]["median_route_wall_s"] > 0 and done["variants"]["thermal"]["est_left_s"] == 0
    # one more seed: the same routes again, estimated from the medians of the runs recorded here
    more = dry_run(EvalRequest(scenario, VARIANTS, seeds=(0, 1)), out, workers=2)
    assert (more["recorded"], more["left"]) == (6, 6)
    est = sum(more["variants"][v]["median_route_wall_s"] * 3 for v in VARIANTS) / 2
    assert more["est_wall_left_s"] == pytest.approx(est, abs=0.2)
    assert sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*")) == before


def test_dry_run_on_the_command_line(reference, capsys):
    from harness.cli import main

    scenario, out, _, _ = reference
    assert main(["eval", "--scenario", str(scenario), "--variants", "rgb,thermal", "--seeds", "0,1", "--out", str(out),
                 "--dry-run", "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "12 route runs planned, 6 recorded" in err and "6 left (to run it there, add --resume)" in err
    assert re.search(r"thermal\s+6\s+3\s+0\s+3\s+\d+ s", err) and "left: about" in err


def test_reuse_copies_records_by_key_and_drives_only_the_rest(reference, tmp_path, capsys):
    """--reuse: every planned key a folder holds is copied in (with ``reused_from``), not driven; a
    key it lacks is driven; the report and records.csv say which runs came from where."""
    import shutil

    scenario, out, _, _ = reference
    src = tmp_path / "src"
    shutil.copytree(out / "records", src / "records")
    dropped = sorted(src.glob("records/*.json"))[0]
    dropped_key = dropped.stem
    dropped.unlink()  # this one must be driven
    new = tmp_path / "new"
    summ, stats = evaluate(EvalRequest(scenario, VARIANTS), new, RunOptions(workers=1, progress=True, reuse=(str(src),)),
                           n_boot=200)
    assert (stats.planned, stats.reused, stats.finished, stats.skipped) == (6, 5, 1, 5)
    assert "reused 5 route run(s) from " + str(src) in capsys.readouterr().err
    same(scores(out), scores(new))  # the copied ones and the driven one: the reference's scores
    recs = ResultStore(new).finished()
    assert {k for k, r in recs.items() if r.get("reused_from") == str(src)} == set(recs) - {dropped_key}
    for k, r in recs.items():
        if k != dropped_key:
            assert {a: b for a, b in r.items() if a != "reused_from"} == json.loads((out / "records" / f"{k}.json").read_text())
    assert summ["reused_from"] == {str(src): 5}
    assert f"5 run(s) from `{src}`" in (new / "report.md").read_text()
    rows = pd.read_csv(new / "records.csv", dtype={"key": str}, keep_default_na=False)
    assert (rows["reused_from"] == "").sum() == 1 and rows.loc[rows["reused_from"] == "", "key"].item() == dropped_key
    # a rerun reuses nothing more: the records are now this folder's own
    _, again = evaluate(EvalRequest(scenario, VARIANTS), new, RunOptions(progress=False, reuse=(str(src),)), resume=True,
                        plots=False, n_boot=200)
    assert (again.reused, again.finished, again.skipped) == (0, 0, 6)


def test_reuse_dry_run_counts_what_it_would_copy(reference, tmp_path, capsys):
    from harness.cli import main

    scenario, out, _, _ = reference
    new = tmp_path / "new"
    assert main(["eval", "--scenario", str(scenario), "--variants", "rgb,thermal", "--seeds", "0,1", "--out", str(new),
                 "--reuse", str(out), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "12 route runs planned, 0 recorded in" in err and "6 to copy from --reuse, 6 left" in err
    assert re.search(r"rgb\s+6\s+0\s+3\s+3\s+\d+ s", err)  # the runs left timed by the reused folder's
    assert "left: about" in err and "(or in --reuse)" in err
    assert not new.exists()


@pytest.mark.parametrize("case", ["missing", "no_records", "is_out", "tampered"])
def test_reuse_bad_folders_fail_in_one_line_and_write_nothing(reference, tmp_path, case):
    """A --reuse folder that does not exist, holds no records, is --out itself, or holds a record
    whose key is not its file name: one clear error; nothing is written to a new --out."""
    import shutil

    from harness.errors import ConfigError

    scenario, out, _, _ = reference
    new = tmp_path / "new"
    folder = {"missing": tmp_path / "nowhere", "no_records": tmp_path, "is_out": new, "tampered": tmp_path / "t"}[case]
    if case == "is_out":
        new.mkdir()
    if case == "tampered":
        shutil.copytree(out / "records", folder / "records")
        first = sorted(folder.glob("records/*.json"))
        first[0].write_text(first[1].read_text())  # another run's record under this key
    want = {"missing": "no such folder", "no_records": "holds no records/", "is_out": "is --out itself",
            "tampered": "not its file name"}[case]
    with pytest.raises(ConfigError, match=want):
        evaluate(EvalRequest(scenario, VARIANTS), new, RunOptions(progress=False, reuse=(str(folder),)), resume=case == "is_out")
    if case == "tampered":  # every record is checked before one is copied
        assert not list((new / "records").glob("*.json"))
    else:  # checked before anything is written
        assert not new.exists() or not any(new.iterdir())
