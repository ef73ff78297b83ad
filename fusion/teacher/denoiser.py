"""The teacher's networks: a regression U-Net and a residual denoising U-Net, both on a
space-to-depth grid.

Compute on a 2-core CPU decides the design (DESIGN.md, FusionProxy). Both networks run on the
image folded 4x4 into channels (``PixelUnshuffle(4)``: a 320x160 frame is an 80x40 grid), with a
full-resolution head after ``PixelShuffle(4)`` that smooths the 4x4 block seams. The teacher follows
CorrDiff (Mardani et al. 2023): the regression net gives a deterministic estimate ``mu`` of the
clean image (it does the bulk); the diffusion model learns the residual ``clean - mu``, conditioned
on the inputs and ``mu``, so it models what the inputs leave open (a vehicle's paint, a facade's
texture behind fog) and few sampling steps suffice. A sample is ``mu + residual_scale * r``.

Fully convolutional: any size (padded to a multiple of :data:`MULTIPLE` and cropped back).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

FOLD = 4  # space-to-depth factor of the stem


@dataclass(frozen=True)
class TeacherConfig:
    widths: tuple[int, ...] = (32, 64, 96)  # denoiser U-Net channels per level (on the folded grid)
    reg_widths: tuple[int, ...] = (48, 96, 128)  # regression U-Net channels per level
    head: int = 8  # channels of the full-resolution head
    temb: int = 128  # timestep embedding width
    residual_scale: float = 0.25  # the residual is divided by this before noising (about its std)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TeacherConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})


def multiple(cfg_widths: tuple[int, ...]) -> int:
    """Side lengths must be multiples of this (fold times the U-Net's downsamplings)."""
    return FOLD * 2 ** (len(cfg_widths) - 1)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of ``t`` in [0, 1] (scaled by 1000, as DDPM's integer steps): (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if c % 8 == 0 else 1, c)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with a timestep FiLM (scale, shift) in between when ``temb`` > 0."""

    def __init__(self, c_in: int, c_out: int, temb: int = 0) -> None:
        super().__init__()
        self.n1, self.c1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.n2, self.c2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.film = nn.Linear(temb, 2 * c_out) if temb else None
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x)))
        h = self.n2(h)
        if self.film is not None:
            scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        return self.skip(x) + self.c2(F.silu(h))


class FoldedUNet(nn.Module):
    """``(B, c_in, H, W) -> (B, c_out, H, W)``: fold 4x4 and embed each patch (1x1 conv), a U-Net
    over ``widths``, unfold to ``head`` channels at full resolution, and one 3x3 conv over those
    and the input. With ``temb`` > 0 it takes a time ``t`` (B,) in [0, 1]."""

    def __init__(self, c_in: int, c_out: int, widths: tuple[int, ...], head: int, temb: int = 0) -> None:
        super().__init__()
        self.temb = temb
        if temb:
            self.t_mlp = nn.Sequential(nn.Linear(temb, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.fold, self.unfold = nn.PixelUnshuffle(FOLD), nn.PixelShuffle(FOLD)
        self.stem = nn.Conv2d(c_in * FOLD * FOLD, widths[0], 1)  # a 4x4 patch embedding
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        for k, w in enumerate(widths):
            self.down.append(ResBlock(widths[k - 1] if k else widths[0], w, temb))
            if k < len(widths) - 1:
                self.pool.append(nn.Conv2d(w, w, 3, stride=2, padding=1))
        self.mid = ResBlock(widths[-1], widths[-1], temb)
        self.up = nn.ModuleList()
        for k in range(len(widths) - 2, -1, -1):
            self.up.append(ResBlock(widths[k + 1] + widths[k], widths[k], temb))
        self.out_norm = _norm(widths[0])
        self.to_full = nn.Conv2d(widths[0], head * FOLD * FOLD, 1)
        self.head = nn.Conv2d(head + c_in, c_out, 3, padding=1)  # sees across the 4x4 seams

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.t_mlp(timestep_embedding(t, self.temb).to(x.dtype)) if self.temb else None
        h = self.stem(self.fold(x))
        skips = []
        for k, block in enumerate(self.down):
            h = block(h, emb)
            if k < len(self.pool):
                skips.append(h)
                h = self.pool[k](h)
        h = self.mid(h, emb)
        for block in self.up:
            s = skips.pop()
            h = block(torch.cat([F.interpolate(h, size=s.shape[-2:], mode="nearest"), s], dim=1), emb)
        full = self.unfold(self.to_full(F.silu(self.out_norm(h))))
        return self.head(torch.cat([F.silu(full), x], dim=1))


class TeacherNet(nn.Module):
    """The regression estimate and the residual denoiser of the teacher (module docstring).

    Inputs are ``rgb (B,3,H,W)`` and registered ``thermal (B,1,H,W)`` in [0, 1], with sides that are
    multiples of :func:`multiple` (:class:`fusion.teacher.sampler.Teacher` pads)."""

    def __init__(self, cfg: TeacherConfig = TeacherConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.regression = FoldedUNet(4, 3, cfg.reg_widths, cfg.head)
        # denoiser input: the noised residual (3), the condition rgb, thermal and mu (7)
        self.denoiser = FoldedUNet(10, 3, cfg.widths, cfg.head, temb=cfg.temb)

    @property
    def multiple(self) -> int:
        return max(multiple(self.cfg.widths), multiple(self.cfg.reg_widths))

    def estimate(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        """The deterministic estimate ``mu`` of the clean image, (B,3,H,W), about [0, 1]."""
        return 0.5 + self.regression(torch.cat([rgb, thermal], dim=1) * 2 - 1)

    def condition(self, rgb: torch.Tensor, thermal: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        return torch.cat([rgb, thermal, mu.clamp(0, 1)], dim=1) * 2 - 1

    def velocity(self, r_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The predicted v of the scaled residual ``r_t`` at time ``t`` (B,)."""
        return self.denoiser(torch.cat([r_t, cond], dim=1), t)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
