"""The issue-3 figures over every traffic seed driven:
``.venv/bin/python results/reference/agents/summary.py [FOLDER] [--plot PNG]``.

Reads ``<name>.json`` (seed 0) and ``<name>_seed<N>.json`` (``SEED=N bash run.sh``) in this folder, or
in FOLDER (relative to this one: policy rows of other weights, e.g. drives with ``drive --checkpoint``;
the expert rows come from this folder where FOLDER has none). The analysis is
:mod:`harness.report.drive_rows`; this script only points it at the committed rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import ConfigError
from harness.report.drive_rows import print_summary

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default=".", help="rows to read, relative to this folder (default: this folder)")
    ap.add_argument("--plot", type=Path, default=None, help="also draw where the DS points went, as stacked bars, into PNG")
    args = ap.parse_args()
    try:
        print_summary(HERE / args.folder, args.plot, experts=HERE)
    except ConfigError as err:
        sys.exit(f"error: {err}")
