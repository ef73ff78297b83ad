"""The shared helpers of fusion.classical: colour conversion and filters, against independent references."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from fusion.classical.color import replace_luma, rgb_to_luma, rgb_to_ycbcr, ycbcr_to_rgb
from fusion.classical.filters import (Scratch, box_filter, gaussian_blur, gaussian_taps, guided_filter, guided_filters,
                                      laplacian3x3, min_filter, pyr_down, pyr_up)
from harness.errors import ConfigError

SIZES = [(20, 31), (8, 8), (9, 40), (33, 12)]


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def naive_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Border-cut window mean by direct summation (no cumulative sums)."""
    ones = torch.ones_like(x)
    k = 2 * r + 1
    total = F.avg_pool2d(F.pad(x, (r, r, r, r)), k, 1, divisor_override=1)
    return total / F.avg_pool2d(F.pad(ones, (r, r, r, r)), k, 1, divisor_override=1)


def naive_guided(i: torch.Tensor, p: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    m = lambda z: naive_mean(z, r)  # noqa: E731
    mi, mp = m(i), m(p)
    a = (m(i * p) - mi * mp) / (m(i * i) - mi * mi + eps)
    return m(a) * i + m(mp - a * mi)


# -- colour ---------------------------------------------------------------------------------------------

def test_ycbcr_round_trip_and_luma():
    x = rand(2, 3, 8, 9)
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-12, rtol=0)
    torch.testing.assert_close(rgb_to_ycbcr(x)[:, :1], rgb_to_luma(x), atol=1e-12, rtol=0)
    primaries = torch.eye(3, dtype=torch.float64).view(3, 3, 1, 1)
    assert rgb_to_luma(primaries).flatten().tolist() == pytest.approx([0.299, 0.587, 0.114])


def test_ycbcr_is_opencv_full_range_bt601():
    x = rand(1, 3, 6, 7).float()
    ycrcb = cv2.cvtColor(x[0].permute(1, 2, 0).numpy(), cv2.COLOR_RGB2YCrCb)  # float: Y, Cr, Cb; offset 0.5
    ours = rgb_to_ycbcr(x)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours[..., 0], ycrcb[..., 0], atol=1e-6)
    # OpenCV rounds the chroma scales to 0.564 and 0.713 (exact: 1 / 1.772, 1 / 1.402)
    np.testing.assert_allclose(ours[..., 1:], ycrcb[..., [2, 1]], atol=5e-4)


def test_replace_luma_is_the_ycbcr_round_trip_with_new_luma():
    x = 0.25 + 0.5 * rand(2, 3, 8, 9)
    y_new = 0.25 + 0.5 * rand(2, 1, 8, 9, seed=1)
    ycc = rgb_to_ycbcr(x)
    want = ycbcr_to_rgb(torch.cat([y_new, ycc[:, 1:]], 1))
    inside = ((want > 0) & (want < 1)).all(dim=1, keepdim=True).expand_as(want)
    torch.testing.assert_close(replace_luma(x, rgb_to_luma(x), y_new)[inside], want[inside], atol=1e-12, rtol=0)


def test_colour_guards():
    with pytest.raises(ConfigError, match=r"\(B, 3, H, W\)"):
        rgb_to_luma(rand(3, 8, 8))
    with pytest.raises(ConfigError):
        rgb_to_ycbcr(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


# -- box, Gaussian, Laplacian, min ---------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("radius", [0, 1, 3, 15, 45])
def test_box_filter_matches_references(size, radius):
    x = rand(2, 3, *size)
    cut = box_filter(x, radius, "truncate")
    torch.testing.assert_close(cut, naive_mean(x, radius), atol=1e-12, rtol=0)
    rep = box_filter(x, radius, "replicate")
    want = ndimage.uniform_filter(x.numpy(), size=(1, 1, 2 * radius + 1, 2 * radius + 1), mode="nearest")
    np.testing.assert_allclose(rep.numpy(), want, atol=1e-12)


def test_box_filter_keeps_fp32_precision():
    """Float64 sums: the mean of a bright fp32 frame is right to fp32 rounding, not to running-sum error."""
    x = (0.9 + 1e-3 * rand(1, 1, 160, 320)).float()
    got = box_filter(x, 7, "truncate").double()
    assert (got - naive_mean(x.double(), 7)).abs().max() < 1e-7


def test_gaussian_blur_is_matlab_fspecial_with_replicate():
    x = rand(2, 2, 23, 30)
    taps = np.array(gaussian_taps(5.0, 5))
    kernel = np.outer(taps, taps)
    u = np.arange(-5, 6)
    fspecial = np.exp(-(u[:, None] ** 2 + u[None] ** 2) / 50.0)
    np.testing.assert_allclose(kernel, fspecial / fspecial.sum(), atol=1e-15)
    want = ndimage.correlate(x.numpy(), kernel[None, None], mode="nearest")
    np.testing.assert_allclose(gaussian_blur(x, 5.0, 5).numpy(), want, atol=1e-12)


def test_laplacian3x3_matches_a_convolution():
    x = rand(2, 2, 11, 14)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    want = ndimage.correlate(x.numpy(), lap[None, None], mode="nearest")
    np.testing.assert_allclose(laplacian3x3(x).numpy(), want, atol=1e-12)


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 7, 12])
def test_min_filter_matches_a_pooling_reference(radius):
    x = rand(2, 1, 19, 26)
    torch.testing.assert_close(min_filter(x, radius), -F.max_pool2d(-x, 2 * radius + 1, 1, radius), atol=0, rtol=0)


