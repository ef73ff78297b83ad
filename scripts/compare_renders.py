"""Compare two folders of rendered PNGs (`python -m harness render` on two machines, say llvmpipe and an NVIDIA GPU):
for each file present in both, the largest and mean absolute difference in 8-bit levels, the share of pixels that
differ by more than 2 levels, and the PSNR. Folders are walked recursively; files in one folder only are listed.

    python scripts/compare_renders.py CPU_FOLDER GPU_FOLDER [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def compare(a: Path, b: Path) -> dict:
    x = np.asarray(Image.open(a), dtype=np.int16)
    y = np.asarray(Image.open(b), dtype=np.int16)
    if x.shape != y.shape:
        return {"file": str(a), "shape": [list(x.shape), list(y.shape)], "error": "different shapes"}
    d = np.abs(x - y)
    per_pixel = d.max(axis=-1) if d.ndim == 3 else d
    mse = float((d.astype(np.float64) ** 2).mean())
    return {"max_abs": int(d.max()), "mean_abs": round(float(d.mean()), 3),
            "share_over_2": round(float((per_pixel > 2).mean()), 5),
            "psnr_db": math.inf if mse == 0 else round(10 * math.log10(255 ** 2 / mse), 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("first", type=Path)
    p.add_argument("second", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    for folder in (args.first, args.second):
        if not folder.is_dir():
            p.error(f"{folder} is not a folder")
    one = {f.relative_to(args.first) for f in args.first.rglob("*.png")}
    two = {f.relative_to(args.second) for f in args.second.rglob("*.png")}
    rows = {str(f): compare(args.first / f, args.second / f) for f in sorted(one & two)}
    out = {"compared": rows, "only_first": sorted(map(str, one - two)), "only_second": sorted(map(str, two - one))}
    if args.json:
        print(json.dumps(out))
    else:
        for name, r in rows.items():
            print(f"{name:60s} " + "  ".join(f"{k} {v}" for k, v in r.items()))
        for side in ("only_first", "only_second"):
            if out[side]:
                print(f"{side}: {', '.join(out[side])}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
