"""``python -m harness drive``: one agent, optionally behind one fusion variant, over a scenario's
routes with one seed; a line per route as it finishes and, with ``--json``, the rows and means.

The run goes through eval's planner, executors, watchdog, retries and store
(:mod:`harness.runner.drive`), so it resumes like eval: ``--out`` (default
``results/drive/<scenario>-<agent>-<variant>-seed<seed>``) follows eval's rules.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.cli import args as T
from harness.cli import common


def register(sub) -> None:
    p = sub.add_parser("drive", help="drive one agent (optionally behind a fusion variant) over routes and score it")
    common.add_scenario(p)
    p.add_argument("--variant", default=None,
                   help="fusion variant in front of the agent (rgb, thermal, oracle_clean, ...; default: the agent alone)")
    p.add_argument("--routes", default="all", help="route ids: 0-3, 0,2,5, all or shortest:N (the N routes with the shortest waypoint polylines; default: the scenario's route_ids)")
    p.add_argument("--seed", type=T.nonneg_int, default=0, help="traffic seed (default 0)")
    common.add_run_args(p)
    p.add_argument("--out", type=T.out_folder, default=None,
                   help="run folder (new or empty unless --resume; default results/drive/<scenario>-<agent>-<variant>-seed<seed>)")
    p.add_argument("--clips", type=T.out_folder, default=None, metavar="DIR",
                   help="write infraction clips (collisions, red-light runs, 60-s stand-stills; see eval --clips) into DIR")
    p.add_argument("--json", action="store_true", help="print a final JSON line with per-route scores and means")
    p.set_defaults(run=run)


def request(args):
    from harness.runner.evaluate import EvalRequest
    from harness.runner.jobs import NO_VARIANT

    # an absolute path: the job (and its key) names the same file from any working directory
    checkpoint = str(Path(args.checkpoint).resolve()) if args.checkpoint else ""
    return EvalRequest(scenario=args.scenario, variants=(args.variant or NO_VARIANT,), routes=args.routes,
                       seeds=(args.seed,), agent=args.agent, checkpoint=checkpoint,
                       calibration=common.calibration(args), latency=args.latency, max_steps=args.max_steps,
                       **common.fusion_target(args))


def route_line(route) -> str:
    """What ``drive`` prints for a finished route (``harness.runner.drive.DrivenRoute``)."""
    s, row = route.score, route.row
    why = f" ({s.blocked_by} ahead)" if s.blocked_by else ""
    earlier = " (recorded before)" if route.earlier else ""
    return f"route {row['route']}: DS {s.DS:.1f} RC {s.RC:.1f} IS {s.IS:.3f} {s.status}{why} {row['infractions']}{earlier}"


def run(args) -> dict:
    from tqdm import tqdm

    from harness.runner.drive import default_out, drive

    req = request(args)
    out = args.out if args.out is not None else T.check_out_folder(default_out(req))
    result, _ = drive(req, out, common.run_options(args), resume=args.resume, clips_dir=args.clips,
                      on_route=lambda r: tqdm.write(route_line(r), file=sys.stderr))
    print(f"run folder: {out} (drive.json, records/; `python -m harness report --out {out}` writes eval's tables)",
          file=sys.stderr)
    return result
