"""The two reference variants that need no training: ``rgb`` (no thermal) and ``thermal`` (no RGB)."""

from __future__ import annotations

import torch

from fusion.base import FusionModule


def rgb_only(rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
    """The RGB image unchanged: what the policy sees without fusion. (B,3,H,W) -> (B,3,H,W)."""
    return rgb


def thermal_only(rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
    """The thermal image as grey in all three channels. (B,1,H,W) -> (B,3,H,W)."""
    return thermal.expand(-1, 3, -1, -1)


class RGBOnly(FusionModule):
    name = "rgb"

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        return rgb_only(rgb, thermal)


class ThermalOnly(FusionModule):
    name = "thermal"

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        return thermal_only(rgb, thermal)
