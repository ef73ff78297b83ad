"""The lamp-cue analysis (fusion.cues) on frames built by hand, read by a stand-in for the policy
network that stops for a red pixel and goes for a green one: the edits and swaps must tell a variant
that lacks the lamps from one that has them."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from fusion.cues import analyse, lamp_distance, table
from harness.semantics import Sem

RED, GREEN, GREY = (230, 40, 30), (40, 220, 60), (128, 128, 128)


class LampReader(nn.Module):
    """Says stop where the image holds a red pixel, go where it holds a green one, nothing else."""

    def forward(self, x: torch.Tensor):
        r, g, b = x[:, 0], x[:, 1], x[:, 2]
        red = (r - torch.maximum(g, b)).amax(dim=(1, 2))
        green = (g - torch.maximum(r, b)).amax(dim=(1, 2))
        lights = torch.stack([torch.zeros_like(red), 40 * (red - 0.4), 40 * (green - 0.4)], 1)[..., None, None]
        return torch.zeros(len(x), 3, x.shape[2] // 2, x.shape[3] // 2), lights


def frames(n_red: int = 2, n_green: int = 2, far: int = 1):
    """Grey 16x16 frames whose one traffic-light pixel is lit red or green in the clean image, 10 m away
    (the last ``far`` frames: 60 m), invisible in the camera image; one more frame shows no light."""
    n = n_red + n_green + 1
    clean = np.full((n, 16, 16, 3), GREY, np.uint8)
    semantic = np.zeros((n, 16, 16), np.uint8)
    depth = np.full((n, 16, 16), 100.0, np.float16)
    state = np.array([0] * n_red + [2] * n_green + [255], np.uint8)
    for i in range(n - 1):
        semantic[i, 3, 5] = Sem.TRAFFIC_LIGHT
        depth[i, 3, 5] = 60.0 if i >= n - 1 - far else 10.0
        clean[i, 3, 5] = RED if state[i] == 0 else GREEN
    rgb = np.full_like(clean, GREY)
    return {"rgb": rgb, "clean": clean, "semantic": semantic, "depth": depth, "light_state": state}


def test_lamp_distance_is_the_nearest_light_pixel_or_inf():
    d = frames()
    dist = lamp_distance(d["semantic"], d["depth"])
    assert list(dist[:3]) == [10.0, 10.0, 10.0] and dist[3] == 60.0 and math.isinf(dist[4])


def test_the_analysis_tells_a_module_without_lamps_from_one_with_them():
    d = frames()
    painter = d["clean"].copy()  # a module that gives the lamps back
    r = analyse(d, {"blind": d["rgb"].copy(), "painter": painter}, LampReader(), near=50.0)
    assert r["frames_near_stop"] == 2 and r["frames_near_go"] == 1  # the 60 m green frame is not near
    edits = r["clean_edits"]
    assert edits["as is"] == {"stop_on_stop": 1.0, "stop_on_go": 0.0}
    assert edits["lamps grey"]["stop_on_stop"] == 0.0  # this reader has no other cue
    assert edits["all grey"]["stop_on_stop"] == 0.0
    blind, painter = r["swaps"]["blind"], r["swaps"]["painter"]
    assert blind["as is"]["stop_on_stop"] == 0.0
    assert blind["clean lamps pasted in"] == {"stop_on_stop": 1.0, "stop_on_go": 0.0}  # the lamps are what it lacks
    assert blind["clean with its lamps"]["stop_on_stop"] == 0.0
    assert blind["clean top half"]["stop_on_stop"] == 1.0  # the lamp sits in the top half
    assert painter["as is"] == {"stop_on_stop": 1.0, "stop_on_go": 0.0}
    assert r["lamp_chroma"]["blind"] == 0.0 and r["lamp_chroma"]["clean"] > 0.6
    bins = r["by_distance"]
    assert bins["0-20 m"]["frames_stop"] == 2 and bins["0-20 m"]["frames_go"] == 1
    assert bins["50-80 m"]["frames_go"] == 1 and bins["50-80 m"]["clean"]["stop_on_go"] == 0.0
    assert math.isnan(bins["50-80 m"]["clean"]["stop_on_stop"])  # no stop frames there
    assert r["light_seen"]["clean"] == {"any": 1.0, "stop_cell": 1.0, "go_cell": 0.0}
    assert r["light_seen"]["blind"] == {"any": 0.0, "stop_cell": 0.0, "go_cell": 0.0}  # no head found: drives on
    text = table({"scenario": "toy", **r})
    assert "| `blind`, clean lamps pasted in | 1.00 / 0.00 |" in text and "blind 0.00 (0.00, 0.00)" in text
