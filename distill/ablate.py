"""FusionProxy's ablations: ``python -m distill ablate``.

Each ablation is the default student recipe with one thing changed; all share the size, steps,
seed and data, so their differences are the recipe's:

| name | what changes |
| --- | --- |
| ``full`` | nothing (tau = 1) |
| ``no_pixel_var`` | the pixel term ignores the image variance (uniform pixel weights) |
| ``uniform_routing`` | the feature term weighs the layers equally (no variance routing) |
| ``pixel_only`` | no feature term |
| ``k1`` | the teacher sampled once (K = 1): its single sample is the target, no variance at all |
| ``tau_0.25`` ... ``tau_4`` | the routing temperature |
| ``policy_backbone`` | the frozen policy's own encoder instead of EfficientNet-Lite0 |
| ``direct`` | no teacher: trained on the privileged clean image (the honest upper reference in simulation) |

Each is trained into ``OUT/<name>/`` (resumable), exported to ONNX, and read by the perception probe
on the held-out frames of each scenario (``fusion.perception``). Written: ``OUT/ablations.json``,
``OUT/ablations.csv`` and ``OUT/ablations.png``. The headline figure per scenario is the mean of the
vehicle and pedestrian IoU.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from harness.errors import ConfigError

TAUS = (0.25, 0.5, 1.0, 2.0, 4.0)
ABLATIONS: dict[str, dict] = {
    "full": {},
    "no_pixel_var": {"pixel_weighting": False},
    "uniform_routing": {"routing": "uniform"},
    "pixel_only": {"w_feat": 0.0},
    "k1": {"_k": 1},
    **{f"tau_{t:g}": {"tau": t} for t in TAUS if t != 1.0},
    "policy_backbone": {"backbone": "policy"},
    "direct": {"target": "clean"},
}
SCENARIOS = ("night_fog_town05", "fog_town05")
FIGURES = ("vehicle_iou", "pedestrian_iou", "pedestrian_recall", "phantom_rate", "light_acc")


def headline(fig: dict) -> float:
    return round((fig["vehicle_iou"] + fig["pedestrian_iou"]) / 2, 4)


def run(base, out: Path, names: list[str] | None = None, scenarios: tuple[str, ...] = SCENARIOS, frames: int = 200,
        progress: bool = True, cache_k1: Path | None = None) -> dict:
    """Train, export and probe each ablation of ``base`` (a ``StudentTrainConfig``); returns the table."""
    from distill.ensemble_cache import CacheConfig, build
    from distill.export import export
    from distill.train_student import default_cache, train
    from fusion.perception import probe

    names = list(names or ABLATIONS)
    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise ConfigError(f"unknown ablation(s) {', '.join(unknown)}; known: {', '.join(ABLATIONS)}")
    base.check()
    if not base.cache:
        base = replace(base, cache=str(default_cache()))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    for name in names:
        over = dict(ABLATIONS[name])
        if over.pop("_k", None) == 1:  # the K=1 cache: the same teacher, steps and seed, one sample per frame
            if cache_k1 is None:
                man = json.loads((Path(base.cache) / "manifest.json").read_text())
                c = man["config"]
                k1 = CacheConfig(data=base.data, root=str(Path(base.cache).parent), teacher=c["teacher"], k=1,
                                 steps=c["steps"], eta=c["eta"], backbones=(base.backbone,), every=c["every"],
                                 seed=c["seed"], threads=base.threads)
                cache_k1 = Path(build(k1, progress=progress)["folder"])
            over["cache"] = str(cache_k1)
        cfg = replace(base, **over)
        train(cfg, out / name, progress=progress, command=f"python -m distill ablate --only {name}")
        onnx = export(out / name / "student.pt", out / name, "student")["onnx"]["path"]
        row = {"config": over, "validation": json.loads((out / name / "manifest.json").read_text())["validation"]}
        for scen in scenarios:
            res = probe(scen, [f"onnx:{onnx}"], frames=frames, progress=progress)
            fig = next(iter(res["variants"].values()))
            row[scen] = {**{k: fig[k] for k in FIGURES}, "headline": headline(fig)}
        rows[name] = row
    table = {"base": base.to_dict(), "scenarios": list(scenarios), "frames": frames, "ablations": rows}
    write(table, out)
    return table


def write(table: dict, out: Path) -> None:
    """``ablations.json``, ``ablations.csv`` (one row per ablation and scenario) and ``ablations.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    (out / "ablations.json").write_text(json.dumps(table, indent=1) + "\n")
    recs = [{"ablation": n, "scenario": s, **row[s]} for n, row in table["ablations"].items() for s in table["scenarios"]]
    df = pd.DataFrame(recs)
    df.to_csv(out / "ablations.csv", index=False)
    fig, axes = plt.subplots(1, len(table["scenarios"]), figsize=(5 * len(table["scenarios"]), 4), squeeze=False)
    for ax, scen in zip(axes[0], table["scenarios"]):
        d = df[df.scenario == scen]
        colours = ["tab:green" if n == "full" else ("tab:grey" if n == "direct" else "tab:blue") for n in d.ablation]
        ax.barh(d.ablation, d.headline, color=colours)
        full = d[d.ablation == "full"].headline
        if len(full) and not math.isnan(float(full.iloc[0])):
            ax.axvline(float(full.iloc[0]), color="tab:green", ls="--", lw=1)
        ax.invert_yaxis()
        ax.set_title(scen)
        ax.set_xlabel("mean of vehicle and pedestrian IoU (perception probe)")
    fig.suptitle(f"FusionProxy ablations ({table['base']['size']}, {table['base']['steps']} steps, seed {table['base']['seed']})")
    fig.tight_layout()
    fig.savefig(out / "ablations.png", dpi=110)
    plt.close(fig)
