"""Training the diffusion teacher: ``python -m distill train-teacher``.

One loop trains both networks of :class:`fusion.teacher.denoiser.TeacherNet` on random crops of the
fusion data (``distill.fusion_data``), toward the privileged clean clear-noon image:

- the regression estimate ``mu`` with an L1 loss;
- the residual denoiser with the v-prediction MSE (cosine schedule, ``t`` uniform in [0, 1]) on
  ``(clean - mu) / residual_scale``, ``mu`` detached (so the diffusion never pulls the estimate);
- optionally (``w_light > 0``) a light term on ``mu``: the frozen RGB policy's traffic-light branch
  read on ``mu`` matches it read on the clean target (``distill.losses.light_term``), so the estimate
  keeps what the policy reads off a signal head (housing and lamp colour), a few pixels a frame that
  the L1 leaves grey.

An exponential moving average of the weights is what gets sampled and saved. The output folder holds
``ckpt.pt`` (model, EMA, optimiser, step, random states: a stopped run resumes from it),
``train_log.csv``, a validation grid ``val_<step>.png`` every ``val_every`` steps
(rgb | thermal | teacher mean | pixel variance | clean target), and at the end ``teacher.pt`` (the
EMA weights and config only) with ``manifest.json`` (command, config, seed, commit, data manifest,
validation figures).
"""

from __future__ import annotations

import copy
import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from distill import provenance
from distill.training import cosine_lr, ema_update, frozen_policy, lamp_chroma, lit_lamps, psnr, resume_key, save_atomic
from harness.errors import ConfigError
from harness.runner.jobs import file_digest


@dataclass(frozen=True)
class TeacherTrainConfig:
    data: str = "data/fusion"
    steps: int = 3000  # optimiser steps
    batch: int = 12
    crop: int = 128  # [px] square training crops
    lr: float = 2e-3  # peak, after a linear warm-up, cosine decay to 0
    warmup: int = 150
    weight_decay: float = 1e-4
    ema: float = 0.998
    diffusion_weight: float = 1.0  # of the v-loss beside the regression L1
    seed: int = 0
    threads: int = 2
    val_every: int = 500
    ckpt_every: int = 100
    val_frames: int = 8  # held-out frames in the grid and figures
    val_k: int = 4
    val_steps: int = 4
    widths: tuple[int, ...] = (32, 64, 96)
    reg_widths: tuple[int, ...] = (48, 96, 128)
    head: int = 8
    residual_scale: float = 0.25
    init: str = ""  # teacher weights (teacher.pt) to start from instead of random ones: training longer
    # Signal lamps are a few pixels of a frame (about 5 of 51,200 at 320x160) and carry the policy's stop
    # decision; an unweighted loss lets the teacher paint them grey (chroma 0.08 against 0.75 in the clean
    # target on the training frames of the first teacher). Traffic-light pixels (semantic class
    # TRAFFIC_LIGHT of the training frames: a simulator label, as the clean target is) weigh
    # 1 + lamp_weight in both losses, and a share lamp_crops of the crops is placed over one.
    lamp_weight: float = 0.0
    lamp_crops: float = 0.0
    # w_light > 0 adds the light term on mu (distill.losses.light_term against the clean target's
    # reading by the frozen policy), cells that show a signal head weighing 1 + light_signal.
    w_light: float = 0.0
    light_signal: float = 10.0

    def teacher_config(self):
        from fusion.teacher.denoiser import TeacherConfig

        return TeacherConfig(widths=tuple(self.widths), reg_widths=tuple(self.reg_widths), head=self.head,
                             residual_scale=self.residual_scale)

    def to_dict(self) -> dict:
        return asdict(self)


