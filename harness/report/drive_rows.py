"""Rows of ``python -m harness drive --json`` pooled over traffic seeds: the reference-row figures.

A folder holds one JSON line per row and seed: ``<name>.json`` (seed 0) and ``<name>_seed<N>.json``
(``results/reference/agents/run.sh`` writes them). :func:`print_summary` prints, per row, DS per seed
and DS pooled over all route runs (mean, 95 % bootstrap interval over route runs); the seconds stood
still by what the ground truth had ahead; the ratios between rows on the seeds both rows have; and
where the DS points went between rows (:mod:`harness.metrics.attribution`: route completion by how
routes ended, penalties by infraction kind), with ``plot`` also as stacked bars in PNG.
``python results/reference/agents/summary.py`` runs it on the committed rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from harness.errors import ConfigError
from harness.metrics import rules as R
from harness.metrics.aggregate import bootstrap_ci
from harness.metrics.attribution import END_LABELS, LossAttribution, outcome_of_row, split_loss
from harness.report.plots import plot_loss_bars
from harness.world.world import STANDING_FOR

# the reference rows of results/reference/agents, in the order the table lists them
ROWS = ("expert_clear_noon", "policy_clear_noon_rgb", "expert_clear", "policy_clear_rgb", "policy_night_fog_rgb",
        "policy_night_fog_oracle_clean", "policy_clear_thermal")


def load(folder: Path) -> dict[str, dict[int, dict]]:
    """row name -> seed -> the drive's JSON line (rows with no file are left out)."""
    out: dict[str, dict[int, dict]] = {}
    for path in sorted(folder.glob("*.json")):
        m = re.fullmatch(r"(.+?)(?:_seed(\d+))?", path.stem)
        text = path.read_text().strip()
        if not text:  # a run still going (run.sh writes the file at the end)
            continue
        out.setdefault(m.group(1), {})[int(m.group(2) or 0)] = json.loads(text)
    return out


def check_weights(rows: dict[str, dict[int, dict]]) -> None:
    """ConfigError naming the files where policy rows (any row, any seed) were driven with different
    weights (``drive --json`` names them by hash since 2026-11-27; older files do not and pass)."""
    policy: dict[str, list[str]] = {}
    for name, runs in rows.items():
        for seed, run in runs.items():
            if run.get("weights") and run.get("agent") == "rgb_policy":
                policy.setdefault(run["weights"], []).append(f"{name}{'' if seed == 0 else f'_seed{seed}'}.json")
    if len(policy) > 1:
        raise ConfigError("the policy rows were driven with different weights; drive them again with the same weights: "
                          + "; ".join(f"weights {w}: {', '.join(files)}" for w, files in policy.items()))


def route_ds(run: dict) -> np.ndarray:
    return np.array([r["DS"] for r in run["routes"]], dtype=np.float64)


def pooled(runs: dict[int, dict], seeds) -> tuple[float, float, float, int]:
    """(mean DS, CI low, CI high, route runs) over the given seeds' route runs."""
    v = np.concatenate([route_ds(runs[s]) for s in seeds])
    lo, hi = bootstrap_ci(v)
    return float(v.mean()), lo, hi, len(v)


def ratio(rows, num: str, den: str) -> str:
    if num not in rows or den not in rows:
        return "n/a (row missing)"
    seeds = sorted(set(rows[num]) & set(rows[den]))
    mean = lambda name, ss: float(np.concatenate([route_ds(rows[name][s]) for s in ss]).mean())  # noqa: E731
    a, b = mean(num, seeds), mean(den, seeds)
    per = ", ".join(f"seed {s}: {mean(num, [s]) / mean(den, [s]):.0%}" for s in seeds)
    return f"{a:.1f} / {b:.1f} = {a / b:.0%} over seeds {seeds} ({per})"


COMPARISONS = (  # (label, base row, other row): where the DS points went between them
    ("clear noon -> night_fog, policy", "policy_clear_noon_rgb", "policy_night_fog_rgb"),
    ("clear noon -> oracle_clean night_fog, policy", "policy_clear_noon_rgb", "policy_night_fog_oracle_clean"),
    ("clear, rgb -> thermal, policy", "policy_clear_rgb", "policy_clear_thermal"),
    ("expert -> policy, clear noon", "expert_clear_noon", "policy_clear_noon_rgb"),
)


def attribution(rows, base: str, other: str) -> tuple[LossAttribution, list[int]] | None:
    """Where the DS points went from row ``base`` to row ``other`` (``harness.metrics.attribution``),
    pooled over the route runs of the seeds both rows have; None if a row is missing."""
    if base not in rows or other not in rows:
        return None
    seeds = sorted(set(rows[base]) & set(rows[other]))
    pairs = []
    for s in seeds:
        b = {r["route"]: r for r in rows[base][s]["routes"]}
        o = {r["route"]: r for r in rows[other][s]["routes"]}
        pairs += [(outcome_of_row(b[k]), outcome_of_row(o[k])) for k in b if k in o]
    return split_loss(pairs), seeds


