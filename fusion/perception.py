"""What the frozen policy's perception makes of a fused image: a frame-level probe, seconds per variant.

``python -m fusion perception --scenario S --variants a,b [--frames N] --json``. The privileged
expert drives the scenario's held-out routes (the scenario's own route ids, its first traffic seed)
and every ``every``-th frame is kept with its ground truth: the RGB frame, the thermal frame
registered to the RGB view, the privileged clean image, the policy's segmentation target (0
background, 1 vehicle, 2 pedestrian, at the mask's half resolution) and the state of the ego's own
signal where its lit lamp is in view, and the RGB view's semantic ids and depth (float16, metres).
The frames are cached by content (scenario file, routes, options, renderer version) in
``data/perception/``, so a second call with other variants only fuses.

Each variant fuses each frame; the frozen policy's network reads the result. Per variant:

- ``vehicle_iou``, ``pedestrian_iou``: intersection over union of the marked and true cells;
- ``pedestrian_recall``: the share of true pedestrian cells marked pedestrian;
- ``phantom_rate``: the share of cells marked vehicle or pedestrian where the truth has neither
  (the failure mode behind the policy's stops at night: it marks dark road as vehicles);
- ``light_acc``: stop/go accuracy (red and yellow are stop) on frames where the own lamp is in view;
- ``light_bal_acc``: the same, balanced (the mean of the accuracy on stop frames and on go frames), so a
  variant that says "stop" whenever it cannot see scores 0.5 however the lamps' states are distributed:
  in dense fog most lamps in view cannot be seen, and ``light_acc`` then mostly measures the bias;
- ``light_stop_share``: the share of those frames whose truth is stop (chance levels: always-stop
  scores this, always-go one minus it);
- ``n_frames``.

``--out DIR`` also writes, per variant, a picture grid (input | fused | what the policy marks).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np

from harness.errors import ConfigError

CACHE = Path("data") / "perception"
PROBE_VERSION = 2  # bump when what a frame holds changes (2: semantic ids and depth, for the teacher's variance)
FIELDS = ("rgb", "thermal", "clean", "seg", "light_state", "semantic", "depth")


def frames_key(scenario, frames: int, every: int) -> str:
    from harness.render import RENDER_VERSION
    from harness.runner.jobs import file_digest, route_digests

    digests = route_digests(scenario)
    parts = [file_digest(scenario.source), *(digests[r] for r in sorted(digests)), f"{frames}/{every}",
             f"render {RENDER_VERSION}", f"probe {PROBE_VERSION}"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def collect_frames(scenario_name: str, frames: int = 200, every: int = 10, cache: Path = CACHE,
                   progress: bool = True) -> Path:
    """The cached frames of ``scenario_name`` (collected on first use, written atomically)."""
    from tqdm import tqdm

    from harness.runner.jobs import select_routes
    from harness.scenario import load_scenario

    if frames < 1 or every < 1:
        raise ConfigError(f"--frames and --every must be >= 1, got {frames}, {every}")
    scenario = load_scenario(scenario_name)
    path = Path(cache) / f"{scenario.name}-{frames_key(scenario, frames, every)}.npz"
    if path.exists():
        return path
    routes = select_routes(scenario, "all")
    per_route = [frames // len(routes) + (k < frames % len(routes)) for k in range(len(routes))]
    got: dict[str, list] = {k: [] for k in FIELDS}
    bar = tqdm(total=frames, desc=f"probe frames {scenario.name}", unit="frame", disable=not progress)
    for route, n in zip(routes, per_route):
        if n:
            _drive(scenario, route, scenario.seeds[0], n, every, got, bar.update)
    bar.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{k: np.stack(v) for k, v in got.items()}, scenario=scenario.name,
                        routes=np.array(routes), every=every, visibility_m=scenario.weather.fog_visibility_m)
    os.replace(tmp, path)
    return path


def _drive(scenario, route: str, seed: int, n: int, every: int, got: dict, tick) -> None:
    """The expert on ``route`` until ``n`` frames are kept (or the route ends)."""
    from agents.expert import ExpertAgent
    from distill.policy.data import own_lamp_pixel, seg_target
    from harness.backends.embedded import EmbeddedBackend
    from harness.render.meshes import signal_lamp_points
    from harness.sensors.registration import Registrar
    from harness.world.autopilot import RouteFollower

    with EmbeddedBackend(scenario, privileged=True) as backend:
        lamps = signal_lamp_points(backend.town)[:, :3]
        register = Registrar(backend.rig.rgb, backend.rig.thermal.camera)
        backend.load(route, seed)
        expert = ExpertAgent()
        expert.bind(backend)
        labeler = RouteFollower(backend.ground_truth)
        frame = backend.reset()
        kept, step = 0, 0
        while kept < n:
            if step % every == 0:
                gap, sig = labeler.next_signal_id(horizon=100)
                state = None if sig is None else backend.ground_truth.signal_state(sig)
                u, _ = own_lamp_pixel(backend, lamps, sig, state, frame.privileged)
                got["rgb"].append(frame.rgb)
                got["thermal"].append(register(frame.thermal))
                got["clean"].append(frame.privileged.clean_rgb)
                got["seg"].append(seg_target(frame.privileged.semantic))
                got["light_state"].append(255 if state is None or math.isnan(u) else state)
                got["semantic"].append(frame.privileged.semantic)
                got["depth"].append(np.minimum(frame.privileged.depth, 60000.0).astype(np.float16))
                kept += 1
                tick()
            frame, ev = backend.step(expert.run_step({}, frame.timestamp))
            step += 1
            if ev.route_done:
                break


def load_frames(path: Path) -> dict[str, np.ndarray]:
    """The frames' FIELDS, plus ``visibility_m`` (N,): the scenario's fog visibility [m]."""
    with np.load(path) as z:
        out = {k: z[k] for k in FIELDS}
        out["visibility_m"] = np.full(len(out["rgb"]), float(z["visibility_m"]), np.float32)
    return out


def fuse_all(variant: str, data: dict[str, np.ndarray], device: str = "cpu", batch: int = 16) -> np.ndarray:
    """Every frame through ``variant``: ``(N, H, W, 3) uint8`` (``oracle_clean``: the clean images)."""
    import torch

    from fusion.io import fusion_generator, image_tensor, tensor_images
    from fusion.registry import check_variant

    v = check_variant(variant, device)
    if v.needs_clean:
        return data["clean"]
    fuser = v.build(device)
    out = []
    for i in range(0, len(data["rgb"]), batch):
        rgb = torch.cat([image_tensor(x) for x in data["rgb"][i:i + batch]])
        th = torch.cat([image_tensor(x) for x in data["thermal"][i:i + batch]])
        if v.stochastic:  # one generator per frame, as in a drive
            res = torch.cat([fuser(rgb[k:k + 1], th[k:k + 1], generator=fusion_generator(0, i + k, device))
                             for k in range(len(rgb))])
        else:
            res = fuser(rgb, th)
        out.append(tensor_images(res))
    return np.concatenate(out)


def read(images, net, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The policy network on ``(N, H, W, 3) uint8`` images, or on a float tensor ``(N, 3, H, W)`` in
    [0, 1] (frames changed in float, e.g. darkened): (mask ``(N, H/2, W/2)`` classes, stop
    probability ``(N,)``)."""
    import torch

    from agents.rgb_policy.model import stop_probability

    masks, stops = [], []
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            if isinstance(images, torch.Tensor):
                x = images[i:i + batch].float()
            else:
                x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).permute(0, 3, 1, 2).float().div_(255.0)
            seg, lights = net(x)
            masks.append(seg.argmax(1).to(torch.uint8).numpy())
            stops.append(stop_probability(lights).numpy())
    return np.concatenate(masks), np.concatenate(stops)


