"""Training the FusionProxy student: ``python -m distill train-student``.

The student (:class:`fusion.student.model.StudentNet`) learns from the teacher-ensemble cache
(``distill.ensemble_cache``) with the dual-signal loss (``distill.losses``):

    L = w_pix * L_pix(S, T; w(var_img)) + w_feat * L_feat(phi(S), phi(T); alpha(v_1..v_L, tau))

where T is the ensemble mean, ``var_img`` the ensemble's per-pixel variance, ``phi`` the frozen
backbone's four tapped layers and ``v_l`` their per-location feature variance across the K samples.
Switches give the ablations: no image-variance weighting (``pixel_weighting=False``), uniform layer
weights (``routing="uniform"``), the pixel term alone (``w_feat=0``), another backbone, and the
direct-supervision reference (``target="clean"``: the privileged clean image, no teacher, no variance).

Training crops are aligned to the backbone's coarsest stride (16 px), so the cached variance maps
crop with them; crops and flips move every image together. Calibration jitter: with probability
``jitter``, the thermal input is shifted by up to ``jitter_px`` and rotated by up to
``jitter_deg`` (the target stays), on top of the misalignment drawn at collection, so the student
meets misalignment past the ±30 px / ±10 deg where the paper reports trouble.

The output folder holds ``ckpt.pt`` (model, EMA, optimiser, step, random states: a stopped run
resumes from it), ``train_log.csv``, validation grids ``val_<step>.png`` (rgb | thermal | student |
teacher mean | clean), and at the end ``student.pt`` (EMA weights, fp16, and config) with
``manifest.json`` (command, config, seed, commit, data and cache manifests, validation figures).
"""

from __future__ import annotations

import copy
import csv
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from distill import provenance
from distill.training import cosine_lr, ema_update, frozen_policy, lamp_chroma, lit_lamps, psnr, resume_key, save_atomic
from harness.errors import ConfigError
from harness.runner.jobs import file_digest

ALIGN = 16  # crops start on the backbone's coarsest grid


