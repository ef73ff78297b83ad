"""What in an image makes the frozen policy stop at a light: the lamps, or the scene around them.

``python -m fusion cues --scenario S --variants a,b [--near 50] --json``. On the perception probe's
frames (:mod:`fusion.perception`, same cache) whose own lamp is in view, split by its state (red or
amber: stop; green: go) and by the distance of the nearest traffic-light pixel (the RGB view's depth
under its semantic id), it reports the share of frames on which the policy's light head says stop
(probability above 0.5):

- ``by_distance``: per image source (``rgb``, ``clean`` and each variant) and distance bin;
- ``clean_edits``: the clean image with its lit lamps turned grey (every traffic-light pixel whose clean
  chroma is above :data:`distill.training.LIT_CHROMA`, to its own grey), the whole image grey,
  and blurred by 4 (4x4 average, bilinear back), on the near stop and go frames;
- ``swaps``, per variant, on the near frames: its image with the clean lamp pixels pasted in; the
  clean image with the variant's lamp pixels; the variant's image with the clean top half (sky, lamps,
  facades); the clean image with the variant's top half;
- ``lamp_chroma``: the lit lamps' mean chroma in each source on the near frames;
- ``light_seen``: per source, on the near stop frames, the share on which the light head finds any
  signal head at all (a cell whose stop or go probability is above ``LIGHT_SEEN``; with none the policy
  drives on), and the share with a stop cell and with a go cell. A grey, unlit housing reads as stop,
  so an image that keeps the housings but not the lamps stops by default; one that loses them drives on.

Read together they say which cue a fusion module must give back for the policy to stop: if the
policy stops on the clean image with its lamps grey and not on the variant's image with the clean
lamps pasted, the lamps are not what the variant lacks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

BINS = (0.0, 20.0, 35.0, 50.0, 80.0, math.inf)


def lamp_distance(semantic: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``(N,)`` metres to the nearest traffic-light pixel of each frame (``semantic (N,H,W)`` ids,
    ``depth (N,H,W)`` metres); ``inf`` where a frame shows none."""
    from harness.semantics import Sem

    tl = semantic == int(Sem.TRAFFIC_LIGHT)
    d = np.where(tl, depth.astype(np.float32), np.inf)
    return d.reshape(len(d), -1).min(axis=1)


def _rate(stop: np.ndarray) -> float:
    return round(float((stop > 0.5).mean()), 4) if len(stop) else math.nan


def _share(flags: np.ndarray) -> float:
    return round(float(flags.mean()), 4) if len(flags) else math.nan


def _grey(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32).mean(-1, keepdims=True)


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _blur(img: np.ndarray, f: int = 4) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(img)).permute(0, 3, 1, 2).float()
    h, w = x.shape[-2:]
    y = F.interpolate(F.avg_pool2d(x, f, ceil_mode=True), size=(h, w), mode="bilinear", align_corners=False)
    return _u8(y.permute(0, 2, 3, 1).numpy())


def _chroma(img: np.ndarray, mask: np.ndarray) -> float:
    if not mask.any():
        return math.nan
    c = img.astype(np.int16)
    return round(float((c.max(-1) - c.min(-1))[mask].mean() / 255.0), 4)


def light_cells(images: np.ndarray, net, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The light head's most confident stop and go cell probabilities ``(N,)`` each on ``(N,H,W,3) uint8``."""
    import torch

    s, g = [], []
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).permute(0, 3, 1, 2).float().div_(255.0)
            p = torch.softmax(net(x)[1], 1)
            s.append(p[:, 1].amax(dim=(1, 2)).numpy())
            g.append(p[:, 2].amax(dim=(1, 2)).numpy())
    return np.concatenate(s), np.concatenate(g)


