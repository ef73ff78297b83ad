"""The command line: every subcommand listed, and the outputs and JSON lines of render and bench-sim.
Bad input to every command: tests/cli/test_bad_input.py."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_help_lists_subcommands():
    out = run("--help").stdout
    for cmd in ("eval", "sweep", "report", "compare", "table", "render", "bench-sim", "routes", "scenarios", "drive"):
        assert cmd in out


def test_render_writes_the_views(gl_ok, tmp_path):
    r = run("render", "--scenario", "night_fog_town01", "--route", "1", "--step", "30", "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["frame"] == 30
    for name in ("rgb.png", "thermal.png", "clean_rgb.png", "semantic.png", "thermal_registered.png",
                 "fused_rgb.png", "fused_thermal.png"):
        assert Image.open(tmp_path / name).size == (320, 160)
    ids = np.load(tmp_path / "semantic_ids.npy")
    assert ids.dtype == np.uint8 and ids.shape == (160, 320) and 1 in ids  # road visible
    assert info["fused"] == ["fused_rgb.png", "fused_thermal.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "fused_rgb.png")), np.asarray(Image.open(tmp_path / "rgb.png")))
    grey = np.asarray(Image.open(tmp_path / "fused_thermal.png"))
    assert np.array_equal(grey[..., 0], np.asarray(Image.open(tmp_path / "thermal_registered.png")))


def test_bench_sim_prints_a_json_line(gl_ok):
    r = run("bench-sim", "--scenario", "clear_town01", "--steps", "10", "--repeats", "1", "--warmup", "2", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["size"] == "320x160" and res["steps_per_s"] > 0 and res["vehicles"] > 0
    assert res["cpu_ms_per_step"] > 0 and ("Mesa" in res["gl_version"] or "NVIDIA" in res["gl_version"])
    parts = res["ms_per_step_by_part"]  # where a step's time goes; the parts add up to the wall time per step
    assert set(parts) == {"world", "render_rgb", "render_ids", "thermal", "rest"}
    assert all(parts[k] > 0 for k in ("world", "render_rgb", "render_ids", "thermal"))
    assert abs(sum(parts.values()) - 1000.0 / res["steps_per_s"]) < 0.05 * 1000.0 / res["steps_per_s"]


def test_render_along_an_axis_writes_one_row_per_severity(gl_ok, tmp_path):
    r = run("render", "--scenario", "clear_town01", "--route", "1", "--size", "64x32", "--axis", "sun", "--values", "60,-30",
            "--variants", "rgb,thermal,gff", "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["columns"] == ["camera", "thermal (registered)", "gff", "clean"]  # rgb and thermal are columns already
    lab = 14
    sheet = np.asarray(Image.open(tmp_path / "sheet.jpg").convert("L"), dtype=float)
    assert sheet.shape == (lab + 2 * 32, lab + 4 * 64)
    day, night = sheet[lab:lab + 32, lab:lab + 64], sheet[lab + 32:, lab:lab + 64]
    assert day.mean() > night.mean() + 30  # the camera column: noon above, night below
    for v in ("sun=60", "sun=-30"):
        assert (tmp_path / v / "fused_gff.png").is_file() and (tmp_path / v / "rgb.png").is_file()


def test_render_along_the_misalignment_axis_shifts_the_registered_thermal(gl_ok, tmp_path):
    r = run("render", "--scenario", "clear_town01", "--route", "1", "--size", "64x32", "--axis", "misalign_px",
            "--values", "0,8", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    a, b = (np.asarray(Image.open(tmp_path / v / "thermal_registered.png"), dtype=int) for v in ("misalign_px=0", "misalign_px=8"))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "misalign_px=0" / "thermal.png")),
                          np.asarray(Image.open(tmp_path / "misalign_px=8" / "thermal.png")))  # the same camera frame
    assert not np.array_equal(a, b)
    assert np.abs(b[:, 8:] - a[:, :-8]).mean() < 0.5 * np.abs(b - a).mean()  # the content moved 8 px to the right
