"""Everything an evaluation folder holds, computed from the store's records (pure functions of them).

- ``records.csv``: one row per (scenario, route, variant, seed) that has a record;
- ``infractions.csv``: one row per infraction;
- ``summary.json``: per variant DS/RC/IS with 95 % bootstrap intervals over all planned routes x
  seeds (a missing record counts 0, as the leaderboard does), success rate, infractions per km,
  paired differences to ``rgb`` (same route, seed, traffic), measured fusion latency;
- ``simulation_results.json``: the CARLA leaderboard checkpoint format. One leaderboard file describes
  one agent configuration, so each variant's is ``<variant>/simulation_results.json``; the top-level
  file holds every variant's routes with the variant in the route name
  (``RouteScenario_<route>@<variant>_rep<seed>``) for tools that read one file, and its global
  record averages over all of them;
- ``report.md`` with the plots (``plots.py``).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import ConfigError
from harness.metrics import RouteScore, attribute_loss, paired_difference, paired_ratio, summarize
from harness.metrics.leaderboard_json import sensor_icons, write_json_atomic, write_results
from harness.runner.jobs import NO_VARIANT, EvalJob, jobs_from_run
from harness.runner.store import ResultStore
from harness.world.world import STANDING_FOR

BASELINE = "rgb"  # paired differences are taken against this variant when it was run
LATENCY_KEYS = ("fusion_ms", "register_ms", "observation_delay_ms")


def variant_label(v: str | None) -> str:
    return NO_VARIANT if v is None else v


def file_safe(name: str) -> str:
    """``name`` as one file or folder name: every character but letters, digits and ``_.,=+:-`` becomes
    ``_`` (``onnx:models/my.onnx`` -> ``onnx:models_my.onnx``); registered names are unchanged."""
    import re

    return re.sub(r"[^A-Za-z0-9_.,=+:-]", "_", name)


@dataclass(frozen=True)
class Planned:
    job: EvalJob
    key: str
    record: dict | None  # the store's record (finished or quarantined), None when missing

    @property
    def score(self) -> RouteScore | None:
        return RouteScore.from_dict(self.record["result"]["score"]) if self.record else None


def collect(jobs: list[EvalJob], keys: list[str], store: ResultStore,
            snapshot: tuple[dict, dict] | None = None) -> list[Planned]:
    """Each planned job with its record; ``snapshot`` = (finished, quarantined) read once by a caller
    that collects several job lists from one store (a sweep)."""
    finished, quarantined = snapshot if snapshot is not None else (store.finished(), store.quarantined())
    return [Planned(j, k, finished.get(k) or quarantined.get(k)) for j, k in zip(jobs, keys)]


def load_run(folder: str | Path, what: str = "compare pairs the variants") -> tuple[dict, list[Planned], list[str]]:
    """An eval or drive folder's request, its planned jobs with their records and its variant labels;
    ConfigError for a sweep (its values are in its own report) or a folder that holds no run."""
    store = ResultStore(folder)
    run_info = store.read_run()
    if run_info.get("kind") == "sweep":
        raise ConfigError(f"{folder} is a sweep; {what} of an eval or drive folder (a sweep's values are in its report)")
    jobs, keys = jobs_from_run(run_info)
    return run_info["request"], collect(jobs, keys, store), list(dict.fromkeys(variant_label(j.variant) for j in jobs))


def records_frame(items: list[Planned]) -> pd.DataFrame:
    rows = []
    for it in items:
        if it.record is None:
            continue
        j, r, s = it.job, it.record["result"], it.score
        lat = r.get("latency_ms", {})
        rows.append({
            "scenario": j.scenario, "route": j.route_id, "variant": variant_label(j.variant), "seed": j.seed,
            "agent": j.agent, "DS": s.DS, "RC": s.RC, "IS": s.IS, "status": s.status, "success": s.success,
            "quarantined": it.record["quarantined"], "failure": it.record["failure"] or "",
            "attempts": it.record["attempts"], "route_length_m": round(s.route_length_m, 2),
            "meters_driven": s.meters_driven, "duration_game_s": s.duration_game_s, "steps": r["steps"],
            "wall_s": r["wall_s"], "agent_ms": r["agent_ms"], "image_source": r.get("image_source") or "",
            "reused_from": it.record.get("reused_from") or "",
            **{k: lat.get(k) for k in LATENCY_KEYS},
            **{f"n_{k}": v for k, v in s.counts().items()},
            **{f"stood_{k}_s": s.standing_s.get(k, 0.0) for k in STANDING_FOR}, "blocked_by": s.blocked_by or "",
            "misalign_dx_px": j.calibration.dx_px, "misalign_dy_px": j.calibration.dy_px,
            "misalign_rot_deg": j.calibration.rot_deg, "latency": j.latency,
            "weather": ";".join(f"{k}={v:g}" for k, v in j.weather), "rules": j.rules, "key": it.key,
        })
    return pd.DataFrame(rows)


def infractions_frame(items: list[Planned]) -> pd.DataFrame:
    rows = []
    for it in items:
        if it.record is None:
            continue
        for inf in it.score.infractions:
            rows.append({"scenario": it.job.scenario, "route": it.job.route_id, "variant": variant_label(it.job.variant),
                         "seed": it.job.seed, "kind": inf.kind, "frame": inf.frame, "time_s": inf.time, "x": inf.x,
                         "y": inf.y, "value": inf.value, "penalty": inf.penalty, "description": inf.description,
                         "key": it.key})
    cols = ["scenario", "route", "variant", "seed", "kind", "frame", "time_s", "x", "y", "value", "penalty",
            "description", "key"]
    return pd.DataFrame(rows, columns=cols)


def _median(values: list) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return round(statistics.median(v), 4) if v else None


def standing_means(scores: list[RouteScore]) -> dict | None:
    """[s] per recorded route run the ego stood still, by what the ground truth had ahead
    (``World.standing_for``), and how many runs ended blocked by each; None when no record says
    (another backend, or records from before 2026-11-28)."""
    told = [s for s in scores if s.standing_s or s.blocked_by]
    if not told:
        return None
    return {"runs": len(told), **{k: round(sum(s.standing_s.get(k, 0.0) for s in told) / len(told), 1) for k in STANDING_FOR},
            "blocked_by": {k: sum(s.blocked_by == k for s in told) for k in STANDING_FOR}}


def summary(items: list[Planned], n_boot: int = 10000) -> dict:
    """Per-variant aggregates over every planned (route, seed), plus paired differences to rgb."""
    variants = list(dict.fromkeys(variant_label(it.job.variant) for it in items))
    per: dict[str, dict] = {}
    scores: dict[str, dict] = {}
    planned: dict[str, list] = {}
    for v in variants:
        mine = [it for it in items if variant_label(it.job.variant) == v]
        planned[v] = [(it.job.route_id, it.job.seed) for it in mine]
        scores[v] = {(it.job.route_id, it.job.seed): it.score for it in mine if it.record is not None}
        s = summarize(scores[v], planned[v], n_boot=n_boot).to_dict()
        recs = [it.record for it in mine if it.record is not None and not it.record["quarantined"]]
        s["quarantined"] = [{"route": it.job.route_id, "seed": it.job.seed, "failure": it.record["failure"]}
                            for it in mine if it.record is not None and it.record["quarantined"]]
        s["latency_ms"] = {k: _median([r["result"].get("latency_ms", {}).get(k) for r in recs]) for k in LATENCY_KEYS}
        s["latency_ms"]["agent_ms"] = _median([r["result"]["agent_ms"] for r in recs])
        s["standing_s"] = standing_means([it.score for it in mine if it.record is not None])
        per[v] = s
    if BASELINE in variants:
        for v in variants:
            if v == BASELINE:
                continue
            per[v]["vs_rgb"] = {m: paired_difference(scores[BASELINE], scores[v], m, planned=planned[v],
                                                     n_boot=n_boot).to_dict() for m in ("DS", "RC", "IS")}
            per[v]["vs_rgb"]["DS_loss"] = attribute_loss(scores[BASELINE], scores[v], planned=planned[v]).to_dict()
    first = items[0].job if items else None
    return {
        "scenario": first.scenario if first else None, "agent": first.agent if first else None,
        "routes": list(dict.fromkeys(it.job.route_id for it in items)),
        "seeds": list(dict.fromkeys(it.job.seed for it in items)),
        "n_planned": len(items), "n_done": sum(it.record is not None for it in items),
        "complete": all(it.record is not None for it in items), "baseline": BASELINE if BASELINE in variants else None,
        "variants": per, "complete_pairs": complete_pairs(scores, planned, n_boot),
        "image_sources": image_sources(items),
        "reused_from": dict(sorted(Counter(it.record["reused_from"] for it in items
                                           if it.record is not None and it.record.get("reused_from")).items())),
    }


def image_sources(items: list[Planned]) -> dict[str, int]:
    """How many records each image source (``Backend.image_source``: the GL renderer, the CARLA server) made;
    records from before 2026-12-04 do not say and are left out."""
    found = [it.record["result"].get("image_source") for it in items if it.record is not None]
    return dict(sorted(Counter(s for s in found if s).items()))


def complete_pairs(scores: dict[str, dict], planned: dict[str, list], n_boot: int = 10000) -> dict | None:
    """For a run that is still partial: every variant's figures on the (route, seed) pairs that all
    variants have a record for (finished or quarantined), with paired differences to ``rgb`` there.
    The headline figures count a missing run 0, as the leaderboard does, so while a long matrix runs
    they mostly measure how far each variant got; these measure how it drove. None when every
    planned run has a record. ``scores``/``planned``: variant -> {(route, seed): RouteScore} / its
    planned (route, seed) list, as in :func:`summary`."""
    if all(k in scores[v] for v in planned for k in planned[v]):
        return None
    first = next(iter(planned.values()), [])
    pairs = [k for k in first if all(k in planned[v] and k in scores[v] for v in planned)]
    out: dict = {"n_pairs": len(pairs), "n_planned_pairs": len(set().union(*map(set, planned.values()))),
                 "pairs": [list(k) for k in pairs], "variants": {}}
    if not pairs:
        return out
    for v in planned:
        mine = {k: scores[v][k] for k in pairs}
        s = summarize(mine, pairs, n_boot=n_boot).to_dict()
        row = {m: s[m] for m in ("DS", "DS_ci", "RC", "RC_ci", "IS", "IS_ci", "success_rate")}
        if BASELINE in planned and v != BASELINE:
            row["vs_rgb"] = {m: paired_difference(scores[BASELINE], mine, m, planned=pairs, n_boot=n_boot).to_dict()
                             for m in ("DS", "RC", "IS")}
        out["variants"][v] = row
    return out


def _mean_ds(scores: dict, keys: list) -> float:
    """Mean DS over ``keys``, a key without a record counting 0 (as ``summarize`` counts it)."""
    return sum(scores[k].DS for k in keys if k in scores) / len(keys)


def compare(items: list[Planned], base: str, others: list[str], n_boot: int = 10000,
            base_items: list[Planned] | None = None, recorded_only: bool = False) -> dict:
    """Each of ``others`` against ``base`` on the planned (route, seed) pairs both were planned on
    (a missing record counts 0, as in the summary): means, paired differences of DS/RC/IS, the ratio
    of mean DS with its interval (None where the base scored 0 throughout), and where the DS went
    (:func:`harness.metrics.attribute_loss`). With ``base_items`` (another run of the same scenario),
    the base's records come from there: a variant against itself before a change. With
    ``recorded_only``, only the pairs both have a record for (a run still going)."""
    def mine(v: str, pool: list[Planned]) -> tuple[dict, list]:
        its = [it for it in pool if variant_label(it.job.variant) == v]
        return ({(it.job.route_id, it.job.seed): it.score for it in its if it.record is not None},
                [(it.job.route_id, it.job.seed) for it in its])

    base_scores, base_planned = mine(base, items if base_items is None else base_items)
    base_keys = set(base_planned)
    out = {}
    for v in others:
        scores, planned = mine(v, items)
        pairs = [k for k in planned if k in base_keys and (not recorded_only or (k in scores and k in base_scores))]
        if not pairs:
            raise ConfigError(f"{v} and {base} were planned on no common (route, seed); nothing to pair" if not recorded_only
                              else f"{v} and {base} have records on no common (route, seed) yet; nothing to pair")
        out[v] = {"n_pairs": len(pairs), "n_unrecorded": sum(k not in scores or k not in base_scores for k in pairs),
                  "DS": _mean_ds(scores, pairs), "base_DS": _mean_ds(base_scores, pairs),
                  "diff": {m: paired_difference(base_scores, scores, m, planned=pairs, n_boot=n_boot).to_dict()
                           for m in ("DS", "RC", "IS")},
                  "DS_ratio": (paired_ratio(base_scores, scores, "DS", planned=pairs, n_boot=n_boot).to_dict()
                               if any(base_scores.get(k) and base_scores[k].DS > 0 for k in pairs) else None),
                  "DS_loss": attribute_loss(base_scores, scores, planned=pairs).to_dict()}
    first = items[0].job if items else None
    return {"scenario": first.scenario if first else None, "base": base, "variants": out}


def write_leaderboard(out: Path, items: list[Planned]) -> list[Path]:
    written = []
    variants = list(dict.fromkeys(variant_label(it.job.variant) for it in items))
    merged, merged_planned, merged_sensors = {}, [], []
    for v in variants:
        mine = [it for it in items if variant_label(it.job.variant) == v]
        planned = [(it.job.route_id, it.job.seed) for it in mine]
        sc = {(it.job.route_id, it.job.seed): it.score for it in mine if it.record is not None}
        sensors = _sensors(mine[0].job)
        written.append(write_results(out / file_safe(v) / "simulation_results.json", sc, planned, sensors,
                                     final=all(it.record is not None for it in mine)))
        merged.update({(f"{r}@{v}", s): score for (r, s), score in sc.items()})
        merged_planned += [(f"{r}@{v}", s) for r, s in planned]
        merged_sensors += [t for t in sensors if t not in merged_sensors]
    written.append(write_results(out / "simulation_results.json", merged, merged_planned, merged_sensors,
                                 final=all(it.record is not None for it in items)))
    return written


def _sensors(job: EvalJob) -> list[str]:
    """The agent's (and its fusion wrapper's) sensors as the leaderboard lists them: icons such as
    ``carla_camera`` (``leaderboard_evaluator.sensors_to_icons``); our own types keep their name."""
    from agents.registry import make_agent

    agent = make_agent(job.agent, job.variant, conf=job.agent_config)
    try:
        return sensor_icons([s["type"] for s in agent.sensors()])
    finally:
        agent.destroy()


def write_outputs(out: str | Path, jobs: list[EvalJob], keys: list[str], store: ResultStore,
                  n_boot: int = 10000, plots: bool = True, snapshot: tuple[dict, dict] | None = None) -> dict:
    """Write every output file for ``jobs`` into ``out``; returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = collect(jobs, keys, store, snapshot)
    records = records_frame(items)
    _write_csv(records, out / "records.csv")
    _write_csv(infractions_frame(items), out / "infractions.csv")
    summ = summary(items, n_boot)
    write_json_atomic(out / "summary.json", summ)
    write_leaderboard(out, items)
    figures = []
    if plots:
        from harness.report.plots import plot_eval

        figures = plot_eval(out, records, summ)
    from harness.report.markdown import write_report

    write_report(out / "report.md", summ, figures, records)
    return summ


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(path)
