"""The classical fusions (fusion.classical): one contract test set for every op, then each op's behaviour."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from fusion.classical import GFF, LaplacianFusion, LumaAverage, RGBEnhance
from fusion.classical.color import rgb_to_luma, rgb_to_ycbcr
from fusion.classical.gff import gff, gff_fuse, most_salient
from fusion.classical.laplacian import auto_levels, laplacian_fuse, laplacian_fusion
from fusion.classical.luma_average import luma_average
from fusion.classical.rgb_enhance import rgb_enhance
from harness.errors import ConfigError

# (function, module class, non-default keywords for the function == module test)
OPS = {
    "gff": (gff, GFF, {"r1": 20, "eps1": 0.1, "r2": 3, "eps2": 1e-4}),
    "laplacian": (laplacian_fusion, LaplacianFusion, {"levels": 3}),
    "luma_average": (luma_average, LumaAverage, {"weight": 0.3}),
    "rgb_enhance": (rgb_enhance, RGBEnhance, {"omega": 0.8, "t_min": 0.3, "amount": 1.0, "gf_radius": 6}),
}
NAMES = list(OPS)
ROADSCENE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "roadscene"


def scene(b: int = 2, h: int = 40, w: int = 56, seed: int = 0,
          dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """A synthetic pair: coloured gradients, blocks and noise; thermal with its own shapes."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    rgb = torch.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.5 - 0.3 * xx * yy]).expand(b, 3, h, w).clone()
    rgb[:, :, h // 4: h // 2, w // 5: w // 2] = torch.tensor([0.8, 0.2, 0.1]).view(1, 3, 1, 1)
    rgb += 0.05 * torch.randn(b, 3, h, w, generator=g)
    thermal = 0.3 + 0.2 * yy.expand(b, 1, h, w).clone()
    thermal[:, :, h // 2:, w // 2: w // 2 + 6] = 0.9
    thermal += 0.03 * torch.randn(b, 1, h, w, generator=g)
    return rgb.clamp(0, 1).to(dtype), thermal.clamp(0, 1).to(dtype)


# -- the contract, for every op ------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_smoke(name):
    fn, cls, _ = OPS[name]
    rgb, thermal = scene()
    assert cls()(rgb, thermal) is not None
    assert fn(rgb, thermal) is not None


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device_range(name, dtype):
    rgb, thermal = scene(dtype=dtype)
    out = OPS[name][1]()(rgb, thermal)
    assert out.shape == rgb.shape and out.dtype == dtype and out.device == rgb.device
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_items(name):
    rgb, thermal = scene(b=3)
    m = OPS[name][1]()
    whole = m(rgb, thermal)
    for k in range(3):
        torch.testing.assert_close(whole[k:k + 1], m(rgb[k:k + 1], thermal[k:k + 1]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(8, 8), (9, 13), (37, 61), (8, 131), (101, 9)])
def test_odd_and_small_sizes(name, size):
    rgb, thermal = scene(b=1, h=size[0], w=size[1])
    out = OPS[name][1]()(rgb, thermal)
    assert out.shape == rgb.shape and torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_a_constant_frame_stays_that_frame(name, value):
    """Black, grey and white frames with an equal thermal image: nothing to fuse or enhance, and no
    division by a zero variance, airlight or weight sum."""
    rgb = torch.full((1, 3, 24, 32), value)
    out = OPS[name][1]()(rgb, rgb[:, :1])
    torch.testing.assert_close(out, rgb, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_function_equals_module(name):
    fn, cls, kwargs = OPS[name]
    rgb, thermal = scene()
    torch.testing.assert_close(fn(rgb, thermal, **kwargs), cls(**kwargs)(rgb, thermal), atol=0, rtol=0)
    torch.testing.assert_close(fn(rgb, thermal), cls()(rgb, thermal), atol=0, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_module_reuse_keeps_earlier_outputs(name):
    """The modules keep scratch buffers between calls: an output must not change when the module runs
    again, and a second input gives the function's answer, under inference mode and without it."""
    fn, cls, _ = OPS[name]
    m = cls()
    a, ta = scene(seed=1)
    b, tb = scene(seed=2)
    with torch.inference_mode():
        first = m(a, ta)
        kept = first.clone()
        m(b, tb)
    torch.testing.assert_close(first, kept, atol=0, rtol=0)
    torch.testing.assert_close(m(b, tb), fn(b, tb), atol=0, rtol=0)  # outside inference mode now


BAD_INPUTS = {
    "rgb without batch axis": (lambda r, t: (r[0], t)),
    "rgb with 4 channels": (lambda r, t: (torch.cat([r, t], 1), t)),
    "thermal with 3 channels": (lambda r, t: (r, r)),
    "thermal of another size": (lambda r, t: (r, t[..., :-1])),
    "thermal of another batch": (lambda r, t: (r, t[:1])),
    "integer rgb": (lambda r, t: ((r * 255).to(torch.uint8), t)),
    "smaller than 8x8": (lambda r, t: (r[..., :7, :], t[..., :7, :])),
    "numpy arrays": (lambda r, t: (r.numpy(), t.numpy())),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_bad_inputs_raise_config_error(name, bad):
    fn, cls, _ = OPS[name]
    rgb, thermal = scene()
    args = BAD_INPUTS[bad](rgb, thermal)
    if name == "rgb_enhance" and bad.startswith("thermal"):
        with pytest.raises(ConfigError):  # the module checks the pair as every fusion does
            cls()(*args)
        assert fn(*args) is not None  # the function ignores thermal
        return
    with pytest.raises(ConfigError):
        fn(*args)
    if bad != "numpy arrays":
        with pytest.raises(ConfigError):
            cls()(*args)


def _bad_values(p) -> list:
    bad = ["3", None, True, float("nan")]
    if p.low is not None:
        bad.append(p.low if p.low_exclusive else p.low - 1)
    if p.high is not None:
        bad.append(p.high + 1)
    if p.type is int:
        bad.append(1.5)
    return bad


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameters_raise_one_line_config_error(name):
    fn, cls, _ = OPS[name]
    rgb, thermal = scene(b=1, h=16, w=16)
    for p in cls.PARAMS:
        for value in _bad_values(p):
            with pytest.raises(ConfigError) as err:
                cls(**{p.name: value})
            assert p.name in str(err.value) and "\n" not in str(err.value)
            with pytest.raises(ConfigError):
                fn(rgb, thermal, **{p.name: value})


def test_cross_parameter_check():
    with pytest.raises(ConfigError, match="haze_hi"):
        RGBEnhance(haze_lo=0.4, haze_hi=0.3)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_table_matches_constructor(name):
    cls = OPS[name][1]
    sig = inspect.signature(cls.__init__).parameters
    assert [p.name for p in cls.PARAMS] == [k for k in sig if k != "self"]
    for p in cls.PARAMS:
        assert sig[p.name].default == p.default and sig[p.name].kind is inspect.Parameter.KEYWORD_ONLY
    assert cls().params == cls.defaults()


@pytest.mark.parametrize("name", NAMES)
def test_from_params_parses_text_and_names_unknown_keys(name):
    _, cls, kwargs = OPS[name]
    built = cls.from_params({k: str(v) for k, v in kwargs.items()})
    assert built.params == cls(**kwargs).params
    with pytest.raises(ConfigError, match="unknown parameter"):
        cls.from_params({"no_such_parameter": "1"})


@pytest.mark.parametrize("name", NAMES)
def test_flops(name):
    cls = OPS[name][1]
    small, big = cls.flops(160, 320), cls.flops(320, 640)
    assert isinstance(small, int) and 0 < small < big
    assert cls.flops(160, 320, **OPS[name][2]) > 0
    with pytest.raises(ConfigError):
        cls.flops(0, 320)
    with pytest.raises(ConfigError):
        cls.flops(160, 320, no_such_parameter=1)


def test_needs_thermal():
    assert GFF.needs_thermal and LaplacianFusion.needs_thermal and LumaAverage.needs_thermal
    assert not RGBEnhance.needs_thermal


@pytest.mark.parametrize("name", NAMES)
def test_half_precision_matches_float(name):
    rgb, thermal = scene()
    m = OPS[name][1]()
    half = m(rgb.half(), thermal.half())
    assert half.dtype == torch.float16
    ref = m(rgb.half().float(), thermal.half().float())
    assert (half.float() - ref).abs().max() < 2e-3  # one fp16 rounding of the output


@pytest.mark.gpu
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda_matches_cpu(name, dtype):
    rgb, thermal = scene()
    m = OPS[name][1]()
    cpu = m(rgb.to(dtype), thermal.to(dtype)).float()
    out = m(rgb.to("cuda", dtype), thermal.to("cuda", dtype))
    assert out.device.type == "cuda" and out.dtype == dtype and out.shape == rgb.shape
    assert (out.float().cpu() - cpu).abs().max() < (1e-4 if dtype == torch.float32 else 2e-3)


# -- what each op must do -------------------------------------------------------------------------------

def _chroma_kept(rgb: torch.Tensor, out: torch.Tensor) -> None:
    inside = ((out > 0.001) & (out < 0.999)).all(dim=1)  # where the clamp did not bite
    assert inside.float().mean() > 0.9
    got, want = rgb_to_ycbcr(out.double())[:, 1:], rgb_to_ycbcr(rgb.double())[:, 1:]
    assert (got - want).abs().amax(dim=1)[inside].max() < 1e-6


@pytest.mark.parametrize("name", ["gff", "laplacian", "luma_average"])
def test_fusions_keep_the_rgb_chroma(name):
    g = torch.Generator().manual_seed(3)
    rgb = 0.3 + 0.4 * torch.rand(2, 3, 32, 48, generator=g, dtype=torch.float64)
    thermal = 0.3 + 0.4 * torch.rand(2, 1, 32, 48, generator=g, dtype=torch.float64)
    out = OPS[name][1]()(rgb, thermal)
    _chroma_kept(rgb, out)
    assert (rgb_to_luma(out) - rgb_to_luma(rgb)).abs().max() > 0.05  # and the luma did change


@pytest.mark.parametrize("name", ["gff", "laplacian", "luma_average"])
def test_fusion_of_a_frame_with_its_own_luma_is_the_frame(name):
    rgb, _ = scene(dtype=torch.float64)
    torch.testing.assert_close(OPS[name][1]()(rgb, rgb_to_luma(rgb)), rgb, atol=1e-9, rtol=0)


def test_luma_average_of_grey_and_equal_thermal_is_the_input():
    grey = torch.rand(2, 1, 16, 24, dtype=torch.float64)
    torch.testing.assert_close(luma_average(grey.expand(-1, 3, -1, -1), grey), grey.expand(-1, 3, -1, -1),
                               atol=1e-12, rtol=0)


def test_luma_average_is_the_weighted_mean_of_luma_and_thermal():
    g = torch.Generator().manual_seed(4)
    rgb = 0.3 + 0.4 * torch.rand(1, 3, 16, 24, generator=g, dtype=torch.float64)
    thermal = 0.3 + 0.4 * torch.rand(1, 1, 16, 24, generator=g, dtype=torch.float64)
    y = rgb_to_luma(rgb)
    for w in (0.0, 0.25, 0.5, 1.0):
        torch.testing.assert_close(rgb_to_luma(luma_average(rgb, thermal, weight=w)), (1 - w) * y + w * thermal,
                                   atol=1e-12, rtol=0)


@pytest.mark.parametrize("size", [(40, 56), (37, 61), (8, 8)])
def test_gff_of_identical_sources_is_the_source(size):
    x = torch.rand(2, 1, *size, dtype=torch.float64)
    torch.testing.assert_close(gff_fuse(torch.cat([x, x], 1)), x, atol=1e-9, rtol=0)


def test_most_salient_is_one_hot_and_the_first_source_wins_ties():
    s = torch.tensor([[0.1, 0.5, 0.5], [0.7, 0.2, 0.7], [0.3, 0.3, 0.3]]).T.reshape(1, 3, 1, 3)
    p = most_salient(s)
    assert p.sum(dim=1).eq(1).all()
    assert p[0, :, 0, :].T.tolist() == [[0, 1, 0], [1, 0, 0], [1, 0, 0]]


def test_gff_takes_the_salient_source():
    """Visible flat, thermal textured: thermal is the most salient everywhere, so the fusion is the thermal."""
    _, thermal = scene(b=1, dtype=torch.float64)
    flat = torch.full_like(thermal, 0.5)
    fused = gff_fuse(torch.cat([flat, thermal], 1))
    assert (fused - thermal).abs().mean() < 0.01


def _matlab_reference_gff(a: np.ndarray, b: np.ndarray, r1=45, eps1=0.3, r2=7, eps2=1e-6) -> np.ndarray:
    """The authors' GFF.m, written with scipy for two grey float64 images in [0, 1] (independent of
    fusion.classical): imfilter 'replicate' is mode='nearest'; He's guidedfilter.m divides window sums
    by the in-image count; weights clipped to [0, 1], + 1e-12, normalised."""
    def box(x, r):  # guidedfilter.m: border-cut window mean
        size = 2 * r + 1
        count = ndimage.uniform_filter(np.ones_like(x), size, mode="constant")
        return ndimage.uniform_filter(x, size, mode="constant") / count

    def guided(i, p, r, eps):
        mi, mp = box(i, r), box(p, r)
        a_ = (box(i * p, r) - mi * mp) / (box(i * i, r) - mi * mi + eps)
        return box(a_, r) * i + box(mp - a_ * mi, r)

    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    x = np.arange(-5, 6)
    gauss = np.exp(-(x[:, None] ** 2 + x[None] ** 2) / 50.0)
    gauss /= gauss.sum()
    imgs = [a, b]
    sal = [ndimage.correlate(np.abs(ndimage.correlate(i, lap, mode="nearest")), gauss, mode="nearest") for i in imgs]
    first = sal[0] >= sal[1]
    p = [first.astype(float), (~first).astype(float)]
    wb = [np.clip(guided(i, q, r1, eps1), 0, 1) + 1e-12 for i, q in zip(imgs, p)]
    wd = [np.clip(guided(i, q, r2, eps2), 0, 1) + 1e-12 for i, q in zip(imgs, p)]
    base = [ndimage.uniform_filter(i, 31, mode="nearest") for i in imgs]
    fb = (wb[0] * base[0] + wb[1] * base[1]) / (wb[0] + wb[1])
    fd = (wd[0] * (imgs[0] - base[0]) + wd[1] * (imgs[1] - base[1])) / (wd[0] + wd[1])
    return fb + fd


@pytest.mark.parametrize("size", [(40, 56), (67, 33)])
def test_gff_matches_the_authors_recipe(size):
    rgb, thermal = scene(b=1, h=size[0], w=size[1], dtype=torch.float64)
    y = rgb_to_luma(rgb)
    ours = gff_fuse(torch.cat([y, thermal], 1))[0, 0].numpy()
    ref = _matlab_reference_gff(y[0, 0].numpy(), thermal[0, 0].numpy())
    assert np.abs(ours - ref).max() < 1e-9


@pytest.mark.parametrize("contrast", [1.0, 0.01])
def test_gff_float32_agrees_with_float64(contrast):
    """The guided filter sums in float64, so fp32 frames fuse as fp64 ones do, also a low-contrast frame
    whose local variances are near eps2 = 1e-6 (fp32 running sums were off by 2e-5 and 1e-3 here)."""
    rgb, thermal = scene(b=1, h=160, w=320, dtype=torch.float64)
    rgb, thermal = 0.6 + contrast * (rgb - 0.5), 0.6 + contrast * (thermal - 0.5)
    ref = gff(rgb, thermal)
    assert (gff(rgb.float(), thermal.float()).double() - ref).abs().max() < (2e-6 if contrast == 1.0 else 1e-4)


@pytest.mark.parametrize("size", [(40, 56), (37, 61), (8, 9), (160, 320)])
@pytest.mark.parametrize("levels", [0, 1, 2, 5])
def test_laplacian_of_identical_sources_reconstructs_the_source(size, levels):
    x = torch.rand(2, 1, *size, dtype=torch.float64)
    torch.testing.assert_close(laplacian_fuse(torch.cat([x, x], 1), levels), x, atol=1e-12, rtol=0)


def test_laplacian_levels_from_the_size():
    assert auto_levels(160, 320) == 5 and auto_levels(301, 496) == 6 and auto_levels(8, 8) == 1
    assert auto_levels(14, 400) == 1 and auto_levels(15, 400) == 2  # ceil(15 / 2) = 8


def test_laplacian_with_one_level_is_the_average():
    a, b = torch.rand(1, 1, 20, 30, dtype=torch.float64), torch.rand(1, 1, 20, 30, dtype=torch.float64)
    torch.testing.assert_close(laplacian_fuse(torch.cat([a, b], 1), 1), (a + b) / 2, atol=1e-12, rtol=0)


def test_laplacian_keeps_the_stronger_detail():
    """A small hot spot in the thermal image on a flat visible one survives at nearly full contrast."""
    thermal = torch.full((1, 1, 64, 64), 0.4, dtype=torch.float64)
    thermal[..., 30:33, 30:33] = 0.9
    flat = torch.full_like(thermal, 0.4)
    fused = laplacian_fuse(torch.cat([flat, thermal], 1))
    assert fused[..., 31, 31] > 0.4 + 0.8 * 0.5
    assert (fused - thermal).abs().max() < 0.1


def test_rgb_enhance_raises_the_contrast_of_a_hazy_frame():
    """A blocky colourful scene whose dark channel is ~0 (one channel dark per block) under haze of
    airlight 0.85: transmission 0.4 on the scene, 0.02 on a far band at the top (where the airlight
    shows, as a foggy horizon does). The enhanced scene has more contrast and is nearer the truth."""
    g = torch.Generator().manual_seed(5)
    blocks = 0.2 + 0.8 * torch.rand(1, 3, 12, 16, generator=g, dtype=torch.float64)
    dark = torch.randint(0, 3, (12, 16), generator=g)
    blocks = torch.where(torch.arange(3).view(1, 3, 1, 1) == dark, torch.full_like(blocks, 0.02), blocks)
    clear = blocks.repeat_interleave(8, 2).repeat_interleave(8, 3)  # (1,3,96,128)
    t = torch.full((1, 1, 96, 128), 0.4, dtype=torch.float64)
    t[..., :16, :] = 0.02
    hazy = clear * t + 0.85 * (1 - t)
    out = rgb_enhance(hazy)
    scene_rows = (slice(None), slice(None), slice(32, None))  # away from the far band and its filters
    std = lambda x: rgb_to_luma(x[scene_rows]).std()
    assert std(out) > 1.5 * std(hazy)
    assert (out - clear)[scene_rows].abs().mean() < 0.5 * (hazy - clear)[scene_rows].abs().mean()


def test_rgb_enhance_ignores_thermal():
    rgb, thermal = scene()
    m = RGBEnhance()
    torch.testing.assert_close(m(rgb, thermal), m(rgb, 1 - thermal), atol=0, rtol=0)
    torch.testing.assert_close(m(rgb, thermal), rgb_enhance(rgb), atol=0, rtol=0)


def test_rgb_enhance_leaves_a_dark_noisy_frame_alone():
    g = torch.Generator().manual_seed(6)
    dark = (0.04 + 0.015 * torch.randn(1, 3, 96, 128, generator=g)).clamp(0, 1)
    dark[..., 4:10, 4:10] = 0.9  # a lamp in a corner: its edges may get the contrast boost
    out = rgb_enhance(dark)
    away = (slice(None), slice(None), slice(40, None), slice(40, None))
    assert (out - dark)[away].abs().max() < 0.01
    assert out[away].mean() <= dark[away].mean() + 1e-4  # nothing brightened
    assert out[away].std() <= 1.05 * dark[away].std()  # noise not amplified


def test_rgb_enhance_with_everything_off_is_the_identity():
    rgb, _ = scene(dtype=torch.float64)
    torch.testing.assert_close(rgb_enhance(rgb, omega=0.0, amount=0.0), rgb, atol=1e-9, rtol=0)


def test_roadscene_pair_fuses(roadscene_pair):
    """On a real pair, every op gives a plausible image and the detail-selecting fusions keep more
    gradient than the plain average (a fusion-metrics commonplace: AG(GFF), AG(LP) > AG(average))."""
    rgb, thermal = roadscene_pair
    outs = {name: OPS[name][1]()(rgb, thermal) for name in NAMES}

    def avg_gradient(x):
        y = rgb_to_luma(x)[0, 0]
        gx, gy = y[:-1, 1:] - y[:-1, :-1], y[1:, :-1] - y[:-1, :-1]
        return ((gx ** 2 + gy ** 2) / 2).sqrt().mean().item()

    for name, out in outs.items():
        assert out.shape == rgb.shape and 0 <= out.min() and out.max() <= 1
        assert (out - rgb).abs().mean() > 0.01, name  # each op changed the frame
    assert avg_gradient(outs["gff"]) > avg_gradient(outs["luma_average"])
    assert avg_gradient(outs["laplacian"]) > avg_gradient(outs["luma_average"])


@pytest.fixture(scope="module")
def roadscene_pair():
    from PIL import Image

    vi, ir = ROADSCENE / "vi" / "FLIR_00211.jpg", ROADSCENE / "ir" / "FLIR_00211.jpg"
    if not (vi.is_file() and ir.is_file()):
        pytest.skip(f"RoadScene sample not found at {ROADSCENE} (it lives beside the checkout, in ../shared/data)")
    rgb = torch.from_numpy(np.asarray(Image.open(vi).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    thermal = torch.from_numpy(np.asarray(Image.open(ir).convert("L"), dtype=np.float32) / 255)[None, None]
    return rgb, thermal
