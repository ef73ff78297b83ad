"""RGB enhancement without thermal: dark-channel dehazing, then local contrast on luma.

It answers "is thermal needed, or would a better RGB image do?": the thermal input is ignored.

1. Dehazing (He, Sun, Tang, "Single Image Haze Removal Using Dark Channel Prior", CVPR 2009 / TPAMI
   2011; transmission refined by the guided filter, TPAMI 2013). Dark channel = min over RGB, then
   over a (2 patch_radius + 1)^2 patch. Airlight A = the mean RGB of the 0.1 % pixels with the
   brightest dark channel, each channel at least ``airlight_min``. Transmission t~ = 1 - omega'
   dark(I / A), refined by a guided filter (guide: the luma), bounded below by ``t_min``.
   J = A + (B - A) / t + (I - B), B the edge-preserving base of I (guided filter, radius
   ``denoise_radius``): only the base is divided by t, the fine layer (sensor noise) is added back
   unamplified. ``denoise_radius=0`` gives He et al.'s J = A + (I - A) / t.
2. Haze gate: omega' = omega * g, with g ramping from 0 to 1 as the frame's mean haze opacity
   (omega x mean of dark(I / A)) goes from ``haze_lo`` to ``haze_hi``: a clear dark frame is left
   alone instead of being darkened (the prior removes a veil even where there is none).
3. Local contrast: Y' = Y + gain (Y - base), base = guided filter of Y by itself (edge-preserving, so
   no halos at strong edges), gain = amount x ramp(base; dark_level .. 2 dark_level).

Departures from He et al., for the noisy simulated camera: t_min = 0.25, not 0.1 (a gain of at most 4),
the base/fine split, the airlight floor and the haze gate. On bright clear frames the prior still
reads grey asphalt and sky as haze: the road gets darker and more contrasted, a bright sky saturates.

On a dark frame (night, no fog): the airlight floor keeps dark(I / A) small, so the opacity stays under
``haze_lo`` and the dehazing is off (a frame of mean 0.05 with A = 0.3 has opacity <= 0.16, and even a
partly open gate leaves t >= 0.95); the fine layer is never divided by t; the contrast gain is zero
where the local base luma is below ``dark_level`` = 0.1 and full only above 0.2. So dark noise is
neither amplified nor boosted as detail: the output equals the input (to within a slight darkening
where the gate opens). Nothing brightens the frame: this is not a low-light enhancer.
"""

from __future__ import annotations

import torch

from fusion.classical.base import ClassicalFusion, Param, check_params, check_rgb, compute_dtype
from fusion.classical.color import luma_flops, replace_luma, replace_luma_flops, rgb_to_luma
from fusion.classical.filters import Scratch, guided_filter, guided_filter_flops, min_filter
from harness.errors import ConfigError

TOP_FRACTION = 0.001  # brightest share of the dark channel that estimates the airlight (He et al.)
DENOISE_EPS = 1e-2  # guided filter regulariser of the layer the dehazing amplifies, on [0,1]: variation
#                     with a local standard deviation below ~0.1 (sensor noise) stays out of it
CONTRAST_EPS = 1e-2  # guided filter regulariser of the contrast base layer, on [0,1] luma: edges with
#                      a local standard deviation above 0.1 are kept in the base (no halo)

RGB_ENHANCE_PARAMS = (
    Param("patch_radius", int, 7, "dark channel patch radius [px] (15x15 patch)", low=0),
    Param("omega", float, 0.95, "share of the haze removed (He et al. keep 5 % for depth cue)", low=0.0, high=1.0),
    Param("t_min", float, 0.25, "lower bound on the transmission (caps the gain at 1 / t_min)", low=0.0,
          low_exclusive=True, high=1.0),
    Param("airlight_min", float, 0.3, "floor on each airlight channel, on [0,1] intensities", low=0.0,
          low_exclusive=True, high=1.0),
    Param("haze_lo", float, 0.1, "mean haze opacity at which dehazing starts", low=0.0, high=1.0),
    Param("haze_hi", float, 0.3, "mean haze opacity at which dehazing is full (> haze_lo)", low=0.0, high=1.0),
    Param("gf_radius", int, 20, "transmission guided filter radius [px]", low=0),
    Param("gf_eps", float, 1e-3, "transmission guided filter regulariser, on [0,1] luma", low=0.0,
          low_exclusive=True),
    Param("denoise_radius", int, 4, "radius [px] of the edge-preserving base that alone is divided by the "
          "transmission (0: the whole image, as He et al.)", low=0),
    Param("amount", float, 0.5, "local contrast: detail gain added (0: off, 1: detail doubled)", low=0.0, high=4.0),
    Param("contrast_radius", int, 8, "local contrast base layer radius [px]", low=0),
    Param("dark_level", float, 0.1, "base luma below which the contrast gain is 0 (full at twice it)",
          low=0.0, low_exclusive=True, high=0.5),
)


