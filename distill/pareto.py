"""Speed against driving score for the student sizes: ``python -m distill pareto``.

Reads the closed-loop scores of every ``fusionproxy`` size in one evaluation folder (``harness eval``
with ``fusionproxy:size=xs,...`` among its variants: same routes, seeds and traffic for all), times
each size here with the runtime and thread count given (``fusion.bench``, median of repeats), and
writes:

- ``pareto.json`` and ``pareto.csv``: per size its parameters, FLOPs, frames/s, DS with its interval,
  whether it is on the Pareto front (no other size is both faster and better) and which is chosen;
- ``pareto.png``: DS (with intervals) against frames/s, the front joined, the real-time floor and
  the evaluation's ``rgb`` and ``oracle_clean`` rows as references.

The chosen point: the size with the highest mean DS among those at or above the real-time floor
(``--min-fps``, 300 frames/s by default: the target on a 2-core CPU at 320x160 with ONNX Runtime).
When its interval overlaps a faster size's, the table says so: the choice is then within noise.

Timing is only as good as the machine is quiet: the load average at the start is written beside the
figures, so a number taken beside other work shows it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.errors import ConfigError

BASE = "fusionproxy"
REFERENCES = ("rgb", "oracle_clean")


def read_scores(eval_dir: Path) -> tuple[dict[str, dict], dict[str, dict], dict]:
    """``({size: scores}, {reference: scores}, summary)`` from an evaluation folder's summary.json."""
    from fusion.registry import get_variant

    path = Path(eval_dir) / "summary.json"
    if not path.is_file():
        raise ConfigError(f"{eval_dir} holds no summary.json; give the folder of a finished `harness eval` run")
    summ = json.loads(path.read_text())
    sizes: dict[str, dict] = {}
    refs: dict[str, dict] = {}
    for name, row in summ.get("variants", {}).items():
        if name in REFERENCES or name.startswith("teacher"):
            refs[name] = row
        elif name.partition(":")[0] == BASE:
            size = get_variant(name).kwargs["size"]
            sizes[size] = row | {"variant": name}
    if not sizes:
        raise ConfigError(f"{path} has no {BASE} rows; evaluate {BASE}:size=xs,{BASE}:size=s,... first")
    return sizes, refs, summ


def front(points: list[dict]) -> set[str]:
    """Sizes no other size beats on both frames/s and DS (ties are not beaten)."""
    out = set()
    for p in points:
        if not any(q["fps"] >= p["fps"] and q["DS"] >= p["DS"] and (q["fps"] > p["fps"] or q["DS"] > p["DS"])
                   for q in points):
            out.add(p["size"])
    return out


def choose(points: list[dict], min_fps: float) -> tuple[str | None, str]:
    """The chosen size and a sentence saying why (or why none is)."""
    fast = [p for p in points if p["fps"] >= min_fps]
    if not fast:
        return None, f"no size reaches {min_fps:g} frames/s here"
    best = max(fast, key=lambda p: (p["DS"], p["fps"]))
    lo = best["DS_ci"][0]
    overlap = [p["size"] for p in fast if p is not best and p["fps"] > best["fps"] and p["DS_ci"][1] >= lo]
    why = f"{best['size']}: the highest DS ({best['DS']:.1f}) at or above {min_fps:g} frames/s"
    if overlap:
        why += f"; its interval overlaps that of the faster {', '.join(overlap)}, so the choice is within noise"
    return best["size"], why


def run(eval_dir: Path, out: Path, runtime: str = "onnx", threads: int = 2, width: int = 320, height: int = 160,
        repeats: int = 300, warmup: int = 30, min_fps: float = 300.0) -> dict:
    """Time every evaluated size, mark the front and the choice, write the table and the plot."""
    from fusion.bench import bench

    sizes, refs, summ = read_scores(eval_dir)
    load = os.getloadavg()[0]
    points = []
    for size, row in sorted(sizes.items(), key=lambda kv: kv[0]):
        b = bench(row["variant"], width, height, runtime=runtime, repeats=repeats, warmup=warmup, threads=threads)
        points.append({"size": size, "variant": row["variant"], "params": b["params"], "flops_per_frame": b["flops_per_frame"],
                       "fps": b["fps"], "latency_ms": b["latency_ms"], "DS": row["DS"], "DS_ci": list(row["DS_ci"]),
                       "RC": row["RC"], "IS": row["IS"], "n_recorded": row["n_recorded"], "n_routes": row["n_routes"]})
    on_front = front(points)
    chosen, why = choose(points, min_fps)
    for p in points:
        p["front"] = p["size"] in on_front
        p["chosen"] = p["size"] == chosen
    points.sort(key=lambda p: p["fps"])
    table = {"eval": str(eval_dir), "scenario": summ.get("scenario"), "routes": summ.get("routes"), "seeds": summ.get("seeds"),
             "speed": {"runtime": runtime, "threads": threads, "size": f"{width}x{height}", "repeats": repeats,
                       "device_name": b["device_name"], "load_average_at_start": round(load, 2)},
             "min_fps": min_fps, "chosen": chosen, "why": why, "points": points,
             "references": {k: {"DS": v["DS"], "DS_ci": list(v["DS_ci"])} for k, v in refs.items()}}
    write(table, Path(out))
    return table


def write(table: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    (out / "pareto.json").write_text(json.dumps(table, indent=1) + "\n")
    df = pd.DataFrame([{k: v for k, v in p.items() if k != "DS_ci"} | {"DS_lo": p["DS_ci"][0], "DS_hi": p["DS_ci"][1]}
                       for p in table["points"]])
    df.to_csv(out / "pareto.csv", index=False)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = {"rgb": "tab:red", "oracle_clean": "tab:grey"}
    for name, ref in table["references"].items():
        ax.axhline(ref["DS"], ls=":", lw=1, color=colours.get(name, "tab:purple"), label=f"{name} {ref['DS']:.1f}")
    ax.axvline(table["min_fps"], ls="--", lw=1, color="k", alpha=0.5, label=f"{table['min_fps']:g} frames/s")
    f = df[df.front].sort_values("fps")
    ax.plot(f.fps, f.DS, "-", color="tab:green", lw=1, alpha=0.6, label="Pareto front")
    for p in table["points"]:
        c = "tab:green" if p["chosen"] else "tab:blue"
        ax.errorbar(p["fps"], p["DS"], yerr=[[max(0.0, p["DS"] - p["DS_ci"][0])], [max(0.0, p["DS_ci"][1] - p["DS"])]], fmt="o", color=c,
                    capsize=3)
        ax.annotate(f"{p['size']} ({p['params'] / 1e3:.0f}k)", (p["fps"], p["DS"]), textcoords="offset points",
                    xytext=(6, 4), fontsize=8)
    sp = table["speed"]
    ax.set_xscale("log")
    ax.set_xlabel(f"frames/s ({sp['runtime']}, {sp['threads']} threads, {sp['size']}, {sp['device_name']})")
    ax.set_ylabel("driving score")
    routes = ",".join(map(str, table["routes"] or []))
    seeds = ",".join(map(str, table["seeds"] or []))
    ax.set_title(f"FusionProxy sizes on {table['scenario']} (routes {routes}, seeds {seeds})", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "pareto.png", dpi=110)
    plt.close(fig)
