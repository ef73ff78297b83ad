"""Policy data collection and training, end to end on a tiny dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.policy_data import Episode, collect_episode, seg_target
from harness.errors import ConfigError
from harness.semantics import Sem


def test_seg_target_keeps_small_pedestrians():
    sem = np.full((4, 6), int(Sem.ROAD), np.uint8)
    sem[0, 0] = Sem.PEDESTRIAN  # one pixel in a block of car pixels
    sem[0:2, 1] = Sem.CAR
    sem[2:4, 2:4] = Sem.TRUCK
    assert seg_target(sem).tolist() == [[2, 0, 0], [0, 1, 0]]


def test_collect_and_train_tiny(gl_ok, tmp_path):
    from agents.rgb_policy.agent import load_perception
    from distill.train_policy import TrainConfig, train

    data = tmp_path / "data"
    ep = Episode("town01", "0", "clear", 5)
    shard = collect_episode(ep, data / "train", every=5, max_steps=40)
    collect_episode(Episode("town01", "9", "cloudy", 6), data / "val", every=5, max_steps=20)
    with np.load(shard) as z:
        assert z["rgb"].shape[1:] == (160, 320, 3) and z["seg"].shape[1:] == (80, 160)
        assert len(z["rgb"]) == len(z["seg"]) == len(z["light_m"]) > 0
    mtime = shard.stat().st_mtime_ns
    assert collect_episode(ep, data / "train", every=5, max_steps=40).stat().st_mtime_ns == mtime  # not redone
    out = tmp_path / "weights"
    result = train(TrainConfig(data=str(data), epochs=1, batch=2, threads=1), out, progress=False)
    assert set(result["validation"]) >= {"iou_vehicle", "iou_pedestrian", "recall_pedestrian", "light_frames"}
    net, meta = load_perception(out)
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("command", "config", "seed", "commit", "data", "validation", "weights_bytes"):
        assert key in manifest
    assert manifest["data"]["train_frames"] == result["train_frames"]
    assert meta["val"] == manifest["validation"]


def test_missing_data_and_weights_say_how_to_make_them(tmp_path):
    from agents.rgb_policy.agent import load_perception
    from distill.train_policy import TrainConfig, train

    with pytest.raises(ConfigError, match="collect-policy-data"):
        train(TrainConfig(data=str(tmp_path)), tmp_path / "w", progress=False)
    with pytest.raises(ConfigError, match="train-policy"):
        load_perception(tmp_path / "nothing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a perception checkpoint"):
        load_perception(bad)
