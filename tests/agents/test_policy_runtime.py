"""The policy's perception network under ONNX Runtime gives torch's outputs: the same masks, light
maps to 1e-5 and the same stop decisions, on frames the embedded world renders by day, in fog and at
night in fog."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.rgb_policy.agent import RGBPolicyAgent
from agents.rgb_policy.model import fold_batch_norm, load_perception
from agents.rgb_policy.model import decide_stop
from agents.rgb_policy.runtime import ENV, OnnxRunner, TorchRunner, default_runtime, make_runner
from harness.errors import ConfigError


def _reference(net, rgb: np.ndarray):
    """What the agent computed before the runtimes existed: torch, float input, argmax, softmax."""
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float().div_(255.0)
        seg, lights = net(x)
        return seg[0].argmax(0).to(torch.uint8).numpy(), torch.softmax(lights[0], 0).numpy()


@pytest.fixture(scope="module")
def frames(lane_kept_frames):
    return [f.rgb for weather in ("clear", "fog", "night_fog") for f in lane_kept_frames(weather, 120, 30)]


def test_onnx_runtime_matches_torch_on_rendered_frames(frames):
    net = fold_batch_norm(load_perception(None)[0])
    onnx, torch_run = make_runner(net, "onnx"), make_runner(net, "torch")
    assert isinstance(onnx, OnnxRunner) and isinstance(torch_run, TorchRunner)
    for rgb in frames:
        ref_mask, ref_maps = _reference(net, rgb)
        for run in (onnx, torch_run):
            mask, maps = run(rgb)
            assert mask.dtype == np.uint8 and mask.shape == ref_mask.shape == (80, 160)
            assert maps.dtype == np.float32 and maps.shape == ref_maps.shape
            np.testing.assert_array_equal(mask, ref_mask)
            np.testing.assert_allclose(maps, ref_maps, atol=1e-5)
            assert decide_stop(maps[1].max(), maps[2].max()) == pytest.approx(
                decide_stop(ref_maps[1].max(), ref_maps[2].max()), abs=1e-5)


def test_the_agent_runs_onnx_by_default_and_torch_when_asked(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert default_runtime() == "onnx"
    assert RGBPolicyAgent().runner.runtime == "onnx"
    monkeypatch.setenv(ENV, "torch")
    assert RGBPolicyAgent().runner.runtime == "torch"
    monkeypatch.setenv(ENV, "tensorrt")
    with pytest.raises(ConfigError, match=f"{ENV} must be one of onnx, torch, got 'tensorrt'"):
        RGBPolicyAgent()


def test_export_happens_once_per_process_and_weights(monkeypatch):
    from agents.rgb_policy import runtime

    net = fold_batch_norm(load_perception(None)[0])
    make_runner(net, "onnx")
    calls = []
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: calls.append(1))
    make_runner(net, "onnx")  # a second route on the same worker
    assert calls == []
    assert len(runtime._EXPORTED) >= 1
