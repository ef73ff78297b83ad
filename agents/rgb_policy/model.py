"""The RGB policy's perception network: one image in, obstacle segmentation and a traffic-light map out.

Input ``(B, 3, H, W)`` float in ``[0, 1]`` (RGB; H, W multiples of 16, 160x320 by default).
Outputs:

- ``seg``: ``(B, 3, H/2, W/2)`` logits over background / vehicle / pedestrian;
- ``lights``: ``(B, 3, ~5H/64, W/8)`` logits per 8x8-pixel cell of the upper 5/8 of the image over
  none / stop (red or yellow) / go (green): the cell holding the lit lamp of the ego's *own* signal
  head is stop or go, every other cell (other heads, tail lights, sky) is none. It is trained on
  where that lamp projects (``distill.policy.data``), so the network learns to find the lamp rather
  than to remember scenes. Within ``LIGHT_RANGE_M`` of a stop line of its route plan the planner
  reduces it to one number (:func:`decide_stop`) over the rows where its own head can be
  (``planner.own_head_rows``); :func:`stop_probability` does the same for batches.

A small encoder-decoder of plain 3x3 convolutions (0.31 M parameters; plain convolutions
train and run faster than depthwise ones on CPU); about 9 ms per 320x160 frame on one CPU core.

:func:`load_perception` reads the committed weights (``weights/perception.pt``) or a checkpoint of
``python -m distill train-policy``; :func:`fold_batch_norm` prepares the network for inference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from harness.errors import ConfigError

LIGHT_RANGE_M = 40.0  # [m] the light head is trained and used within this gap to a stop line
LIGHT_ROWS_NUM, LIGHT_ROWS_DEN = 5, 8  # the light branch sees the top 5/8 of the image
LIGHT_CELL_PX = 8  # one cell of the light map covers 8x8 input pixels
LIGHT_CELL_CENTRE_PX = 1.5  # cell i's centre sits at input pixel 8i + 1.5 (max-pool, then two stride-2 convolutions)
LIGHT_CLASSES = ("none", "stop", "go")
LIGHT_SEEN = 0.3  # a lamp counts as seen where its most confident cell is above this


@dataclass(frozen=True)
class NetConfig:
    widths: tuple[int, ...] = (16, 32, 48, 64)  # 1/2, 1/4, 1/8, 1/16 resolution
    classes: int = 3
    light_local: bool = False  # what a light cell sees: 114 px around it (False) or 34 px (True; tried, not kept)

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PerceptionNet(nn.Module):
    def __init__(self, cfg: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w1, w2, w3, w4 = cfg.widths
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), persistent=False)
        self.enc1 = _conv(3, w1, 2)  # 1/2
        self.enc2 = nn.Sequential(_conv(w1, w2, 2), _conv(w2, w2))  # 1/4
        self.enc3 = nn.Sequential(_conv(w2, w3, 2), _conv(w3, w3, dilation=2))  # 1/8
        self.enc4 = nn.Sequential(_conv(w3, w4, 2), _conv(w4, w4, dilation=2), _conv(w4, w4, dilation=4))  # 1/16
        self.dec3 = _conv(w4 + w3, w3)
        self.dec2 = _conv(w3 + w2, w2)
        self.dec1 = _conv(w2 + w1, w1, k=1)  # 1/2 resolution, pointwise: cheap where pixels are many
        self.seg_head = nn.Conv2d(w1, cfg.classes, 1)
        # lamps are one or two pixels at the distances that matter: the light branch reads the upper
        # part of the image at full resolution through a 2x2 max-pool (a bright lamp survives it,
        # a strided convolution would alias it away), not the segmentation encoder's features
        if cfg.light_local:
            self.light_net = nn.Sequential(_conv(3, 16), _conv(16, 32, 2), _conv(32, 48, 2), _conv(48, 64), _conv(64, 64, k=1))
        else:
            self.light_net = nn.Sequential(_conv(3, 16), _conv(16, 32, 2), _conv(32, 48, 2), _conv(48, 64, dilation=2),
                                           _conv(64, 64, dilation=4))
        self.light_head = nn.Conv2d(64, 3, 1)  # per cell: none / stop / go

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x - self.mean) / self.std
        seg = self._seg(x)  # (B, classes, H/2, W/2)
        lights = self._lights(x[:, :, : light_rows(x.shape[2])])  # (B, 3, ~5H/64, W/8): sky and signal heads
        return seg, lights

    def _seg(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)  # (B, w1, H/2, W/2)
        e2 = self.enc2(e1)  # (B, w2, H/4, W/4)
        e3 = self.enc3(e2)  # (B, w3, H/8, W/8)
        e4 = self.enc4(e3)  # (B, w4, H/16, W/16)
        up = lambda t, ref: F.interpolate(t, size=ref.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
        d3 = self.dec3(torch.cat([up(e4, e3), e3], 1))
        d2 = self.dec2(torch.cat([up(d3, e2), e2], 1))
        d1 = self.dec1(torch.cat([up(d2, e1), e1], 1))
        return self.seg_head(d1)

    def _lights(self, xn: torch.Tensor) -> torch.Tensor:
        return self.light_head(self.light_net(F.max_pool2d(xn, 2)))

    def light_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H/8, W/8)`` light logits of every 8x8 cell of ``x`` (``(B, 3, H, W)`` in ``[0, 1]``),
        over the whole of ``x`` (``forward`` reads the top 5/8 of a full frame): for losses that read
        this branch on image crops (``distill.losses.light_term``)."""
        return self._lights((x - self.mean) / self.std)

    def seg_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, classes, H/2, W/2)`` obstacle logits (background / vehicle / pedestrian) of ``x``
        (``(B, 3, H, W)`` in ``[0, 1]``, H and W multiples of 16): ``forward``'s first output alone, for
        losses that read this branch on image crops (``distill.losses.policy_seg_term``)."""
        return self._seg((x - self.mean) / self.std)


def light_rows(height: int) -> int:
    """Image rows the light branch reads (from the top)."""
    return height * LIGHT_ROWS_NUM // LIGHT_ROWS_DEN


def decide_stop(s, g):
    """Most confident stop and go cell probabilities -> the probability that the own signal says stop:
    ``s / (s + g)`` where either is above ``LIGHT_SEEN``, else 0 (no lamp of its own in view: drive on;
    a lead vehicle that hides the lamp is followed anyway). Comparing the two rather than taking ``s``
    alone keeps a green lamp whose neighbouring cell flickers "stop" from stopping the car. Works on
    numpy arrays and on tensors alike."""
    return ((s > LIGHT_SEEN) | (g > LIGHT_SEEN)) * s / (s + g + 1e-6)


def stop_probability(lights: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 3, h, w) light logits -> (B,) probability that the ego's own signal says stop
    (:func:`decide_stop` on the most confident cells); with ``rows`` ((B, h) bool), only cells in
    those rows count (where the planner expects its own signal head, ``planner.own_head_rows``)."""
    p = torch.softmax(lights, 1)
    if rows is not None:
        p = p * rows[:, None, :, None].to(p.dtype)
    return decide_stop(p[:, 1].amax(dim=(1, 2)), p[:, 2].amax(dim=(1, 2)))


WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = "perception.pt"


def load_perception(path: str | Path | None = None) -> tuple[PerceptionNet, dict]:
    """The trained network (eval mode) and its checkpoint metadata; ConfigError with the fix if absent."""
    p = Path(path) if path else WEIGHTS_DIR
    if p.is_dir():
        p = p / WEIGHTS_FILE
    if not p.is_file():
        raise ConfigError(f"RGB policy weights not found at {p}; train them with "
                          f"`python -m distill collect-policy-data && python -m distill train-policy` "
                          f"or pass the path of a perception.pt")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
        net = PerceptionNet(NetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ckpt["net_config"].items()}))
        net.load_state_dict(ckpt["model"])
    except Exception as err:
        raise ConfigError(f"{p}: not a perception checkpoint written by `python -m distill train-policy` "
                          f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''})") from err
    return net.eval(), {k: v for k, v in ckpt.items() if k != "model"}


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """Fold every (Conv2d, BatchNorm2d, ...) block's normalisation into the convolution, in place
    (inference only: same outputs to 1e-5, about 1 ms less per 320x160 frame on one core here)."""
    for name, child in module.named_children():
        if (isinstance(child, nn.Sequential) and len(child) >= 2 and isinstance(child[0], nn.Conv2d)
                and isinstance(child[1], nn.BatchNorm2d)):
            setattr(module, name, nn.Sequential(fuse_conv_bn_eval(child[0], child[1]), *child[2:]))
        else:
            fold_batch_norm(child)
    return module
