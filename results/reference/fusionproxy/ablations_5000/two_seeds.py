"""The dual-signal ablations on the long night-fog routes over two training seeds:
``.venv/bin/python results/reference/fusionproxy/ablations_5000/two_seeds.py [--plot PNG]``.

Reads the records of ``night_fog_town05_long/`` (students trained with seed 0) and ``seed1/night_fog_town05_long/``
(seed 1), both driven on the ten held-out ``night_fog_town05`` routes with traffic seed 0, so every route run of one
student has a twin of every other on the same route and traffic. For each ablation against ``full``: the paired
difference per training seed (bootstrap over the ten routes), and both seeds together, each route's difference averaged
over the two trainings (bootstrap over routes, a route's two trainings kept together). ``full`` against itself across
the two seeds is the yardstick: how far two trainings of one recipe drive apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from harness.metrics.aggregate import bootstrap_ci

HERE = Path(__file__).resolve().parent
FOLDERS = {0: HERE / "night_fog_town05_long", 1: HERE / "seed1" / "night_fog_town05_long"}
PREFIX = {0: "results/reference/fusionproxy/ablations_5000/", 1: "results/reference/fusionproxy/ablations_5000/seed1/"}
ABLATIONS = ("no_pixel_var", "uniform_routing")


def route_ds(seed: int, name: str) -> pd.Series:
    """DS per route of the student ``name`` trained with ``seed`` (index: route id)."""
    path = FOLDERS[seed] / "records.csv"
    if not path.is_file():
        sys.exit(f"error: {path} missing: drive it first (long_routes.sh; README.md here says how)")
    rec = pd.read_csv(path, dtype={"route": str})
    rows = rec[rec["variant"] == f"fusionproxy:weights={PREFIX[seed]}{name}/student.pt"]
    if len(rows) != 10 or rows["route"].duplicated().any():
        sys.exit(f"error: {path}: {len(rows)} route runs of {name} (seed {seed}), expected the ten routes once each")
    return rows.set_index("route")["DS"].sort_index()


def paired(diff: np.ndarray) -> str:
    lo, hi = bootstrap_ci(diff)
    return f"{diff.mean():+.1f} [{lo:+.1f}, {hi:+.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plot", type=Path, default=None, help="also draw each student's DS per training seed into PNG")
    args = ap.parse_args()
    ds = {(name, seed): route_ds(seed, name) for name in ("full", *ABLATIONS) for seed in (0, 1)}
    routes = ds[("full", 0)].index
    for s in ds.values():
        if not s.index.equals(routes):
            sys.exit("error: the folders do not hold the same ten routes")
    print("| student | DS, seed 0 | DS, seed 1 | paired to `full`, seed 0 | seed 1 | both seeds |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| `full` | {ds[('full', 0)].mean():.1f} | {ds[('full', 1)].mean():.1f} | | | |")
    for name in ABLATIONS:
        d = [(ds[(name, s)] - ds[("full", s)]).to_numpy() for s in (0, 1)]
        print(f"| `{name}` | {ds[(name, 0)].mean():.1f} | {ds[(name, 1)].mean():.1f} | {paired(d[0])} | {paired(d[1])} | "
              f"**{paired((d[0] + d[1]) / 2)}** |")
    print()
    for name in ("full", *ABLATIONS):
        print(f"two trainings of `{name}`, seed 1 against seed 0 on the same route runs: "
              f"{paired((ds[(name, 1)] - ds[(name, 0)]).to_numpy())}")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = ("full", *ABLATIONS)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for k, name in enumerate(names):
            for seed, marker in ((0, "o"), (1, "s")):
                v = ds[(name, seed)]
                lo, hi = bootstrap_ci(v.to_numpy())
                x = k + (seed - 0.5) * 0.25
                ax.errorbar([x], [v.mean()], yerr=[[v.mean() - lo], [hi - v.mean()]], fmt=marker, color=f"C{k}",
                            capsize=3, label=f"training seed {seed}" if k == 0 else None)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel("DS (10 long night-fog routes)")
        ax.set_title("dual-signal ablations, two trainings each", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
