"""``python -m harness sweep``: robustness curves, the variants evaluated at each severity along one axis."""

from __future__ import annotations

import sys

from harness.cli import args as T
from harness.cli import common
from harness.cli.eval import add_matrix_args, request


def register(sub) -> None:
    p = sub.add_parser("sweep", help="robustness curves: evaluate the variants at each severity along one axis")
    add_matrix_args(p)
    p.add_argument("--axis", required=True, choices=("fog", "sun", "misalign_px", "misalign_deg", "latency"),
                   help="fog visibility [m], sun altitude [deg], misalignment shift [px] or rotation [deg], latency [ms]")
    p.add_argument("--values", type=T.floats, default=None,
                   help="severities, distinct, comma-separated (default per axis: see README); e.g. --values 200,100,50")
    p.add_argument("--out", required=True, type=T.out_folder, help="output folder (new or empty unless --resume)")
    p.add_argument("--frames", type=T.nonneg_int, default=None, metavar="STEP",
                   help="first draw OUT/frames/sheet.jpg: each severity's camera, thermal and fused views at STEP steps "
                        "into the first route (not for --axis latency); the report shows it")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would run over every severity (per variant: planned, recorded in --out, to copy "
                        "from --reuse, left, and an estimate of the time left) and write nothing")
    p.add_argument("--json", action="store_true", help="print a final JSON line with the curves")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.runner.sweep import sweep, sweep_dry_run

    if args.dry_run:
        from harness.cli.eval import print_dry_run

        d = sweep_dry_run(request(args), args.axis, args.values, args.out, workers=args.workers, reuse=tuple(args.reuse))
        print_dry_run(d, args.resume)
        return d

    result, stats = sweep(request(args), args.axis, args.values, args.out, common.run_options(args), resume=args.resume,
                           frames=args.frames)
    print(f"curves: {args.out / 'sweep.csv'}; plots: {', '.join(result['figures'])}; report: {args.out / 'report.md'}",
          file=sys.stderr)
    return {**result, "run": common.stats_dict(stats)}
