"""``python -m harness compare``: variants of an eval folder paired against any one of them, not only ``rgb``."""

from __future__ import annotations

import difflib
import sys

from harness.cli import args as T
from harness.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("compare", help="pair variants of an eval folder against a base variant: ΔDS, DS ratio, where it went")
    p.add_argument("--out", required=True, type=T.run_folder, help="folder written by eval or drive")
    p.add_argument("--base", required=True, help="the variant to pair against, as the report names it (teacher:k=2,steps=2)")
    p.add_argument("--variants", type=T.variants, default=None,
                   help="comma-separated variants to pair with --base (default: every other variant of the folder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def _known(name: str, labels: list[str]) -> str:
    if name in labels:
        return name
    close = difflib.get_close_matches(name, labels, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"variant {name!r} is not in this folder{hint}; it holds {', '.join(labels)}")


def run(args) -> dict:
    from harness.report.markdown import loss_columns
    from harness.report.outputs import collect, compare, variant_label
    from harness.runner.evaluate import jobs_from_run
    from harness.runner.store import ResultStore

    store = ResultStore(args.out)
    run_info = store.read_run()
    if run_info.get("kind") == "sweep":
        raise ConfigError(f"{args.out} is a sweep; compare pairs the variants of an eval or drive folder "
                          "(a sweep's values are in its report)")
    jobs, keys = jobs_from_run(run_info)
    items = collect(jobs, keys, store)
    labels = list(dict.fromkeys(variant_label(j.variant) for j in jobs))
    base = _known(args.base, labels)
    others = [_known(v, labels) for v in args.variants] if args.variants else [v for v in labels if v != base]
    others = [v for v in others if v != base]
    if not others:
        raise ConfigError(f"nothing to pair with {base}: name other variants with --variants")
    res = compare(items, base, others)
    for v, d in res["variants"].items():
        ds, r, loss = d["diff"]["DS"], d["DS_ratio"], d["DS_loss"]
        went = ", ".join(f"{label} {loss[part].get(key, 0.0):+.1f}" for part, key, label in loss_columns({v: loss}))
        gap = f"; {d['n_unrecorded']} without both records, counted 0" if d["n_unrecorded"] else ""
        print(f"{v} vs {base} ({d['n_pairs']} route runs paired{gap}): DS {d['DS']:.1f} vs {d['base_DS']:.1f}, "
              f"ΔDS {ds['mean_diff']:+.1f} [{ds['ci'][0]:+.1f}, {ds['ci'][1]:+.1f}], "
              + (f"ratio {r['ratio']:.2f} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]" if r else "no ratio (the base scored 0)"),
              file=sys.stderr)
        if went:
            print(f"  DS points lost to {base} by cause (negative: gained), as in the report: {went}", file=sys.stderr)
    return {"out": str(args.out), **res}
