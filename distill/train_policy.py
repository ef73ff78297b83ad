"""Train the frozen RGB policy's perception network on expert frames from clear days.

Reads the shards of ``python -m distill collect-policy-data`` (``DATA/train``, ``DATA/val``), trains
``agents.rgb_policy.model.PerceptionNet`` with photometric augmentations a driving team uses on
day-time data (brightness, contrast, saturation, sensor noise, blur; no night or
fog simulation: the policy must stay a clear-day policy), and writes ``perception.pt`` (state dict +
configs + validation figures; load with ``weights_only=True``) and ``manifest.json``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.rgb_policy.model import LIGHT_RANGE_M, NetConfig, PerceptionNet
from distill.policy_data import SEG_CLASSES, load_shards
from harness.errors import ConfigError


@dataclass(frozen=True)
class TrainConfig:
    data: str = "data/policy"
    epochs: int = 8
    batch: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    class_weights: tuple[float, ...] = (1.0, 3.0, 8.0)  # background, vehicle, pedestrian
    light_weight: float = 1.0
    threads: int = 2


def augment(x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Photometric jitter, blur and noise. x (B, 3, H, W) in [0, 1]; y (B, H/2, W/2) class ids."""
    b = x.shape[0]
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, 1, 1, 1, generator=g)  # noqa: E731
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * u(0.7, 1.3)  # saturation
    m = x.mean((1, 2, 3), keepdim=True)
    x = m + (x - m) * u(0.75, 1.25)  # contrast
    x = x * u(0.75, 1.25)  # brightness (exposure)
    blur = torch.rand(b, generator=g) < 0.2
    if blur.any():
        k = torch.tensor([0.25, 0.5, 0.25])
        kernel = (k[:, None] * k[None, :]).expand(3, 1, 3, 3)
        x[blur] = F.conv2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    x = x + torch.randn(x.shape, generator=g) * u(0.0, 0.03)  # sensor noise
    # no horizontal flips: traffic keeps right, and the side a signal head stands on tells whose it is
    return x.clamp_(0.0, 1.0), y


