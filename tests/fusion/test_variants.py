"""One contract test over every registered variant: shape, range, dtype, device, batch, threads,
the function equals the module, CUDA where available. A new variant is held to it by registering it."""

from __future__ import annotations

import pytest
import torch

from fusion.classical.gff import gff
from fusion.classical.laplacian import laplacian_fusion
from fusion.classical.luma_average import luma_average
from fusion.classical.rgb_enhance import rgb_enhance
from fusion.registry import VARIANTS, describe, get_variant
from fusion.trivial import rgb_only, thermal_only

# the pure function behind each registered module (kornia's habit: the work in a function, the module a shell)
FUNCTIONS = {"rgb": rgb_only, "thermal": thermal_only, "gff": gff, "laplacian": laplacian_fusion,
             "luma_average": luma_average, "rgb_enhance": rgb_enhance}
MODULES = [name for name, v in VARIANTS.items() if v.is_module]


def _pair(b: int = 2, h: int = 37, w: int = 53, device: str = "cpu"):
    g = torch.Generator().manual_seed(7)
    rgb = torch.rand(b, 3, h, w, generator=g)
    thermal = torch.rand(b, 1, h, w, generator=g)
    return rgb.to(device), thermal.to(device)


def test_every_module_variant_names_its_function():
    assert set(MODULES) <= set(FUNCTIONS), "register the pure function of a new variant in FUNCTIONS above"


@pytest.mark.parametrize("name", MODULES)
def test_contract(name):
    fuser = get_variant(name).build()
    rgb, thermal = _pair()
    out = fuser(rgb, thermal)
    assert out.shape == (2, 3, 37, 53) and out.dtype == torch.float32 and out.device == rgb.device
    assert torch.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    one = fuser(rgb[1:], thermal[1:])
    torch.testing.assert_close(out[1:], one, rtol=0, atol=1e-6, msg="a batch equals its items")
    with torch.inference_mode():
        torch.testing.assert_close(FUNCTIONS[name](rgb, thermal), out, rtol=0, atol=1e-6, msg="function == module")


@pytest.mark.parametrize("name", MODULES)
def test_the_thread_count_does_not_change_the_output(name):
    """Workers give fusion modules the cores they have (1 on a busy 2-core machine, more elsewhere);
    the paired design needs the same image whatever the count."""
    fuser = get_variant(name).build()
    rgb, thermal = _pair(1, 160, 320)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fuser(rgb, thermal)
        torch.set_num_threads(2)
        two = fuser(rgb, thermal)
    finally:
        torch.set_num_threads(before)
    assert torch.equal((one * 255).round(), (two * 255).round())


@pytest.mark.parametrize("name", MODULES)
def test_fp16_and_bf16_give_the_image_within_a_few_levels(name):
    """Inputs rounded to 16 bits move a pixel by under a level; where an op selects between the
    sources (laplacian's max-abs details) a near-tie can flip, so single pixels may differ more."""
    rgb, thermal = _pair(1, 40, 64)
    ref = get_variant(name).build()(rgb, thermal)
    for precision in ("fp16", "bf16"):
        out = get_variant(name).build(precision=precision)(rgb, thermal)
        err = (out - ref).abs().flatten()
        assert out.dtype == torch.float32, precision
        assert err.mean() < 1 / 255 and err.quantile(0.99) < 4 / 255, (precision, err.mean() * 255, err.max() * 255)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_declares_what_it_needs_and_costs(name):
    v = VARIANTS[name]
    d = describe(v)
    assert d["parameters"] >= 0
    if v.is_module:
        flops = v.flops(320, 160)
        assert flops == "iterative" or (isinstance(flops, int) and flops >= 0)
    assert v.name == name and get_variant(name) is v


@pytest.mark.gpu
@pytest.mark.parametrize("name", MODULES)
def test_on_cuda_the_output_matches_the_cpu(name):
    rgb, thermal = _pair(device="cuda")
    out = get_variant(name).build(device="cuda")(rgb, thermal)
    assert out.device.type == "cuda"
    ref = get_variant(name).build()(rgb.cpu(), thermal.cpu())
    assert (out.cpu() - ref).abs().max() < 2 / 255
