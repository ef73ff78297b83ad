"""``python -m harness compare``: variants of an eval folder paired against any one of them, not only ``rgb``."""

from __future__ import annotations

import sys

from harness.cli import args as T
from harness.errors import ConfigError, did_you_mean

# the request fields that lay a run out (which variants, routes and seeds; clips only record), not its conditions
RUN_SHAPE = {"variants", "routes", "seeds", "clips"}


def register(sub) -> None:
    p = sub.add_parser("compare", help="pair variants of an eval folder against a base variant: ΔDS, DS ratio, where it went")
    p.add_argument("--out", required=True, type=T.run_folder, help="folder written by eval or drive")
    p.add_argument("--base", required=True, help="the variant to pair against, as the report names it (teacher:k=2,steps=2)")
    p.add_argument("--variants", type=T.variants, default=None,
                   help="comma-separated variants to pair with --base (default: every other variant of the folder)")
    p.add_argument("--base-out", type=T.run_folder, default=None,
                   help="take the base variant's records from this other eval folder of the same scenario (the same "
                   "variant before a change: retrained weights, another commit); default: --out")
    p.add_argument("--recorded-only", action="store_true",
                   help="pair only the (route, seed) pairs both variants have a record for (a run still going); "
                   "default: every planned pair, a missing run counting 0 as in the report")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def _known(name: str, labels: list[str], folder) -> str:
    if name in labels:
        return name
    raise ConfigError(f"variant {name!r} is not in {folder}{did_you_mean(name, labels)}; it holds {', '.join(labels)}")


def run(args) -> dict:
    from harness.report.markdown import loss_columns
    from harness.report.outputs import compare, load_run as load

    request, items, labels = load(args.out)
    base_items, where = None, ""
    if args.base_out is not None and args.base_out.resolve() != args.out.resolve():
        base_request, base_items, base_labels = load(args.base_out)
        if base_request["scenario"] != request["scenario"]:
            raise ConfigError(f"{args.base_out} ran {base_request['scenario']}, {args.out} ran {request['scenario']}: "
                              "route runs pair only within one scenario")
        differ = sorted(k for k in set(request) | set(base_request)
                        if k not in RUN_SHAPE and request.get(k) != base_request.get(k))
        if differ:
            print(f"note: the two runs differ in {', '.join(differ)}; the pairs keep route and seed only", file=sys.stderr)
        base, where = _known(args.base, base_labels, args.base_out), f" ({args.base_out})"
    else:
        base = _known(args.base, labels, args.out)
    others = [_known(v, labels, args.out) for v in args.variants] if args.variants else labels
    if base_items is None:  # within one run a variant is not paired with itself
        others = [v for v in others if v != base]
    if not others:
        raise ConfigError(f"nothing to pair with {base}: name other variants with --variants")
    res = compare(items, base, others, base_items=base_items, recorded_only=args.recorded_only)
    res["base_out"] = str(args.base_out or args.out)
    for v, d in res["variants"].items():
        ds, r, loss = d["diff"]["DS"], d["DS_ratio"], d["DS_loss"]
        went = ", ".join(f"{label} {loss[part].get(key, 0.0):+.1f}" for part, key, label in loss_columns({v: loss}))
        gap = f"; {d['n_unrecorded']} without both records, counted 0" if d["n_unrecorded"] else ""
        print(f"{v} vs {base}{where} ({d['n_pairs']} route runs paired{gap}): DS {d['DS']:.1f} vs {d['base_DS']:.1f}, "
              f"ΔDS {ds['mean_diff']:+.1f} [{ds['ci'][0]:+.1f}, {ds['ci'][1]:+.1f}], "
              + (f"ratio {r['ratio']:.2f} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]" if r else "no ratio (the base scored 0)"),
              file=sys.stderr)
        if went:
            print(f"  DS points lost to {base} by cause (negative: gained), as in the report: {went}", file=sys.stderr)
    return {"out": str(args.out), **res}
