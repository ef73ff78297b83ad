"""`harness drive` is eval's plan of one variant and one seed: its jobs, its default folder, clips,
and the one route selection every command shares."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import harness.report.clips as clips_mod
from harness.errors import ConfigError
from harness.runner.drive import DRIVE_ROOT, default_out, plan_drive
from harness.runner.evaluate import EvalRequest
from harness.runner.jobs import EvalJob, select_routes
from harness.scenario import load_scenario


def _req(**kw) -> EvalRequest:
    return EvalRequest(**{"scenario": "fog_town05", "variants": ("rgb",), "routes": "0-1", "seeds": (0,), **kw})


def test_default_out_names_scenario_agent_variant_and_seed():
    assert default_out(_req(scenario="night_fog_town05")) == DRIVE_ROOT / "night_fog_town05-rgb_policy-rgb-seed0"
    assert default_out(_req(agent="expert", variants=("none",), seeds=(3,))) == DRIVE_ROOT / "fog_town05-expert-none-seed3"
    assert default_out(_req(variants=("onnx:models/x.onnx",))).name == "fog_town05-rgb_policy-onnx_models_x.onnx-seed0"


def test_a_drive_is_one_variant_and_one_seed_with_clips_in_the_given_folder(tmp_path):
    jobs = plan_drive(_req(variants=("thermal",)), clips_dir=tmp_path / "clips")
    assert [(j.route_id, j.variant, j.seed) for j in jobs] == [("0", "thermal", 0), ("1", "thermal", 0)]
    assert {j.clips for j in jobs} == {str((tmp_path / "clips").resolve())}
    assert plan_drive(_req(variants=("none",)))[0].variant is None  # the agent alone
    with pytest.raises(ConfigError, match="one variant"):
        plan_drive(_req(variants=("rgb", "thermal")))
    with pytest.raises(ConfigError, match="one seed"):
        plan_drive(_req(seeds=(0, 1)))


def test_route_selection_is_checked_against_the_routes_the_scenario_runs(tmp_path):
    sc = load_scenario("fog_town05")  # route_ids: 0-4 and 10-14
    assert select_routes(sc, "all") == ["0", "1", "2", "3", "4", "10", "11", "12", "13", "14"]
    assert select_routes(sc, "2-4, 0,2") == ["2", "3", "4", "0"]  # in the order given, each once
    with pytest.raises(ConfigError, match=r"\[.7.\] are not among the routes scenario fog_town05 runs"):  # in the file, not run by the scenario
        select_routes(sc, "7")
    with pytest.raises(ConfigError, match="runs backwards"):
        select_routes(sc, "3-1")
    with pytest.raises(ConfigError, match="no route ids"):
        select_routes(sc, " , ")
    every = replace(sc, route_ids=None)
    assert "7" in select_routes(every, "all") and select_routes(every, "7") == ["7"]


def test_shortest_routes_are_ranked_by_the_route_file_alone():
    from harness.runner.jobs import waypoint_length

    sc = load_scenario("fog_town05")
    five = select_routes(sc, "shortest:5")
    assert five == ["0", "2", "10", "11", "12"]  # in file order; only routes the scenario runs (5-9 train the policy)
    lengths = {r.id: waypoint_length(r) for r in sc.load_routes()}
    assert max(lengths[r] for r in five) <= min(v for k, v in lengths.items() if k not in five)
    assert select_routes(sc, "shortest:10") == select_routes(sc, "all")
    for bad, message in (("shortest:0", "whole number >= 1"), ("shortest:five", "whole number >= 1"),
                         ("shortest:11", "runs only 10 routes")):
        with pytest.raises(ConfigError, match=message):
            select_routes(sc, bad)


def test_a_worker_hands_every_step_of_a_drive_to_the_clip_recorder(gl_ok, tmp_path, monkeypatch):
    """What a drive's worker does with ``clips_dir`` (run here, in-process: the executor's workers are
    other processes a monkeypatch does not reach)."""
    from harness.runner.worker import drop_backend, execute

    seen = {"steps": 0, "closed": 0, "fused": 0}

    class Recorder:
        def __init__(self, out_dir, name, **_):
            seen["out"], seen["name"] = str(out_dir), name

        def add(self, frame, fused, events, world):
            seen["steps"] += 1
            seen["fused"] += fused is not None and fused.shape == frame.rgb.shape
            assert world is not None and hasattr(events, "blocked_s")

        def close(self):
            seen["closed"] += 1

    monkeypatch.setattr(clips_mod, "ClipRecorder", Recorder)
    (job,) = plan_drive(EvalRequest("clear_town01", ("rgb",), routes="0", seeds=(0,), max_steps=6), clips_dir=tmp_path)
    try:
        res = execute(job)
    finally:
        drop_backend()
    assert seen["out"] == str(Path(tmp_path).resolve()) and seen["name"] == "rgb_route0_seed0"
    assert seen["steps"] == res["steps"] == seen["fused"] == 6 and seen["closed"] == 1



def test_a_route_run_records_what_rendered_it(gl_ok):
    """The record names the GL renderer (llvmpipe here, an NVIDIA GPU elsewhere): reports flag a table that mixes them."""
    from harness.runner.worker import cached_backend, drop_backend, execute

    job = EvalJob("clear_town01", "0", "rgb", 0, max_steps=6)
    try:
        payload = execute(job)
        assert payload["image_source"] == cached_backend(job.scenario, job.weather, job.backend).renderer.info["GL_RENDERER"]
    finally:
        drop_backend()
    assert payload["image_source"]

def test_drive_prints_a_line_per_route_and_the_json_it_always_has(gl_ok, tmp_path, capsys):
    """The keys results/reference/agents and harness.report.drive_rows read, plus the run folder;
    the folder is a run that ``report`` turns into eval's tables."""
    import json

    from harness.cli import main

    out = tmp_path / "drive"
    argv = ["drive", "--scenario", "clear_town01", "--routes", "0,1", "--variant", "rgb", "--max-steps", "3",
            "--out", str(out), "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert list(result) == ["scenario", "agent", "variant", "seed", "weights", "DS", "DS_ci", "RC", "IS",
                            "infraction_counts", "routes", "out"]
    assert (result["scenario"], result["agent"], result["variant"], result["seed"]) == ("clear_town01", "rgb_policy", "rgb", 0)
    assert [r["route"] for r in result["routes"]] == ["0", "1"]  # in the order asked for, whatever order they finished in
    for row in result["routes"]:
        assert list(row) == ["route", "DS", "RC", "IS", "status", "infractions", "penalties", "standing_s", "blocked_by",
                             "steps", "agent_ms", "fusion_ms"]
        assert row["steps"] == 3 and f"route {row['route']}: DS {row['DS']:.1f} RC" in captured.err
    assert result["out"] == str(out) and json.loads((out / "drive.json").read_text()) == result
    assert main(["report", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["variants"]["rgb"]["n_routes"] == 2
    assert summary["variants"]["rgb"]["DS"] == pytest.approx(result["DS"], abs=0.01)


def test_a_drive_reuses_another_runs_routes_and_prints_them(gl_ok, tmp_path, capsys):
    """--reuse in drive: the routes an earlier drive recorded under the same keys are copied, printed like driven ones,
    and the result equals the earlier one; only the route it lacks is driven."""
    import json

    from harness.cli import main

    argv = ["drive", "--scenario", "clear_town01", "--variant", "rgb", "--max-steps", "3", "--json"]
    first = tmp_path / "first"
    assert main([*argv, "--routes", "0", "--out", str(first)]) == 0
    capsys.readouterr()
    second = tmp_path / "second"
    assert main([*argv, "--routes", "0,1", "--out", str(second), "--reuse", str(first)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert f"reused 1 route run(s) from {first}" in captured.err
    assert "route 0: DS" in captured.err and "route 1: DS" in captured.err
    assert result["routes"][0] == json.loads((first / "drive.json").read_text())["routes"][0]  # a copy, timings too
    recs = [json.loads(p.read_text()) for p in (second / "records").glob("*.json")]
    assert sorted(r.get("reused_from", "") for r in recs) == ["", str(first)]
