"""Train the frozen RGB policy's perception network on expert frames from clear days.

Reads the shards of ``python -m distill collect-policy-data`` (``DATA/train``, ``DATA/val``), trains
``agents.rgb_policy.model.PerceptionNet`` with photometric augmentations a driving team uses on
day-time data (brightness, contrast, saturation, sensor noise, blur, noise-free clean frames,
optionally cast shadows and a wider exposure range; no night or fog simulation: the policy must
stay a clear-day policy), and writes ``perception.pt`` (state dict + configs + validation
figures; load with ``weights_only=True``) and ``manifest.json``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.rgb_policy.model import LIGHT_CELL_CENTRE_PX, LIGHT_CELL_PX, LIGHT_RANGE_M, NetConfig, PerceptionNet, stop_probability
from agents.rgb_policy.planner import own_head_rows
from distill.policy.augment import augment, shift_frames, use_clean
from distill.provenance import commit as _commit
from distill.policy.data import COLLECT_OPTIONS, SEG_CLASSES, SHARD_FIELDS, default_episodes, load_shards
from harness.errors import ConfigError


LAMP_WEIGHT = 50.0  # a lamp cell against ~500 none cells per frame


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
    shadows: float = 0.0  # share of frames with cast shadows on the road (see augment)
    shift: float = 0.7  # share of frames shifted sideways, labels and lamp with them (see shift_frames)
    light_context: str = "wide"  # what a light cell sees: "wide" (114 px) or "local" (34 px); see PerceptionNet
    clean: float = 0.0  # share of frames replaced by their privileged clean image (see use_clean; tried, not kept)
    exposure_min: float = 0.75  # lowest exposure of the brightness jitter (uniform up to 1.25; see augment)

    def __post_init__(self) -> None:
        if not 0.0 <= self.shadows <= 1.0:
            raise ConfigError(f"train-policy: shadows is the share of frames with cast shadows, within [0, 1]; got {self.shadows}")
        if not 0.0 <= self.shift <= 1.0:
            raise ConfigError(f"train-policy: shift is the share of frames shifted sideways, within [0, 1]; got {self.shift}")
        if not 0.0 <= self.clean <= 1.0:
            raise ConfigError(f"train-policy: clean is the share of frames replaced by their clean image, within [0, 1]; got {self.clean}")
        if not 0.05 <= self.exposure_min <= 1.25:
            raise ConfigError(f"train-policy: exposure_min is the lowest exposure factor, within [0.05, 1.25]; got {self.exposure_min}")
        if self.light_context not in ("local", "wide"):
            raise ConfigError(f"train-policy: light_context is 'local' or 'wide'; got {self.light_context!r}")

    def net_config(self) -> NetConfig:
        return NetConfig(light_local=self.light_context == "local")


def light_targets(lamp_uv: np.ndarray, state: np.ndarray, shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-cell targets of the light map ``shape`` (h, w): class (0 none, 1 stop, 2 go), weight, and
    for the lamp cell's eight neighbours the lamp's class (0 elsewhere).

    The cell holding the own lamp gets stop (red, yellow) or go (green) with weight ``LAMP_WEIGHT``.
    A lamp near a cell border may fire in a neighbour, so there either none or the lamp's class is
    right (weight 0 in ``weight``; the loss treats them apart), but never the other colour. Every
    other cell is none."""
    n = len(lamp_uv)
    h, w = shape
    cls = torch.zeros((n, h, w), dtype=torch.long)
    wt = torch.ones((n, h, w))
    near = torch.zeros((n, h, w), dtype=torch.long)
    for b in np.flatnonzero(np.isfinite(lamp_uv[:, 0])):
        u, v = lamp_uv[b]
        i, j = int(round((v - LIGHT_CELL_CENTRE_PX) / LIGHT_CELL_PX)), int(round((u - LIGHT_CELL_CENTRE_PX) / LIGHT_CELL_PX))
        if not (0 <= i < h and 0 <= j < w) or state[b] > 2:
            continue
        c = 1 if state[b] in (0, 1) else 2
        wt[b, max(0, i - 1) : i + 2, max(0, j - 1) : j + 2] = 0.0
        near[b, max(0, i - 1) : i + 2, max(0, j - 1) : j + 2] = c
        near[b, i, j] = 0
        cls[b, i, j] = c
        wt[b, i, j] = LAMP_WEIGHT
    return cls, wt, near


