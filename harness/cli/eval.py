"""``python -m harness eval``: the scenario x route x variant x seed matrix, its results, report and plots."""

from __future__ import annotations

import argparse

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
    p.add_argument("--json", action="store_true", help="print a final JSON line: the summary and run statistics")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.runner.evaluate import evaluate

    summ, stats = evaluate(request(args), args.out, common.run_options(args), resume=args.resume, plots=not args.no_plots)
    common.print_summary(summ, args.out)
    return {"out": str(args.out), **summ, "run": common.stats_dict(stats)}
