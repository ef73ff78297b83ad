"""The FusionProxy student: a small, fully convolutional RGB + thermal -> RGB network, one forward pass.

Built for CPU and GPU inference at real-time cost, and decoupled from the teacher (no shared weights):

- the input (RGB and registered thermal, 4 channels) goes to a 4x4 grid by a 4x4 convolution of
  stride 4 (the same map as ``PixelUnshuffle(4)`` and a pointwise convolution, in one operator that
  ONNX Runtime runs without a 6-D transpose), where every layer is cheap;
- a three-level encoder-decoder at 1/4, 1/8 and 1/16 resolution of residual depthwise-separable
  blocks (3x3 depthwise, dilated at the coarsest level for context, then a pointwise expansion);
- the head, a 4x4 transposed convolution of stride 4 (a pointwise convolution to 48 channels and
  ``PixelShuffle(4)`` in one operator), puts the image back at full resolution, then a sigmoid: the
  output is in (0, 1). (A full-resolution pointwise path from the inputs was tried and dropped: it
  cost more than a third of the small sizes' time in ONNX Runtime, and the stem sees every pixel.)
- ``rgb_gate`` (optional): the head also gives a full-resolution gate ``g`` in (0, 1) per pixel and
  channel, and the camera's own pixel is added before the sigmoid, ``sigmoid(base + g * (4 rgb - 2))``:
  details smaller than the 4x4 grid that the camera does show (a lit signal lamp is one to three
  pixels) can pass at the cost of three elementwise operations at full resolution, while the network
  shuts the gate where the camera shows only noise. The gate starts nearly shut (bias -4).

Any input size works: the frame is padded (replicate) to a multiple of 16 and the output cropped.
Only convolutions, ReLU, bilinear resizing and sigmoid: FP16-safe, ONNX- and TensorRT-exportable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

MULTIPLE = 16


@dataclass(frozen=True)
class StudentConfig:
    width: int = 24  # channels at 1/4 resolution; 2x at 1/8, 4x at 1/16
    blocks: tuple[int, int, int] = (1, 2, 2)  # residual blocks at 1/4, 1/8, 1/16
    expand: int = 2  # pointwise expansion inside a block
    rgb_gate: bool = False  # a gated full-resolution pass of the camera's pixels (module docstring)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StudentConfig":
        return cls(width=int(d["width"]), blocks=tuple(int(b) for b in d["blocks"]), expand=int(d.get("expand", 2)),
                   rgb_gate=bool(d.get("rgb_gate", False)))


SIZES = {
    "xs": StudentConfig(width=12, blocks=(1, 1, 2)),
    "s": StudentConfig(width=16, blocks=(1, 2, 2)),
    "m": StudentConfig(width=24, blocks=(1, 2, 3)),
    "l": StudentConfig(width=32, blocks=(2, 3, 4)),
}


class Block(nn.Module):
    """``x + pw2(relu(pw1(relu(dw(x)))))``: depthwise 3x3 (dilated), pointwise expansion and back."""

    def __init__(self, c: int, expand: int, dilation: int = 1) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation, groups=c)
        self.pw1 = nn.Conv2d(c, c * expand, 1)
        self.pw2 = nn.Conv2d(c * expand, c, 1)
        nn.init.zeros_(self.pw2.weight)  # each block starts as the identity
        nn.init.zeros_(self.pw2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pw2(F.relu(self.pw1(F.relu(self.dw(x)))))


def _stage(c: int, n: int, expand: int, dilations: tuple[int, ...]) -> nn.Sequential:
    return nn.Sequential(*[Block(c, expand, dilations[i % len(dilations)]) for i in range(n)])


class StudentNet(nn.Module):
    """``net(rgb (B,3,H,W), thermal (B,1,H,W)) -> (B,3,H,W)``, float in [0, 1]."""

    def __init__(self, cfg: StudentConfig = StudentConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c, e = cfg.width, cfg.expand
        self.stem = nn.Conv2d(4, c, 4, stride=4)
        self.s1 = _stage(c, cfg.blocks[0], e, (1,))
        self.down2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.s2 = _stage(2 * c, cfg.blocks[1], e, (1, 2))
        self.down3 = nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1)
        self.s3 = _stage(4 * c, cfg.blocks[2], e, (1, 2, 4))
        self.up3 = nn.Conv2d(4 * c, 2 * c, 1)
        self.d2 = _stage(2 * c, 1, e, (1,))
        self.up2 = nn.Conv2d(2 * c, c, 1)
        self.d1 = _stage(c, 1, e, (1,))
        self.head = nn.ConvTranspose2d(c, 6 if cfg.rgb_gate else 3, 4, stride=4)
        if cfg.rgb_gate:
            with torch.no_grad():
                self.head.bias[3:].fill_(-4.0)  # the gate starts nearly shut: sigmoid(-4) = 0.018

    def forward(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        h, w = rgb.shape[-2], rgb.shape[-1]
        x = torch.cat([rgb, thermal], 1) * 4.0 - 2.0  # [0,1] -> [-2,2]
        ph, pw = (MULTIPLE - h % MULTIPLE) % MULTIPLE, (MULTIPLE - w % MULTIPLE) % MULTIPLE
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        f1 = self.s1(F.relu(self.stem(x)))
        f2 = self.s2(F.relu(self.down2(f1)))
        f3 = self.s3(F.relu(self.down3(f2)))
        u2 = self.d2(f2 + F.interpolate(self.up3(f3), size=f2.shape[-2:], mode="bilinear", align_corners=False))
        u1 = self.d1(f1 + F.interpolate(self.up2(u2), size=f1.shape[-2:], mode="bilinear", align_corners=False))
        y = self.head(F.relu(u1))[..., :h, :w]
        if self.cfg.rgb_gate:
            y = y[:, :3] + torch.sigmoid(y[:, 3:]) * (rgb * 4.0 - 2.0)
        return torch.sigmoid(y)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def macs(cfg: StudentConfig, height: int, width: int) -> int:
    """Multiply-accumulates of one forward pass at ``height x width`` (convolutions only), counted
    with forward hooks on a real pass."""
    net = StudentNet(cfg).eval()
    total = [0]

    def hook(mod: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        k = mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
        if isinstance(mod, nn.ConvTranspose2d):  # each input value meets out_channels x k x k weights
            total[0] += int(inp[0].numel() * mod.out_channels * k)
        else:  # each output value is in_channels x k x k products
            total[0] += int(out.numel() * mod.in_channels * k)

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        net(torch.zeros(1, 3, height, width), torch.zeros(1, 1, height, width))
    for hd in hs:
        hd.remove()
    return total[0]
