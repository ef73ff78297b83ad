"""``python -m harness report``: rewrite the tables, summary, report and plots of an eval, sweep or drive folder."""

from __future__ import annotations

from harness.cli import args as T
from harness.cli import common


def register(sub) -> None:
    p = sub.add_parser("report", help="rewrite records.csv, summary.json, report.md and plots of an eval or sweep folder")
    p.add_argument("--out", required=True, type=T.run_folder, help="folder written by eval, sweep or drive")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.report.outputs import write_outputs
    from harness.runner.jobs import jobs_from_run
    from harness.runner.store import ResultStore

    store = ResultStore(args.out)
    run_info = store.read_run()
    if run_info.get("kind") == "sweep":
        from harness.runner.sweep import write_sweep_outputs

        return write_sweep_outputs(args.out, run_info, store)
    jobs, keys = jobs_from_run(run_info)
    summ = write_outputs(args.out, jobs, keys, store)
    common.print_summary(summ, args.out)
    return {"out": str(args.out), **summ}
