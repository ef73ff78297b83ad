"""``python -m harness table``: one table of several eval folders (variants x scenarios) in Markdown, CSV or LaTeX."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.cli import args as T
from harness.errors import ConfigError


def register(sub) -> None:
    from harness.report.table import FORMATS

    p = sub.add_parser("table", help="one table over several eval folders: variants x scenarios, mean [95 %% CI], "
                       "Markdown, CSV or LaTeX")
    p.add_argument("--out", required=True, nargs="+", type=T.run_folder, metavar="FOLDER",
                   help="eval or drive folders, one column each (its scenario), in this order")
    p.add_argument("--labels", default=None,
                   help="comma-separated column names, one per folder (default: each folder's scenario)")
    p.add_argument("--metric", choices=("DS", "RC", "IS"), default="DS", help="the figure in the cells (default DS)")
    p.add_argument("--paired", action="store_true", help="add the paired difference to rgb in each cell, e.g. 60.1 [..] (+12.3)")
    p.add_argument("--recorded-only", action="store_true",
                   help="for folders still running: the figures on the (route, seed) pairs every variant there has "
                   "finished (default: the leaderboard's, a missing run counting 0)")
    p.add_argument("--format", choices=FORMATS, default="md", help="md (default), csv (one row per cell) or latex (booktabs)")
    p.add_argument("--save", default=None, type=T.out_file, metavar="FILE", help="also write the table to FILE")
    p.add_argument("--plot", default=None, type=T.out_file, metavar="FILE",
                   help="also draw it: grouped bars with their intervals, a bar per folder (.png, .pdf or .svg)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.report.outputs import load_run, summary
    from harness.report.table import PLOT_SUFFIXES, latex, long_frame, markdown, table

    labels = [s.strip() for s in args.labels.split(",")] if args.labels else None
    if args.plot is not None and Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
        raise ConfigError(f"--plot writes {', '.join(PLOT_SUFFIXES)}, got {Path(args.plot).name!r}")
    if labels is not None and (len(labels) != len(args.out) or not all(labels)):
        raise ConfigError(f"--labels names {len(labels)} columns for {len(args.out)} folders; give one non-empty name per folder")
    runs = []
    for i, folder in enumerate(args.out):
        request, items, _ = load_run(folder, what="table reads the variants")
        runs.append((labels[i] if labels else request["scenario"], summary(items)))
    columns, variants, cells = table(runs, args.metric, args.recorded_only)
    if args.format == "csv":
        text = long_frame(columns, variants, cells, args.metric).to_csv(index=False)
    else:
        text = (markdown if args.format == "md" else latex)(columns, variants, cells, args.metric, args.paired)
    sys.stdout.write(text)
    partial = sorted({c for (v, c), cell in cells.items() if cell.n_done < cell.n_planned})
    note = (f"{args.metric}, mean [95 % bootstrap interval]" + (", (paired difference to rgb)" if args.paired else "")
            + "; best per column in bold, oracle_clean (a privileged view) excepted")
    if partial:
        note += (f"; still partial: {', '.join(partial)} (k/N: "
                 + ("the pairs every variant has finished, of those planned)" if args.recorded_only
                    else "route runs recorded of those planned, a missing run counting 0)"))
    print(note, file=sys.stderr)
    if args.save:
        Path(args.save).write_text(text, encoding="utf-8")
        print(f"table: {args.save}", file=sys.stderr)
    if args.plot:
        from harness.report.plots import plot_table

        print(f"plot: {plot_table(args.plot, columns, variants, cells, args.metric)}", file=sys.stderr)
    return {"columns": columns, "metric": args.metric,
            "cells": long_frame(columns, variants, cells, args.metric).to_dict(orient="records")}