@dataclass(frozen=True)
class StudentTrainConfig:
    data: str = "data/fusion"
    cache: str = ""  # ensemble cache folder; "" = the one the default cache-ensemble settings build
    size: str = "s"  # the default student (fusion.student.proxy.DEFAULT_SIZE)
    steps: int = 5000
    batch: int = 8
    crop_h: int = 96
    crop_w: int = 192
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 1e-4
    ema: float = 0.995
    seed: int = 0
    threads: int = 2
    target: str = "teacher"  # teacher (the ensemble mean) | clean (direct supervision, no teacher)
    w_pix: float = 1.0
    w_feat: float = 0.1
    pixel_weighting: bool = True  # weight the pixel term by the image variance
    pixel_temp: float = 1.0  # s in w = exp(-var / (s * mean var))
    routing: str = "variance"  # variance (softmax over layers of -v_l / tau) | uniform
    tau: float = 1.0
    backbone: str = "efficientnet_lite0"
    jitter: float = 0.5  # share of training crops whose thermal input is shifted and rotated further
    jitter_px: float = 24.0
    jitter_deg: float = 8.0
    # The signal lamps: a few pixels a frame that decide the policy's stops. Traffic-light pixels (the
    # simulator's semantic label of the training frames) weigh 1 + lamp_weight in the pixel term, on
    # top of the variance weights; lamp_crops of the crops are placed over one. The target stays the
    # teacher's: the label only says where to look (see distill.train_teacher for the teacher's side).
    lamp_weight: float = 0.0
    lamp_crops: float = 0.0
    # lamp_seen > 0 departs from pure distillation at the lamps the camera does show: traffic-light
    # pixels whose colour in the camera image has chroma above lamp_seen take the clean image as their
    # pixel target (the teacher's mean paints them grey); every other pixel keeps the teacher's.
    lamp_seen: float = 0.0
    rgb_gate: bool = False  # the student's gated full-resolution pass of the camera (fusion.student.model)
    # w_light > 0 adds the light term (distill.losses.light_term): the frozen policy's traffic-light
    # branch read on the student's crop matches it read on the light_target's (teacher mean, or the
    # privileged clean image), cells that show a signal head weighing 1 + light_signal.
    w_light: float = 0.0
    light_target: str = "teacher"
    light_signal: float = 10.0
    # w_seg > 0 adds the obstacle term (distill.losses.policy_seg_term): the policy's obstacle branch
    # (background / vehicle / pedestrian) read on the student's crop matches it read on the light_target's
    # image, cells where the target shows a car or a person weighing 1 + seg_signal; seg_guard: also cells
    # where the student's image shows one (the phantom guard).
    w_seg: float = 0.0
    seg_signal: float = 10.0
    seg_guard: bool = False
    val_every: int = 500
    ckpt_every: int = 50
    val_frames: int = 48

    def to_dict(self) -> dict:
        return asdict(self)

    def student(self):
        """The student's architecture: the size's, with the gate if asked for."""
        from fusion.student.model import SIZES

        return replace(SIZES[self.size], rgb_gate=self.rgb_gate)

    def check(self) -> None:
        from fusion.student.model import SIZES

        if self.size not in SIZES:
            raise ConfigError(f"--size must be one of {', '.join(SIZES)}, got {self.size!r}")
        if self.target not in ("teacher", "clean"):
            raise ConfigError(f"--target must be teacher or clean, got {self.target!r}")
        if self.routing not in ("variance", "uniform"):
            raise ConfigError(f"--routing must be variance or uniform, got {self.routing!r}")
        if self.crop_h % ALIGN or self.crop_w % ALIGN:
            raise ConfigError(f"the crop ({self.crop_w}x{self.crop_h}) must be a multiple of {ALIGN} px each way")
        if self.tau <= 0 or self.pixel_temp <= 0:
            raise ConfigError(f"tau and pixel_temp must be > 0, got {self.tau} and {self.pixel_temp}")
        if self.w_pix < 0 or self.w_feat < 0 or self.w_pix + self.w_feat == 0:
            raise ConfigError(f"loss weights must be >= 0 and not both 0, got w_pix={self.w_pix}, w_feat={self.w_feat}")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"jitter is a share in [0, 1], got {self.jitter}")
        if self.lamp_weight < 0 or not 0 <= self.lamp_crops <= 1:
            raise ConfigError(f"lamp_weight must be >= 0 and lamp_crops in [0, 1], got {self.lamp_weight}, {self.lamp_crops}")
        if not 0 <= self.lamp_seen < 1:
            raise ConfigError(f"lamp_seen is a chroma in [0, 1), got {self.lamp_seen}")
        if self.w_light < 0 or self.light_signal < 0:
            raise ConfigError(f"w_light and light_signal must be >= 0, got {self.w_light}, {self.light_signal}")
        if self.light_target not in ("teacher", "clean"):
            raise ConfigError(f"--light-target must be teacher or clean, got {self.light_target!r}")
        if self.w_seg < 0 or self.seg_signal < 0:
            raise ConfigError(f"w_seg and seg_signal must be >= 0, got {self.w_seg}, {self.seg_signal}")
        if self.seg_guard and self.w_seg == 0:
            raise ConfigError("--seg-guard guards the obstacle term: give --w-seg > 0 with it")

    @property
    def reads_policy(self) -> bool:
        """Whether a loss term reads the frozen policy (the light or the obstacle term)."""
        return self.w_light > 0 or self.w_seg > 0


def default_cache() -> Path:
    """The folder ``python -m distill cache-ensemble`` with its defaults writes to."""
    from distill.ensemble_cache import CacheConfig, resolve

    return resolve(CacheConfig())[0]


