"""The perception probe: its figures on hand-made masks, and a run on a small scenario with its cache."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusion.perception import balanced_accuracy, probe, scores
from harness.errors import ConfigError


def test_scores_on_hand_made_masks():
    seg = np.zeros((1, 4, 4), np.uint8)
    seg[0, 0, :2] = 1  # two vehicle cells
    seg[0, 3, 3] = 2  # one pedestrian cell
    mask = np.zeros_like(seg)
    mask[0, 0, 0] = 1  # one of the two vehicle cells
    mask[0, 2, 2] = 1  # a phantom vehicle
    mask[0, 3, 3] = 2  # the pedestrian
    stop = np.array([0.9])
    s = scores(mask, stop, seg, np.array([0], np.uint8))  # own lamp red and in view: stop is right
    assert s["vehicle_iou"] == pytest.approx(1 / 3, abs=1e-4)  # (rounded to 4 places) 1 shared of {two true, one phantom}
    assert s["pedestrian_iou"] == 1.0 and s["pedestrian_recall"] == 1.0
    assert s["phantom_rate"] == pytest.approx(1 / 13, abs=1e-5)  # 1 of the 13 cells with neither
    assert s["light_acc"] == 1.0 and s["light_frames"] == 1 and s["n_frames"] == 1
    assert s["light_bal_acc"] == 1.0 and s["light_stop_share"] == 1.0
    s = scores(mask, np.array([0.2]), seg, np.array([255], np.uint8))  # no own lamp in view
    assert math.isnan(s["light_acc"]) and math.isnan(s["light_bal_acc"]) and s["light_frames"] == 0


def test_balanced_light_accuracy_sees_through_a_bias():
    # four red lamps and one green in view: "always stop" is right 4 times in 5 but knows nothing
    seg = np.zeros((5, 4, 4), np.uint8)
    states = np.array([0, 0, 0, 0, 2], np.uint8)
    always_stop = scores(seg, np.full(5, 0.9), seg, states)
    assert always_stop["light_acc"] == 0.8 and always_stop["light_bal_acc"] == 0.5
    assert always_stop["light_stop_share"] == 0.8
    always_go = scores(seg, np.full(5, 0.1), seg, states)
    assert always_go["light_acc"] == 0.2 and always_go["light_bal_acc"] == 0.5
    one_miss = scores(seg, np.array([0.9, 0.9, 0.9, 0.1, 0.1]), seg, states)  # 3 of 4 stops, the go right
    assert one_miss["light_bal_acc"] == pytest.approx((0.75 + 1.0) / 2)
    assert balanced_accuracy(np.array([True]), np.array([True])) == 1.0  # one class present: its accuracy


def test_probe_on_a_small_scenario_reuses_its_frames(eval_scenario, tmp_path):
    first = probe(eval_scenario, ["rgb", "oracle_clean"], frames=6, every=5, out=tmp_path / "out",
                  cache=tmp_path / "cache", progress=False)
    v = first["variants"]
    assert set(v) == {"rgb", "oracle_clean"} and v["rgb"]["n_frames"] == 6
    for figures in v.values():
        for k in ("vehicle_iou", "pedestrian_iou", "pedestrian_recall", "phantom_rate", "light_acc",
                  "light_bal_acc", "light_stop_share"):
            assert k in figures and (math.isnan(figures[k]) or 0.0 <= figures[k] <= 1.0)
    assert (tmp_path / "out" / "probe_rgb.jpg").stat().st_size > 1000
    cached = list((tmp_path / "cache").iterdir())
    mtime = cached[0].stat().st_mtime_ns
    second = probe(eval_scenario, ["thermal"], frames=6, every=5, cache=tmp_path / "cache", progress=False)
    assert second["frames_file"] == first["frames_file"] and cached[0].stat().st_mtime_ns == mtime
    with pytest.raises(ConfigError, match="unknown fusion variant"):
        probe(eval_scenario, ["rgb", "gfff"], frames=6, every=5, cache=tmp_path / "cache", progress=False)
