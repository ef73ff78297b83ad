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
on the held-out frames of each scenario (``fusion.perception``). Then, unless ``drive`` is empty, every
ablation drives in short closed loop, all in one paired evaluation (``OUT/closed_loop/``, a
``harness eval`` run beside ``rgb`` and ``oracle_clean``: same routes, seeds and traffic; rerunning
continues it), and its DS with the interval and the paired difference to ``full`` enter the table.
Written: ``OUT/ablations.json``, ``OUT/ablations.csv`` and ``OUT/ablations.png``. The headline figure
per probe scenario is the mean of the vehicle and pedestrian IoU.
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
DRIVE = "short_night_fog_town05"  # the short closed loop: five 255-300 m held-out routes at night in fog
DRIVE_ROUTES = "0-4"
# the training's own held-out figures (``train-student`` validation frames): PSNR of the student's image to the
# clean target and to the teacher mean it was distilled from
VALIDATION = ("val_psnr_clean", "val_psnr_teacher")
FIGURES = ("vehicle_iou", "pedestrian_iou", "pedestrian_recall", "phantom_rate", "light_acc", "light_bal_acc")


def headline(fig: dict) -> float:
    return round((fig["vehicle_iou"] + fig["pedestrian_iou"]) / 2, 4)


def run(base, out: Path, names: list[str] | None = None, scenarios: tuple[str, ...] = SCENARIOS, frames: int = 200,
        progress: bool = True, cache_k1: Path | None = None, drive: str = DRIVE, drive_routes: str = DRIVE_ROUTES,
        drive_seeds: tuple[int, ...] = (0,), workers: int = 2, jobs: int = 1, frames_cache: Path | None = None,
        drive_reuse: tuple[str, ...] = ()) -> dict:
    """Train, export, probe and drive each ablation of ``base`` (a ``StudentTrainConfig``); returns the
    table. ``drive=""`` skips the closed loop. ``jobs`` > 1 trains, exports and probes that many
    ablations at once, each in its own process with ``base.threads`` threads. ``frames_cache``: where
    the probe's frames are kept (default: the probe's own folder). ``drive_reuse``: earlier runs' folders
    whose route runs with the same job key (rgb, oracle_clean) the closed loop copies instead of driving."""
    from distill.ensemble_cache import CacheConfig, build
    from distill.train_student import default_cache

    names = list(names or ABLATIONS)
    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise ConfigError(f"unknown ablation(s) {', '.join(unknown)}; known: {', '.join(ABLATIONS)}")
    if jobs < 1:
        raise ConfigError(f"jobs must be >= 1, got {jobs}")
    base.check()
    out = Path(out)
    if drive:  # a mistyped folder stops here, not after hours of training
        from harness.runner.store import check_reuse_folder

        for folder in drive_reuse:
            check_reuse_folder(folder, out / "closed_loop")
    if not base.cache:
        base = replace(base, cache=str(default_cache()))
    out.mkdir(parents=True, exist_ok=True)
    configs: dict[str, tuple[dict, object]] = {}
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
        configs[name] = (over, replace(base, **over))
    rows: dict[str, dict] = {}
    if jobs == 1 or len(names) == 1:
        for name in names:
            rows[name] = one(name, *configs[name], out, scenarios, frames, progress, frames_cache)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from tqdm import tqdm

        from fusion.perception import CACHE, collect_frames

        frames_cache = frames_cache or CACHE
        for scen in scenarios:  # collected once here, not raced for by the workers
            collect_frames(scen, frames, cache=frames_cache, progress=progress)
        with ProcessPoolExecutor(min(jobs, len(names)), mp_context=mp.get_context("spawn")) as pool:
            futures = {name: pool.submit(one, name, *configs[name], out, scenarios, frames, False, frames_cache)
                       for name in names}
            for name in tqdm(names, desc="ablations", unit="ablation", disable=not progress):
                rows[name] = futures[name].result()
    table = {"base": base.to_dict(), "scenarios": list(scenarios), "frames": frames, "ablations": rows}
    if drive:
        table["closed_loop"] = closed_loop(rows, out / "closed_loop", drive, drive_routes, drive_seeds, workers, progress,
                                           drive_reuse)
    write(table, out)
    return table


def one(name: str, over: dict, cfg, out: Path, scenarios: tuple[str, ...], frames: int, progress: bool,
        frames_cache: Path | None = None) -> dict:
    """One ablation trained (or resumed) into ``out/name``, exported, and probed; its table row. The
    probe's figures are kept in ``out/name/probe.json`` with what decides them (the student's weights,
    the frame count, the frames file and the policy's weights) and reused while all match, so rerunning
    a finished ablation (to add a scenario, to drive, or to assemble the table of ablations trained by
    separate commands) costs seconds."""
    from agents.rgb_policy.model import WEIGHTS_DIR, WEIGHTS_FILE
    from distill.export import export
    from distill.train_student import train
    from fusion.perception import CACHE, collect_frames, probe
    from harness.runner.jobs import file_digest

    train(cfg, out / name, progress=progress, command=f"python -m distill ablate --only {name}")
    onnx = export(out / name / "student.pt", out / name, "student")["onnx"]["path"]
    row = {"config": over, "validation": json.loads((out / name / "manifest.json").read_text())["validation"]}
    kept_path = out / name / "probe.json"
    key = {"weights_sha256": file_digest(out / name / "student.pt"), "frames": frames,
           "policy_sha256": file_digest(WEIGHTS_DIR / WEIGHTS_FILE)}
    kept = json.loads(kept_path.read_text()) if kept_path.exists() else {}
    if {k: kept.get(k) for k in key} != key:
        kept = {**key, "scenarios": {}}
    for scen in scenarios:
        frames_file = collect_frames(scen, frames, cache=frames_cache or CACHE, progress=progress).name
        got = kept["scenarios"].get(scen, {})
        if got.get("frames_file") != frames_file or not set(FIGURES) <= set(got):
            res = probe(scen, [f"onnx:{onnx}"], frames=frames, cache=frames_cache or CACHE, progress=progress)
            fig = next(iter(res["variants"].values()))
            kept["scenarios"][scen] = {**{k: fig[k] for k in FIGURES}, "headline": headline(fig), "frames_file": frames_file}
            kept_path.write_text(json.dumps(kept, indent=1) + "\n")
        row[scen] = {k: v for k, v in kept["scenarios"][scen].items() if k != "frames_file"}
    row["onnx"] = str(onnx)
    return row


