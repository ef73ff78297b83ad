"""Lamp pass-through: the camera's own lit lamps, at full saturation, over a fused image.

The frozen policy reads a traffic light's state from the lamp's colour (``python -m fusion cues``), and a
fusion module that learned its colours from a foggy camera and a thermal camera washes the lamp out: on the
committed student's image the policy stops at 0.16 of the near red lights at night in fog (fusion/student/README.md).
A lit lamp is the one thing at night in fog that the camera still shows better than any fusion: small, bright and
strongly coloured. This rule finds such pixels in the camera image (chroma ``max - min`` over the channels
above ``chroma``, brightest channel above ``bright``, both on the [0, 1] scale, in the top ``rows`` share of
the image: signal heads stand above the horizon, yellow road lines in the head lamps' beam lie below it) and
replaces the fused pixel with the camera's, its chroma stretched to the full range (``(x - min) / (max -
min)``: the fog's veil off).

It sees only the inputs every fusion module sees (no ground truth), is elementwise (ONNX-exportable, about
20 operations a pixel) and leaves every other pixel as the fusion made it. In daytime fog the camera shows
few pixels that bright and coloured (close to a signal only), so it changes little there.

The learned variants take it as parameters (``fusionproxy:lamps=camera``, ``teacher:lamps=camera``): their
shared declarations are :func:`lamp_params` and :func:`check_lamp_params`.
"""

from __future__ import annotations

import math

import torch

from harness.errors import ConfigError

# On the perception probe's night-fog frames with a lamp within 50 m, the lit lamps' camera chroma has median 0.27
# (10 % below 0.07); fusion/student/README.md gives the sweep these defaults come from.
DEFAULT_CHROMA = 0.2
DEFAULT_BRIGHT = 0.45
DEFAULT_ROWS = 0.5  # the embedded camera's horizon is its middle row; lamps lie in rows 48-76 of 160


def lamp_params(model: str) -> tuple:
    """The ``lamps``, ``lamp_chroma``, ``lamp_bright`` and ``lamp_rows`` parameters of a learned variant
    whose own image is called ``model`` (the default value of ``lamps``)."""
    from fusion.base import Param

    return (Param("lamps", str, model, f"{model}: the {model}'s image as it is; camera: the camera's lit lamps "
                  "(bright, strongly coloured pixels) pasted over it at full saturation", choices=(model, "camera")),
            Param("lamp_chroma", float, DEFAULT_CHROMA, "with lamps=camera: the least camera chroma (max - min of "
                  "the channels, 0..1) of a lamp pixel", low=0.0, high=1.0, low_exclusive=True),
            Param("lamp_bright", float, DEFAULT_BRIGHT, "with lamps=camera: the least brightest-channel value "
                  "(0..1) of a lamp pixel", low=0.0, high=1.0),
            Param("lamp_rows", float, DEFAULT_ROWS, "with lamps=camera: the top share of the image rows "
                  "searched (to 0.001; lamps stand above the horizon)", low=0.0, high=1.0, low_exclusive=True))


def check_lamp_params(variant: str, lamps: str, lamp_chroma: float = DEFAULT_CHROMA, lamp_bright: float = DEFAULT_BRIGHT,
                      lamp_rows: float = DEFAULT_ROWS) -> None:
    """ConfigError for a lamp threshold given without ``lamps=camera`` (it would change nothing)."""
    if lamps != "camera" and (lamp_chroma, lamp_bright, lamp_rows) != (DEFAULT_CHROMA, DEFAULT_BRIGHT, DEFAULT_ROWS):
        raise ConfigError(f"{variant}: lamp_chroma, lamp_bright and lamp_rows apply with lamps=camera only "
                          f"(e.g. {variant}:lamps=camera,lamp_chroma=0.3)")


def _channel_range(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return rgb.amax(dim=1, keepdim=True), rgb.amin(dim=1, keepdim=True)


def _lit(hi: torch.Tensor, lo: torch.Tensor, chroma: float, bright: float) -> torch.Tensor:
    return ((hi - lo) > chroma) & (hi > bright)


def lamp_mask(rgb: torch.Tensor, chroma: float = DEFAULT_CHROMA, bright: float = DEFAULT_BRIGHT,
              rows: float = DEFAULT_ROWS) -> torch.Tensor:
    """``(B, 1, H, W)`` bool: the camera pixels ``rgb (B, 3, H, W)`` in [0, 1] that look like a lit lamp."""
    row = torch.arange(rgb.shape[-2], device=rgb.device).view(1, 1, -1, 1)
    return _lit(*_channel_range(rgb), chroma, bright) & (row < rows * rgb.shape[-2])


def keep_camera_lamps(rgb: torch.Tensor, fused: torch.Tensor, chroma: float = DEFAULT_CHROMA,
                      bright: float = DEFAULT_BRIGHT, rows: float = DEFAULT_ROWS) -> torch.Tensor:
    """``fused`` with the camera's lamp pixels (:func:`lamp_mask`) pasted in at full saturation. The work is
    done on the top ``ceil(rows * H)`` rows only, ``rows`` rounded up to a multiple of 0.001 (integer arithmetic
    on the height, so an ONNX export stays free of the size it was traced at)."""
    n = (rgb.shape[-2] * math.ceil(rows * 1000) + 999) // 1000
    top, below = rgb[..., :n, :], fused[..., n:, :]
    hi, lo = _channel_range(top)  # once, for the mask and the stretch
    saturated = (top - lo) / (hi - lo).clamp_min(1e-6)
    mask = _lit(hi, lo, chroma, bright)
    return torch.cat([torch.where(mask, saturated.to(fused.dtype), fused[..., :n, :]), below], dim=-2)
