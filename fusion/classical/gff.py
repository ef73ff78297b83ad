"""Guided-filtering fusion (GFF): Li, Kang, Hu, "Image Fusion With Guided Filtering", IEEE TIP 22(7), 2013.

Per source image I_n (grey, in [0, 1]):
1. two scales: base B_n = 31x31 mean of I_n, detail D_n = I_n - B_n;
2. saliency S_n = |3x3 Laplacian of I_n| blurred by an 11x11 Gaussian (sigma 5);
3. P_n = 1 where S_n is the largest of all sources (the first source wins ties), else 0;
4. W_n^B = GF(P_n, I_n; r1, eps1), W_n^D = GF(P_n, I_n; r2, eps2) (guide = the source itself),
   clipped to [0, 1] and normalised to sum 1 over the sources at each pixel;
5. F = sum_n W_n^B B_n + sum_n W_n^D D_n.

Details as the authors' MATLAB code has them: intensities on [0, 1] (``double(I)/255``), so eps1 = 0.3
and eps2 = 1e-6 are in [0,1]^2 units; the mean, Laplacian and Gaussian filters use replicate borders
(``imfilter(..., 'replicate')``), the guided filter He's border-cut box means; the guided weights are
clipped to [0, 1] (the code does it by a round trip through uint8, which also quantises them to 1/255;
this module clips without quantising) and 1e-12 is added before normalising.

Colour: the visible RGB is fused through its BT.601 luma; Cb and Cr are kept (``fusion.classical.color``).
"""

from __future__ import annotations

import torch

from fusion.classical.base import ClassicalFusion, Param, check_pair, check_params, compute_dtype
from fusion.classical.color import luma_flops, replace_luma, replace_luma_flops, rgb_to_luma
from fusion.classical.filters import (Scratch, box_filter, box_filter_flops, gaussian_blur, gaussian_blur_flops,
                                      guided_filter_flops, guided_filters, laplacian3x3)

BASE_RADIUS = 15  # [px] 31x31 mean filter for the base layer (paper, Sec. II-A)
SALIENCY_SIGMA = 5.0  # [px] Gaussian of the saliency (paper: r_g = sigma_g = 5, an 11x11 window)
SALIENCY_RADIUS = 5  # [px]
WEIGHT_FLOOR = 1e-12  # added to the clipped weights before normalising (authors' code)

GFF_PARAMS = (
    Param("r1", int, 45, "base-layer weight guided filter radius [px]", low=0),
    Param("eps1", float, 0.3, "base-layer weight guided filter regulariser, on [0,1] intensities", low=0.0,
          low_exclusive=True),
    Param("r2", int, 7, "detail-layer weight guided filter radius [px]", low=0),
    Param("eps2", float, 1e-6, "detail-layer weight guided filter regulariser, on [0,1] intensities", low=0.0,
          low_exclusive=True),
)


def most_salient(saliency: torch.Tensor) -> torch.Tensor:
    """One-hot of the largest saliency over the sources, the first source winning ties (MATLAB's
    ``max``). (B,N,H,W) -> (B,N,H,W) of 0/1 in saliency's dtype. A loop over the N sources, not the
    pixels (``argmax`` over a short channel axis is slow on the CPU)."""
    s = list(saliency.split(1, dim=1))
    n = len(s)
    before = [None] * n  # max over the sources ahead of k (k wins only if strictly above it)
    after = [None] * n  # max over the sources after k (k wins if at least as large)
    for k in range(1, n):
        before[k] = s[k - 1] if k == 1 else torch.maximum(before[k - 1], s[k - 1])
    for k in range(n - 2, -1, -1):
        after[k] = s[k + 1] if k == n - 2 else torch.maximum(after[k + 1], s[k + 1])
    hot = []
    for k in range(n):
        win = s[k] >= after[k] if after[k] is not None else torch.ones_like(s[k], dtype=torch.bool)
        if before[k] is not None:
            win &= s[k] > before[k]
        hot.append(win)
    return torch.cat(hot, dim=1).to(saliency.dtype)


