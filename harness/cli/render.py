"""``python -m harness render``: PNGs of the RGB, thermal, clean RGB, semantic and fused views at one step;
with ``--axis``, one set per severity of a sweep axis and a sheet of them side by side."""

from __future__ import annotations

from harness.cli import args as T
from harness.cli import common


def register(sub) -> None:
    p = sub.add_parser("render", help="write PNGs of the RGB, thermal, clean RGB and semantic views at one step")
    common.add_scenario(p)
    p.add_argument("--route", default=None, help="route id (default: the first route)")
    p.add_argument("--step", type=T.nonneg_int, default=0, help="20 Hz steps to simulate before rendering")
    p.add_argument("--seed", type=T.nonneg_int, default=0)
    p.add_argument("--size", type=T.size, default=None, help="RGB camera size WxH, 8..4096 px a side (default: the scenario's)")
    p.add_argument("--out", required=True, type=T.out_folder, help="output folder")
    p.add_argument("--variants", type=T.variants, default=("rgb", "thermal"),
                   help="fusion variants to apply, each written as fused_<variant>.png (default: rgb,thermal)")
    p.add_argument("--axis", default=None, choices=("fog", "sun", "misalign_px", "misalign_deg"),
                   help="a sweep axis: render once per --values severity into OUT/<axis>=<value>/ and put them side by "
                        "side in OUT/sheet.jpg (rows: severities; columns: camera, registered thermal, each variant, clean)")
    p.add_argument("--values", type=T.floats, default=None,
                   help="severities along --axis, comma-separated (default: the axis's sweep defaults)")
    p.add_argument("--json", action="store_true", help="print a final JSON line")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.errors import ConfigError
    from harness.render.snapshot import write_axis_sheet, write_snapshot

    if args.axis is not None:  # --values None: the axis's sweep defaults
        return write_axis_sheet(args.scenario, args.out, args.axis, args.values, route=args.route, step=args.step,
                                seed=args.seed, size=args.size, variants=args.variants)
    if args.values is not None:
        raise ConfigError("--values needs --axis (fog, sun, misalign_px or misalign_deg)")
    return write_snapshot(args.scenario, args.out, route=args.route, step=args.step, seed=args.seed, size=args.size,
                          variants=args.variants)