def light_loss(lights: torch.Tensor, cls: torch.Tensor, wt: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
    """Weighted cross-entropy per cell; in the lamp's neighbours, -log(p_none + p_lamp's class)."""
    logp = F.log_softmax(lights, 1)
    ce = -logp.gather(1, cls[:, None])[:, 0] * wt
    nb = near > 0
    both = torch.stack([logp[:, 0], logp.gather(1, near[:, None])[:, 0]], 1).logsumexp(1)
    return (ce.sum() - both[nb].sum()) / (wt.sum() + nb.sum()).clamp(min=1.0)


def _images(data: dict, idx: np.ndarray, image: str = "rgb") -> torch.Tensor:
    return torch.from_numpy(data[image][idx]).permute(0, 3, 1, 2).float().div_(255.0)


def _batch(data: dict, idx: np.ndarray, image: str = "rgb") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """Images (``image``: "rgb", the camera's, or "clean"), seg targets, stop labels, near-a-stop-line
    flags, and (lamp uv, state) for the light map."""
    x = _images(data, idx, image)
    y = torch.from_numpy(data["seg"][idx]).long()
    near = torch.from_numpy((data["signal_m"][idx] < LIGHT_RANGE_M).astype(np.float32))
    stop = torch.from_numpy(np.isin(data["signal_state"][idx], (0, 1)).astype(np.float32))  # red or yellow
    return x, y, stop, near, (data["lamp_uv"][idx], data["signal_state"][idx])


def losses(net: PerceptionNet, x, y, lamps, cfg: TrainConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted cross-entropy on the mask; weighted cross-entropy per cell of the light map."""
    seg, lights = net(x)
    l_seg = F.cross_entropy(seg, y, weight=torch.tensor(cfg.class_weights))
    l_light = light_loss(lights, *light_targets(*lamps, tuple(lights.shape[-2:])))
    total = l_seg + cfg.light_weight * l_light
    return total, {"seg": l_seg.item(), "light": l_light.item()}


CLEAN_FIGURES = ("iou_", "light_red_recall_at_line", "light_green_recall_at_line")  # also reported on the clean images
AT_LINE_M = 8.0  # [m] "at the stop line" in the validation figures (where the car stands at red)


@torch.inference_mode()
def evaluate(net: PerceptionNet, data: dict, batch: int = 32, image: str = "rgb") -> dict[str, float]:
    """On the camera frames (``image`` "rgb") or their clean images ("clean"): IoU/recall per class;
    on frames near a stop line, how often the planner's stop decision (stop probability > 0.5, read
    in the rows where the planner looks for the own signal head) matches the light's state:
    accuracy, F1, red and green recall; the same where the own lamp is in view, and where it is in
    view within ``AT_LINE_M`` of the line."""
    from agents.rgb_policy.agent import CAMERA

    net.eval()
    k = len(SEG_CLASSES)
    conf = np.zeros((k, k), np.int64)
    p_stop, t_stop, seen, at_line = [], [], [], []
    for i in range(0, len(data["rgb"]), batch):
        x, y, stop, near, (uv, _) = _batch(data, np.arange(i, min(i + batch, len(data["rgb"]))), image)
        seg, lights = net(x)
        pred = seg.argmax(1)
        conf += np.bincount((y * k + pred).ravel().numpy(), minlength=k * k).reshape(k, k)
        keep = near.numpy() > 0.5
        rows = torch.from_numpy(own_head_rows(data["signal_m"][i : i + len(x)], lights.shape[2], CAMERA))
        p_stop.append((stop_probability(lights, rows) > 0.5).numpy()[keep]), t_stop.append(stop.numpy()[keep] > 0.5)
        seen.append(np.isfinite(uv[keep, 0]))
        at_line.append(data["signal_m"][i : i + len(x)][keep] < AT_LINE_M)
    net.train()
    p_stop, t_stop, seen, at_line = (np.concatenate(a) for a in (p_stop, t_stop, seen, at_line))
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
        # the same where the own lamp is in view (a lead vehicle often hides it; then IDM follows that)
        v_p, v_t = p_stop[seen], t_stop[seen]
        out["light_acc_visible"] = float((v_p == v_t).mean()) if len(v_t) else float("nan")
        out["light_red_recall_visible"] = float((v_p & v_t).sum()) / max(float(v_t.sum()), 1.0)
        out["light_green_recall_visible"] = float((~v_p & ~v_t).sum()) / max(float((~v_t).sum()), 1.0)
        # at the stop line (where a wrong reading makes the car wait through green or run a red)
        a_p, a_t = p_stop[seen & at_line], t_stop[seen & at_line]
        out["light_red_recall_at_line"] = float((a_p & a_t).sum()) / max(float(a_t.sum()), 1.0)
        out["light_green_recall_at_line"] = float((~a_p & ~a_t).sum()) / max(float((~a_t).sum()), 1.0)
        out["light_frames_at_line"] = int(len(a_t))
    out["light_frames"] = int(len(t_stop))
    out["light_frames_visible"] = int(seen.sum())
    out["frames"] = int(len(data["rgb"]))
    return out


def _warn_unlisted(folder: Path, paths: list[Path], episodes: set[str]) -> None:
    """Every shard in the folder is trained on. Where the folder holds `collect-policy-data`'s
    episodes, say which shards are not among them (left by an experiment, say) and which are
    missing: the weights would then not be those of the documented data."""
    have = {p.stem for p in paths}
    if not have & episodes:
        return  # a data set of the user's own
    def few(names: set[str]) -> str:
        names = sorted(names)
        return f"{len(names)} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"

    if extra := have - episodes:
        warnings.warn(f"{folder}: {few(extra)} shard(s) that are not episodes of `collect-policy-data` are trained on too; "
                      "move them out to train on its data", stacklevel=3)
    if missing := episodes - have:
        warnings.warn(f"{folder}: {few(missing)} episode(s) of `collect-policy-data` are missing; run it again to collect them",
                      stacklevel=3)


def _collection(paths: list[Path]) -> dict:
    """How the shards were collected (``collect-policy-data``'s options, as stored in each shard;
    shards from before they were stored give none)."""
    seen: dict[str, set] = {}
    for p in paths:
        with np.load(p) as z:
            for k in COLLECT_OPTIONS:
                if k in z.files:
                    seen.setdefault(k, set()).add(z[k].item())
    return {k: (next(iter(v)) if len(v) == 1 else sorted(v)) for k, v in seen.items()}


def train(cfg: TrainConfig, out_dir: Path, progress: bool = True) -> dict:
    from tqdm import tqdm

    data_dir = Path(cfg.data)
    shards = {s: sorted((data_dir / s).glob("*.npz")) for s in ("train", "val")}
    for split, paths in shards.items():
        if not paths:
            raise ConfigError(f"no {split} shards in {data_dir / split}; run `python -m distill collect-policy-data --out {data_dir}` first")
        linger = any(q.stem.endswith("_linger") for q in paths)
        _warn_unlisted(data_dir / split, paths, {e.key for e in default_episodes(split, linger=linger)})
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    g = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    # the training frames' clean images only when trained on (the largest field); validation reports on them
    train_fields = SHARD_FIELDS if cfg.clean > 0.0 else tuple(f for f in SHARD_FIELDS if f != "clean")
    train_data, val_data = load_shards(shards["train"], train_fields), load_shards(shards["val"])
    n = len(train_data["rgb"])
    net = PerceptionNet(cfg.net_config())
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = n // cfg.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15)
    t0 = time.time()
    history = []
    bar = tqdm(total=cfg.epochs * steps_per_epoch, desc="train-policy", unit="batch", disable=not progress)
    for epoch in range(cfg.epochs):
        order = rng.permutation(n)
        run = {"seg": 0.0, "light": 0.0}
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * cfg.batch : (b + 1) * cfg.batch])
            x, y, _, _, lamps = _batch(train_data, idx)
            if cfg.clean > 0.0:  # skipped entirely at 0, as shift
                x = use_clean(x, _images(train_data, idx, "clean"), g, cfg.clean)
            if cfg.shift > 0.0:  # skipped entirely at 0: the committed weights' random stream is unchanged
                x, y, uv = shift_frames(x, y, lamps[0], g, cfg.shift)
                lamps = (uv, lamps[1])
            x, y = augment(x, y, g, cfg.shadows, cfg.exposure_min)
            loss, parts = losses(net, x, y, lamps, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            for k2 in run:
                run[k2] += parts[k2] / steps_per_epoch
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        val = evaluate(net, val_data)
        val |= {f"clean_{k2}": v for k2, v in evaluate(net, val_data, image="clean").items() if k2.startswith(CLEAN_FIGURES)}
        history.append({"epoch": epoch + 1, **{f"loss_{k2}": round(v, 4) for k2, v in run.items()},
                        **{k2: round(v, 4) for k2, v in val.items()}})
        if progress:
            tqdm.write(f"epoch {epoch + 1}: " + ", ".join(f"{k2} {v:.3f}" for k2, v in history[-1].items() if k2 != "epoch"))
    bar.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    final = history[-1]
    ckpt = {"model": net.state_dict(), "net_config": cfg.net_config().to_dict(), "train_config": asdict(cfg),
            "epochs": cfg.epochs, "val": {k2: v for k2, v in final.items() if not k2.startswith("loss")}}
    tmp = out_dir / "perception.pt.tmp"
    torch.save(ckpt, tmp)
    tmp.replace(out_dir / "perception.pt")
    manifest = {
        "command": "python -m distill " + " ".join(sys.argv[1:]) if sys.argv and "distill" in sys.argv[0] else "distill.policy.train.train",
        "config": asdict(cfg), "net_config": cfg.net_config().to_dict(), "seed": cfg.seed, "commit": _commit(out_dir),
        "data": {"train_frames": int(n), "val_frames": int(len(val_data["rgb"])),
                 "train_episodes": [p.stem for p in shards["train"]], "val_episodes": [p.stem for p in shards["val"]],
                 "collected_by": "python -m distill collect-policy-data (privileged expert, clear/clear_noon/cloudy)",
                 **_collection(shards["train"] + shards["val"])},
        "validation": ckpt["val"], "history": history,
        "params": int(sum(p.numel() for p in net.parameters())),
        "wall_s": round(time.time() - t0, 1), "machine": f"{platform.machine()} {platform.processor() or ''} {torch.get_num_threads()} threads, torch {torch.__version__}",
        "weights_bytes": (out_dir / "perception.pt").stat().st_size,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return {"validation": ckpt["val"], "train_frames": int(n), "wall_s": manifest["wall_s"], "out": str(out_dir)}
