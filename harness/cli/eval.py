"""``python -m harness eval``: the scenario x route x variant x seed matrix, its results, report and plots."""

from __future__ import annotations

import argparse
import sys

from harness.cli import args as T
from harness.cli import common


def add_matrix_args(p: argparse.ArgumentParser) -> None:
    """What eval and sweep run: variants, routes, seeds, scoring, clips, fault injection."""
    from harness.runner.evaluate import DEFAULT_VARIANTS

    common.add_scenario(p)
    p.add_argument("--variants", type=T.variants, default=DEFAULT_VARIANTS,
                   help=f"fusion variants, comma-separated (default {','.join(DEFAULT_VARIANTS)}); 'none': the agent alone")
    p.add_argument("--routes", default="all", help="route ids: 0-3, 0,2,5, all or shortest:N (the N routes with the shortest waypoint polylines; default: the scenario's route_ids)")
    p.add_argument("--seeds", type=T.seeds, default=None, help="traffic seeds, e.g. 0,1 (default: the scenario's seeds)")
    common.add_run_args(p)
    p.add_argument("--rules", choices=("2.x", "1.0"), default="2.x", help="leaderboard scoring version (default 2.x)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--clips", action="store_true", help="write an MP4 (RGB | thermal | fused | top view) around each "
                   "collision and red-light run, and a time-lapse of each 60-s stand-still, into OUT/clips (routes "
                   "already recorded are not rerun for it)")
    p.add_argument("--inject-fault", default=None, metavar="KIND@STEP[*N][:ROUTES]",
                   help="for testing the harness: hang, crash or agent fault at a step of the first N attempts "
                   "(default 1) of the given routes (default all), e.g. hang@40:1")


def request(args):
    """The EvalRequest of eval's and sweep's arguments."""
    from harness.runner.evaluate import EvalRequest
    from harness.runner.jobs import Fault

    fault, fault_routes = None, ()
    if args.inject_fault:
        spec, _, routes = args.inject_fault.partition(":")
        fault = Fault.parse(spec)
        fault_routes = tuple(r for r in routes.split(",") if r)
    return EvalRequest(scenario=args.scenario, variants=tuple(args.variants), routes=args.routes, seeds=args.seeds,
                       agent=args.agent, checkpoint=args.checkpoint, calibration=common.calibration(args),
                       latency=args.latency, rules=args.rules, max_steps=args.max_steps, fault=fault,
                       fault_routes=fault_routes, clips=args.clips, **common.fusion_target(args))


def register(sub) -> None:
    p = sub.add_parser("eval", help="run the scenario x route x variant x seed matrix and write results, report and plots")
    add_matrix_args(p)
    p.add_argument("--out", required=True, type=T.out_folder,
                   help="output folder (created; must be new or empty unless --resume)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would run (per variant: planned, already recorded in --out, left, and an estimate "
                   "of the time left from the records there) and write nothing")
    p.add_argument("--json", action="store_true", help="print a final JSON line: the summary and run statistics")
    p.set_defaults(run=run)


def _hours(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s / 3600:.1f} h" if s >= 5400 else f"{s / 60:.0f} min"


def print_dry_run(d: dict, resume: bool) -> None:
    reuse = f", {d['reusable']} to copy from --reuse" if d.get("reusable") else ""
    print(f"{d['planned']} route runs planned, {d['recorded']} recorded in {d['out']}{reuse}, {d['left']} left"
          + ("" if resume or not (d["recorded"] or d["holds_run"]) else " (to run it there, add --resume)"), file=sys.stderr)
    w = max([16, *map(len, d["variants"])])
    print(f"{'variant':>{w}} {'planned':>8} {'recorded':>9} {'reuse':>6} {'left':>5} {'median run':>11} {'est. left':>10}",
          file=sys.stderr)
    for name, v in d["variants"].items():
        med = "-" if v["median_route_wall_s"] is None else f"{v['median_route_wall_s']:.0f} s"
        print(f"{name:>{w}} {v['planned']:>8} {v['recorded']:>9} {v['reusable']:>6} {v['left']:>5} {med:>11} "
              f"{_hours(v['est_left_s']):>10}", file=sys.stderr)
    if d["left"]:
        est = (f"about {_hours(d['est_wall_left_s'])} of wall time with {d['workers']} worker(s), from the median route "
               "run of each variant recorded here (or in --reuse)" if d["est_wall_left_s"] is not None
               else "no estimate: some variant left has no finished record here (or in --reuse) to time it by")
        print(f"left: {est}", file=sys.stderr)


def run(args) -> dict:
    from harness.runner.evaluate import dry_run, evaluate

    if args.dry_run:
        d = dry_run(request(args), args.out, workers=args.workers, reuse=tuple(args.reuse))
        print_dry_run(d, args.resume)
        return d

    summ, stats = evaluate(request(args), args.out, common.run_options(args), resume=args.resume, plots=not args.no_plots)
    common.print_summary(summ, args.out)
    return {"out": str(args.out), **summ, "run": common.stats_dict(stats)}
