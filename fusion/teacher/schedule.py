"""The teacher's noise schedule and the v-parameterisation (Salimans & Ho 2022), in continuous time.

``t`` runs from 0 (data) to 1 (noise). With the cosine schedule (Nichol & Dhariwal 2021)
``alpha_bar(t) = cos(((t + s) / (1 + s)) * pi / 2) ** 2``, a noised sample is
``x_t = a * x0 + s * eps`` with ``a = sqrt(alpha_bar)``, ``s = sqrt(1 - alpha_bar)``; the network
predicts ``v = a * eps - s * x0``, from which ``x0 = a * x_t - s * v`` and ``eps = s * x_t + a * v``.

Sampling is DDIM (Song, Meng & Ermon 2021) on an evenly spaced grid of ``steps`` times from
``T_MAX`` to 0, with ``eta`` scaling the fresh noise of each step (``eta = 0``: deterministic given
the starting noise; ``eta = 1``: as stochastic as ancestral DDPM sampling).
"""

from __future__ import annotations

import math

import torch

COSINE_OFFSET = 0.008  # s of the cosine schedule
T_MAX = 0.999  # the first sampling time: alpha_bar(1) is 0 to rounding, which makes x0 = -v exactly


def alpha_bar(t: torch.Tensor) -> torch.Tensor:
    """Signal fraction ``alpha_bar(t)`` of the cosine schedule, for ``t`` in [0, 1]."""
    f = torch.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * (math.pi / 2)) ** 2
    f0 = math.cos(COSINE_OFFSET / (1 + COSINE_OFFSET) * (math.pi / 2)) ** 2
    return (f / f0).clamp(0.0, 1.0)


def _ab(t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, s) of ``t`` shaped to broadcast against ``like`` (B, C, H, W)."""
    ab = alpha_bar(t.to(torch.float32)).view(-1, *([1] * (like.ndim - 1))).to(like.dtype)
    return ab.sqrt(), (1 - ab).clamp_min(0).sqrt()


def noise(x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_t, v)``: ``x0`` noised to time ``t`` (B,) with ``eps``, and the v-target."""
    a, s = _ab(t, x0)
    return a * x0 + s * eps, a * eps - s * x0


def predict_x0_eps(x_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x0, eps)`` implied by the predicted ``v`` at ``x_t``."""
    a, s = _ab(t, x_t)
    return a * x_t - s * v, s * x_t + a * v


def ddim_times(steps: int) -> list[float]:
    """The ``steps + 1`` times of a DDIM pass, from ``T_MAX`` down to 0."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return [T_MAX * (1 - k / steps) for k in range(steps + 1)]


def ddim_step(x_t: torch.Tensor, x0: torch.Tensor, eps: torch.Tensor, t: float, t_next: float, eta: float,
              generator: torch.Generator | None) -> torch.Tensor:
    """One DDIM update from ``t`` to ``t_next`` < ``t`` given the predicted ``x0`` and ``eps``."""
    ab = float(alpha_bar(torch.tensor(t)))
    ab_next = float(alpha_bar(torch.tensor(t_next)))
    if t_next <= 0.0:
        return x0
    sigma = eta * math.sqrt(max((1 - ab_next) / max(1 - ab, 1e-12) * (1 - ab / ab_next), 0.0))
    direction = math.sqrt(max(1 - ab_next - sigma ** 2, 0.0))
    out = math.sqrt(ab_next) * x0 + direction * eps
    if sigma > 0:
        out = out + sigma * torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
    return out