def _check(values: dict) -> dict:
    p = check_params("rgb_enhance", RGB_ENHANCE_PARAMS, values)
    if p["haze_hi"] <= p["haze_lo"]:
        raise ConfigError(f"rgb_enhance: haze_hi must be greater than haze_lo, got haze_lo={p['haze_lo']}, "
                          f"haze_hi={p['haze_hi']}; e.g. haze_lo=0.1, haze_hi=0.3")
    return p


def dark_channel(x: torch.Tensor, patch_radius: int) -> torch.Tensor:
    """min over RGB, then over the (2r+1)^2 patch (cut at the border). (B,3,H,W) -> (B,1,H,W)."""
    return min_filter(x.amin(dim=1, keepdim=True), patch_radius)


def estimate_airlight(x: torch.Tensor, dark: torch.Tensor, airlight_min: float) -> torch.Tensor:
    """Mean RGB of the TOP_FRACTION pixels with the brightest dark channel, floored per channel.
    (B,3,H,W), (B,1,H,W) -> (B,3,1,1) in [airlight_min, 1]."""
    b, _, h, w = x.shape
    k = max(1, int(TOP_FRACTION * h * w))
    idx = dark.reshape(b, h * w).topk(k, dim=1).indices  # (B,k)
    picked = x.reshape(b, 3, h * w).gather(2, idx.unsqueeze(1).expand(b, 3, k))  # (B,3,k)
    return picked.mean(dim=2).clamp(airlight_min, 1.0).view(b, 3, 1, 1)


def dehaze(x: torch.Tensor, *, patch_radius: int, omega: float, t_min: float, airlight_min: float,
           haze_lo: float, haze_hi: float, gf_radius: int, gf_eps: float, denoise_radius: int,
           scratch: Scratch | None = None) -> torch.Tensor:
    """Gated dark-channel-prior dehazing (module docstring). (B,3,H,W) in [0,1] -> (B,3,H,W) in [0,1]."""
    airlight = estimate_airlight(x, dark_channel(x, patch_radius), airlight_min)
    opacity = dark_channel(x / airlight, patch_radius).mul_(omega)  # (B,1,H,W), 1 - t~ at full strength
    gate = ((opacity.mean(dim=(2, 3), keepdim=True) - haze_lo) / (haze_hi - haze_lo)).clamp_(0.0, 1.0)
    y = rgb_to_luma(x)
    t = guided_filter(y, 1.0 - opacity * gate, gf_radius, gf_eps, scratch).clamp_(t_min, 1.0)
    if denoise_radius == 0:
        return ((x - airlight) / t).add_(airlight).clamp_(0.0, 1.0)
    # only the edge-preserving base is divided by t; the fine layer (sensor noise, fine texture) is
    # added back as it was, so a small transmission does not multiply the noise by 1 / t
    base = guided_filter(y, x, denoise_radius, DENOISE_EPS, scratch)
    return ((base - airlight) / t).add_(airlight).add_(x - base).clamp_(0.0, 1.0)


def local_contrast(x: torch.Tensor, *, amount: float, contrast_radius: int, dark_level: float,
                   scratch: Scratch | None = None) -> torch.Tensor:
    """Detail boost on luma with an edge-preserving base, faded out in the dark; chroma kept.
    (B,3,H,W) in [0,1] -> (B,3,H,W) in [0,1]."""
    if amount == 0.0:
        return x
    y = rgb_to_luma(x)
    base = guided_filter(y, y, contrast_radius, CONTRAST_EPS, scratch)
    gain = ((base - dark_level) / dark_level).clamp_(0.0, 1.0).mul_(amount)
    return replace_luma(x, y, y + gain * (y - base))


