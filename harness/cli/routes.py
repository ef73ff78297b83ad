"""``python -m harness routes``: deterministic leaderboard route XML for a town."""

from __future__ import annotations

import sys

from harness.cli import args as T
from harness.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("routes", help="generate deterministic leaderboard route XML for a town")
    p.add_argument("--town", required=True)
    p.add_argument("--count", type=T.positive_int, default=10, help="routes to generate (default 10)")
    p.add_argument("--seed", type=T.nonneg_int, default=0)
    p.add_argument("--min-m", type=T.positive_float, default=500.0, help="shortest route [m] (default 500)")
    p.add_argument("--max-m", type=T.positive_float, default=2000.0, help="longest route [m], >= --min-m (default 2000)")
    p.add_argument("--format", choices=("2.x", "1.0"), default="2.x")
    p.add_argument("--out", required=True, type=T.out_file, help="the route XML file to write")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.scenario import write_routes
    from harness.world.routing import generate_routes
    from harness.world.town import load_town

    if args.max_m < args.min_m:
        raise ConfigError(f"--min-m {args.min_m:g} .. --max-m {args.max_m:g} runs backwards; give --max-m >= --min-m")
    town = load_town(args.town)
    routes = generate_routes(town, args.count, args.seed, args.min_m, args.max_m)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_routes(args.out, [r.to_spec() for r in routes], fmt=args.format)
    lengths = [round(r.length) for r in routes]
    print(f"wrote {len(routes)} routes of {min(lengths)}-{max(lengths)} m to {args.out}", file=sys.stderr)
    return {"out": str(args.out), "lengths_m": lengths}