def loss(rows, base: str, other: str) -> str:
    found = attribution(rows, base, other)
    if found is None:
        return "n/a (row missing)"
    a, seeds = found
    parts = [(f"ended {END_LABELS.get(c, c)}", v) for c, v in a.completion.items()] + list(a.penalties.items())
    text = ", ".join(f"{k.replace('_', ' ')} {v:+.1f}" for k, v in sorted(parts, key=lambda kv: -abs(kv[1])) if abs(v) >= 0.05)
    collisions = a.share(R.COLLISIONS_PEDESTRIAN, R.COLLISIONS_VEHICLE)
    return (f"{a.loss:.1f} points over {a.n_pairs} route runs (seeds {seeds}): {text}; route completion "
            f"{a.completion_total:+.1f}, penalties {a.penalty_total:+.1f}; pedestrian and vehicle collisions {collisions:.0%} of it")


def standing(runs: dict[int, dict]) -> str | None:
    """Seconds per route run the ego stood still by what the ground truth had ahead, and what blocked
    routes stood for (drive rows since 2026-11-28); None when no row of these runs says."""
    told = [r for s in sorted(runs) for r in runs[s]["routes"] if "standing_s" in r]
    if not told:
        return None
    secs = {k: sum(r["standing_s"].get(k, 0.0) for r in told) / len(told) for k in STANDING_FOR}
    blocked = {k: sum(r.get("blocked_by") == k for r in told) for k in STANDING_FOR}
    return (" | ".join(f"{secs[k]:.1f}" for k in STANDING_FOR) + f" | {len(told)} | "
            + " / ".join(str(blocked[k]) for k in STANDING_FOR))


def print_summary(folder: Path, plot: Path | None = None, experts: Path | None = None) -> None:
    """Print the tables of the rows in ``folder``; expert rows missing there come from ``experts`` (the
    expert uses no weights, so policy rows of other weights compare against the same expert drives)."""
    rows = load(folder)
    if experts is not None:
        for name, runs in load(experts).items():
            if name.startswith("expert"):
                rows.setdefault(name, runs)
    check_weights(rows)
    print("| row | seeds | DS per seed | DS pooled [95 % CI] | route runs | infractions, all seeds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in [r for r in ROWS if r in rows] + sorted(set(rows) - set(ROWS)):
        seeds = sorted(rows[name])
        mean, lo, hi, n = pooled(rows[name], seeds)
        per = ", ".join(f"{rows[name][s]['DS']:.1f}" for s in seeds)
        counts: dict[str, int] = {}
        for s in seeds:
            for kind, k in rows[name][s].get("infraction_counts", {}).items():
                counts[kind] = counts.get(kind, 0) + int(k)
        inf = ", ".join(f"{kind} {k}" for kind, k in sorted(counts.items(), key=lambda kv: -kv[1]) if k)
        print(f"| {name} | {', '.join(map(str, seeds))} | {per} | {mean:.1f} [{lo:.1f}, {hi:.1f}] | {n} | {inf} |")
    told = {name: standing(rows[name]) for name in rows}
    if any(told.values()):
        print()
        print("Standing still: seconds per route run by what the ground truth had within 12 m ahead, and what")
        print("the routes that ended blocked stood for (World.standing_for; rows driven since 2026-11-28):")
        print()
        print("| row | " + " | ".join(f"{k.replace('_', ' ')} s" for k in STANDING_FOR) + " | route runs | blocked: "
              + " / ".join(k.replace("_", " ") for k in STANDING_FOR) + " |")
        print("| --- |" + " --- |" * (len(STANDING_FOR) + 2))
        for name in [r for r in ROWS if told.get(r)] + sorted(n for n in told if told[n] and n not in ROWS):
            print(f"| {name} | {told[name]} |")
    print()
    print("clear noon, policy / expert (>= 85 %):", ratio(rows, "policy_clear_noon_rgb", "expert_clear_noon"))
    print("clear (sun 60 deg), policy / expert:", ratio(rows, "policy_clear_rgb", "expert_clear"))
    print("night_fog / clear noon, policy (<= 60 %):", ratio(rows, "policy_night_fog_rgb", "policy_clear_noon_rgb"))
    print("night_fog / clear (sun 60 deg), policy:", ratio(rows, "policy_night_fog_rgb", "policy_clear_rgb"))
    print("oracle_clean night_fog / clear noon, policy (>= 90 %):", ratio(rows, "policy_night_fog_oracle_clean", "policy_clear_noon_rgb"))
    print("oracle_clean night_fog / clear (sun 60 deg), policy:", ratio(rows, "policy_night_fog_oracle_clean", "policy_clear_rgb"))
    print()
    print("Where the DS points went (harness.metrics.attribution; positive: lost, negative: gained):")
    for label, base, other in COMPARISONS:
        print(f"- {label}:", loss(rows, base, other))
    if plot is not None:
        found = {label: attribution(rows, base, other) for label, base, other in COMPARISONS}
        losses = {label: f[0].to_dict() for label, f in found.items() if f is not None}
        if losses and plot_loss_bars(plot, losses, "town05 held-out routes: where the driving score went",
                                     "DS points lost from the row before the arrow  (negative: gained)"):
            print(f"plot: {plot}")

