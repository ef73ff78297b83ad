"""The size Pareto: which sizes are on the front, which is chosen, and what is written."""

import json

import pytest

from distill import pareto
from harness.errors import ConfigError


def _p(size, fps, ds, lo=None, hi=None):
    return {"size": size, "fps": fps, "DS": ds, "DS_ci": [ds - 5 if lo is None else lo, ds + 5 if hi is None else hi]}


def test_front_drops_sizes_beaten_on_both_axes():
    pts = [_p("xs", 900, 50), _p("s", 600, 55), _p("m", 300, 54), _p("l", 150, 60)]
    assert pareto.front(pts) == {"xs", "s", "l"}  # m is slower and worse than s


def test_choice_is_the_best_score_at_or_above_the_floor_and_says_when_within_noise():
    pts = [_p("xs", 900, 50), _p("s", 600, 55), _p("l", 150, 70)]
    size, why = pareto.choose(pts, 300)
    assert size == "s"  # l scores higher but misses the floor
    assert "within noise" in why and "xs" in why  # xs's interval [45, 55] reaches s's lower bound 50
    size, why = pareto.choose([_p("xs", 900, 30, 25, 35), _p("s", 600, 55)], 300)
    assert size == "s" and "noise" not in why
    assert pareto.choose(pts, 5000)[0] is None


def _summary(tmp_path, variants):
    row = {"DS": 60.0, "DS_ci": [50.0, 70.0], "RC": 90.0, "IS": 0.7, "n_recorded": 5, "n_routes": 5}
    s = {"scenario": "short_night_fog_town05", "routes": ["0", "1"], "seeds": [0],
         "variants": {v: row | {"DS": 40.0 + i, "DS_ci": [30.0 + i, 50.0 + i]} for i, v in enumerate(variants)}}
    (tmp_path / "summary.json").write_text(json.dumps(s))


def test_run_reads_sizes_times_them_and_writes_table_and_plot(tmp_path, monkeypatch):
    _summary(tmp_path, ["rgb", "fusionproxy", "fusionproxy:size=xs", "oracle_clean"])
    timed = []

    def fake_bench(variant, width, height, **kw):
        timed.append((variant, width, height, kw["runtime"], kw["threads"]))
        fps = {"fusionproxy": 320.0, "fusionproxy:size=xs": 700.0}[variant]
        return {"fps": fps, "latency_ms": 1e3 / fps, "params": 1000, "flops_per_frame": 10, "device_name": "cpu"}

    monkeypatch.setattr("fusion.bench.bench", fake_bench)
    t = pareto.run(tmp_path, tmp_path / "out", repeats=3, warmup=0)
    assert sorted(v for v, *_ in timed) == ["fusionproxy", "fusionproxy:size=xs"]
    assert all(r[1:] == (320, 160, "onnx", 2) for r in timed)
    from fusion.student.proxy import DEFAULT_SIZE

    sizes = {p["size"]: p for p in t["points"]}
    assert set(sizes) == {DEFAULT_SIZE, "xs"}  # the default name is the default size
    assert t["chosen"] == "xs" and sizes["xs"]["front"]  # faster and (41 > 40) better
    assert set(t["references"]) == {"rgb", "oracle_clean"}
    for f in ("pareto.json", "pareto.csv", "pareto.png"):
        assert (tmp_path / "out" / f).stat().st_size > 0


def test_an_evaluation_without_student_rows_is_refused(tmp_path):
    _summary(tmp_path, ["rgb", "gff"])
    with pytest.raises(ConfigError, match="no fusionproxy rows"):
        pareto.read_scores(tmp_path)