def _batch(data: dict, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(data["rgb"][idx]).permute(0, 3, 1, 2).float().div_(255.0)
    y = torch.from_numpy(data["seg"][idx]).long()
    near = torch.from_numpy((data["signal_m"][idx] < LIGHT_RANGE_M).astype(np.float32))
    stop = torch.from_numpy(np.isin(data["signal_state"][idx], (0, 1)).astype(np.float32))  # red or yellow
    return x, y, stop, near


def losses(net: PerceptionNet, x, y, stop, near, cfg: TrainConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted cross-entropy on the mask; BCE on the light, only for frames near a stop line."""
    seg, light = net(x)
    l_seg = F.cross_entropy(seg, y, weight=torch.tensor(cfg.class_weights))
    l_stop = (F.binary_cross_entropy_with_logits(light, stop, reduction="none") * near).sum() / near.sum().clamp(min=1.0)
    total = l_seg + cfg.light_weight * l_stop
    return total, {"seg": l_seg.item(), "stop": l_stop.item()}


@torch.inference_mode()
def evaluate(net: PerceptionNet, data: dict, batch: int = 32) -> dict[str, float]:
    """IoU/recall per class; light accuracy, F1 and red recall on frames near a stop line."""
    net.eval()
    k = len(SEG_CLASSES)
    conf = np.zeros((k, k), np.int64)
    p_stop, t_stop = [], []
    for i in range(0, len(data["rgb"]), batch):
        x, y, stop, near = _batch(data, np.arange(i, min(i + batch, len(data["rgb"]))))
        seg, light = net(x)
        pred = seg.argmax(1)
        conf += np.bincount((y * k + pred).ravel().numpy(), minlength=k * k).reshape(k, k)
        keep = near.numpy() > 0.5
        p_stop.append((torch.sigmoid(light) > 0.5).numpy()[keep]), t_stop.append(stop.numpy()[keep] > 0.5)
    net.train()
    p_stop, t_stop = np.concatenate(p_stop), np.concatenate(t_stop)
    out: dict[str, float] = {}
    for c in range(1, k):
        inter = conf[c, c]
        out[f"iou_{SEG_CLASSES[c]}"] = float(inter / max(conf[c].sum() + conf[:, c].sum() - inter, 1))
        out[f"recall_{SEG_CLASSES[c]}"] = float(inter / max(conf[c].sum(), 1))
    if len(t_stop):  # light figures only where some validation frame is near a stop line
        tp = float((p_stop & t_stop).sum())
        out["light_acc"] = float((p_stop == t_stop).mean())
        out["light_f1"] = 2 * tp / max(float(p_stop.sum() + t_stop.sum()), 1.0)
        out["light_red_recall"] = tp / max(float(t_stop.sum()), 1.0)
        out["light_green_recall"] = float((~p_stop & ~t_stop).sum()) / max(float((~t_stop).sum()), 1.0)
    out["light_frames"] = int(len(t_stop))
    out["frames"] = int(len(data["rgb"]))
    return out


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def train(cfg: TrainConfig, out_dir: Path, progress: bool = True) -> dict:
    from tqdm import tqdm

    data_dir = Path(cfg.data)
    shards = {s: sorted((data_dir / s).glob("*.npz")) for s in ("train", "val")}
    for split, paths in shards.items():
        if not paths:
            raise ConfigError(f"no {split} shards in {data_dir / split}; run `python -m distill collect-policy-data --out {data_dir}` first")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    g = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_data, val_data = load_shards(shards["train"]), load_shards(shards["val"])
    n = len(train_data["rgb"])
    net = PerceptionNet(NetConfig())
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = n // cfg.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15)
    t0 = time.time()
    history = []
    bar = tqdm(total=cfg.epochs * steps_per_epoch, desc="train-policy", unit="batch", disable=not progress)
    for epoch in range(cfg.epochs):
        order = rng.permutation(n)
        run = {"seg": 0.0, "stop": 0.0}
        for b in range(steps_per_epoch):
            x, y, stop, near = _batch(train_data, np.sort(order[b * cfg.batch : (b + 1) * cfg.batch]))
            x, y = augment(x, y, g)
            loss, parts = losses(net, x, y, stop, near, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            for k2 in run:
                run[k2] += parts[k2] / steps_per_epoch
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        val = evaluate(net, val_data)
        history.append({"epoch": epoch + 1, **{f"loss_{k2}": round(v, 4) for k2, v in run.items()},
                        **{k2: round(v, 4) for k2, v in val.items()}})
        if progress:
            tqdm.write(f"epoch {epoch + 1}: " + ", ".join(f"{k2} {v:.3f}" for k2, v in history[-1].items() if k2 != "epoch"))
    bar.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    final = history[-1]
    ckpt = {"model": net.state_dict(), "net_config": NetConfig().to_dict(), "train_config": asdict(cfg),
            "epochs": cfg.epochs, "val": {k2: v for k2, v in final.items() if not k2.startswith("loss")}}
    tmp = out_dir / "perception.pt.tmp"
    torch.save(ckpt, tmp)
    tmp.replace(out_dir / "perception.pt")
    manifest = {
        "command": "python -m distill " + " ".join(sys.argv[1:]) if sys.argv and "distill" in sys.argv[0] else "distill.train_policy.train",
        "config": asdict(cfg), "net_config": NetConfig().to_dict(), "seed": cfg.seed, "commit": _commit(),
        "data": {"train_frames": int(n), "val_frames": int(len(val_data["rgb"])),
                 "train_episodes": [p.stem for p in shards["train"]], "val_episodes": [p.stem for p in shards["val"]],
                 "collected_by": "python -m distill collect-policy-data (privileged expert, clear/clear_noon/cloudy)"},
        "validation": ckpt["val"], "history": history,
        "params": int(sum(p.numel() for p in net.parameters())),
        "wall_s": round(time.time() - t0, 1), "machine": f"{platform.machine()} {platform.processor() or ''} {torch.get_num_threads()} threads, torch {torch.__version__}",
        "weights_bytes": (out_dir / "perception.pt").stat().st_size,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return {"validation": ckpt["val"], "train_frames": int(n), "wall_s": manifest["wall_s"], "out": str(out_dir)}
