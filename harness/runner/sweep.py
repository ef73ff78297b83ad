"""Robustness sweeps: one evaluation per severity along one axis, one curve per variant.

The axes (fog, sun, misalign_px, misalign_deg, latency) and what each severity sets: :mod:`harness.runner.axes`.

All conditions share one results store (``OUT/records``), so a sweep resumes like an eval; every
condition also gets the outputs of an eval in ``OUT/<axis>=<value>/``. ``OUT/sweep.csv`` holds the
curves (mean and 95 % bootstrap interval per severity and variant, and each variant's DS paired to ``rgb``'s,
``dDS``); ``OUT/robustness_DS.png`` (and ``_RC``, ``_IS``, ``_dDS``) plot them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from harness.backends.registry import preflight
from harness.errors import ConfigError
from harness.runner.evaluate import (RECORD_VERSION, EvalRequest, RunOptions, RunStats, check_out_dir, job_keys,
                                     opts_check, plan, run_jobs, _request_dict)
from harness.runner.axes import AXES, axis_setting, axis_values, folder_name
from harness.runner.jobs import NO_VARIANT, jobs_from_run
from harness.runner.store import ResultStore


def condition(req: EvalRequest, axis: str, value: float) -> EvalRequest:
    """``req`` at severity ``value`` along ``axis``."""
    weather, calibration, latency = axis_setting(axis, value)
    if weather:
        req = replace(req, weather=tuple(sorted({**dict(req.weather), **weather}.items())))
    if calibration:
        req = replace(req, calibration=replace(req.calibration, **calibration))
    if latency is not None:
        req = replace(req, latency=latency)
    return req


def sweep_dry_run(req: EvalRequest, axis: str, values: tuple[float, ...] | None, out: str | Path, workers: int = 1,
                  reuse: tuple[str, ...] = ()) -> dict:
    """What :func:`sweep` would drive in ``out``, writing nothing (as ``eval --dry-run``, over every
    condition; a run that serves several severities, such as ``rgb`` along a misalignment axis, counts once)."""
    from harness.runner.evaluate import dry_run_jobs

    plans = [plan(condition(req, axis, v)) for v in axis_values(axis, values)]
    jobs = [j for p in plans for j in p]
    return dry_run_jobs(jobs, [k for p in plans for k in job_keys(p)], out, workers, reuse)


def sweep(req: EvalRequest, axis: str, values: tuple[float, ...] | None, out: str | Path, opts: RunOptions = RunOptions(),
          resume: bool = False, n_boot: int = 10000, frames: int | None = None) -> tuple[dict, RunStats]:
    """Run every condition and write the curves; returns (result dict, run stats). With ``frames`` (a
    step count), first draw ``OUT/frames/sheet.jpg``: each severity's views at that step of the first
    route and seed (:func:`harness.render.snapshot.write_axis_sheet`), which the report shows."""
    values = axis_values(axis, values)
    out = Path(out)
    if frames is not None and axis == "latency":
        raise ConfigError("--frames: latency changes when a frame reaches the policy, not what it shows; drop --frames")
    if frames is not None and req.backend != "embedded":
        raise ConfigError("--frames draws with the embedded simulator; with --backend carla drop it (the records keep "
                          "no images)")
    preflight(req.backend, opts.carla)  # first: a CARLA run without a server stops here, having written nothing
    conds = [condition(req, axis, v) for v in values]
    plans = [plan(c) for c in conds]
    keys = [job_keys(p) for p in plans]
    check_out_dir(out, resume)
    opts_check(opts, out)
    store = ResultStore(out)
    store.prepare()
    run = {"version": RECORD_VERSION, "kind": "sweep", "axis": axis, "values": list(values),
           "request": _request_dict(req),
           "conditions": [{"value": v, "folder": folder_name(axis, v), "jobs": [{"key": k, **j.spec()} for j, k in zip(p, ks)]}
                          for v, p, ks in zip(values, plans, keys)]}
    store.write_run(run)
    if frames is not None:
        from harness.render.snapshot import write_axis_sheet

        first = plans[0][0]
        write_axis_sheet(req.scenario, out / "frames", axis, values, route=first.route_id, step=frames, seed=first.seed,
                         variants=[v for v in req.variants if v != NO_VARIANT], weather=dict(req.weather),
                         calibration=req.calibration)
    all_jobs = [j for p in plans for j in p]
    all_keys = [k for ks in keys for k in ks]
    stats = run_jobs(all_jobs, all_keys, store, opts, desc=f"sweep {axis}")
    return write_sweep_outputs(out, run, store, n_boot=n_boot), stats


def write_sweep_outputs(out: str | Path, run: dict, store: ResultStore, n_boot: int = 10000) -> dict:
    from harness.report.outputs import write_outputs
    from harness.report.plots import plot_robustness

    out = Path(out)
    axis = AXES[run["axis"]]
    rows = []
    snapshot = (store.finished(), store.quarantined())  # read the shared store once for every condition
    for cond in run["conditions"]:
        jobs, keys = jobs_from_run(cond)
        summ = write_outputs(out / cond["folder"], jobs, keys, store, n_boot=n_boot, plots=False, snapshot=snapshot)
        for v, s in summ["variants"].items():
            rows.append({"axis": axis.name, "severity": cond["value"], "variant": v, "n_routes": s["n_routes"],
                         "n_recorded": s["n_recorded"],
                         **{k: val for m in ("DS", "RC", "IS") for k, val in
                            ((m, s[m]), (f"{m}_lo", s[f"{m}_ci"][0]), (f"{m}_hi", s[f"{m}_ci"][1]))},
                         "success_rate": s["success_rate"], "fusion_ms": s["latency_ms"].get("fusion_ms"),
                         **_paired_to_rgb(s)})
    table = pd.DataFrame(rows)
    tmp = out / ".sweep.csv.tmp"
    table.to_csv(tmp, index=False)
    tmp.replace(out / "sweep.csv")
    title = f"{Path(run['request']['scenario']).stem}: {run['request']['agent']}"
    metrics = ("DS", "RC", "IS", *(("dDS",) if table["dDS"].notna().any() else ()))  # dDS: a sweep with rgb in it
    figures = [plot_robustness(out, axis.label, table, m, title, log_x=axis.log_x) for m in metrics]
    _write_sweep_report(out, run, table, figures)
    return {"out": str(out), "axis": axis.name, "values": run["values"], "figures": figures,
            "curves": table.to_dict(orient="records")}


def _paired_to_rgb(s: dict) -> dict:
    """The variant's DS minus ``rgb``'s on the same routes and seeds at this severity, with its interval (NaN for
    ``rgb`` itself and where the sweep has no ``rgb``)."""
    d = s.get("vs_rgb", {}).get("DS")
    if d is None:
        return {"dDS": float("nan"), "dDS_lo": float("nan"), "dDS_hi": float("nan")}
    return {"dDS": d["mean_diff"], "dDS_lo": d["ci"][0], "dDS_hi": d["ci"][1]}


def _write_sweep_report(out: Path, run: dict, table: pd.DataFrame, figures: list[str]) -> None:
    axis = AXES[run["axis"]]
    lines = [f"# Sweep: {axis.label}", "", f"Scenario `{run['request']['scenario']}`, agent `{run['request']['agent']}`. "
             "Each point: mean over every planned route x seed with its 95 % bootstrap interval; each condition's "
             "full evaluation is in its folder. ΔDS: paired to `rgb` on the same routes, seeds and traffic at that "
             "severity.", "", f"| {axis.name} | variant | DS | ΔDS vs rgb | RC | IS | folder |", "|---|---|---|---|---|---|---|"]
    folders = {c["value"]: c["folder"] for c in run["conditions"]}
    for r in table.itertuples():
        delta = "" if pd.isna(r.dDS) else f"{r.dDS:+.1f} [{r.dDS_lo:+.1f}, {r.dDS_hi:+.1f}]"
        lines.append(f"| {r.severity:g} | `{r.variant}` | {r.DS:.1f} [{r.DS_lo:.1f}, {r.DS_hi:.1f}] | {delta} | {r.RC:.1f} | "
                     f"{r.IS:.3f} | [{folders[r.severity]}]({folders[r.severity]}/report.md) |")
    lines += ["", *[f"![{f}]({f})" for f in figures], ""]
    if (out / "frames" / "sheet.jpg").exists():
        lines += ["What each severity looks like (`--frames`; one row per severity: camera, registered thermal, each "
                  "variant, clean; the views of every row in [frames/](frames/)):", "",
                  "![each severity's views](frames/sheet.jpg)", ""]
    tmp = out / ".report.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(out / "report.md")
