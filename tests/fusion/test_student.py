"""The FusionProxy student network: any input size, output in [0, 1], sizes ordered by cost, FP16,
and ONNX Runtime agreeing with torch at sizes other than the export's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.runtimes import OnnxFuser, export_onnx
from fusion.student.model import SIZES, StudentConfig, StudentNet, macs, parameter_count


@pytest.mark.parametrize("hw", [(160, 320), (37, 53), (16, 16), (512, 640)])
def test_any_size_in_range(hw):
    torch.manual_seed(0)
    net = StudentNet(SIZES["xs"]).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, *hw), torch.rand(2, 1, *hw))
    assert out.shape == (2, 3, *hw)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_sizes_ordered_by_cost():
    costs = [macs(cfg, 160, 320) for cfg in SIZES.values()]
    params = [parameter_count(StudentNet(cfg)) for cfg in SIZES.values()]
    assert costs == sorted(costs) and len(set(costs)) == len(costs)
    assert params == sorted(params)
    assert StudentConfig.from_dict(SIZES["m"].to_dict()) == SIZES["m"]


def test_a_fresh_student_is_close_to_its_pointwise_path():
    """Every residual block starts as the identity, so training starts from a smooth, simple map."""
    net = StudentNet(SIZES["s"])
    for name, p in net.named_parameters():
        if name.endswith("pw2.weight"):
            assert float(p.detach().abs().max()) == 0


def test_fp16_close_to_fp32():
    torch.manual_seed(1)
    net = StudentNet(SIZES["s"]).eval()
    rgb, th = torch.rand(1, 3, 64, 96), torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        ref = net(rgb, th)
        half = net.half()(rgb.half(), th.half()).float()
    assert float((half - ref).abs().max()) < 1e-2


def test_onnx_runtime_matches_torch(tmp_path):
    torch.manual_seed(2)
    net = StudentNet(SIZES["s"]).eval()
    path = export_onnx(net, tmp_path / "s.onnx")
    fuser = OnnxFuser(path, torch.device("cpu"))
    for hw in [(160, 320), (50, 70)]:
        rgb, th = torch.rand(2, 3, *hw), torch.rand(2, 1, *hw)
        with torch.no_grad():
            ref = net(rgb, th)
        np.testing.assert_allclose(fuser(rgb, th).numpy(), ref.numpy(), atol=1e-5)


def test_export_torchscript_and_onnx_agree_with_torch(tmp_path):
    import json

    from distill.export import export

    torch.manual_seed(3)
    net = StudentNet(SIZES["xs"])
    torch.save({"model": net.state_dict(), "config": json.dumps(SIZES["xs"].to_dict())}, tmp_path / "w.pt")
    rep = export(tmp_path / "w.pt", tmp_path / "out", "x")
    assert rep["torchscript"]["max_abs_diff_vs_torch"] < 1e-5 and rep["onnx"]["max_abs_diff_vs_torch"] < 1e-5
    ts = torch.jit.load(str(tmp_path / "out" / "x.ts"))
    rgb, th = torch.rand(1, 3, 48, 80), torch.rand(1, 1, 48, 80)  # not the traced size
    with torch.no_grad():
        torch.testing.assert_close(ts(rgb, th), net.eval()(rgb, th))
    assert json.loads((tmp_path / "out" / "export.json").read_text())["onnx"]["path"].endswith("x.onnx")


def _gated(size: str = "s") -> StudentNet:
    from dataclasses import replace

    return StudentNet(replace(SIZES[size], rgb_gate=True))


def test_the_gated_student_starts_nearly_shut_and_keeps_its_sizes_and_range():
    torch.manual_seed(4)
    net, plain = _gated().eval(), StudentNet(SIZES["s"]).eval()
    state = net.state_dict()  # the same network without the gate: the head's first three outputs
    plain.load_state_dict(state | {"head.weight": state["head.weight"][:, :3], "head.bias": state["head.bias"][:3]})
    for hw in [(160, 320), (37, 53)]:
        rgb, th = torch.rand(1, 3, *hw), torch.rand(1, 1, *hw)
        with torch.no_grad():
            out, ref = net(rgb, th), plain(rgb, th)
        assert out.shape == (1, 3, *hw) and float(out.min()) >= 0 and float(out.max()) <= 1
        # the gate is sigmoid(-4 + small) at start: the camera adds at most ~0.02 * 2 to the logits
        assert 1e-4 < float((out - ref).abs().max()) < 0.03
    cfg = net.cfg
    assert StudentConfig.from_dict(cfg.to_dict()) == cfg and cfg.rgb_gate
    assert StudentConfig.from_dict({"width": 16, "blocks": [1, 2, 2]}).rgb_gate is False  # older checkpoints
    assert macs(cfg, 160, 320) > macs(SIZES["s"], 160, 320)


def test_an_open_gate_passes_a_one_pixel_lamp_the_grid_cannot_carry():
    """With the gate opened and the rest of the head silenced, a lit pixel of the camera reaches the output
    at its own place, one pixel wide; the plain student's 4x4 head gives the whole cell one map."""
    net = _gated().eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias[:3].zero_()
        net.head.bias[3:].fill_(8.0)  # gate open
    rgb = torch.full((1, 3, 32, 32), 0.2)
    rgb[0, 0, 13, 17] = 1.0  # one red pixel
    with torch.no_grad():
        out = net(rgb, torch.rand(1, 1, 32, 32))
    red = out[0, 0]
    assert float(red[13, 17]) > 0.85 and float(red[13, 18]) < 0.25 and float(red[12, 17]) < 0.25


def test_the_gated_student_exports_to_onnx(tmp_path):
    torch.manual_seed(5)
    net = _gated("xs").eval()
    with torch.no_grad():
        net.head.bias[3:].fill_(0.0)  # half open, so the camera's path matters
    fuser = OnnxFuser(export_onnx(net, tmp_path / "g.onnx"), torch.device("cpu"))
    rgb, th = torch.rand(1, 3, 50, 70), torch.rand(1, 1, 50, 70)
    with torch.no_grad():
        ref = net(rgb, th)
    np.testing.assert_allclose(fuser(rgb, th).numpy(), ref.numpy(), atol=1e-5)


def test_bench_channels_last_times_the_same_image_and_says_so():
    """``fusion bench --channels-last``: the NHWC module computes the plain module's image (the figures
    carry the difference), and the figures name the memory format."""
    from fusion.bench import bench

    r = bench("fusionproxy:size=xs", 64, 48, repeats=3, warmup=1, threads=1, channels_last=True)
    assert r["channels_last"] is True and r["compile"] is None
    assert r["max_abs_diff_vs_eager"] is not None and r["max_abs_diff_vs_eager"] < 1e-5
    plain = bench("fusionproxy:size=xs", 64, 48, repeats=3, warmup=1, threads=1)
    assert plain["max_abs_diff_vs_eager"] is None and plain["channels_last"] is False


@pytest.mark.slow
def test_bench_compiled_student_matches_the_plain_one():
    """``fusion bench --compile default`` (inductor on the CPU: tens of seconds to compile): the compiled
    module's output is the plain module's to float rounding, and the figures name the mode."""
    from fusion.bench import bench

    r = bench("fusionproxy:size=xs", 64, 48, repeats=3, warmup=1, threads=1, compile_mode="default")
    assert r["compile"] == "default" and r["max_abs_diff_vs_eager"] < 1e-4 and r["fps"] > 0