class Crops:
    """Random crops (and horizontal flips) of the frames, as float tensors in [0, 1], with a per-pixel
    loss weight: ``1 + lamp_weight`` on traffic-light pixels (``data["semantic"]``), 1 elsewhere.

    ``lamp_crops`` of the crops are placed so that they hold a traffic-light pixel drawn at random
    (when the data has any). With both at 0 the draws are those of plain random crops.
    """

    def __init__(self, data: dict[str, np.ndarray], crop: int, rng: np.random.Generator, lamp_weight: float = 0.0,
                 lamp_crops: float = 0.0) -> None:
        self.rgb, self.th, self.clean = data["rgb"], data["thermal"], data["clean"]
        self.n, self.h, self.w = self.rgb.shape[:3]
        if crop > min(self.h, self.w):
            raise ConfigError(f"--crop {crop} is larger than the frames ({self.w}x{self.h})")
        if lamp_weight < 0 or not 0 <= lamp_crops <= 1:
            raise ConfigError(f"lamp_weight must be >= 0 and lamp_crops in [0, 1] (got {lamp_weight}, {lamp_crops})")
        self.crop, self.rng = crop, rng
        self.lamp_weight, self.lamp_crops = float(lamp_weight), float(lamp_crops)
        self.lamp = None
        if self.lamp_weight or self.lamp_crops:
            if "semantic" not in data:
                raise ConfigError("lamp_weight and lamp_crops need the frames' semantic labels")
            from harness.semantics import Sem

            self.lamp = data["semantic"] == Sem.TRAFFIC_LIGHT
            self.lamp_px = np.argwhere(self.lamp)  # (M, 3): frame, y, x

    def batch(self, b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.crop
        idx = self.rng.integers(0, self.n, b)
        ys = self.rng.integers(0, self.h - c + 1, b)
        xs = self.rng.integers(0, self.w - c + 1, b)
        flip = self.rng.random(b) < 0.5
        if self.lamp_crops and len(self.lamp_px):
            on = np.flatnonzero(self.rng.random(b) < self.lamp_crops)
            px = self.lamp_px[self.rng.integers(0, len(self.lamp_px), len(on))]
            idx[on] = px[:, 0]
            ys[on] = np.clip(px[:, 1] - self.rng.integers(0, c, len(on)), 0, self.h - c)
            xs[on] = np.clip(px[:, 2] - self.rng.integers(0, c, len(on)), 0, self.w - c)
        rgb = np.empty((b, c, c, 3), np.uint8)
        th = np.empty((b, c, c), np.uint8)
        clean = np.empty((b, c, c, 3), np.uint8)
        weight = np.ones((b, c, c), np.float32)
        for j, (i, y, x, f) in enumerate(zip(idx, ys, xs, flip)):
            s = (slice(y, y + c), slice(x, x + c) if not f else slice(x + c - 1, x - 1 if x else None, -1))
            rgb[j], th[j], clean[j] = self.rgb[i][s], self.th[i][s], self.clean[i][s]
            if self.lamp is not None:
                weight[j] += self.lamp_weight * self.lamp[i][s]
        to = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255.0)  # noqa: E731
        return to(rgb), torch.from_numpy(th)[:, None].float().div_(255.0), to(clean), torch.from_numpy(weight)[:, None]