def closed_loop(rows: dict, out: Path, scenario: str, routes: str, seeds: tuple[int, ...], workers: int,
                progress: bool, reuse: tuple[str, ...] = ()) -> dict:
    """Every ablation's exported student in one paired ``harness eval`` beside rgb and oracle_clean;
    fills ``row["drive"]`` (DS, its interval, and the paired difference to ``full`` where it ran)."""
    from harness.metrics import RouteScore, paired_difference
    from harness.runner.evaluate import EvalRequest, RunOptions, evaluate
    from harness.runner.store import ResultStore

    by_variant = {f"onnx:{row['onnx']}": name for name, row in rows.items()}
    req = EvalRequest(scenario=scenario, variants=("rgb", *by_variant, "oracle_clean"), routes=routes, seeds=tuple(seeds))
    summ, _ = evaluate(req, out, RunOptions(workers=workers, progress=progress, reuse=tuple(reuse)), resume=True)
    per = summ["variants"]
    # the runs' per-(route, seed) scores, to pair each ablation with full
    scores: dict[str, dict] = {}
    for rec in ResultStore(out).finished().values():
        job, res = rec["job"], rec.get("result") or {}
        if rec.get("quarantined") or "score" not in res:
            continue
        scores.setdefault(job["variant"], {})[(job["route_id"], job["seed"])] = RouteScore.from_dict(res["score"])
    full = next((v for v, n in by_variant.items() if n == "full"), None)
    for variant, name in by_variant.items():
        s = per.get(get_name(variant), {})
        drive_row = {"DS": s.get("DS"), "DS_ci": s.get("DS_ci"), "RC": s.get("RC"), "IS": s.get("IS")}
        if full is not None and variant != full and get_name(variant) in scores and get_name(full) in scores:
            d = paired_difference(scores[get_name(full)], scores[get_name(variant)], "DS")
            drive_row["vs_full"] = {"mean_diff": d.mean_diff, "ci": list(d.ci), "n_pairs": d.n_pairs}
        rows[name]["drive"] = drive_row
    return {"scenario": scenario, "routes": summ["routes"], "seeds": summ["seeds"], "out": str(out),
            "references": {v: {"DS": per[v]["DS"], "DS_ci": per[v]["DS_ci"]} for v in ("rgb", "oracle_clean") if v in per}}


def get_name(variant: str) -> str:
    """The canonical name a run records a variant under."""
    from fusion.registry import get_variant

    return get_variant(variant).name


def write(table: dict, out: Path) -> None:
    """``ablations.json``, ``ablations.csv`` (one row per ablation and scenario) and ``ablations.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    (out / "ablations.json").write_text(json.dumps(table, indent=1) + "\n")
    recs = []
    for n, row in table["ablations"].items():
        drive = row.get("drive") or {}
        ci = drive.get("DS_ci") or [math.nan, math.nan]
        extra = {"DS": drive.get("DS", math.nan), "DS_lo": ci[0], "DS_hi": ci[1],
                 "DS_vs_full": (drive.get("vs_full") or {}).get("mean_diff", math.nan)} if "closed_loop" in table else {}
        val = {k: row["validation"].get(k, math.nan) for k in VALIDATION}
        recs += [{"ablation": n, "scenario": s, **row[s], **val, **extra} for s in table["scenarios"]]
    df = pd.DataFrame(recs)
    df.to_csv(out / "ablations.csv", index=False)
    panels = len(table["scenarios"]) + ("closed_loop" in table)
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4), squeeze=False)
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
    if "closed_loop" in table:
        ax, cl = axes[0][-1], table["closed_loop"]
        d = df[df.scenario == table["scenarios"][0]]
        colours = ["tab:green" if n == "full" else ("tab:grey" if n == "direct" else "tab:blue") for n in d.ablation]
        err = [(d.DS - d.DS_lo).clip(lower=0).fillna(0), (d.DS_hi - d.DS).clip(lower=0).fillna(0)]
        ax.barh(d.ablation, d.DS.fillna(0), xerr=err, color=colours, capsize=2)
        for ref, c in (("rgb", "tab:red"), ("oracle_clean", "tab:grey")):
            if ref in cl["references"]:
                ax.axvline(cl["references"][ref]["DS"], color=c, ls=":", lw=1, label=f"{ref} {cl['references'][ref]['DS']:.1f}")
        ax.invert_yaxis()
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
        ax.set_title(f"closed loop: {cl['scenario']}", pad=16)
        ax.set_xlabel(f"driving score (95 % interval)\nroutes {','.join(map(str, cl['routes']))}; "
                      f"seeds {','.join(map(str, cl['seeds']))}")
    fig.suptitle(f"FusionProxy ablations ({table['base']['size']}, {table['base']['steps']} steps, "
                 f"training seed {table['base']['seed']})")
    fig.tight_layout()
    fig.savefig(out / "ablations.png", dpi=110)
    plt.close(fig)
