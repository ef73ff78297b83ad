"""``python -m harness``: the harness's command line, one module per command.

Each command module has ``register(subparsers)``, which adds its parser and sets ``run`` (args ->
result dict); the module holds only argument handling and printing, the work is in the package that
owns it. Every command that measures prints, with ``--json``, one final JSON line with its figures.
Errors the user can fix print one line ``error: ...`` and exit with status 2, before anything is
written.
"""

from __future__ import annotations

import argparse

from harness.cli import bench_sim, compare, drive, eval as eval_cmd, render, report, routes, scenarios, sweep, table
from harness.cli.args import Parser, run_main

COMMANDS = (eval_cmd, sweep, report, compare, table, render, bench_sim, routes, scenarios, drive)  # in --help's order


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m harness", description="Closed-loop RGB+thermal driving harness.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    return run_main(build_parser(), argv,
                    "interrupted; finished routes are saved: run the same command with --resume to continue")