def balanced_accuracy(said: np.ndarray, truth: np.ndarray) -> float:
    """Mean of the accuracy on the frames whose truth is True and on those whose truth is False (the
    classes present); NaN without frames."""
    parts = [float((said[truth == c] == c).mean()) for c in (True, False) if (truth == c).any()]
    return round(float(np.mean(parts)), 4) if parts else math.nan


def scores(mask: np.ndarray, stop: np.ndarray, seg: np.ndarray, light_state: np.ndarray) -> dict[str, float]:
    """The probe's figures of one variant (module docstring); NaN where a figure has no cells or frames."""
    def iou(c: int) -> float:
        inter, union = ((mask == c) & (seg == c)).sum(), ((mask == c) | (seg == c)).sum()
        return float(inter / union) if union else math.nan

    ped = seg == 2
    neither = seg == 0
    seen = light_state < 3
    truth_stop = np.isin(light_state, (0, 1))
    return {"vehicle_iou": round(iou(1), 4), "pedestrian_iou": round(iou(2), 4),
            "pedestrian_recall": round(float((mask[ped] == 2).mean()), 4) if ped.any() else math.nan,
            "phantom_rate": round(float((mask[neither] > 0).mean()), 5) if neither.any() else math.nan,
            "light_acc": round(float(((stop[seen] > 0.5) == truth_stop[seen]).mean()), 4) if seen.any() else math.nan,
            "light_bal_acc": balanced_accuracy(stop[seen] > 0.5, truth_stop[seen]),
            "light_stop_share": round(float(truth_stop[seen].mean()), 4) if seen.any() else math.nan,
            "light_frames": int(seen.sum()), "n_frames": int(len(mask))}


def probe(scenario: str, variants: list[str], frames: int = 200, every: int = 10, device: str = "cpu",
          out: Path | None = None, cache: Path = CACHE, weights: str | None = None, progress: bool = True) -> dict:
    """Collect (or reuse) the frames, fuse them with each variant, read them with the policy: the figures."""
    from tqdm import tqdm

    from agents.rgb_policy.model import fold_batch_norm, load_perception
    from fusion.registry import check_variant

    names = [check_variant(v, device).name for v in variants]  # bad names fail before any driving
    path = collect_frames(scenario, frames, every, cache, progress)
    data = load_frames(path)
    net, _ = load_perception(weights)
    net = fold_batch_norm(net)
    result = {"scenario": scenario, "frames_file": str(path), "variants": {}}
    for name in tqdm(names, desc="variants", unit="variant", disable=not progress):
        fused = fuse_all(name, data, device)
        mask, stop = read(fused, net)
        result["variants"][name] = scores(mask, stop, data["seg"], data["light_state"])
        if out is not None:
            from fusion.probe_plots import grid

            grid(out / f"probe_{_file_name(name)}.jpg", name, data, fused, mask)
    if out is not None:
        (out / "perception.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def _file_name(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", name)