# -- guided filter ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("radius,eps", [(1, 1e-3), (2, 1e-2), (7, 1e-6), (45, 0.3)])
def test_guided_filter_matches_the_definition(size, radius, eps):
    i, p = rand(2, 2, *size), rand(2, 2, *size, seed=1)
    torch.testing.assert_close(guided_filter(i, p, radius, eps), naive_guided(i, p, radius, eps), atol=1e-9, rtol=0)


def test_guided_filters_share_statistics_and_match_single_calls():
    i, p = rand(1, 2, 30, 41), rand(1, 2, 30, 41, seed=2)
    both = guided_filters(i, p, [(45, 0.3), (0, 1.0), (7, 1e-6)])
    for got, (r, eps) in zip(both, [(45, 0.3), (0, 1.0), (7, 1e-6)]):
        torch.testing.assert_close(got, guided_filter(i, p, r, eps), atol=0, rtol=0)
    torch.testing.assert_close(both[1], p, atol=0, rtol=0)  # a one-pixel window changes nothing


def test_guided_filter_with_a_grey_guide_for_colour():
    i, p = rand(2, 1, 20, 25), rand(2, 3, 20, 25, seed=3)
    torch.testing.assert_close(guided_filter(i, p, 3, 1e-3), naive_guided(i.expand(-1, 3, -1, -1), p, 3, 1e-3),
                               atol=1e-9, rtol=0)


def test_guided_filter_with_huge_eps_is_the_mean_filter():
    """eps -> inf: a -> 0, b -> mean(p), so q -> mean(mean(p)), the mean filter applied twice (the
    filter averages its b over the window once more)."""
    i, p = rand(1, 1, 30, 40), rand(1, 1, 30, 40, seed=4)
    twice = box_filter(box_filter(p, 4, "truncate"), 4, "truncate")
    torch.testing.assert_close(guided_filter(i, p, 4, 1e6), twice, atol=1e-6, rtol=0)
    assert (guided_filter(i, p, 4, 1e-4) - twice).abs().max() > 0.1  # a small eps follows the guide instead


def test_guided_filter_with_tiny_eps_keeps_the_guides_edges():
    step = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    step[..., 16:] = 1.0
    noisy = step + 0.01 * rand(1, 1, 32, 32, seed=5)
    out = guided_filter(step, noisy, 4, 1e-6)
    assert (out - step).abs().max() < 0.02  # the edge stays a one-pixel step
    assert (box_filter(noisy, 4, "truncate") - step).abs().max() > 0.3  # where a mean filter blurs it


def test_scratch_reuses_memory_and_gives_fresh_outputs():
    scratch = Scratch()
    i, p = rand(1, 2, 20, 30), rand(1, 2, 20, 30, seed=6)
    first = guided_filter(i, p, 3, 1e-3, scratch)
    buf = scratch.get("stats", (1, 8, 20, 30), torch.float64, torch.device("cpu"))
    kept = first.clone()
    second = guided_filter(p, i, 3, 1e-3, scratch)
    assert scratch.get("stats", (1, 8, 20, 30), torch.float64, torch.device("cpu")).data_ptr() == buf.data_ptr()
    torch.testing.assert_close(first, kept, atol=0, rtol=0)
    torch.testing.assert_close(second, guided_filter(p, i, 3, 1e-3), atol=0, rtol=0)
    assert scratch.get("stats", (1, 8, 21, 30), torch.float64, torch.device("cpu")).shape == (1, 8, 21, 30)
    with torch.inference_mode():
        assert scratch.get("stats", (1, 8, 21, 30), torch.float64, torch.device("cpu")).is_inference()


def test_filter_guards():
    x = rand(1, 1, 10, 10)
    for call in (lambda: box_filter(x, -1), lambda: box_filter(x, 2, "reflect"), lambda: box_filter(x[0], 2),
                 lambda: gaussian_blur(x, 0.0, 2), lambda: min_filter(x, 1.5), lambda: guided_filter(x, x, 2, 0.0),
                 lambda: guided_filter(x, x, -2, 0.1), lambda: guided_filter(rand(1, 2, 10, 10), rand(1, 3, 10, 10), 2, 0.1),
                 lambda: guided_filter(x, rand(1, 1, 10, 11), 2, 0.1), lambda: pyr_down(x.long())):
        with pytest.raises(ConfigError):
            call()


# -- pyramids ----------------------------------------------------------------------------------------------

def _binomial() -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64)
    return (torch.outer(k, k) / 256).view(1, 1, 5, 5)


@pytest.mark.parametrize("size", [(19, 23), (20, 24), (9, 8), (1, 5)])
def test_pyramid_steps_match_the_burt_adelson_convolutions(size):
    h, w = size
    x = rand(2, 1, h, w)
    ref_down = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), _binomial(), stride=2)
    down = pyr_down(x)
    assert down.shape[-2:] == ((h + 1) // 2, (w + 1) // 2)
    torch.testing.assert_close(down, ref_down, atol=1e-12, rtol=0)
    # EXPAND: zero insertion and 4x the kernel (a transposed convolution) on the edge-replicated coarse image
    hc, wc = down.shape[-2:]
    ref_up = F.conv_transpose2d(F.pad(down, (1, 1, 1, 1), mode="replicate"), 4 * _binomial(), stride=2)[..., 4:4 + h, 4:4 + w]
    torch.testing.assert_close(pyr_up(down, (h, w)), ref_up, atol=1e-12, rtol=0)
    torch.testing.assert_close(pyr_up(torch.ones(1, 1, hc, wc, dtype=torch.float64), (h, w)),
                               torch.ones(1, 1, h, w, dtype=torch.float64), atol=1e-15, rtol=0)
