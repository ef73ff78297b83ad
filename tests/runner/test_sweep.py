"""Sweeps: one evaluation per severity, curves per variant, and records shared where a variant ignores the axis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.errors import ConfigError
from harness.runner.evaluate import EvalRequest, RunOptions
from harness.runner.store import ResultStore
from harness.runner.sweep import condition, sweep


def test_misalignment_sweep_writes_curves_and_reuses_rgb_runs(eval_scenario, tmp_path):
    req = EvalRequest(eval_scenario, ("rgb", "thermal"), routes="0", max_steps=20)
    result, stats = sweep(req, "misalign_px", (0.0, 30.0, 60.0), tmp_path / "sw", RunOptions(workers=2, progress=False),
                          n_boot=200)
    # rgb never reads the thermal camera: one run serves all three severities; thermal runs three times
    assert stats.planned == 4 and stats.finished == 4
    assert len(ResultStore(tmp_path / "sw").finished()) == 4
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(table) == 6 and set(table["variant"]) == {"rgb", "thermal"}
    assert sorted(table["severity"].unique()) == [0.0, 30.0, 60.0]
    assert (table["DS_lo"] <= table["DS"]).all() and (table["DS"] <= table["DS_hi"]).all()
    rgb = table[table["variant"] == "rgb"].set_index("severity")["DS"]
    th = table[table["variant"] == "thermal"].set_index("severity")
    assert np.allclose(th["dDS"], th["DS"] - rgb)  # paired to rgb at each severity
    assert (th["dDS_lo"] <= th["dDS"]).all() and table[table["variant"] == "rgb"]["dDS"].isna().all()
    assert "ΔDS vs rgb" in (tmp_path / "sw" / "report.md").read_text()
    for f in ("robustness_DS.png", "robustness_RC.png", "robustness_IS.png", "robustness_dDS.png", "report.md",
              "misalign_px=30/summary.json", "misalign_px=60/records.csv"):
        assert (tmp_path / "sw" / f).is_file(), f
    s30 = json.loads((tmp_path / "sw" / "misalign_px=30" / "summary.json").read_text())
    assert s30["variants"]["rgb"]["n_routes"] == 1


def test_report_command_rewrites_the_outputs_of_a_sweep(eval_scenario, tmp_path):
    from harness.cli import main

    req = EvalRequest(eval_scenario, ("rgb",), routes="0", max_steps=10)
    sweep(req, "fog", (200.0, 50.0), tmp_path / "sw", RunOptions(progress=False), n_boot=100)
    (tmp_path / "sw" / "sweep.csv").unlink()
    assert main(["report", "--out", str(tmp_path / "sw")]) == 0
    assert (tmp_path / "sw" / "sweep.csv").is_file()


def test_frames_draw_each_severity_before_the_drives_and_the_report_shows_them(eval_scenario, tmp_path):
    from PIL import Image

    req = EvalRequest(eval_scenario, ("rgb", "thermal"), routes="0", max_steps=5)
    sweep(req, "fog", (1000.0, 25.0), tmp_path / "sw", RunOptions(progress=False), n_boot=100, frames=3)
    frames = tmp_path / "sw" / "frames"
    for v in ("fog=1000", "fog=25"):
        assert (frames / v / "rgb.png").is_file() and (frames / v / "thermal_registered.png").is_file()
    clear, dense = (np.asarray(Image.open(frames / v / "rgb.png").convert("L"), dtype=float) for v in ("fog=1000", "fog=25"))
    assert dense.std() < clear.std()  # 25 m of fog washes the frame out
    assert Image.open(frames / "sheet.jpg").size[1] > 2 * clear.shape[0]  # a row per severity
    assert "frames/sheet.jpg" in (tmp_path / "sw" / "report.md").read_text()


def test_frames_are_refused_on_the_latency_axis_before_anything_is_written(tmp_path):
    req = EvalRequest("clear_town01", ("rgb",), routes="0")
    with pytest.raises(ConfigError, match="drop --frames"):
        sweep(req, "latency", (0.0, 50.0), tmp_path / "sw", RunOptions(progress=False), frames=0)
    assert not (tmp_path / "sw").exists()


def test_conditions_change_only_their_axis():
    req = EvalRequest("clear_town01", ("rgb",))
    assert dict(condition(req, "fog", 50.0).weather) == {"fog_visibility_m": 50.0}
    assert dict(condition(req, "sun", -20.0).weather) == {"sun_altitude_deg": -20.0}
    assert condition(req, "misalign_deg", 10.0).calibration.rot_deg == 10.0
    assert condition(req, "latency", 100.0).latency == "100"
    with pytest.raises(ConfigError, match="axes"):
        condition(req, "rain", 1.0)
    with pytest.raises(ConfigError, match=">= 1 m"):
        condition(req, "fog", 0.0)


def test_a_severity_that_is_the_scenario_itself_has_the_plain_evaluations_keys():
    from harness.runner.evaluate import job_keys, plan

    req = EvalRequest("short_night_fog_town05", ("rgb", "fusionproxy"), routes="0-1", seeds=(0,))
    plain = job_keys(plan(req))
    assert job_keys(plan(condition(req, "sun", -30.0))) == plain  # the night_fog preset's own sun
    assert job_keys(plan(condition(req, "fog", 40.0))) == plain  # and its own visibility
    assert not set(job_keys(plan(condition(req, "sun", -10.0)))) & set(plain)


def test_dry_run_counts_a_run_that_serves_several_severities_once(eval_scenario, tmp_path):
    from harness.runner.sweep import sweep_dry_run

    req = EvalRequest(eval_scenario, ("rgb", "thermal"), routes="0", max_steps=20)
    d = sweep_dry_run(req, "misalign_px", (0.0, 30.0, 60.0), tmp_path / "sw", workers=2)
    assert d["planned"] == 4 and d["left"] == 4 and not (tmp_path / "sw").exists()  # rgb once, thermal thrice
    assert d["variants"]["rgb"]["planned"] == 1 and d["variants"]["thermal"]["planned"] == 3
    sweep(req, "misalign_px", (0.0, 30.0), tmp_path / "sw", RunOptions(progress=False), n_boot=100)
    d = sweep_dry_run(req, "misalign_px", (0.0, 30.0, 60.0), tmp_path / "sw", workers=2)
    assert (d["recorded"], d["left"]) == (3, 1) and d["variants"]["thermal"]["left_routes"] == [["0", 0]]


def test_the_axes_are_plain_data_the_renderer_reads_without_the_runner():
    """harness.render.snapshot draws a sweep's sheet from harness.runner.axes; the sweep imports the sheet back, so
    the axes must not import the sweep (an import circle)."""
    import subprocess
    import sys

    code = ("import sys, harness.runner.axes, harness.render.snapshot\n"
            "assert 'harness.runner.sweep' not in sys.modules, 'the axes or the snapshot imported the sweep'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
