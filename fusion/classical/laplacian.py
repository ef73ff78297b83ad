"""Laplacian-pyramid fusion (Burt & Adelson 1983; Burt & Kolczynski 1993 for the selection rule).

Each grey source is split into a Laplacian pyramid (Burt-Adelson 5-tap binomial REDUCE/EXPAND,
replicate borders, ``fusion.classical.filters``). At every detail level the coefficient with the larger
magnitude wins (max-abs selection; the visible luma wins ties); the coarsest (base) level is the mean
of the sources; the fused pyramid is collapsed back to an image. Odd sizes work: a level of n pixels
reduces to ceil(n/2) and expands back to exactly n.

Levels, when not given (``levels=0``): the number of reductions that keep the coarsest level's shorter side at
``MIN_BASE`` = 8 pixels or more, plus one, i.e. ``1 + max k with ceil(min(H, W) / 2^k) >= 8``:
320x160 -> 5 levels (base 10x20), 496x301 -> 6 (base 10x16), 8x8 -> 1 (a plain average).

Colour: the visible RGB is fused through its BT.601 luma; Cb and Cr are kept.
"""

from __future__ import annotations

import math

import torch

from fusion.classical.base import ClassicalFusion, Param, check_pair, check_params, compute_dtype
from fusion.classical.color import luma_flops, replace_luma, replace_luma_flops, rgb_to_luma
from fusion.classical.filters import pyr_down, pyr_down_flops, pyr_up, pyr_up_flops

MIN_BASE = 8  # [px] shortest side of the coarsest level when the levels are chosen from the size
MAX_LEVELS = 16  # a 2^15-pixel frame would still fit; more is a typo

LAPLACIAN_PARAMS = (
    Param("levels", int, 0, "pyramid levels including the base; 0: chosen from the frame size "
          f"(coarsest shorter side >= {MIN_BASE} px)", low=0, high=MAX_LEVELS),
)


def auto_levels(h: int, w: int) -> int:
    """Pyramid levels for an (h, w) frame: 1 + the reductions that keep min side >= MIN_BASE."""
    side, levels = min(h, w), 1
    while math.ceil(side / 2) >= MIN_BASE:
        side = math.ceil(side / 2)
        levels += 1
    return levels


def _select_max_abs(lap: torch.Tensor) -> torch.Tensor:
    """Per pixel, the source coefficient with the largest magnitude (the first on ties).
    (B,N,h,w) -> (B,1,h,w). A loop over the N sources, not the pixels."""
    best = lap[:, :1]
    best_abs = best.abs()
    for k in range(1, lap.shape[1]):
        cand = lap[:, k:k + 1]
        cand_abs = cand.abs()
        take = cand_abs > best_abs
        best = torch.where(take, cand, best)
        best_abs = torch.maximum(best_abs, cand_abs)
    return best


def laplacian_fuse(sources: torch.Tensor, levels: int = 0) -> torch.Tensor:
    """Laplacian-pyramid fusion of N grey sources stacked on the channel axis. (B,N,H,W) -> (B,1,H,W),
    not clamped (the selected details may overshoot [0,1] a little). ``levels`` unchecked (0: auto)."""
    n_levels = levels or auto_levels(*sources.shape[-2:])
    g = sources
    details = []
    for _ in range(n_levels - 1):
        down = pyr_down(g)
        details.append(_select_max_abs(g - pyr_up(down, g.shape[-2:])))
        g = down
    fused = g.mean(dim=1, keepdim=True)
    for lap in reversed(details):
        fused = pyr_up(fused, lap.shape[-2:]).add_(lap)
    return fused


@torch.no_grad()
def laplacian_fusion(rgb: torch.Tensor, thermal: torch.Tensor, *, levels: int = 0) -> torch.Tensor:
    """Laplacian-pyramid fusion of the visible luma and the thermal image; the RGB chroma is kept.

    Args:
        rgb: (B,3,H,W) float in [0,1], H, W >= 8.
        thermal: (B,1,H,W) float in [0,1], registered to the RGB view.
        levels: pyramid levels including the base (1..16), or 0 to choose them from the size
            (module docstring).

    Returns:
        (B,3,H,W) in [0,1], rgb's dtype and device; fp16/bf16 inputs are computed in fp32.
        Runs under ``torch.no_grad()`` (a baseline, not a differentiable layer).

    Raises:
        ConfigError: inputs of the wrong shape, dtype or size, or ``levels`` out of range.
    """
    check_pair("laplacian", rgb, thermal)
    p = check_params("laplacian", LAPLACIAN_PARAMS, {"levels": levels})
    dtype = compute_dtype(rgb)
    x = rgb.to(dtype)
    y = rgb_to_luma(x)
    fused = laplacian_fuse(torch.cat([y, thermal.to(dtype)], 1), p["levels"])
    return replace_luma(x, y, fused).to(rgb.dtype)


def laplacian_flops(h: int, w: int, levels: int = 0) -> float:
    """FLOPs of ``laplacian_fusion`` on one (3, h, w) frame (rule in ``ClassicalFusion.flops``)."""
    n_levels = levels or auto_levels(h, w)
    total = luma_flops(h, w) + replace_luma_flops(h, w)
    for _ in range(n_levels - 1):
        total += 2 * (pyr_down_flops(h, w) + pyr_up_flops(h, w) + h * w)  # two sources: REDUCE, EXPAND, subtract
        total += 4 * h * w  # two abs, compare, select
        total += pyr_up_flops(h, w) + h * w  # collapse: EXPAND, add
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    return total + 2 * h * w  # base mean


class LaplacianFusion(ClassicalFusion):
    """Laplacian-pyramid fusion on luma (max-abs details, averaged base); see ``laplacian_fusion``.

    ``LaplacianFusion(levels=0)``; forward (B,3,H,W), (B,1,H,W) -> (B,3,H,W), in [0,1].
    """

    name = "laplacian"
    PARAMS = LAPLACIAN_PARAMS
    needs_thermal = True
    function = staticmethod(laplacian_fusion)
    flops_of = staticmethod(laplacian_flops)

    def __init__(self, *, levels: int = 0) -> None:
        super().__init__()
        self._set_params(levels=levels)
