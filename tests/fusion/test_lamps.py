"""Lamp pass-through (fusion.lamps, ``fusionproxy:lamps=camera``, ``teacher:lamps=camera``): which camera
pixels count as a lit lamp, what is pasted, that every other pixel stays the student's (the teacher mean's),
and that the variants export and fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.lamps import keep_camera_lamps, lamp_mask
from fusion.registry import check_variant, get_variant
from fusion.runtimes import OnnxFuser, export_onnx
from harness.errors import ConfigError


def _scene(h: int = 40, w: int = 60) -> torch.Tensor:
    """A dim, grey, foggy camera frame with four bright pixels: a red lamp and a white head lamp above the
    horizon, a yellow road line below it, and a dim red patch above it."""
    rgb = torch.full((1, 3, h, w), 0.3)
    rgb[0, :, 5, 10] = torch.tensor([0.9, 0.4, 0.35])  # lit red lamp through fog: chroma 0.55
    rgb[0, :, 6, 30] = torch.tensor([0.95, 0.93, 0.9])  # head lamp: bright, chroma 0.05
    rgb[0, :, 35, 20] = torch.tensor([0.9, 0.8, 0.2])  # yellow road line in the beam, below the horizon
    rgb[0, :, 8, 50] = torch.tensor([0.35, 0.05, 0.05])  # dim red: chroma 0.3, brightest channel 0.35
    return rgb


def test_the_mask_takes_bright_coloured_pixels_above_the_horizon_only():
    mask = lamp_mask(_scene())[0, 0]
    assert mask.shape == (40, 60) and mask.dtype == torch.bool
    assert bool(mask[5, 10]) and int(mask.sum()) == 1
    # the rules' three knobs each let one more of them through
    assert bool(lamp_mask(_scene(), chroma=0.01)[0, 0, 6, 30])
    assert bool(lamp_mask(_scene(), rows=1.0)[0, 0, 35, 20])
    assert bool(lamp_mask(_scene(), bright=0.3)[0, 0, 8, 50])


def test_the_lamp_is_pasted_at_full_saturation_and_nothing_else_changes():
    rgb = _scene()
    fused = torch.rand(1, 3, 40, 60)
    out = keep_camera_lamps(rgb, fused)
    assert torch.allclose(out[0, :, 5, 10], torch.tensor([1.0, 0.09090909, 0.0]), atol=1e-6)  # (x - min) / (max - min)
    keep = ~lamp_mask(rgb)[0, 0]
    assert torch.equal(out[0][:, keep], fused[0][:, keep])
    half = keep_camera_lamps(rgb.half(), fused.half())
    assert half.dtype == torch.float16 and float((half.float() - out).abs().max()) < 2e-3


@pytest.mark.parametrize("rows", [0.5, 0.3, 0.001, 1.0])
@pytest.mark.parametrize("h", [40, 41, 7])
def test_working_on_the_top_rows_only_changes_nothing(rows, h):
    """The paste is computed on the top rows only: the same image as the rule over the whole frame."""
    torch.manual_seed(h)
    rgb, fused = torch.rand(2, 3, h, 9), torch.rand(2, 3, h, 9)
    hi, lo = rgb.amax(1, keepdim=True), rgb.amin(1, keepdim=True)
    whole = torch.where(lamp_mask(rgb, 0.3, 0.4, rows), (rgb - lo) / (hi - lo).clamp_min(1e-6), fused)
    assert torch.equal(keep_camera_lamps(rgb, fused, 0.3, 0.4, rows), whole)


def test_the_variant_pastes_over_the_students_own_image_and_exports(tmp_path):
    plain = get_variant("fusionproxy").build()
    lamps = check_variant("fusionproxy:lamps=camera")
    assert lamps.name == "fusionproxy:lamps=camera" and lamps.flops(320, 160) > get_variant("fusionproxy").flops(320, 160)
    rgb, th = _scene(), torch.rand(1, 1, 40, 60)
    with torch.no_grad():
        base, out = plain(rgb, th), lamps.build()(rgb, th)
    diff = (out - base).abs().amax(dim=1)[0]
    assert float(diff[5, 10]) > 0.05 and float(diff.flatten().topk(2).values[1]) == 0.0  # the lamp pixel only
    module = lamps._make()
    fuser = OnnxFuser(export_onnx(module, tmp_path / "lamps.onnx"), torch.device("cpu"))
    np.testing.assert_allclose(fuser(rgb, th).numpy(), out.numpy(), atol=1e-5)
    odd = torch.rand(1, 3, 41, 60), torch.rand(1, 1, 41, 60)  # an odd height: the top-rows slice follows the size
    with torch.no_grad():
        np.testing.assert_allclose(fuser(*odd).numpy(), module(*odd).numpy(), atol=1e-5)


def test_the_teacher_takes_the_same_rule_over_its_mean():
    """``teacher:lamps=camera``: the same generator gives the same mean, changed at the lamp pixel only."""
    plain = get_variant("teacher:k=2,steps=1").build()
    lamps = check_variant("teacher:k=2,steps=1,lamps=camera")
    assert lamps.name == "teacher:k=2,lamps=camera,steps=1" and check_variant("teacher:lamps=teacher").name == "teacher"
    rgb, th = _scene(), torch.rand(1, 1, 40, 60)
    with torch.no_grad():
        base = plain(rgb, th, generator=torch.Generator().manual_seed(3))
        out = lamps.build()(rgb, th, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(out[0, :, 5, 10], torch.tensor([1.0, 0.09090909, 0.0]), atol=1e-6)
    keep = ~lamp_mask(rgb)[0, 0]
    assert torch.equal(out[0][:, keep], base[0][:, keep])


@pytest.mark.parametrize("name, fragment", [
    ("fusionproxy:lamps=on", "lamps must be one of student, camera"),
    ("fusionproxy:lamp_chroma=0.3", "fusionproxy: lamp_chroma, lamp_bright and lamp_rows apply with lamps=camera only"),
    ("fusionproxy:lamps=camera,lamp_rows=0", "lamp_rows must be a float in (0, 1]"),
    ("teacher:lamps=student", "lamps must be one of teacher, camera"),
    ("teacher:lamp_bright=0.5", "teacher: lamp_chroma, lamp_bright and lamp_rows apply with lamps=camera only"),
])
def test_bad_lamp_parameters_fail_before_any_route_in_one_line(name, fragment):
    with pytest.raises(ConfigError) as err:
        check_variant(name)
    assert fragment in str(err.value) and "\n" not in str(err.value)
