"""What the frozen RGB policy's network sees that is not there, by weather:
``python -m agents.rgb_policy.phantoms [WEIGHTS ...] [--json OUT]`` (the committed figures:
``results/reference/phantoms/run.sh``).

The expert drives town05 routes 15-19 (the selection routes: no training frame comes from them and
they are not evaluation routes), traffic seed 0, 1,200 steps, under ``clear_noon``, ``night_fog``
and ``night``; every 10th frame is kept with its true mask (``distill.policy.data.collect_episode``;
cached in ``data/phantoms``, about 4 min the first time). The expert drives the same way in every
weather, so the three sets show the same places. For each weights file (default: the committed
weights) it prints, per weather:

- phantom cells per frame: mask cells (of 12,800) the network marks vehicle or pedestrian where the
  truth is another class;
- obstacle recall: the share of true vehicle and pedestrian cells it marks as their class;
- phantom stops: frames where the predicted mask puts an obstacle within 15 m along a straight path
  ahead (the planner's own corridor test, ``Planner.obstacle_gap``) and the true mask none within 25 m;
- the perception probe's figures on the same frames (``fusion.perception.scores``: vehicle and
  pedestrian IoU, pedestrian recall, phantom rate, light accuracy), under ``probe``;
- on the clear-noon frames darkened to 0.5x and 0.3x (every 4th frame), phantom cells per frame:
  how much of the night's phantoms darkness alone explains.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the checkout: data/ lives there

WEATHERS = ("clear_noon", "night_fog", "night")
ROUTES = tuple(str(r) for r in range(15, 20))
DARKEN = (0.5, 0.3)


def frames(cache: Path) -> dict[str, list[Path]]:
    from distill.policy.data import Episode, collect_episode

    out: dict[str, list[Path]] = {}
    for w in WEATHERS:
        out[w] = [collect_episode(Episode("town05", r, w, 0), cache, every=10, max_steps=1200) for r in ROUTES]
    return out


def measure(weights: str | None, shards: dict[str, list[Path]]) -> dict:
    import torch

    from agents.rgb_policy.model import load_perception
    from agents.rgb_policy.planner import Planner
    from fusion.perception import read, scores
    from harness.rig import Rig

    torch.set_num_threads(2)
    net, _ = load_perception(weights)
    planner = Planner(Rig().rgb)
    straight = np.stack([np.arange(0.0, 45.0), np.zeros(45)], -1)

    def masks(rgb: torch.Tensor) -> np.ndarray:
        return read(rgb, net)[0]  # the perception probe's reading (fusion.perception), on float frames

    def phantom_cells(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
        return ((pred > 0) & (pred != true)).sum((1, 2))

    res: dict = {}
    for w, paths in shards.items():
        data = [np.load(p) for p in paths]
        rgb = torch.from_numpy(np.concatenate([d["rgb"] for d in data])).permute(0, 3, 1, 2).float().div_(255.0)
        true = np.concatenate([d["seg"] for d in data])
        lamp_seen = ~np.isnan(np.concatenate([d["lamp_uv"] for d in data])[:, 0])
        light_state = np.where(lamp_seen, np.concatenate([d["signal_state"] for d in data]), 255)
        pred, stop = read(rgb, net)
        stops = 0
        for m, t in zip(pred, true):
            if planner.obstacle_gap(m.astype(np.uint8), straight) < 15.0 and not planner.obstacle_gap(t.astype(np.uint8), straight) < 25.0:
                stops += 1
        row = {"frames": len(pred), "phantom_cells_per_frame": round(float(phantom_cells(pred, true).mean()), 1),
               "obstacle_recall": round(float(((pred > 0) & (pred == true)).sum() / max((true > 0).sum(), 1)), 3),
               "phantom_stops": stops,
               "probe": scores(pred, stop, true, light_state)}  # the perception probe's figures on these frames
        if w == "clear_noon":
            for k in DARKEN:
                row[f"phantom_cells_per_frame_darkened_{k}"] = round(float(phantom_cells(masks(rgb[::4] * k), true[::4]).mean()), 1)
        res[w] = row
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="*", help="perception.pt files or weights folders (default: the committed weights)")
    ap.add_argument("--cache", type=Path, default=ROOT / "data" / "phantoms", help="where the expert frames go (default: data/phantoms)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    from tqdm import tqdm

    from agents.rgb_policy.model import WEIGHTS_DIR, WEIGHTS_FILE

    shards = frames(args.cache)
    out = {}
    for w in tqdm(args.weights or [None], desc="weights", unit="file", disable=len(args.weights) < 2):
        path = None if w is None else (Path(w) / "perception.pt" if Path(w).is_dir() else Path(w))
        if path is not None and not path.is_file():
            sys.exit(f"phantoms: no weights file at {path}")
        f = path or WEIGHTS_DIR / WEIGHTS_FILE
        h = hashlib.sha256(f.read_bytes()).hexdigest()[:8]
        out[h] = measure(None if path is None else str(path), shards)
    print("| weights | weather | frames | phantom cells / frame | obstacle recall | phantom stops | clear noon at 0.5x / 0.3x |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for h, res in out.items():
        for w, r in res.items():
            dark = " / ".join(str(r[f"phantom_cells_per_frame_darkened_{k}"]) for k in DARKEN) if w == "clear_noon" else ""
            print(f"| `{h}` | {w} | {r['frames']} | {r['phantom_cells_per_frame']:,.0f} | {r['obstacle_recall']:.3f} | {r['phantom_stops']} | {dark} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
