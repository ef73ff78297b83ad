"""The diffusion teacher at inference: K samples, their mean and per-pixel variance.

``Teacher.load(path)`` reads committed weights (``weights_only``); ``Teacher.sample(rgb, thermal, k,
steps, generator)`` returns :class:`EnsembleStats`. The K samples run as one batch; every random
number comes from ``generator``, so a seed gives the same ensemble. ``TeacherFusion`` is the
``teacher`` variant: the ensemble mean, ``teacher:k=..,steps=..``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from fusion.base import FusionModule, Param, load_network
from fusion.lamps import DEFAULT_BRIGHT, DEFAULT_CHROMA, DEFAULT_ROWS, check_lamp_params, keep_camera_lamps, lamp_params
from fusion.teacher.denoiser import TeacherConfig, TeacherNet
from fusion.teacher.schedule import ddim_step, ddim_times, predict_x0_eps
from harness.errors import ConfigError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS = WEIGHTS_DIR / "teacher.pt"
DEFAULT_K = 8  # samples per frame (the ensemble cache; closed loop may take fewer)
DEFAULT_STEPS = 4  # DDIM steps per sample: a residual over mu needs few (steps against quality is not swept yet)
DEFAULT_ETA = 1.0  # fresh noise at every step: the samples differ where the inputs leave the answer open


@dataclass
class EnsembleStats:
    """``mean (B,3,H,W)`` in [0, 1], ``pixel_var (B,1,H,W)`` (the variance across samples, averaged
    over the three channels), ``samples (K,B,3,H,W)``."""

    mean: torch.Tensor
    pixel_var: torch.Tensor
    samples: torch.Tensor


def load_net(path: Path | str = WEIGHTS, device: str | torch.device = "cpu") -> TeacherNet:
    """The teacher network from a checkpoint written by ``distill.train_teacher`` (weights only)."""
    return load_network(path, "teacher", "train-teacher", lambda c: TeacherNet(TeacherConfig.from_dict(c)), device)


def _pad(x: torch.Tensor, m: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, h, w


class Teacher:
    """The trained teacher network and its sampler."""

    def __init__(self, net: TeacherNet) -> None:
        self.net = net.eval()

    @classmethod
    def load(cls, path: Path | str = WEIGHTS, device: str | torch.device = "cpu") -> "Teacher":
        return cls(load_net(path, device))

    @torch.no_grad()
    def estimate(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        """The regression estimate ``mu`` alone (no sampling), (B,3,H,W) in [0, 1]."""
        rgb_p, h, w = _pad(rgb, self.net.multiple)
        th_p, _, _ = _pad(thermal, self.net.multiple)
        return self.net.estimate(rgb_p, th_p)[..., :h, :w].clamp(0, 1)

    @torch.no_grad()
    def sample(self, rgb: torch.Tensor, thermal: torch.Tensor, k: int = DEFAULT_K, steps: int = DEFAULT_STEPS,
               generator: torch.Generator | None = None, eta: float = DEFAULT_ETA) -> EnsembleStats:
        """K samples of the clean image for each frame of ``rgb (B,3,H,W)``, ``thermal (B,1,H,W)``."""
        if k < 1 or steps < 1:
            raise ConfigError(f"teacher: k and steps must be >= 1, got k={k}, steps={steps}")
        net = self.net
        b = rgb.shape[0]
        rgb_p, h, w = _pad(rgb, net.multiple)
        th_p, _, _ = _pad(thermal, net.multiple)
        mu = net.estimate(rgb_p, th_p)
        cond = net.condition(rgb_p, th_p, mu).repeat(k, 1, 1, 1)  # (k*b, 7, H, W), sample-major
        shape = (k * b, 3, *rgb_p.shape[-2:])
        x = torch.randn(shape, generator=generator, device=rgb.device, dtype=rgb.dtype)
        times = ddim_times(steps)
        for t, t_next in zip(times[:-1], times[1:]):
            tt = torch.full((shape[0],), t, device=rgb.device)
            v = net.velocity(x, tt, cond)
            x0, eps = predict_x0_eps(x, tt, v)
            x = ddim_step(x, x0.clamp(-4, 4), eps, t, t_next, eta, generator)
        samples = (mu.repeat(k, 1, 1, 1) + net.cfg.residual_scale * x).clamp(0, 1)
        samples = samples[..., :h, :w].reshape(k, b, 3, h, w)
        return EnsembleStats(samples.mean(0), samples.var(0, unbiased=False).mean(1, keepdim=True), samples)


class TeacherFusion(FusionModule):
    """The ``teacher`` variant: the mean of ``k`` samples of ``steps`` DDIM steps each; with
    ``lamps=camera``, the camera's lit lamps pasted over the mean (:mod:`fusion.lamps`), as for the student."""

    name = "teacher"
    stochastic = True
    PARAMS = (Param("k", int, DEFAULT_K, "samples averaged per frame", low=1, high=64),
              Param("steps", int, DEFAULT_STEPS, "DDIM steps per sample", low=1, high=100),
              Param("eta", float, DEFAULT_ETA, "DDIM noise scale (0 deterministic, 1 DDPM-like)", low=0, high=1),
              Param("weights", str, "", "a checkpoint of `python -m distill train-teacher` (teacher.pt) in place of the "
                    "committed weights", is_path=True),
              *lamp_params("teacher"))

    def __init__(self, k: int = DEFAULT_K, steps: int = DEFAULT_STEPS, eta: float = DEFAULT_ETA,
                 weights: Path | str = WEIGHTS, lamps: str = "teacher", lamp_chroma: float = DEFAULT_CHROMA,
                 lamp_bright: float = DEFAULT_BRIGHT, lamp_rows: float = DEFAULT_ROWS) -> None:
        super().__init__()
        self.check_params(lamps=lamps, lamp_chroma=lamp_chroma, lamp_bright=lamp_bright, lamp_rows=lamp_rows)
        self.net = load_net(Path(weights).expanduser() if weights else WEIGHTS)
        self.k, self.steps, self.eta = k, steps, eta
        self.lamps = lamps == "camera"
        self.lamp = (float(lamp_chroma), float(lamp_bright), float(lamp_rows))

    @staticmethod
    def check_params(lamps: str = "teacher", lamp_chroma: float = DEFAULT_CHROMA, lamp_bright: float = DEFAULT_BRIGHT,
                     lamp_rows: float = DEFAULT_ROWS, **_) -> None:
        """ConfigError for a lamp threshold given without ``lamps=camera`` (it would change nothing)."""
        check_lamp_params("teacher", lamps, lamp_chroma, lamp_bright, lamp_rows)

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        mean = Teacher(self.net).sample(rgb, thermal, self.k, self.steps, generator, self.eta).mean
        return keep_camera_lamps(rgb, mean, *self.lamp) if self.lamps else mean

    @staticmethod
    def flops(h: int, w: int, **params) -> str:
        return "iterative"
