"""The teacher-ensemble cache: what FusionProxy distils from, computed once and reused by every student run.

For each frame of the fusion data (``distill.fusion_data``) the teacher draws K samples; the cache
stores, in fp16:

- ``mean (N,3,H,W)``: the ensemble mean (the distillation target T);
- ``pixel_var (N,1,H,W)``: per-pixel variance across the K samples, averaged over channels;
- ``fvar.<backbone>.<l> (N,1,H/s_l,W/s_l)``: per backbone and tapped layer l (strides 2, 4, 8, 16),
  the per-location variance of the K samples' features, averaged over channels, at the layer's
  own resolution.

Layout: ``<root>/<key>/{train,val}/<episode>.npz`` plus ``<root>/<key>/manifest.json``. ``key`` hashes
what decides the numbers: the teacher's weights, K, steps, eta, the backbones' names and weights,
the frame subsampling and this file's ``CACHE_VERSION``. Each cache shard records the sha256 of the
data shard it was computed from, so a re-collected episode is recomputed and the rest is reused.
The build is resumable (one shard at a time, written atomically) and shows a progress bar.

Every frame's noise comes from a generator seeded by (seed, episode, frame index): the same
inputs give the same cache on any machine with the same torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from harness.errors import ConfigError

CACHE_VERSION = 1
DEFAULT_ROOT = Path("data/ensemble")
# K and steps of the cache. The teacher costs 0.56 s per frame at K=8, steps=2 on this 2-core CPU
# (0.95 s at steps=4), and both backbones' features of the 8 samples another 0.55 s; at steps=2 the
# train split (2,454 frames) and every 4th val frame take about 50 minutes.
DEFAULT_K = 8
DEFAULT_STEPS = 2
DEFAULT_VAL_EVERY = 4


@dataclass
class CacheConfig:
    data: str = "data/fusion"
    root: str = str(DEFAULT_ROOT)
    teacher: str = ""  # teacher weights; "" = the committed ones
    k: int = DEFAULT_K
    steps: int = DEFAULT_STEPS
    eta: float = 1.0
    backbones: tuple[str, ...] = ("efficientnet_lite0", "policy")
    splits: tuple[str, ...] = ("train", "val")
    every: dict = field(default_factory=lambda: {"train": 1, "val": DEFAULT_VAL_EVERY})  # keep every n-th frame
    seed: int = 0
    threads: int = 2

    def teacher_path(self) -> Path:
        from fusion.teacher.sampler import WEIGHTS

        return Path(self.teacher) if self.teacher else WEIGHTS


def cache_key(cfg: CacheConfig, teacher_digest: str, backbone_digests: dict[str, str]) -> str:
    blob = json.dumps({"version": CACHE_VERSION, "teacher": teacher_digest, "k": cfg.k, "steps": cfg.steps,
                       "eta": cfg.eta, "backbones": backbone_digests, "every": cfg.every, "seed": cfg.seed},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def frame_seed(seed: int, episode: str, index: int) -> int:
    return zlib.crc32(f"{seed}/{episode}/{index}".encode())


def _shard_ok(path: Path, source_digest: str) -> bool:
    try:
        with np.load(path) as z:
            return str(z["source_sha256"]) == source_digest and int(z["cache_version"]) == CACHE_VERSION
    except (OSError, ValueError, KeyError, EOFError):
        return False


def _compute_shard(src: Path, dst: Path, every: int, teacher, backbones: dict, cfg: CacheConfig, digest: str,
                   bar=None) -> int:
    from distill.backbone import feature_variance

    with np.load(src) as z:
        rgb, th = z["rgb"][::every], z["thermal"][::every]
        index = np.arange(len(z["rgb"]))[::every]
    out: dict[str, list] = {"mean": [], "pixel_var": []}
    for i in range(len(rgb)):
        r = torch.from_numpy(rgb[i]).permute(2, 0, 1)[None].float().div_(255.0)
        t = torch.from_numpy(th[i])[None, None].float().div_(255.0)
        g = torch.Generator().manual_seed(frame_seed(cfg.seed, src.stem, int(index[i])))
        stats = teacher.sample(r, t, cfg.k, cfg.steps, g, cfg.eta)
        out["mean"].append(stats.mean.half().numpy())
        out["pixel_var"].append(stats.pixel_var.half().numpy())
        for name, bb in backbones.items():
            for layer, v in enumerate(feature_variance(bb, stats.samples)):
                out.setdefault(f"fvar.{name}.{layer}", []).append(v.half().numpy())
        if bar is not None:
            bar.update()
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    tmp = dst.with_name(dst.stem + ".tmp.npz")
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez(tmp, **arrays, index=index, source_sha256=np.array(digest), cache_version=np.array(CACHE_VERSION))
    os.replace(tmp, dst)
    return len(rgb)


def build(cfg: CacheConfig, progress: bool = True) -> dict:
    """Compute the missing or stale shards of the cache and write its manifest; returns the manifest."""
    from tqdm import tqdm

    from distill.fusion_data import split_paths, stale
    from fusion.teacher.sampler import Teacher
    from harness.runner.jobs import file_digest

    if cfg.k < 1:
        raise ConfigError(f"k must be >= 1 sample per frame (k = 1 has no variance: the K=1 ablation), got k={cfg.k}")
    if cfg.steps < 1:
        raise ConfigError(f"steps must be >= 1, got {cfg.steps}")
    torch.set_num_threads(cfg.threads)
    tpath = cfg.teacher_path()
    teacher = Teacher.load(tpath)
    folder, tdig, bdig, backbones = resolve(cfg)
    key = folder.name
    todo, done = [], []
    for split in cfg.splits:
        every = int(cfg.every.get(split, 1))
        for src in split_paths(Path(cfg.data), split):
            if why := stale(src):
                raise ConfigError(f"{src}: {why}; collect again with `python -m distill collect-fusion-data`")
            digest = file_digest(src)
            dst = folder / split / src.name
            with np.load(src) as z:
                n = len(z["rgb"][::every])
            (done if _shard_ok(dst, digest) else todo).append((split, src, dst, every, digest, n))
    t0 = time.perf_counter()
    bar = tqdm(total=sum(j[-1] for j in todo), desc=f"ensemble-cache {key}", unit="frame", disable=not progress)
    for split, src, dst, every, digest, n in todo:
        _compute_shard(src, dst, every, teacher, backbones, cfg, digest, bar)
    bar.close()
    frames = {s: sum(j[-1] for j in todo + done if j[0] == s) for s in cfg.splits}
    manifest = {"key": key, "cache_version": CACHE_VERSION, "config": {**asdict(cfg), "backbones": list(cfg.backbones),
                                                                      "splits": list(cfg.splits)},
                "teacher_sha256": tdig, "backbone_digests": bdig, "frames": frames,
                "shards": {s: sorted(j[2].name for j in todo + done if j[0] == s) for s in cfg.splits},
                "layers": {n: list(b.strides) for n, b in backbones.items()}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    manifest["computed_frames"] = sum(j[-1] for j in todo)
    manifest["seconds"] = round(time.perf_counter() - t0, 1)
    manifest["folder"] = str(folder)
    return manifest


def load(folder: Path, split: str, backbone: str | None = None) -> dict[str, np.ndarray]:
    """One split of a built cache: ``mean``, ``pixel_var``, ``index`` and, for ``backbone``, its
    ``fvar`` layers as a list; plus ``source`` (the data shard of each frame)."""
    folder = Path(folder)
    man = folder / "manifest.json"
    if not man.exists():
        raise ConfigError(f"no ensemble cache at {folder}; build it with `python -m distill cache-ensemble`")
    manifest = json.loads(man.read_text())
    if backbone and backbone not in manifest["config"]["backbones"]:
        raise ConfigError(f"the cache at {folder} has no features of backbone {backbone!r} "
                          f"(it has {', '.join(manifest['config']['backbones'])})")
    names = manifest["shards"].get(split)
    if not names:
        raise ConfigError(f"the cache at {folder} has no {split} split")
    out: dict[str, list] = {"mean": [], "pixel_var": [], "index": [], "source": []}
    nl = len(manifest["layers"][backbone]) if backbone else 0
    fv: list[list] = [[] for _ in range(nl)]
    for name in names:
        with np.load(folder / split / name) as z:
            out["mean"].append(z["mean"])
            out["pixel_var"].append(z["pixel_var"])
            out["index"].append(z["index"])
            out["source"].append(np.full(len(z["index"]), name))
            for layer in range(nl):
                fv[layer].append(z[f"fvar.{backbone}.{layer}"])
    res = {k: np.concatenate(v) for k, v in out.items()}
    if backbone:
        res["fvar"] = [np.concatenate(v) for v in fv]
    return res


def resolve(cfg: CacheConfig) -> tuple[Path, str, dict[str, str], dict]:
    """The cache folder ``cfg`` names (built or not), the teacher's and backbones' digests and the
    loaded backbones."""
    from distill.backbone import load_backbone
    from harness.runner.jobs import file_digest

    tpath = cfg.teacher_path()
    if not tpath.is_file():
        raise ConfigError(f"no teacher weights at {tpath}; train them with `python -m distill train-teacher`")
    backbones = {n: load_backbone(n) for n in cfg.backbones}
    tdig = file_digest(tpath)
    bdig = {n: b.digest() for n, b in backbones.items()}
    return Path(cfg.root) / cache_key(cfg, tdig, bdig), tdig, bdig, backbones
