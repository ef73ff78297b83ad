"""agents.rgb_policy.phantoms counts what a network marks that is not there."""

from __future__ import annotations

import numpy as np
import torch


class _BlockNet(torch.nn.Module):
    """Marks a vehicle block at the bottom centre of dark frames (mean < 0.3), nothing elsewhere."""

    def forward(self, x):
        b, _, h, w = x.shape
        logits = torch.zeros(b, 3, h // 2, w // 2)
        logits[:, 0] = 1.0
        dark = x.mean((1, 2, 3)) < 0.3
        logits[dark, 1, -10:, w // 4 - 8: w // 4 + 8] = 5.0
        lights = torch.zeros(b, 3, h // 8, w // 8)
        lights[:, 2] = 5.0  # reads every lamp as go
        return logits, lights


def test_phantom_cells_stops_and_recall(tmp_path, monkeypatch):
    from agents.rgb_policy import model
    from agents.rgb_policy import phantoms as mod

    monkeypatch.setattr(model, "load_perception", lambda path=None: (_BlockNet(), {}))
    n, h, w = 4, 160, 320
    seg = np.zeros((n, h // 2, w // 2), np.uint8)
    seg[:, 10:20, 0:20] = 2  # a true pedestrian, top left: the net misses it
    bright = np.full((n, h, w, 3), 200, np.uint8)
    dark = np.full((n, h, w, 3), 20, np.uint8)
    lamps = {"signal_state": np.array([0, 2, 255, 0], np.uint8),  # red in view, green in view, none, red out of view
             "lamp_uv": np.array([[10, 20], [30, 40], [np.nan, np.nan], [np.nan, np.nan]], np.float32)}
    np.savez(tmp_path / "day.npz", rgb=bright, seg=seg, **lamps)
    np.savez(tmp_path / "night.npz", rgb=dark, seg=seg, **lamps)
    res = mod.measure(None, {"clear_noon": [tmp_path / "day.npz"], "night": [tmp_path / "night.npz"]})
    day, night = res["clear_noon"], res["night"]
    assert day["frames"] == night["frames"] == n
    assert day["phantom_cells_per_frame"] == 0 and day["phantom_stops"] == 0
    assert night["phantom_cells_per_frame"] == 10 * 16, "the block, where the truth is background"
    assert night["phantom_stops"] == n, "a block straight ahead at the bottom of the image is an obstacle a few metres ahead"
    assert day["obstacle_recall"] == night["obstacle_recall"] == 0.0
    # darkened clear-noon frames (every 4th: one of the four) turn dark: 0.3x of 200 is under 0.3 of full scale
    assert day["phantom_cells_per_frame_darkened_0.3"] == 160
    assert day["phantom_cells_per_frame_darkened_0.5"] == 0
    # the perception probe's figures on the same frames: the lamps in view are one red, one green, all read go
    assert day["probe"]["light_frames"] == night["probe"]["light_frames"] == 2
    assert day["probe"]["light_acc"] == night["probe"]["light_acc"] == 0.5
    assert day["probe"]["phantom_rate"] == 0 and night["probe"]["phantom_rate"] > 0
    assert night["probe"]["pedestrian_recall"] == 0.0