def load_split(cfg: StudentTrainConfig, split: str) -> dict:
    """Frames of ``split`` with their cached ensemble statistics: ``rgb``, ``thermal``, ``clean``,
    ``semantic`` (uint8, NHWC / NHW), ``mean`` (N,3,H,W), ``pixel_var`` (N,1,H,W), ``fvar`` (list of
    (N,1,h,w)), fp16."""
    from distill.ensemble_cache import load

    cache = load(Path(cfg.cache), split, cfg.backbone)
    data_dir = Path(cfg.data) / split
    rgb, th, clean, sem = [], [], [], []
    for name in dict.fromkeys(cache["source"]):  # shard names in cache order
        src = data_dir / name
        if not src.is_file():
            raise ConfigError(f"the cache {cfg.cache} was built from {src}, which is gone; collect the fusion data again")
        idx = cache["index"][cache["source"] == name]
        with np.load(src) as z:
            rgb.append(z["rgb"][idx])
            th.append(z["thermal"][idx])
            clean.append(z["clean"][idx])
            sem.append(z["semantic"][idx])
    return {"rgb": np.concatenate(rgb), "thermal": np.concatenate(th), "clean": np.concatenate(clean),
            "semantic": np.concatenate(sem),
            "mean": cache["mean"], "pixel_var": cache["pixel_var"], "fvar": cache["fvar"]}