def gff_fuse(sources: torch.Tensor, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6,
             scratch: Scratch | None = None) -> torch.Tensor:
    """GFF of N grey sources stacked on the channel axis. (B,N,H,W) in [0,1] -> (B,1,H,W), not clamped
    (base and detail weights differ, so the sum may leave [0,1] by a little). Parameters unchecked."""
    base = box_filter(sources, BASE_RADIUS, "replicate", accumulate=torch.float32)  # (B,N,H,W), ~1e-6 off in fp32
    detail = sources - base
    saliency = gaussian_blur(laplacian3x3(sources).abs_(), SALIENCY_SIGMA, SALIENCY_RADIUS)
    p = most_salient(saliency)
    w_base, w_detail = guided_filters(sources, p, [(r1, eps1), (r2, eps2)], scratch)
    w_base = w_base.clamp_(0.0, 1.0).add_(WEIGHT_FLOOR)
    w_detail = w_detail.clamp_(0.0, 1.0).add_(WEIGHT_FLOOR)
    fused = (w_base * base).sum(1, keepdim=True) / w_base.sum(1, keepdim=True)
    return fused + (w_detail * detail).sum(1, keepdim=True) / w_detail.sum(1, keepdim=True)


@torch.no_grad()
def gff(rgb: torch.Tensor, thermal: torch.Tensor, *, r1: int = 45, eps1: float = 0.3, r2: int = 7,
        eps2: float = 1e-6, scratch: Scratch | None = None) -> torch.Tensor:
    """Guided-filtering fusion of the visible luma and the thermal image; the RGB chroma is kept.

    Args:
        rgb: (B,3,H,W) float in [0,1], H, W >= 8.
        thermal: (B,1,H,W) float in [0,1], registered to the RGB view.
        r1, eps1: base-layer weight guided filter (radius [px], regulariser on [0,1] intensities).
        r2, eps2: detail-layer weight guided filter.
        scratch: optional ``filters.Scratch`` kept between calls (the module keeps one): same result,
            fewer page faults.

    Returns:
        (B,3,H,W) in [0,1], rgb's dtype and device; fp16/bf16 inputs are computed in fp32.
        Runs under ``torch.no_grad()`` (a baseline, not a differentiable layer).

    Raises:
        ConfigError: inputs of the wrong shape, dtype or size, or a parameter out of range.
    """
    check_pair("gff", rgb, thermal)
    p = check_params("gff", GFF_PARAMS, {"r1": r1, "eps1": eps1, "r2": r2, "eps2": eps2})
    dtype = compute_dtype(rgb)
    x = rgb.to(dtype)
    y = rgb_to_luma(x)  # (B,1,H,W)
    fused = gff_fuse(torch.cat([y, thermal.to(dtype)], 1), **p, scratch=scratch)
    return replace_luma(x, y, fused).to(rgb.dtype)


def gff_flops(h: int, w: int, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6) -> float:
    """FLOPs of ``gff`` on one (3, h, w) frame (rule in ``ClassicalFusion.flops``)."""
    hw = h * w
    per_source = (box_filter_flops(h, w, BASE_RADIUS) + hw  # base, detail
                  + 5 * hw + hw  # Laplacian (four adds, one multiply-subtract), abs
                  + gaussian_blur_flops(h, w, SALIENCY_RADIUS)
                  + guided_filter_flops(h, w, r1) + guided_filter_flops(h, w, r2)
                  + 2 * 2 * hw  # clip, floor (two weight maps)
                  + 2 * 2 * hw)  # weight x layer, sum over sources (two layers)
    # two sources; the one-hot (compare, two equals); two normalising divides, two sums, the final add
    return luma_flops(h, w) + 2 * per_source + 3 * hw + 5 * hw + replace_luma_flops(h, w)


class GFF(ClassicalFusion):
    """Guided-filtering fusion (Li, Kang, Hu 2013) on luma; see ``gff``.

    ``GFF(r1=45, eps1=0.3, r2=7, eps2=1e-6)``; forward (B,3,H,W), (B,1,H,W) -> (B,3,H,W), in [0,1].
    """

    name = "gff"
    PARAMS = GFF_PARAMS
    needs_thermal = True
    flops_of = staticmethod(gff_flops)

    def __init__(self, *, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6) -> None:
        super().__init__()
        self._set_params(r1=r1, eps1=eps1, r2=r2, eps2=eps2)
        self._scratch = Scratch()

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        return gff(rgb, thermal, **self._params, scratch=self._scratch)
