"""The fusion module interface: one ``fuse`` function per variant, a thin ``nn.Module`` shell."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from harness.errors import ConfigError


def check_inputs(rgb: torch.Tensor, thermal: torch.Tensor) -> None:
    """Raise ConfigError unless rgb is (B, 3, H, W) and thermal (B, 1, H, W), both floating point."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ConfigError(f"rgb must be (B, 3, H, W), got {tuple(rgb.shape)}")
    if thermal.ndim != 4 or thermal.shape[1] != 1:
        raise ConfigError(f"thermal must be (B, 1, H, W), got {tuple(thermal.shape)}")
    if thermal.shape[0] != rgb.shape[0] or thermal.shape[-2:] != rgb.shape[-2:]:
        raise ConfigError(f"thermal {tuple(thermal.shape)} must match rgb {tuple(rgb.shape)} in batch and size "
                          f"(register it to the RGB view first: harness.sensors.registration)")
    if not (rgb.is_floating_point() and thermal.is_floating_point()):
        raise ConfigError(f"inputs must be float tensors in [0, 1], got {rgb.dtype} and {thermal.dtype}")


class FusionModule(nn.Module, ABC):
    """``forward(rgb (B,3,H,W), thermal (B,1,H,W)) -> (B,3,H,W)``, all float in [0, 1]."""

    name: str = "abstract"

    def forward(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        check_inputs(rgb, thermal)
        return self.fuse(rgb, thermal)

    @abstractmethod
    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        """The fusion itself, on checked inputs."""
