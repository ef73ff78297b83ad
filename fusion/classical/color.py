"""RGB <-> YCbCr (ITU-R BT.601, full range), as the fusion papers' code converts colour visible images.

Full range: Y, Cb and Cr all span [0, 1] for RGB in [0, 1] (JPEG / OpenCV ``COLOR_RGB2YCrCb``), with
chroma centred on 0.5 (OpenCV's float offset; 8-bit JPEG uses 128/255). Not MATLAB's ``rgb2ycbcr``,
which is BT.601 studio range (Y in [16, 235] / 255).

The fusions here replace the luminance and keep the chroma. In this transform every RGB channel has
coefficient 1 on Y in the inverse, so ``ycbcr_to_rgb(Y', Cb, Cr) == rgb + (Y' - Y)`` exactly:
``replace_luma`` does that in one add, without the round trip.
"""

from __future__ import annotations

import torch

from harness.errors import ConfigError

KR, KB = 0.299, 0.114  # BT.601 luma weights of R and B
KG = 1.0 - KR - KB
_CB, _CR = 2.0 * (1.0 - KB), 2.0 * (1.0 - KR)  # 1.772, 1.402: Cb = (B - Y) / 1.772 + 0.5, Cr = (R - Y) / 1.402 + 0.5
# rows: Y, Cb, Cr; columns: R, G, B
_RGB_TO_YCBCR = ((KR, KG, KB),
                 (-KR / _CB, -KG / _CB, 0.5),
                 (0.5, -KG / _CR, -KB / _CR))
# rows: R, G, B; columns: Y, Cb - 0.5, Cr - 0.5 (the exact inverse of the above)
_YCBCR_TO_RGB = ((1.0, 0.0, _CR),
                 (1.0, -KB * _CB / KG, -KR * _CR / KG),
                 (1.0, _CB, 0.0))
CHROMA_OFFSET = 0.5


def _check_three(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3 or not x.is_floating_point():
        got = (tuple(x.shape), x.dtype) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ConfigError(f"{name} takes a float (B, 3, H, W) tensor, got {got}; add the batch axis with x[None]")


def rgb_to_luma(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B``. (B,3,H,W) in [0,1] -> (B,1,H,W) in [0,1]."""
    _check_three("rgb_to_luma", rgb)
    return (rgb[:, :1] * KR).add_(rgb[:, 1:2], alpha=KG).add_(rgb[:, 2:], alpha=KB)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB in [0,1] -> (B,3,H,W) Y, Cb, Cr in [0,1] (BT.601 full range, chroma centred on 0.5)."""
    _check_three("rgb_to_ycbcr", rgb)
    m = torch.tensor(_RGB_TO_YCBCR, dtype=rgb.dtype, device=rgb.device)
    out = torch.einsum("ij,bjhw->bihw", m, rgb)
    return out + torch.tensor((0.0, CHROMA_OFFSET, CHROMA_OFFSET), dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) Y, Cb, Cr -> (B,3,H,W) RGB, the inverse of ``rgb_to_ycbcr``. Not clamped: a Y that
    left [0,1] or a chroma out of gamut gives RGB outside [0,1]."""
    _check_three("ycbcr_to_rgb", ycbcr)
    m = torch.tensor(_YCBCR_TO_RGB, dtype=ycbcr.dtype, device=ycbcr.device)
    centred = ycbcr - torch.tensor((0.0, CHROMA_OFFSET, CHROMA_OFFSET), dtype=ycbcr.dtype,
                                   device=ycbcr.device).view(1, 3, 1, 1)
    return torch.einsum("ij,bjhw->bihw", m, centred)


def luma_flops(h: int, w: int) -> float:
    """FLOPs of ``rgb_to_luma`` on one (h, w) frame: three multiplies and two adds per pixel."""
    return 5 * h * w


def replace_luma_flops(h: int, w: int) -> float:
    """FLOPs of ``replace_luma`` on one (h, w) frame: one subtract, three adds, six clamp bounds per pixel."""
    return 10 * h * w


def replace_luma(rgb: torch.Tensor, luma: torch.Tensor, new_luma: torch.Tensor) -> torch.Tensor:
    """RGB with its luma ``luma`` (B,1,H,W) replaced by ``new_luma`` (B,1,H,W) and Cb, Cr kept;
    clamped to [0,1]. Equal to ``ycbcr_to_rgb(cat(new_luma, Cb, Cr))`` (see the module docstring)
    wherever the clamp does not bite. (B,3,H,W) -> (B,3,H,W)."""
    return (rgb + (new_luma - luma)).clamp_(0.0, 1.0)
