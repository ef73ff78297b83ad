"""Luma averaging: the simplest fusion baseline, ``Y' = (1 - w) Y_visible + w T``; the RGB chroma is kept.

With the default w = 0.5 this is the plain average of the visible luminance (BT.601) and the thermal
image. Every RGB channel moves by the same ``Y' - Y``, so Cb and Cr are unchanged where the clamp to
[0,1] does not bite.
"""

from __future__ import annotations

import torch

from fusion.classical.base import ClassicalFusion, Param, check_pair, check_params, compute_dtype
from fusion.classical.color import luma_flops, replace_luma, replace_luma_flops, rgb_to_luma

LUMA_AVERAGE_PARAMS = (
    Param("weight", float, 0.5, "weight of the thermal image in the fused luma (0: visible only, 1: "
          "thermal only)", low=0.0, high=1.0),
)


@torch.no_grad()
def luma_average(rgb: torch.Tensor, thermal: torch.Tensor, *, weight: float = 0.5) -> torch.Tensor:
    """The weighted average of the visible luma and the thermal image as the new luma.

    Args:
        rgb: (B,3,H,W) float in [0,1], H, W >= 8.
        thermal: (B,1,H,W) float in [0,1], registered to the RGB view.
        weight: the thermal image's weight in [0, 1].

    Returns:
        (B,3,H,W) in [0,1], rgb's dtype and device; fp16/bf16 inputs are computed in fp32.
        Runs under ``torch.no_grad()`` (a baseline, not a differentiable layer).

    Raises:
        ConfigError: inputs of the wrong shape, dtype or size, or ``weight`` outside [0, 1].
    """
    check_pair("luma_average", rgb, thermal)
    p = check_params("luma_average", LUMA_AVERAGE_PARAMS, {"weight": weight})
    dtype = compute_dtype(rgb)
    x = rgb.to(dtype)
    y = rgb_to_luma(x)
    fused = torch.lerp(y, thermal.to(dtype), p["weight"])
    return replace_luma(x, y, fused).to(rgb.dtype)


def luma_average_flops(h: int, w: int, weight: float = 0.5) -> float:
    """FLOPs of ``luma_average`` on one (3, h, w) frame: luma, a lerp (3 per pixel), the chroma kept."""
    return luma_flops(h, w) + 3 * h * w + replace_luma_flops(h, w)


class LumaAverage(ClassicalFusion):
    """Average of the visible luma and the thermal image, chroma kept; see ``luma_average``.

    ``LumaAverage(weight=0.5)``; forward (B,3,H,W), (B,1,H,W) -> (B,3,H,W), in [0,1].
    """

    name = "luma_average"
    PARAMS = LUMA_AVERAGE_PARAMS
    needs_thermal = True
    function = staticmethod(luma_average)
    flops_of = staticmethod(luma_average_flops)

    def __init__(self, *, weight: float = 0.5) -> None:
        super().__init__()
        self._set_params(weight=weight)
