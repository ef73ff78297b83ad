"""Can a rule on the camera's pixels alone find the lit signal lamps? (the question behind ``lamps=camera``)

    python scripts/lamp_separability.py [--scenarios fog_town05,night_fog_town05] [--json]

On the perception probe's frames (``python -m fusion perception`` collects them; ``data/perception``), a lit lamp
pixel is one ``distill.training.lit_lamps`` takes (a traffic-light pixel whose clean-image chroma is above
``LIT_CHROMA``). For a grid of the rule's two thresholds (camera chroma ``max - min`` over the channels, and
brightest channel, both on [0, 1]) it reports, per scenario: the share of lit-lamp pixels within 35 m that the
rule takes, the share of frames with such a lamp on which it takes at least one, and what it takes that is not a
traffic light in the top half of the image (pixels per frame, and the share of frames with any).
A rule that helps takes the near lamps and little else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distill.training import lit_lamps  # noqa: E402
from fusion.cues import lamp_distance  # noqa: E402
from fusion.perception import collect_frames, load_frames  # noqa: E402
from harness.semantics import Sem  # noqa: E402

CHROMAS = (0.06, 0.08, 0.1, 0.12, 0.15, 0.2)
BRIGHTS = (0.45, 0.7, 0.85)
NEAR_M = 35.0


def grid(data: dict) -> list[dict]:
    rgb = data["rgb"].astype(np.float32) / 255
    tl = data["semantic"] == int(Sem.TRAFFIC_LIGHT)
    lit = lit_lamps(data["semantic"], data["clean"])
    near = lit & (lamp_distance(data["semantic"], data["depth"]) < NEAR_M)[:, None, None]
    top = np.zeros_like(lit)
    top[:, : rgb.shape[1] // 2] = True
    other = top & ~tl
    hi = rgb.max(-1)
    chroma = hi - rgb.min(-1)
    with_lamp = near.reshape(len(near), -1).any(1)
    rows = []
    for c in CHROMAS:
        for b in BRIGHTS:
            m = (chroma > c) & (hi > b)
            taken = (m & near).reshape(len(m), -1).any(1)
            false = (m & other).reshape(len(m), -1).sum(1)
            rows.append({"chroma": c, "bright": b,
                         "near_lamp_pixels_taken": round(float(m[near].mean()), 3) if near.any() else None,
                         "near_lamp_frames_taken": round(float(taken[with_lamp].mean()), 3) if with_lamp.any() else None,
                         "other_pixels_per_frame": round(float(false.mean()), 2),
                         "frames_with_other": round(float((false > 0).mean()), 3)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", default="fog_town05,night_fog_town05")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--json", action="store_true", help="one JSON line")
    a = ap.parse_args()
    out = {}
    for scen in a.scenarios.split(","):
        data = load_frames(collect_frames(scen, a.frames))
        out[scen] = {"frames": len(data["rgb"]), "near_m": NEAR_M, "grid": grid(data)}
    if a.json:
        print(json.dumps(out))
        return
    for scen, r in out.items():
        print(f"{scen} ({r['frames']} frames; lamps within {NEAR_M:g} m)")
        for g in r["grid"]:
            print(f"  chroma > {g['chroma']:<4} bright > {g['bright']:<4}: near lamp pixels {g['near_lamp_pixels_taken']}, "
                  f"frames {g['near_lamp_frames_taken']} | other pixels/frame {g['other_pixels_per_frame']}, "
                  f"frames with any {g['frames_with_other']}")


if __name__ == "__main__":
    main()
