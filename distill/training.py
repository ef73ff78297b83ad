"""Pieces both trainings share (the teacher's and the student's): the learning-rate schedule, the
resume key, atomic checkpoint writes, PSNR, EMA."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch

NOT_RESUME_KEY = ("threads", "val_every", "ckpt_every")  # may change between a run and its resumption


def resume_key(config: dict) -> str:
    """What must match for a checkpoint to resume a run: the config less threads and logging cadence."""
    return json.dumps({k: v for k, v in config.items() if k not in NOT_RESUME_KEY}, sort_keys=True)


def cosine_lr(peak: float, warmup: int, steps: int, step: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``steps``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


LIT_CHROMA = 0.35  # a traffic-light pixel of the clean image at least this colourful is a lit lamp


def lit_lamps(semantic: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """``(N,H,W)`` bool: the lit signal lamps of frames (``semantic (N,H,W)`` ids, ``clean (N,H,W,3)``
    uint8): traffic-light pixels whose clean colour has chroma (max - min channel) above
    :data:`LIT_CHROMA`; the housing is grey, a lit lamp red, amber or green."""
    from harness.semantics import Sem

    c = clean.astype(np.int16)
    return (semantic == Sem.TRAFFIC_LIGHT) & ((c.max(-1) - c.min(-1)) > LIT_CHROMA * 255)


def lamp_chroma(img: torch.Tensor, mask) -> float:
    """Mean chroma (max - min channel, 0-1) of ``img (N,3,H,W)`` over ``mask (N,H,W)``; NaN for an
    empty mask. The clean image's lamps are about 0.75, a lamp painted grey near 0."""
    m = torch.as_tensor(mask, dtype=torch.bool)
    if not bool(m.any()):
        return float("nan")
    chroma = img.amax(1) - img.amin(1)
    return float(chroma[m].mean())


def save_atomic(path: Path, obj: dict) -> None:
    tmp = Path(path).with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float) -> None:
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.lerp_(p, 1 - decay)


def frozen_policy():
    """The frozen RGB policy's perception network (eval mode, no gradients to its weights): what the
    light terms of the teacher and the student read (``distill.losses.light_term``)."""
    from agents.rgb_policy.model import load_perception

    net, _ = load_perception()
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()
