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
from fusion.student.proxy import DEFAULT_SIZE, load_student, weights_path
from fusion.teacher.sampler import DEFAULT_K, DEFAULT_STEPS, Teacher
from fusion.trivial import rgb_only, thermal_only


def teacher_mean(rgb, thermal, generator):
    return Teacher.load().sample(rgb, thermal, DEFAULT_K, DEFAULT_STEPS, generator).mean


def student(rgb, thermal):
    return load_student(weights_path(DEFAULT_SIZE))(rgb, thermal)


# the pure function behind each registered module (kornia's habit: the work in a function, the module a
# shell); a stochastic one takes the generator too
FUNCTIONS = {"rgb": rgb_only, "thermal": thermal_only, "gff": gff, "laplacian": laplacian_fusion,
             "luma_average": luma_average, "rgb_enhance": rgb_enhance, "teacher": teacher_mean,
             "fusionproxy": student}
MODULES = [name for name, v in VARIANTS.items() if v.is_module]


def _fuse(fuser, name, rgb, thermal, seed=0, function=False):
    """The variant's output; a stochastic variant draws its noise from a generator seeded ``seed``."""
    f = FUNCTIONS[name] if function else fuser
    if VARIANTS[name].stochastic:
        return f(rgb, thermal, generator=torch.Generator(rgb.device).manual_seed(seed))
    return f(rgb, thermal)


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
    out = _fuse(fuser, name, rgb, thermal)
    assert out.shape == (2, 3, 37, 53) and out.dtype == torch.float32 and out.device == rgb.device
    assert torch.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    if VARIANTS[name].stochastic:  # the noise is drawn per call: the same seed gives the same image
        torch.testing.assert_close(_fuse(fuser, name, rgb, thermal), out, rtol=0, atol=0)
        assert not torch.equal(_fuse(fuser, name, rgb, thermal, seed=1), out)
    else:
        one = fuser(rgb[1:], thermal[1:])
        torch.testing.assert_close(out[1:], one, rtol=0, atol=1e-6, msg="a batch equals its items")
    with torch.inference_mode():
        torch.testing.assert_close(_fuse(fuser, name, rgb, thermal, function=True), out, rtol=0, atol=1e-6,
                                   msg="function == module")


@pytest.mark.parametrize("name", MODULES)
def test_the_thread_count_does_not_change_the_output(name):
    """Workers give fusion modules the cores they have (1 on a busy 2-core machine, more elsewhere);
    the paired design needs the same image whatever the count."""
    fuser = get_variant(name).build()
    rgb, thermal = _pair(1, 160, 320)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _fuse(fuser, name, rgb, thermal)
        torch.set_num_threads(2)
        two = _fuse(fuser, name, rgb, thermal)
    finally:
        torch.set_num_threads(before)
    diff = ((one * 255).round() - (two * 255).round()).abs()
    if VARIANTS[name].weights:
        # a trained network sums its convolutions in another order on another thread count: a level
        # flips on a pixel or so in 10^5 (the teacher: 1 of 153,600), never more than one level
        assert diff.max() <= 1 and (diff > 0).float().mean() < 1e-4, (diff.max(), (diff > 0).float().mean())
    else:
        assert diff.max() == 0


@pytest.mark.parametrize("name", MODULES)
def test_fp16_and_bf16_give_the_image_within_a_few_levels(name):
    """Inputs rounded to 16 bits move a pixel by under a level; where an op selects between the
    sources (laplacian's max-abs details) a near-tie can flip, so single pixels may differ more."""
    rgb, thermal = _pair(1, 40, 64)
    ref = _fuse(get_variant(name).build(), name, rgb, thermal)
    for precision in ("fp16", "bf16"):
        out = _fuse(get_variant(name).build(precision=precision), name, rgb, thermal)
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
    out = _fuse(get_variant(name).build(device="cuda"), name, rgb, thermal)
    assert out.device.type == "cuda"
    if VARIANTS[name].stochastic:  # CUDA's generator draws other numbers than the CPU's: same seed, same image
        torch.testing.assert_close(_fuse(get_variant(name).build(device="cuda"), name, rgb, thermal), out)
        return
    ref = _fuse(get_variant(name).build(), name, rgb.cpu(), thermal.cpu())
    assert (out.cpu() - ref).abs().max() < 2 / 255
