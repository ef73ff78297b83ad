"""The command line: outputs, JSON lines, and one clear error line for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_help_lists_subcommands():
    out = run("--help").stdout
    for cmd in ("render", "bench-sim", "routes", "scenarios", "drive"):
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


def _bad_yaml(tmp_path, text):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return str(p)


ROUTES = str(REPO / "scenarios" / "routes" / "town05.xml")


@pytest.mark.parametrize(
    "make_args, expect",
    [
        (lambda t: ["render", "--scenario", "no_such_scenario", "--out", str(t)], "no_such_scenario"),
        (lambda t: ["render", "--scenario", _bad_yaml(t, "town: [unclosed\n"), "--out", str(t)], "bad.yaml"),
        (lambda t: ["render", "--scenario", _bad_yaml(t, f"town: town99\nroutes: {ROUTES}\n"), "--out", str(t)], "town"),
        (lambda t: ["render", "--scenario", _bad_yaml(t, f"town: town05\nroutes: {ROUTES}\nweather: {{preset: fgo}}\n"), "--out", str(t)], "preset"),
        (lambda t: ["render", "--scenario", _bad_yaml(t, f"town: town05\nroutes: {ROUTES}\ntraffic: {{vehicles: -3}}\n"), "--out", str(t)], "traffic.vehicles"),
        (lambda t: ["render", "--scenario", _bad_yaml(t, f"town: town05\nroutes: {ROUTES}\nwether: {{}}\n"), "--out", str(t)], "wether"),
        (lambda t: ["render", "--scenario", _bad_yaml(t, f"town: town05\nroutes: {t}/missing.xml\n"), "--out", str(t)], "missing.xml"),
        (lambda t: ["render", "--scenario", "fog_town05", "--route", "999", "--out", str(t)], "999"),
        (lambda t: ["render", "--scenario", "fog_town05", "--step", "-4", "--out", str(t)], "--step"),
        (lambda t: ["bench-sim", "--scenario", "fog_town05", "--size", "320by160"], "WIDTHxHEIGHT"),
        (lambda t: ["bench-sim", "--scenario", "fog_town05", "--steps", "0"], "positive integer"),
        (lambda t: ["routes", "--town", "town77", "--out", str(t / "r.xml")], "town77"),
        (lambda t: ["render", "--scenario", "fog_town05", "--variants", "rgb,thermol", "--out", str(t)], "did you mean 'thermal'"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--agent", "rgb_polcy"], "did you mean 'rgb_policy'"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--variant", "fusionproxyy"], "unknown fusion variant"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--routes", "3-1"], "runs backwards"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--routes", "0,42"], "['42']"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--workers", "0"], "positive integer"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--agent", "expert", "--checkpoint", str(t / "w.pt")], "takes none"),
        (lambda t: ["drive", "--scenario", "fog_town05", "--checkpoint", str(t / "w.pt")], "w.pt"),
    ],
)
def test_bad_input_gives_one_clear_error_line(tmp_path, make_args, expect):
    r = run(*make_args(tmp_path))
    assert r.returncode != 0
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert expect in lines[-1], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "rgb.png").exists()
