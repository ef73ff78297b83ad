"""Where the teacher is unsure: its pixel variance in regions defined by ground truth.

The ensemble's variance is meant to mark what the inputs leave open. Two regions, from the frame's
semantics, depth, the fog's visibility and the registered thermal image:

- ``hidden_flat``: the fog hides the scene from the RGB camera (visible-band transmission
  ``exp(-3.912 d / V)`` under ``HIDDEN_TRANSMISSION`` at depth ``d``, visibility ``V``) and the
  thermal image is locally flat there (the 7x7 standard deviation of the thermal image, smoothed
  with a Gaussian of ``SMOOTH_PX`` to take out the sensor noise, under ``FLAT_STD`` grey levels);
  sky excluded (it is the same clear-noon sky in every target);
- ``salient``: people and vehicles (CARLA ids) within ``SALIENT_RANGE_M`` that are warm in the
  thermal image (the smoothed thermal above the frame's median).

:func:`variance_by_region` gives the mean pixel variance in each and their ratio;
:func:`ensemble_report` runs the teacher on the perception probe's frames of a scenario (``python -m
fusion ensemble``) and draws the picture grid.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from harness.semantics import Sem

HIDDEN_TRANSMISSION = 0.05  # visible-band transmission below which the RGB camera sees (almost) nothing
FLAT_STD = 4.0  # [grey levels of 255] local 7x7 standard deviation of the smoothed thermal that counts as flat
SMOOTH_PX = 1.5  # [px] Gaussian sigma taking the sensor noise (several levels per pixel) out first
SALIENT_RANGE_M = 40.0  # [m]
SALIENT_IDS = (Sem.PEDESTRIAN, Sem.RIDER, Sem.CAR, Sem.TRUCK, Sem.BUS, Sem.MOTORCYCLE, Sem.BICYCLE)


def local_std(image: np.ndarray, k: int = 7) -> np.ndarray:
    """Standard deviation over a ``k x k`` window, (H, W) float32 (same units as ``image``)."""
    x = image.astype(np.float32)
    mean = cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT)
    sq = cv2.blur(x * x, (k, k), borderType=cv2.BORDER_REFLECT)
    return np.sqrt(np.maximum(sq - mean * mean, 0.0))


def regions(thermal: np.ndarray, semantic: np.ndarray, depth: np.ndarray, visibility_m: float
            ) -> dict[str, np.ndarray]:
    """Boolean masks ``hidden_flat`` and ``salient`` of one frame (module docstring)."""
    smooth = cv2.GaussianBlur(thermal.astype(np.float32), (0, 0), SMOOTH_PX)
    spread = local_std(smooth)
    transmission = np.exp(-3.912 * depth.astype(np.float32) / max(visibility_m, 1e-3))
    hidden = (transmission < HIDDEN_TRANSMISSION) & (spread < FLAT_STD) & (semantic != Sem.SKY)
    salient = np.isin(semantic, SALIENT_IDS) & (depth < SALIENT_RANGE_M) & (smooth > np.median(smooth))
    return {"hidden_flat": hidden, "salient": salient}


def variance_by_region(pixel_var: np.ndarray, thermal: np.ndarray, semantic: np.ndarray, depth: np.ndarray,
                       visibility_m: np.ndarray) -> dict[str, float]:
    """Mean pixel variance in each region over frames ``(N, H, W)`` (visibility per frame), the
    pixel counts, and ``ratio`` = hidden_flat / salient (NaN where a region is empty)."""
    sums = {"hidden_flat": 0.0, "salient": 0.0}
    counts = {"hidden_flat": 0, "salient": 0}
    for i in range(len(pixel_var)):
        for name, mask in regions(thermal[i], semantic[i], depth[i], float(visibility_m[i])).items():
            sums[name] += float(pixel_var[i][mask].sum())
            counts[name] += int(mask.sum())
    out: dict[str, float] = {}
    for name in sums:
        out[f"var_{name}"] = sums[name] / counts[name] if counts[name] else math.nan
        out[f"pixels_{name}"] = counts[name]
    h, s = out["var_hidden_flat"], out["var_salient"]
    out["ratio"] = h / s if counts["salient"] and counts["hidden_flat"] and s > 0 else math.nan
    return out


def ensemble_report(scenario: str, frames: int = 200, every: int = 10, k: int | None = None, steps: int | None = None,
                    out: Path | None = None, cache: Path | None = None, weights: Path | None = None,
                    progress: bool = True) -> dict:
    """The teacher's ensemble on the perception probe's frames of ``scenario``: seconds per frame,
    the mean pixel variance by region (:func:`variance_by_region`), and with ``out`` the picture
    grid ``ensemble_<scenario>.jpg`` (rgb | thermal | teacher mean | pixel variance | clean target |
    what the policy marks on the mean). Each frame's noise comes from ``fusion_generator(0, i)``,
    as the probe seeds it."""
    import time

    import torch
    from tqdm import tqdm

    from agents.rgb_policy.model import fold_batch_norm, load_perception
    from fusion.io import fusion_generator, image_tensor
    from fusion.perception import CACHE, collect_frames, load_frames, read
    from fusion.teacher.sampler import DEFAULT_K, DEFAULT_STEPS, WEIGHTS, Teacher

    k, steps = k or DEFAULT_K, steps or DEFAULT_STEPS
    teacher = Teacher.load(weights or WEIGHTS)
    data = load_frames(collect_frames(scenario, frames, every, cache or CACHE, progress))
    n = len(data["rgb"])
    means = np.empty_like(data["rgb"])
    var = np.empty(data["thermal"].shape, np.float32)
    seconds = []
    for i in tqdm(range(n), desc=f"teacher k={k} steps={steps}", unit="frame", disable=not progress):
        rgb, th = image_tensor(data["rgb"][i]), image_tensor(data["thermal"][i])
        t0 = time.perf_counter()
        stats = teacher.sample(rgb, th, k, steps, fusion_generator(0, i))
        seconds.append(time.perf_counter() - t0)
        means[i] = (stats.mean[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        var[i] = stats.pixel_var[0, 0].numpy()
    result = {"scenario": scenario, "k": k, "steps": steps, "n_frames": n, "threads": torch.get_num_threads(),
              "seconds_per_frame": round(float(np.median(seconds)), 3),
              **{key: (round(v, 7) if isinstance(v, float) else v) for key, v in
                 variance_by_region(var, data["thermal"], data["semantic"], data["depth"], data["visibility_m"]).items()}}
    if out is not None:
        net = fold_batch_norm(load_perception(None)[0])
        mask, _ = read(means, net)
        path = Path(out) / f"ensemble_{scenario}.jpg"
        ensemble_grid(path, data, means, var, mask, k, steps)
        result["grid"] = str(path)
    return result


def ensemble_grid(path: Path, data: dict, means: np.ndarray, var: np.ndarray, mask: np.ndarray, k: int, steps: int,
                  rows: int = 4) -> Path:
    """rgb | thermal | teacher mean | pixel variance (0 black .. the 99th percentile white) | clean
    target | what the policy marks on the mean, for the frames :func:`fusion.probe_plots.picks` chooses."""
    from fusion.probe_plots import _overlay, picks, sheet

    chosen = picks(data["seg"], rows)
    top = float(np.quantile(var[chosen], 0.99)) or 1.0
    grey = lambda a: np.repeat(a[..., None], 3, 2)  # noqa: E731
    lines = [np.concatenate([data["rgb"][i], grey(data["thermal"][i]), means[i],
                             grey((np.clip(var[i] / top, 0, 1) * 255).astype(np.uint8)), data["clean"][i],
                             _overlay(means[i], mask[i], data["seg"][i])], 1) for i in chosen]
    return sheet(path, lines, ("camera (RGB)", "thermal (registered)", f"teacher mean (k={k}, {steps} steps)",
                               f"pixel variance (white {top:.2g})", "clean target (privileged)", "what the policy marks"))