@torch.no_grad()
def rgb_enhance(rgb: torch.Tensor, thermal: torch.Tensor | None = None, *, patch_radius: int = 7,
                omega: float = 0.95, t_min: float = 0.25, airlight_min: float = 0.3, haze_lo: float = 0.1,
                haze_hi: float = 0.3, gf_radius: int = 20, gf_eps: float = 1e-3, denoise_radius: int = 4,
                amount: float = 0.5, contrast_radius: int = 8, dark_level: float = 0.1,
                scratch: Scratch | None = None) -> torch.Tensor:
    """The RGB frame dehazed and locally contrast-enhanced; thermal is ignored.

    Args:
        rgb: (B,3,H,W) float in [0,1], H, W >= 8.
        thermal: accepted for the common fusion signature and ignored (may be None).
        patch_radius, omega, t_min, airlight_min, haze_lo, haze_hi, gf_radius, gf_eps, denoise_radius:
            dehazing (``RGB_ENHANCE_PARAMS`` says what each is).
        amount, contrast_radius, dark_level: local contrast.
        scratch: optional ``filters.Scratch`` kept between calls (the module keeps one).

    Returns:
        (B,3,H,W) in [0,1], rgb's dtype and device; fp16/bf16 inputs are computed in fp32.
        Runs under ``torch.no_grad()`` (a baseline, not a differentiable layer).

    Raises:
        ConfigError: rgb of the wrong shape, dtype or size, or a parameter out of range
            (including haze_hi <= haze_lo).
    """
    check_rgb("rgb_enhance", rgb)
    p = _check({"patch_radius": patch_radius, "omega": omega, "t_min": t_min, "airlight_min": airlight_min,
                "haze_lo": haze_lo, "haze_hi": haze_hi, "gf_radius": gf_radius, "gf_eps": gf_eps,
                "denoise_radius": denoise_radius, "amount": amount, "contrast_radius": contrast_radius,
                "dark_level": dark_level})
    x = rgb.to(compute_dtype(rgb))
    x = dehaze(x, **{k: p[k] for k in ("patch_radius", "omega", "t_min", "airlight_min", "haze_lo", "haze_hi",
                                       "gf_radius", "gf_eps", "denoise_radius")}, scratch=scratch)
    x = local_contrast(x, amount=p["amount"], contrast_radius=p["contrast_radius"], dark_level=p["dark_level"],
                       scratch=scratch)
    return x.to(rgb.dtype)


def rgb_enhance_flops(h: int, w: int, patch_radius: int = 7, omega: float = 0.95, t_min: float = 0.25,
                      airlight_min: float = 0.3, haze_lo: float = 0.1, haze_hi: float = 0.3, gf_radius: int = 20,
                      gf_eps: float = 1e-3, denoise_radius: int = 4, amount: float = 0.5, contrast_radius: int = 8,
                      dark_level: float = 0.1) -> float:
    """FLOPs of ``rgb_enhance`` on one (3, h, w) frame (rule in ``ClassicalFusion.flops``)."""
    hw = h * w
    steps = 0
    while (1 << (steps + 1)) <= 2 * patch_radius + 1:
        steps += 1
    dark = 2 * hw + 2 * (steps + 1) * hw  # channel min, separable windowed min (doubling)
    total = 2 * dark + 3 * hw  # two dark channels, I / A
    total += 2 * hw + hw  # opacity, mean
    total += luma_flops(h, w) + 2 * hw + guided_filter_flops(h, w, gf_radius) + 2 * hw  # t, bounds
    total += 3 * 3 * hw + 3 * 2 * hw  # J, clamp
    if denoise_radius > 0:
        total += 3 * guided_filter_flops(h, w, denoise_radius) + 3 * 2 * hw  # base per channel, detail back
    if amount > 0:
        total += luma_flops(h, w) + guided_filter_flops(h, w, contrast_radius) + 5 * hw + 3 * hw
        total += replace_luma_flops(h, w)
    return total


class RGBEnhance(ClassicalFusion):
    """RGB only, dehazed (gated dark channel prior) and with local contrast; see ``rgb_enhance``.

    ``RGBEnhance(patch_radius=7, omega=0.95, t_min=0.1, ...)``; forward (B,3,H,W), (B,1,H,W) ->
    (B,3,H,W) in [0,1]; the thermal input is checked as every fusion's is, then ignored.
    """

    name = "rgb_enhance"
    PARAMS = RGB_ENHANCE_PARAMS
    needs_thermal = False
    flops_of = staticmethod(rgb_enhance_flops)

    def __init__(self, *, patch_radius: int = 7, omega: float = 0.95, t_min: float = 0.25,
                 airlight_min: float = 0.3, haze_lo: float = 0.1, haze_hi: float = 0.3, gf_radius: int = 20,
                 gf_eps: float = 1e-3, denoise_radius: int = 4, amount: float = 0.5, contrast_radius: int = 8,
                 dark_level: float = 0.1) -> None:
        super().__init__()
        self._params = _check({"patch_radius": patch_radius, "omega": omega, "t_min": t_min,
                               "airlight_min": airlight_min, "haze_lo": haze_lo, "haze_hi": haze_hi,
                               "gf_radius": gf_radius, "gf_eps": gf_eps, "denoise_radius": denoise_radius,
                               "amount": amount,
                               "contrast_radius": contrast_radius, "dark_level": dark_level})
        self._scratch = Scratch()

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        return rgb_enhance(rgb, **self._params, scratch=self._scratch)
