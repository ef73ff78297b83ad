"""``python -m harness bench-sim``: simulation steps per second with both cameras and traffic."""

from __future__ import annotations

from harness.cli import args as T
from harness.cli import common


def register(sub) -> None:
    p = sub.add_parser("bench-sim", help="measure simulation steps per second with both cameras and traffic")
    common.add_scenario(p)
    p.add_argument("--route", default=None, help="route id (default: the first route)")
    p.add_argument("--size", type=T.size, default=(320, 160),
                   help="RGB and thermal camera size WxH, 8..4096 px a side (default 320x160)")
    p.add_argument("--steps", type=T.positive_int, default=400, help="timed steps per repeat")
    p.add_argument("--repeats", type=T.positive_int, default=3)
    p.add_argument("--warmup", type=T.nonneg_int, default=20)
    p.add_argument("--privileged", action="store_true",
                   help="also render the ground-truth images (clean RGB, ids, depth), as data collection does")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.backends.bench import bench_sim

    return bench_sim(args.scenario, route=args.route, size=args.size, steps=args.steps, repeats=args.repeats,
                     warmup=args.warmup, privileged=args.privileged)
