"""The frozen RGB policy with its committed weights, in the embedded world."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.rgb_policy.agent import RGBPolicyAgent
from agents.rgb_policy.model import WEIGHTS_DIR


def test_committed_weights_have_a_manifest():
    manifest = json.loads((WEIGHTS_DIR / "manifest.json").read_text())
    for key in ("command", "config", "seed", "commit", "data", "validation"):
        assert key in manifest
    assert (WEIGHTS_DIR / "perception.pt").stat().st_size == manifest["weights_bytes"] < 5_000_000
    assert manifest["validation"]["recall_pedestrian"] > 0.5 and manifest["validation"]["iou_vehicle"] > 0.5


def test_agent_declares_a_sensors_track_suite():
    types = sorted(s["type"] for s in RGBPolicyAgent().sensors())
    assert types == ["sensor.camera.rgb", "sensor.other.gnss", "sensor.other.imu", "sensor.speedometer"]


@pytest.mark.slow  # renders and reads 40 frames per weather (~20 s)
def test_sees_cars_by_day_and_loses_them_at_night_in_fog(lane_kept_frames):
    """The perception network finds the vehicles the ground truth shows in a clear-day frame; in the
    same view at night in fog its vehicle mask is mostly wrong (what fusion has to restore). Scored
    by IoU, as recall alone flatters the night: the network marks thousands of cells of dark road as
    vehicle (see results/reference/phantoms), and some of those land on real cars."""
    agent = RGBPolicyAgent()
    recall, iou, phantoms = {}, {}, {}
    for weather in ("clear", "night_fog"):
        hits, total, false = 0, 0, 0
        for frame in lane_kept_frames(weather, 240, 40, privileged=True):
            gt = np.isin(frame.privileged.semantic[1::2, 1::2], (14, 15, 16))
            pred = agent.perceive(frame.rgb).mask == 1
            hits += int((gt & pred).sum())
            total += int(gt.sum())
            false += int((pred & ~gt).sum())
        assert total > 200, "the test route should show vehicles"
        recall[weather], iou[weather], phantoms[weather] = hits / total, hits / (total + false), false / 6
    assert recall["clear"] > 0.8 and iou["clear"] > 0.8 and phantoms["clear"] < 100
    assert iou["night_fog"] < 0.5 * iou["clear"], (recall, iou)
    assert phantoms["night_fog"] > 10 * phantoms["clear"]


def test_policy_drives_a_route_start(gl_ok, small_scenario):
    from harness.backends.embedded import EmbeddedBackend
    from harness.runner.episode import run_episode

    with EmbeddedBackend(small_scenario, privileged=False) as be:
        res = run_episode(be, RGBPolicyAgent(), be.route_ids[0], seed=0, max_steps=120)
    assert res.score.RC > 1.0  # it moves along the route
    assert res.score.counts()["collisions_layout"] == 0


def test_run_step_before_plan_is_an_ordering_error():
    from harness.errors import WrongOrderError

    with pytest.raises(WrongOrderError, match="set_global_plan"):
        RGBPolicyAgent().run_step({}, 0.0)