def jitter_thermal(th: np.ndarray, rng: np.random.Generator, max_px: float, max_deg: float) -> np.ndarray:
    """The thermal frame ``(H,W) uint8`` shifted by up to ``max_px`` each way and rotated by up to
    ``max_deg`` about the centre (edges replicated), as a calibration error would move it."""
    import cv2

    h, w = th.shape
    ang = rng.uniform(-max_deg, max_deg)
    dx, dy = rng.uniform(-max_px, max_px, 2)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), ang, 1.0)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(th, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class Batches:
    """Random aligned crops (and flips) of frames with their ensemble statistics, as float tensors;
    ``lamp (B,1,h,w)`` marks traffic-light pixels (``cfg.lamp_crops`` of the crops are placed over one)."""

    def __init__(self, data: dict, cfg: StudentTrainConfig, rng: np.random.Generator) -> None:
        from harness.semantics import Sem

        self.d, self.cfg, self.rng = data, cfg, rng
        self.n, self.h, self.w = data["rgb"].shape[:3]
        if cfg.crop_h > self.h or cfg.crop_w > self.w:
            raise ConfigError(f"the crop ({cfg.crop_w}x{cfg.crop_h}) is larger than the frames ({self.w}x{self.h})")
        self.strides = [self.h // f.shape[-2] for f in data["fvar"]]
        self.lamp = data["semantic"] == Sem.TRAFFIC_LIGHT
        self.lamp_px = np.argwhere(self.lamp) if cfg.lamp_crops else None  # (M, 3): frame, y, x

    def _over_lamps(self, idx: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> None:
        """Move a share ``lamp_crops`` of the crops (in place) over a traffic-light pixel drawn at random,
        at an ALIGN-multiple offset that keeps it inside."""
        cfg, rng = self.cfg, self.rng
        on = np.flatnonzero(rng.random(len(idx)) < cfg.lamp_crops)
        if not len(on) or not len(self.lamp_px):
            return
        px = self.lamp_px[rng.integers(0, len(self.lamp_px), len(on))]
        idx[on] = px[:, 0]
        for axis, (pos, c, size) in enumerate(((ys, cfg.crop_h, self.h), (xs, cfg.crop_w, self.w))):
            p = px[:, 1 + axis]
            lo = np.maximum(0, -((c - 1 - p) // ALIGN))  # the first aligned start with p inside: ceil((p - c + 1) / ALIGN)
            hi = np.minimum(p // ALIGN, (size - c) // ALIGN)
            pos[on] = (lo + (rng.random(len(on)) * (hi - lo + 1)).astype(int)) * ALIGN

    def batch(self, b: int) -> dict:
        cfg, rng, d = self.cfg, self.rng, self.d
        ch, cw = cfg.crop_h, cfg.crop_w
        idx = rng.integers(0, self.n, b)
        ys = rng.integers(0, (self.h - ch) // ALIGN + 1, b) * ALIGN
        xs = rng.integers(0, (self.w - cw) // ALIGN + 1, b) * ALIGN
        flip = rng.random(b) < 0.5
        jit = rng.random(b) < cfg.jitter
        if cfg.lamp_crops:
            self._over_lamps(idx, ys, xs)
        out: dict[str, list] = {"rgb": [], "thermal": [], "clean": [], "mean": [], "pixel_var": [], "lamp": [],
                                "fvar": [[] for _ in self.strides]}
        for i, y, x, f, j in zip(idx, ys, xs, flip, jit):
            th = jitter_thermal(d["thermal"][i], rng, cfg.jitter_px, cfg.jitter_deg) if j else d["thermal"][i]
            sl = (slice(y, y + ch), slice(x, x + cw))
            fl = (lambda a: a[..., ::-1]) if f else (lambda a: a)  # noqa: E731 (flip the last axis: width)
            out["rgb"].append(fl(d["rgb"][i][sl].transpose(2, 0, 1)))
            out["thermal"].append(fl(th[sl][None]))
            out["clean"].append(fl(d["clean"][i][sl].transpose(2, 0, 1)))
            out["mean"].append(fl(d["mean"][i][(slice(None), *sl)]))
            out["pixel_var"].append(fl(d["pixel_var"][i][(slice(None), *sl)]))
            out["lamp"].append(fl(self.lamp[i][sl][None]))
            for layer, s in enumerate(self.strides):
                out["fvar"][layer].append(fl(d["fvar"][layer][i][:, y // s:(y + ch) // s, x // s:(x + cw) // s]))
        u8 = lambda xs_: torch.from_numpy(np.ascontiguousarray(np.stack(xs_))).float().div_(255.0)  # noqa: E731
        f16 = lambda xs_: torch.from_numpy(np.ascontiguousarray(np.stack(xs_))).float()  # noqa: E731
        return {"rgb": u8(out["rgb"]), "thermal": u8(out["thermal"]), "clean": u8(out["clean"]),
                "mean": f16(out["mean"]), "pixel_var": f16(out["pixel_var"]), "fvar": [f16(v) for v in out["fvar"]],
                "lamp": torch.from_numpy(np.ascontiguousarray(np.stack(out["lamp"])))}


def seen_lamps(lamp: torch.Tensor, rgb: torch.Tensor, min_chroma: float) -> torch.Tensor:
    """``(B,1,h,w)`` bool: traffic-light pixels (``lamp``) whose colour in the camera image ``rgb
    (B,3,h,w)`` has chroma (max - min channel) above ``min_chroma``: lamps the camera does show."""
    return lamp.bool() & ((rgb.amax(1, keepdim=True) - rgb.amin(1, keepdim=True)) > min_chroma)


def loss_terms(student, backbone, batch: dict, cfg: StudentTrainConfig,
               policy=None) -> tuple[torch.Tensor, ...]:
    """(total, pixel term, feature term, light term, obstacle term) of one batch under ``cfg``'s loss
    switches; ``policy`` is the frozen policy network the light and obstacle terms read (needed when
    ``cfg.reads_policy``)."""
    from distill.losses import (feature_term, layer_routing, pixel_term, pixel_weights, policy_light_term, policy_seg_term,
                                uniform_routing)

    s = student(batch["rgb"], batch["thermal"])
    teacher = cfg.target == "teacher"
    t = batch["mean"] if teacher else batch["clean"]
    t_pix = t
    if teacher and cfg.lamp_seen > 0:
        seen = seen_lamps(batch["lamp"], batch["rgb"], cfg.lamp_seen)
        t_pix = torch.where(seen, batch["clean"], t)
    w = pixel_weights(batch["pixel_var"], cfg.pixel_temp) if teacher and cfg.pixel_weighting else None
    if cfg.lamp_weight:
        lamp = 1.0 + cfg.lamp_weight * batch["lamp"].float()
        w = lamp if w is None else w * lamp
    l_pix = pixel_term(s, t_pix, w)
    l_feat = s.new_zeros(())
    if cfg.w_feat > 0:
        with torch.no_grad():
            ft = backbone(t)
        fs = backbone(s)
        routed = teacher and cfg.routing == "variance"
        alpha = layer_routing(batch["fvar"], cfg.tau) if routed else uniform_routing(ft)
        l_feat = feature_term(fs, ft, alpha)
    l_light, l_seg = s.new_zeros(()), s.new_zeros(())
    read = batch["mean"] if cfg.light_target == "teacher" else batch["clean"]  # what the policy terms match
    if cfg.w_light > 0:
        l_light = policy_light_term(policy, s, read, cfg.light_signal)
    if cfg.w_seg > 0:
        l_seg = policy_seg_term(policy, s, read, cfg.seg_signal, cfg.seg_guard)
    total = cfg.w_pix * l_pix + cfg.w_feat * l_feat + cfg.w_light * l_light + cfg.w_seg * l_seg
    return total, l_pix, l_feat, l_light, l_seg


@torch.no_grad()
def _run(net, val: dict, chunk: int = 16) -> torch.Tensor:
    outs = []
    for i in range(0, len(val["rgb"]), chunk):
        rgb = torch.from_numpy(val["rgb"][i:i + chunk]).permute(0, 3, 1, 2).float() / 255
        th = torch.from_numpy(val["thermal"][i:i + chunk])[:, None].float() / 255
        outs.append(net(rgb, th))
    return torch.cat(outs)


def lamp_frames(val: dict, n: int) -> dict:
    """Up to ``n`` validation frames (evenly spread) that show lit signal lamps."""
    has = np.flatnonzero(lit_lamps(val["semantic"], val["clean"]).any(axis=(1, 2)))
    pick = has[np.linspace(0, len(has) - 1, min(n, len(has))).round().astype(int)] if len(has) else has
    return {k: v[pick] for k, v in val.items() if k != "fvar"}


@torch.no_grad()
def validate(net, val: dict, path: Path | None, chunk: int = 16, lamps: dict | None = None) -> dict[str, float]:
    """Figures on the fixed validation frames (full size): the student's L1 and PSNR against the
    clean target and against the teacher mean; the teacher mean's own against the clean target. With
    ``lamps`` (validation frames that show lit lamps), the lamps' mean chroma in the student's image,
    the teacher mean, the input and the clean target (:func:`distill.training.lamp_chroma`)."""
    net.eval()
    s = _run(net, val, chunk)
    clean = torch.from_numpy(val["clean"]).permute(0, 3, 1, 2).float() / 255
    mean = torch.from_numpy(val["mean"]).float()
    figs = {"val_l1_clean": round(float((s - clean).abs().mean()), 5), "val_psnr_clean": round(psnr(s, clean), 3),
            "val_l1_teacher": round(float((s - mean).abs().mean()), 5), "val_psnr_teacher": round(psnr(s, mean), 3),
            "teacher_psnr_clean": round(psnr(mean, clean), 3)}
    if lamps is not None and len(lamps["rgb"]):
        mask = lit_lamps(lamps["semantic"], lamps["clean"])
        u8 = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255  # noqa: E731
        figs |= {"val_lamp_chroma": round(lamp_chroma(_run(net, lamps, chunk), mask), 4),
                 "teacher_lamp_chroma": round(lamp_chroma(torch.from_numpy(lamps["mean"]).float(), mask), 4),
                 "rgb_lamp_chroma": round(lamp_chroma(u8(lamps["rgb"]), mask), 4),
                 "clean_lamp_chroma": round(lamp_chroma(u8(lamps["clean"]), mask), 4)}
    if path is not None:
        from PIL import Image

        rows = []
        for i in np.linspace(0, len(s) - 1, 4).round().astype(int):
            rgb = torch.from_numpy(val["rgb"][i]).permute(2, 0, 1).float() / 255
            th = torch.from_numpy(val["thermal"][i])[None].float().div(255).expand(3, -1, -1)
            rows.append(torch.cat([rgb, th, s[i], mean[i], clean[i]], 2))
        img = (torch.cat(rows, 1).permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path)
    return figs


def train(cfg: StudentTrainConfig, out: Path, progress: bool = True, command: str = "train()") -> dict:
    """Train (or resume) into ``out``; returns the final validation figures."""
    from tqdm import tqdm

    from distill.backbone import load_backbone
    from fusion.student.model import StudentNet, macs, parameter_count

    cfg.check()
    if not cfg.cache:
        cfg = StudentTrainConfig(**{**cfg.to_dict(), "cache": str(default_cache())})
    torch.set_num_threads(cfg.threads)
    commit = provenance.commit(Path(out))
    train_data = load_split(cfg, "train")
    val_all = load_split(cfg, "val")
    pick = np.linspace(0, len(val_all["rgb"]) - 1, min(cfg.val_frames, len(val_all["rgb"]))).round().astype(int)
    val = {k: v[pick] for k, v in val_all.items() if k != "fvar"}
    val_lamps = lamp_frames(val_all, cfg.val_frames)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    net = StudentNet(cfg.student())
    ema = copy.deepcopy(net).eval()
    backbone = load_backbone(cfg.backbone) if cfg.w_feat > 0 else None
    policy = frozen_policy() if cfg.reads_policy else None
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    step = 0
    ckpt = out / "ckpt.pt"
    key = resume_key({**cfg.to_dict(), "cache": Path(cfg.cache).name})
    if ckpt.exists():
        blob = torch.load(ckpt, weights_only=False)  # our own checkpoint: optimiser and random states
        if blob["train_config"] != key:
            raise ConfigError(f"{ckpt} was written with another configuration; use another --out, or delete it to start over")
        net.load_state_dict(blob["model"])
        ema.load_state_dict(blob["ema"])
        opt.load_state_dict(blob["opt"])
        step = int(blob["step"])
        rng.bit_generator.state = blob["rng"]
    batches = Batches(train_data, cfg, rng)
    log_path = out / "train_log.csv"
    new_log = not log_path.exists() or step == 0
    log = open(log_path, "w" if new_log else "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "loss", "loss_pix", "loss_feat", "loss_light", "loss_seg", "lr", "s_per_step"])
    bar = tqdm(total=cfg.steps, initial=step, desc=f"train-student {cfg.size}", unit="step", disable=not progress)
    t_last = time.perf_counter()
    while step < cfg.steps:
        net.train()
        lr = cosine_lr(cfg.lr, cfg.warmup, cfg.steps, step)
        for g in opt.param_groups:
            g["lr"] = lr
        loss, l_pix, l_feat, l_light, l_seg = loss_terms(net, backbone, batches.batch(cfg.batch), cfg, policy)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        ema_update(ema, net, cfg.ema)
        step += 1
        now = time.perf_counter()
        writer.writerow([step, *(f"{t.item():.5f}" for t in (loss, l_pix, l_feat, l_light, l_seg)), f"{lr:.6f}",
                         f"{now - t_last:.3f}"])
        t_last = now
        bar.update()
        bar.set_postfix(pix=f"{l_pix.item():.4f}", feat=f"{l_feat.item():.4f}",
                        **({"light": f"{l_light.item():.4f}"} if cfg.w_light > 0 else {}),
                        **({"seg": f"{l_seg.item():.4f}"} if cfg.w_seg > 0 else {}))
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            log.flush()
            save_atomic(ckpt, {"model": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                               "rng": rng.bit_generator.state, "train_config": key})
        if step % cfg.val_every == 0 and step < cfg.steps:
            figs = validate(ema, val, out / f"val_{step:06d}.png", lamps=val_lamps)
            if progress:
                bar.write(f"step {step}: {figs}")
    bar.close()
    log.close()
    figs = validate(ema, val, out / f"val_{step:06d}.png", lamps=val_lamps)
    weights = out / "student.pt"
    save_atomic(weights, {"model": {k: v.half() if v.is_floating_point() else v for k, v in ema.state_dict().items()},
                          "config": json.dumps(cfg.student().to_dict())})
    read = lambda p: json.loads(p.read_text()) if p.exists() else None  # noqa: E731
    manifest = {
        "command": command, "config": cfg.to_dict(), "seed": cfg.seed, "commit": commit,
        "data_manifest": read(Path(cfg.data) / "manifest.json"),
        "cache_manifest": read(Path(cfg.cache) / "manifest.json"),
        "student": {"size": cfg.size, **cfg.student().to_dict(), "parameters": parameter_count(ema),
                    "macs_320x160": macs(cfg.student(), 160, 320)},
        "validation": figs, "train_frames": int(len(train_data["rgb"])), "val_frames": int(len(val["rgb"])),
        "sha256": file_digest(weights),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return figs
