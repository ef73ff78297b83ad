"""``python -m harness routes``: deterministic leaderboard route XML for a town."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli import args as T
from harness.cli import common
from harness.errors import ConfigError


def route_pick(text: str) -> tuple[Path, tuple[str, ...]]:
    """``FILE:IDS``: a route file and route ids in it, ``0-3``, ``5,7`` or both (``0-3,7``)."""
    expected = f"expected FILE:IDS such as scenarios/routes/town05.xml:5-9, got {text!r}"
    path, sep, ids = text.rpartition(":")
    if not sep or not path:
        raise argparse.ArgumentTypeError(expected)
    out: list[str] = []
    for part in (p.strip() for p in ids.split(",")):
        lo, dash, hi = part.partition("-")
        if dash and lo.strip().isdigit() and hi.strip().isdigit():
            if int(hi) < int(lo):
                raise argparse.ArgumentTypeError(f"route range {part!r} runs backwards; write LOW-HIGH, e.g. 5-9")
            out += [str(i) for i in range(int(lo), int(hi) + 1)]
        elif part:
            out.append(part)
    if not out:
        raise argparse.ArgumentTypeError(expected)
    return Path(path), tuple(dict.fromkeys(out))


def register(sub) -> None:
    p = sub.add_parser("routes", help="generate deterministic leaderboard route XML for a town")
    p.add_argument("--town", required=True)
    p.add_argument("--count", type=T.positive_int, default=10, help="routes to generate (default 10)")
    p.add_argument("--seed", type=T.nonneg_int, default=0)
    p.add_argument("--min-m", type=T.positive_float, default=500.0, help="shortest route [m] (default 500)")
    p.add_argument("--max-m", type=T.positive_float, default=2000.0, help="longest route [m], >= --min-m (default 2000)")
    p.add_argument("--signalised", action="store_true",
                   help="keep only routes that cross at least one stop line under a traffic light")
    p.add_argument("--avoid", type=route_pick, action="append", default=[], metavar="FILE:IDS",
                   help="never drive on the roads (either direction) of these routes, e.g. "
                        "scenarios/routes/town05.xml:5-9; repeatable")
    p.add_argument("--shun", type=route_pick, action="append", default=[], metavar="FILE:IDS",
                   help="like --avoid, but only start on or turn into those roads a tenth as often; repeatable")
    common.add_backend(p)  # --backend (embedded: our procedural towns, not CARLA's) and where a CARLA server is
    p.add_argument("--xodr", type=T.in_file, default=None, help="with --backend carla: the town's OpenDRIVE file (CARLA "
                   "ships them in CarlaUE4/Content/Carla/Maps/OpenDrive/), read without a server; without it the server "
                   "at --carla-host/--carla-port loads --town (e.g. Town05)")
    p.add_argument("--format", choices=("2.x", "1.0"), default="2.x")
    p.add_argument("--out", required=True, type=T.out_file, help="the route XML file to write")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.scenario import write_routes
    from harness.world.routing import generate_routes, route_file_roads
    from harness.world.town_gen import load_town

    if args.max_m < args.min_m:
        raise ConfigError(f"--min-m {args.min_m:g} .. --max-m {args.max_m:g} runs backwards; give --max-m >= --min-m")
    if args.backend == "carla":
        return run_carla(args)
    if args.xodr is not None:
        raise ConfigError("--xodr is for --backend carla (the embedded towns are procedural: pass --town town05)")
    town = load_town(args.town)
    avoid = set().union(*(route_file_roads(town, path, ids) for path, ids in args.avoid))
    shun = set().union(*(route_file_roads(town, path, ids) for path, ids in args.shun)) - avoid
    routes = generate_routes(town, args.count, args.seed, args.min_m, args.max_m,
                             signalised=args.signalised, avoid_roads=avoid, shun_roads=shun)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_routes(args.out, [r.to_spec() for r in routes], fmt=args.format)
    lengths = [round(r.length) for r in routes]
    print(f"wrote {len(routes)} routes of {min(lengths)}-{max(lengths)} m to {args.out}", file=sys.stderr)
    return {"out": str(args.out), "lengths_m": lengths}


def carla_map(args):
    """The CARLA map of ``--town``: from ``--xodr`` (no server) or from a server that loads it."""
    from harness.backends.carla.server import connect, import_carla

    carla = import_carla()
    if args.xodr is not None:
        return carla.Map(args.town, Path(args.xodr).read_text()), carla
    client = connect(common.carla_server(args))
    return client.load_world(args.town).get_map(), carla


def run_carla(args) -> dict:
    from harness.backends.carla.routes import densify, generate, length_m
    from harness.scenario import write_routes

    given = [f for f, v in (("--signalised", args.signalised), ("--avoid", args.avoid), ("--shun", args.shun)) if v]
    if given:
        raise ConfigError(f"{', '.join(given)}: not available with --backend carla yet (they read the embedded town's roads)")
    cmap, carla = carla_map(args)
    routes = generate(cmap, args.count, args.seed, args.min_m, args.max_m, town=args.town)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_routes(args.out, routes, fmt=args.format)
    lengths = [round(length_m(densify(cmap, [(w.x, w.y, w.z) for w in r.waypoints], 2.0, carla))) for r in routes]
    print(f"wrote {len(routes)} routes of {min(lengths)}-{max(lengths)} m on CARLA map {args.town} to {args.out}",
          file=sys.stderr)
    return {"out": str(args.out), "lengths_m": lengths}
