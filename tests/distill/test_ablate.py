"""``distill ablate`` on the tiny synthetic dataset: every ablation trains with its one change, is
exported and probed, and the table, CSV and plot are written. The probe is replaced by one that
reads the exported ONNX model's output (so a broken export would show), not by fixed figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from distill import ablate
from distill.train_student import StudentTrainConfig
from harness.errors import ConfigError
from tests.distill.test_train_student import setup  # noqa: F401 (fixture)


def _fake_probe(scenario, variants, frames=200, progress=True, **kw):
    from fusion.registry import get_variant

    fuser = get_variant(variants[0]).build()
    g = torch.Generator().manual_seed(len(scenario))
    out = fuser(torch.rand(1, 3, 32, 48, generator=g), torch.rand(1, 1, 32, 48, generator=g))
    v = float(out.mean())
    return {"variants": {variants[0]: {"vehicle_iou": v, "pedestrian_iou": v / 2, "pedestrian_recall": v,
                                       "phantom_rate": 0.0, "light_acc": 1.0, "light_bal_acc": 1.0,
                                       "n_frames": frames}}}


def _fake_frames(scenario, frames=200, every=10, cache=None, progress=True):
    from pathlib import Path

    return Path(f"{scenario}-{frames}.npz")


def test_ablate_trains_exports_and_tabulates(setup, tmp_path, monkeypatch):  # noqa: F811
    import fusion.perception

    monkeypatch.setattr(fusion.perception, "probe", _fake_probe)
    monkeypatch.setattr(fusion.perception, "collect_frames", _fake_frames)
    data, cache = setup
    base = StudentTrainConfig(data=str(data), cache=str(cache), size="xs", steps=2, batch=2, crop_h=16, crop_w=32,
                              warmup=1, threads=1, backbone="policy", val_frames=2)
    names = ["full", "pixel_only", "k1", "tau_0.25", "direct"]
    table = ablate.run(base, tmp_path / "abl", names, scenarios=("a", "bb"), frames=5, progress=False, drive="")
    assert list(table["ablations"]) == names
    for n in names:
        assert (tmp_path / "abl" / n / "student.onnx").is_file()
        man = json.loads((tmp_path / "abl" / n / "manifest.json").read_text())
        row = table["ablations"][n]
        assert set(row) >= {"a", "bb", "validation"} and 0 < row["a"]["headline"] < 1
        if n == "tau_0.25":
            assert man["config"]["tau"] == 0.25
        if n == "direct":
            assert man["config"]["target"] == "clean"
        if n == "k1":  # its own cache, of one sample: no variance anywhere
            assert man["cache_manifest"]["config"]["k"] == 1
            from distill.ensemble_cache import load

            k1 = load(man["config"]["cache"], "train", "policy")
            assert float(np.abs(k1["pixel_var"]).max()) == 0 and all(float(f.max()) == 0 for f in k1["fvar"])
    csv = (tmp_path / "abl" / "ablations.csv").read_text().splitlines()
    assert len(csv) == 1 + len(names) * 2
    import pandas as pd

    df = pd.read_csv(tmp_path / "abl" / "ablations.csv")
    for n in names:  # the training's own validation figures beside the probe's, from its manifest
        man = json.loads((tmp_path / "abl" / n / "manifest.json").read_text())
        assert (df[df.ablation == n].val_psnr_clean == man["validation"]["val_psnr_clean"]).all()
    assert (tmp_path / "abl" / "ablations.png").stat().st_size > 5000
    with pytest.raises(ConfigError, match="unknown ablation"):
        ablate.run(base, tmp_path / "abl", ["nope"], progress=False, drive="")


def test_rerun_reuses_the_probe_until_what_decides_it_changes(setup, tmp_path, monkeypatch):  # noqa: F811
    """A finished ablation rerun (to add a scenario, or to assemble a table) is not probed again; new
    weights, another frame count or another frames file are."""
    import fusion.perception

    calls = []
    monkeypatch.setattr(fusion.perception, "probe", lambda s, v, **kw: calls.append(s) or _fake_probe(s, v, **kw))
    monkeypatch.setattr(fusion.perception, "collect_frames", _fake_frames)
    data, cache = setup
    base = StudentTrainConfig(data=str(data), cache=str(cache), size="xs", steps=2, batch=2, crop_h=16, crop_w=32,
                              warmup=1, threads=1, backbone="policy", val_frames=2)
    first = ablate.run(base, tmp_path / "abl", ["full"], scenarios=("a",), frames=5, progress=False, drive="")
    assert calls == ["a"]
    again = ablate.run(base, tmp_path / "abl", ["full"], scenarios=("a", "bb"), frames=5, progress=False, drive="")
    assert calls == ["a", "bb"] and again["ablations"]["full"]["a"] == first["ablations"]["full"]["a"]
    ablate.run(base, tmp_path / "abl", ["full"], scenarios=("a",), frames=6, progress=False, drive="")
    assert calls == ["a", "bb", "a"]
    monkeypatch.setattr(fusion.perception, "collect_frames", lambda s, f, **kw: _fake_frames(s + "-rerendered", f))
    ablate.run(base, tmp_path / "abl", ["full"], scenarios=("a",), frames=6, progress=False, drive="")
    assert calls == ["a", "bb", "a", "a"]
    (tmp_path / "abl" / "full" / "ckpt.pt").unlink()  # trained again from scratch, another seed: other weights
    reseeded = StudentTrainConfig(**{**base.to_dict(), "seed": 1})
    ablate.run(reseeded, tmp_path / "abl", ["full"], scenarios=("a",), frames=6, progress=False, drive="")
    assert calls == ["a", "bb", "a", "a", "a"]
    with pytest.raises(ConfigError, match="jobs"):
        ablate.run(base, tmp_path / "abl", ["full"], progress=False, drive="", jobs=0)
    # a closed loop's --drive-reuse folder is checked before anything trains
    with pytest.raises(ConfigError, match="no such folder"):
        ablate.run(reseeded, tmp_path / "abl2", ["full"], scenarios=("a",), frames=6, progress=False, drive="x",
                   drive_reuse=(str(tmp_path / "nowhere"),))
    assert calls == ["a", "bb", "a", "a", "a"] and not (tmp_path / "abl2").exists()


@pytest.mark.slow
def test_parallel_jobs_give_the_sequential_table(setup, tmp_path, eval_scenario):  # noqa: F811
    """``jobs=2``: each ablation trained, exported and probed (the real probe, on frames of a small
    scenario) in its own process gives the same row, figure for figure, as one after another."""
    data, cache = setup
    base = StudentTrainConfig(data=str(data), cache=str(cache), size="xs", steps=2, batch=2, crop_h=16, crop_w=32,
                              warmup=1, threads=1, backbone="policy", val_frames=2)
    kw = dict(scenarios=(eval_scenario,), frames=3, progress=False, drive="", frames_cache=tmp_path / "frames")
    seq = ablate.run(base, tmp_path / "seq", ["full", "pixel_only"], **kw)
    par = ablate.run(base, tmp_path / "par", ["full", "pixel_only"], jobs=2, **kw)
    for name in ("full", "pixel_only"):
        a, b = seq["ablations"][name], par["ablations"][name]
        assert a[eval_scenario] == b[eval_scenario] and a["validation"] == b["validation"]
        assert b[eval_scenario]["headline"] == ablate.headline(b[eval_scenario])
    kept = [json.loads((tmp_path / d / n / "probe.json").read_text())["weights_sha256"]
            for d in ("seq", "par") for n in ("full", "pixel_only")]
    assert kept[0] == kept[2] and kept[1] == kept[3] and kept[0] != kept[1]  # same weights either way; two recipes


@pytest.mark.slow
def test_ablations_drive_paired_in_closed_loop(setup, tmp_path, monkeypatch, eval_scenario):  # noqa: F811
    """Each exported ablation drives the same routes and seeds as rgb and oracle_clean in one run; the
    table gets its DS and the paired difference to full, read from the run's own records."""
    import fusion.perception

    monkeypatch.setattr(fusion.perception, "probe", _fake_probe)
    monkeypatch.setattr(fusion.perception, "collect_frames", _fake_frames)
    data, cache = setup
    base = StudentTrainConfig(data=str(data), cache=str(cache), size="xs", steps=2, batch=2, crop_h=16, crop_w=32,
                              warmup=1, threads=1, backbone="policy", val_frames=2)
    table = ablate.run(base, tmp_path / "abl", ["full", "pixel_only"], scenarios=("a",), frames=5, progress=False,
                       drive=eval_scenario, drive_routes="0,1", drive_seeds=(0,), workers=1)
    cl = table["closed_loop"]
    assert cl["routes"] == ["0", "1"] and set(cl["references"]) == {"rgb", "oracle_clean"}
    summ = json.loads((tmp_path / "abl" / "closed_loop" / "summary.json").read_text())
    for name in ("full", "pixel_only"):
        drive = table["ablations"][name]["drive"]
        variant = f"onnx:{table['ablations'][name]['onnx']}"
        assert drive["DS"] == summ["variants"][variant]["DS"]
    vs = table["ablations"]["pixel_only"]["drive"]["vs_full"]
    assert vs["n_pairs"] == 2
    assert vs["mean_diff"] == pytest.approx(table["ablations"]["pixel_only"]["drive"]["DS"] - table["ablations"]["full"]["drive"]["DS"])
    assert "vs_full" not in table["ablations"]["full"]["drive"]
    csv = (tmp_path / "abl" / "ablations.csv").read_text().splitlines()
    assert csv[0].endswith("DS,DS_lo,DS_hi,DS_vs_full") and len(csv) == 3