def losses(net, rgb: torch.Tensor, th: torch.Tensor, clean: torch.Tensor, generator: torch.Generator | None = None,
           weight: torch.Tensor | None = None, policy=None,
           light_signal: float = 10.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(regression L1, diffusion v-MSE, light term) of one batch; ``weight (B,1,H,W)`` weighs pixels in
    the first two (the mean of weighted terms: a weight of 1 everywhere is the plain loss). The light
    term is 0 without ``policy`` (the frozen perception network, :func:`distill.training.frozen_policy`)."""
    from distill.losses import policy_light_term
    from fusion.teacher.schedule import noise

    w = torch.ones_like(clean[:, :1]) if weight is None else weight
    mu = net.estimate(rgb, th)
    l_reg = (w * (mu - clean).abs()).mean()
    l_light = mu.new_zeros(())
    if policy is not None:
        l_light = policy_light_term(policy, mu, clean, light_signal)
    mu_d = mu.detach()
    r = (clean - mu_d) / net.cfg.residual_scale
    t = torch.rand(r.shape[0], generator=generator)
    eps = torch.randn(r.shape, generator=generator)
    r_t, v = noise(r, t, eps)
    v_hat = net.velocity(r_t, t, net.condition(rgb, th, mu_d))
    return l_reg, (w * (v_hat - v).square()).mean(), l_light


def _resume_key(cfg: TeacherTrainConfig) -> str:
    return resume_key(cfg.to_dict())


def _lr(cfg: TeacherTrainConfig, step: int) -> float:
    return cosine_lr(cfg.lr, cfg.warmup, cfg.steps, step)


def validate(net, val: dict[str, np.ndarray], cfg: TeacherTrainConfig, path: Path | None,
             lamps: dict[str, np.ndarray] | None = None, policy=None) -> dict[str, float]:
    """Figures on the fixed validation frames (full size): mu's L1 and PSNR, the ensemble mean's
    PSNR, the mean pixel variance; a picture grid at ``path``. With ``lamps`` (validation frames that
    show lit signal lamps, with ``semantic``), also the lamps' mean chroma in the ensemble mean, in the
    input and in the clean target (:func:`distill.training.lamp_chroma`); with ``policy`` too, the
    light term of the ensemble mean against the clean target on those frames (``val_lamp_light``)."""
    from fusion.io import image_tensor
    from fusion.teacher.sampler import Teacher

    rgb = torch.cat([image_tensor(x) for x in val["rgb"]])
    th = torch.cat([image_tensor(x) for x in val["thermal"]])
    clean = torch.cat([image_tensor(x) for x in val["clean"]])
    teacher = Teacher(net)
    with torch.no_grad():
        mu = teacher.estimate(rgb, th)
        stats = teacher.sample(rgb, th, cfg.val_k, cfg.val_steps, torch.Generator().manual_seed(0))
    out = {"val_mu_l1": round(float((mu - clean).abs().mean()), 5), "val_mu_psnr": round(psnr(mu, clean), 3),
           "val_mean_psnr": round(psnr(stats.mean, clean), 3), "val_pixel_var": round(float(stats.pixel_var.mean()), 6)}
    if path is not None:
        _grid(path, rgb, th, stats, clean)
    if lamps is not None and len(lamps["rgb"]):
        mask = lit_lamps(lamps["semantic"], lamps["clean"])
        l_rgb = torch.cat([image_tensor(x) for x in lamps["rgb"]])
        l_th = torch.cat([image_tensor(x) for x in lamps["thermal"]])
        with torch.no_grad():
            l_mean = teacher.sample(l_rgb, l_th, cfg.val_k, cfg.val_steps, torch.Generator().manual_seed(0)).mean
        l_clean = torch.cat([image_tensor(x) for x in lamps["clean"]])
        out |= {"val_lamp_chroma": round(lamp_chroma(l_mean, mask), 4), "val_lamp_chroma_rgb": round(lamp_chroma(l_rgb, mask), 4),
                "val_lamp_chroma_clean": round(lamp_chroma(l_clean, mask), 4)}
        if policy is not None:
            from distill.losses import policy_light_term

            with torch.no_grad():
                out["val_lamp_light"] = round(float(policy_light_term(policy, l_mean, l_clean, cfg.light_signal)), 5)
    return out


def lamp_frames(val: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Up to ``n`` validation frames with lit signal lamps (``val`` with ``semantic``), evenly spread."""
    has = np.flatnonzero(lit_lamps(val["semantic"], val["clean"]).any(axis=(1, 2)))
    pick = has[np.linspace(0, len(has) - 1, min(n, len(has))).round().astype(int)] if len(has) else has
    return {k: v[pick] for k, v in val.items()}


def _grid(path: Path, rgb, th, stats, clean) -> None:
    from PIL import Image

    var = stats.pixel_var
    var = (var / var.flatten(1).quantile(0.99, dim=1).clamp_min(1e-8)[:, None, None, None]).clamp(0, 1)
    rows = [torch.cat([rgb[i], th[i].expand(3, -1, -1), stats.mean[i], var[i].expand(3, -1, -1), clean[i]], dim=2)
            for i in range(rgb.shape[0])]
    img = (torch.cat(rows, dim=1).permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def train(cfg: TeacherTrainConfig, out: Path, progress: bool = True, command: str = "train()") -> dict:
    """Train (or resume) into ``out``; returns the final validation figures."""
    from tqdm import tqdm

    from distill.fusion_data import load_shards, split_paths
    from fusion.teacher.denoiser import TeacherNet, parameter_count

    torch.set_num_threads(cfg.threads)
    commit = provenance.commit(Path(out))  # the code that trains, as it is at the start (the tree may change while it runs)
    data_root = Path(cfg.data)
    if cfg.w_light < 0 or cfg.light_signal < 0:
        raise ConfigError(f"w_light and light_signal must be >= 0, got {cfg.w_light}, {cfg.light_signal}")
    lamps = cfg.lamp_weight > 0 or cfg.lamp_crops > 0
    train_data = load_shards(split_paths(data_root, "train"), ("rgb", "thermal", "clean") + (("semantic",) if lamps else ()))
    val_all = load_shards(split_paths(data_root, "val"), ("rgb", "thermal", "clean", "semantic"))
    val_lamps = lamp_frames(val_all, cfg.val_frames)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pick = np.linspace(0, len(val_all["rgb"]) - 1, cfg.val_frames).round().astype(int)
    val = {k: v[pick] for k, v in val_all.items()}
    torch.manual_seed(cfg.seed)
    net = TeacherNet(cfg.teacher_config())
    if cfg.init:
        from fusion.teacher.sampler import load_net

        start = load_net(cfg.init)
        if start.cfg != net.cfg:
            raise ConfigError(f"--init {cfg.init} has another architecture ({start.cfg}) than this run ({net.cfg})")
        net.load_state_dict(start.state_dict())
    ema = copy.deepcopy(net).eval()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    step = 0
    ckpt = out / "ckpt.pt"
    if ckpt.exists():
        blob = torch.load(ckpt, weights_only=False)  # our own checkpoint: optimiser and random states
        if blob["train_config"] != _resume_key(cfg):
            raise ConfigError(f"{ckpt} was written with another configuration; use another --out, or delete it to start over")
        net.load_state_dict(blob["model"])
        ema.load_state_dict(blob["ema"])
        opt.load_state_dict(blob["opt"])
        step = int(blob["step"])
        rng.bit_generator.state = blob["rng"]
        gen.set_state(blob["gen"])
    crops = Crops(train_data, cfg.crop, rng, cfg.lamp_weight, cfg.lamp_crops)
    policy = frozen_policy() if cfg.w_light > 0 else None
    log_path = out / "train_log.csv"
    new_log = not log_path.exists() or step == 0
    log = open(log_path, "w" if new_log else "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "loss_reg", "loss_diff", "loss_light", "lr", "s_per_step"])
    bar = tqdm(total=cfg.steps, initial=step, desc="train-teacher", unit="step", disable=not progress)
    net.train()
    t_last = time.perf_counter()
    while step < cfg.steps:
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step)
        rgb, th, clean, weight = crops.batch(cfg.batch)
        l_reg, l_diff, l_light = losses(net, rgb, th, clean, gen, weight, policy, cfg.light_signal)
        loss = l_reg + cfg.diffusion_weight * l_diff + cfg.w_light * l_light
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        ema_update(ema, net, cfg.ema)
        step += 1
        now = time.perf_counter()
        l_reg, l_diff, l_light = float(l_reg.detach()), float(l_diff.detach()), float(l_light.detach())
        writer.writerow([step, f"{l_reg:.5f}", f"{l_diff:.5f}", f"{l_light:.5f}", f"{_lr(cfg, step - 1):.6f}",
                         f"{now - t_last:.3f}"])
        t_last = now
        bar.update()
        bar.set_postfix(reg=f"{l_reg:.4f}", diff=f"{l_diff:.4f}", **({"light": f"{l_light:.4f}"} if policy else {}))
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            log.flush()
            save_atomic(ckpt, {"model": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                         "rng": rng.bit_generator.state, "gen": gen.get_state(),
                         "train_config": _resume_key(cfg)})
        if step % cfg.val_every == 0 and step < cfg.steps:
            figs = validate(ema, val, cfg, out / f"val_{step:06d}.png", val_lamps, policy)
            if progress:
                bar.write(f"step {step}: {figs}")
    bar.close()
    log.close()
    figs = validate(ema, val, cfg, out / f"val_{step:06d}.png", val_lamps, policy)
    weights = out / "teacher.pt"
    # fp16 on disk (half the size; the sampler loads it into float32)
    save_atomic(weights, {"model": {k: v.half() if v.is_floating_point() else v for k, v in ema.state_dict().items()},
                    "config": json.dumps(cfg.teacher_config().to_dict())})
    manifest_path = data_root / "manifest.json"
    manifest = {
        "command": command,
        "config": cfg.to_dict(), "seed": cfg.seed, "commit": commit,
        "data_manifest": json.loads(manifest_path.read_text()) if manifest_path.exists() else None,
        "parameters": {"regression": parameter_count(ema.regression), "denoiser": parameter_count(ema.denoiser)},
        "validation": figs, "train_frames": int(len(train_data["rgb"])),
        "init_sha256": file_digest(cfg.init) if cfg.init else None,
        "sha256": file_digest(weights),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return figs