def analyse(data: dict[str, np.ndarray], fused: dict[str, np.ndarray], net, near: float = 50.0) -> dict:
    """The figures of the module docstring from probe frames ``data`` (:func:`fusion.perception.load_frames`)
    and each variant's fused frames ``fused[name] (N,H,W,3) uint8``, read by the policy network ``net``."""
    from agents.rgb_policy.model import LIGHT_SEEN, decide_stop
    from distill.training import lit_lamps

    state, clean = data["light_state"], data["clean"]
    dist = lamp_distance(data["semantic"], data["depth"])
    stop_truth, go_truth = np.isin(state, (0, 1)), state == 2
    near_stop, near_go = stop_truth & (dist < near), go_truth & (dist < near)
    lit = lit_lamps(data["semantic"], clean)
    sources = {"rgb": data["rgb"], "clean": clean, **fused}
    cells = {k: light_cells(v, net) for k, v in sources.items()}  # one pass of the network per source
    stops = {k: decide_stop(st, go) for k, (st, go) in cells.items()}  # as the policy's stop_probability

    by_distance = {}
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        label = f"{lo:g}-{hi:g} m" if math.isfinite(hi) else f"{lo:g} m and more"
        sel = (dist >= lo) & (dist < hi)
        by_distance[label] = {"frames_stop": int((sel & stop_truth).sum()), "frames_go": int((sel & go_truth).sum()),
                              **{k: {"stop_on_stop": _rate(s[sel & stop_truth]), "stop_on_go": _rate(s[sel & go_truth])}
                                 for k, s in stops.items()}}

    both = np.flatnonzero(near_stop | near_go)
    truth = stop_truth[both]

    def split(s: np.ndarray) -> dict[str, float]:
        return {"stop_on_stop": _rate(s[truth]), "stop_on_go": _rate(s[~truth])}

    def pair(images: np.ndarray) -> dict[str, float]:
        return split(decide_stop(*light_cells(images, net)))

    c, m = clean[both], lit[both]
    grey_lamps = c.astype(np.float32)
    grey_lamps[m] = np.repeat(_grey(c)[m], 3, axis=-1)
    clean_edits = {"as is": split(stops["clean"][both]), "lamps grey": pair(_u8(grey_lamps)),
                   "all grey": pair(_u8(np.repeat(_grey(c), 3, axis=-1))), "blurred by 4": pair(_blur(c))}

    half = c.shape[1] // 2
    swaps = {}
    for name, img in fused.items():
        v = img[both]
        pasted, theirs = v.copy(), c.copy()
        pasted[m], theirs[m] = c[m], v[m]
        top_clean, top_theirs = v.copy(), c.copy()
        top_clean[:, :half], top_theirs[:, :half] = c[:, :half], v[:, :half]
        swaps[name] = {"as is": split(stops[name][both]), "clean lamps pasted in": pair(pasted), "clean with its lamps": pair(theirs),
                       "clean top half": pair(top_clean), "clean with its top half": pair(top_theirs)}

    light_seen = {}
    for k, (st, go) in cells.items():
        st, go = st[near_stop] > LIGHT_SEEN, go[near_stop] > LIGHT_SEEN
        light_seen[k] = {"any": _share(st | go), "stop_cell": _share(st), "go_cell": _share(go)}

    return {"near_m": near, "frames_near_stop": int(near_stop.sum()), "frames_near_go": int(near_go.sum()),
            "light_seen": light_seen, "by_distance": by_distance, "clean_edits": clean_edits, "swaps": swaps,
            "lamp_chroma": {k: _chroma(v[both], m) for k, v in sources.items()}}


def cues(scenario: str, variants: list[str], frames: int = 200, every: int = 10, near: float = 50.0,
         device: str = "cpu", cache: Path | None = None, weights: str | None = None, out: Path | None = None,
         progress: bool = True) -> dict:
    """Collect (or reuse) the probe's frames, fuse them with each variant, and :func:`analyse`."""
    from agents.rgb_policy.model import fold_batch_norm, load_perception
    from fusion.perception import CACHE, collect_frames, fuse_all, load_frames
    from fusion.registry import check_variant

    names = [check_variant(v, device).name for v in variants]  # bad names fail before any driving
    path = collect_frames(scenario, frames, every, cache or CACHE, progress)
    data = load_frames(path)
    net = fold_batch_norm(load_perception(weights)[0])
    result = {"scenario": scenario, "frames_file": str(path),
              **analyse(data, {n: fuse_all(n, data, device) for n in names}, net, near)}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cues.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def table(r: dict) -> str:
    """The near-frame figures as a Markdown table: stop rate on stop frames / on go frames."""
    f = lambda d: f"{d['stop_on_stop']:.2f} / {d['stop_on_go']:.2f}"  # noqa: E731
    lines = [f"{r['scenario']}: {r['frames_near_stop']} stop and {r['frames_near_go']} go frames with the lamp "
             f"within {r['near_m']:g} m; share of frames the policy says stop (on stop frames / on go frames)", "",
             "| image | policy says stop |", "| --- | --- |"]
    lines += [f"| clean, {k} | {f(v)} |" for k, v in r["clean_edits"].items()]
    for name, sw in r["swaps"].items():
        lines += [f"| `{name}`, {k} | {f(v)} |" for k, v in sw.items()]
    lines += ["", "lit lamps' chroma on those frames: " + ", ".join(f"{k} {v:.3f}" for k, v in r["lamp_chroma"].items())]
    lines += ["", "stop frames on which the light head finds a signal head at all (with a stop cell, with a go cell): "
              + ", ".join(f"{k} {v['any']:.2f} ({v['stop_cell']:.2f}, {v['go_cell']:.2f})" for k, v in r["light_seen"].items())]
    return "\n".join(lines)
