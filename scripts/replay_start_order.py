"""Replay an evaluation's recorded route-run times on N workers, in planned order and in the start order
``run_jobs`` uses (``harness.runner.evaluate.start_order``: within a seed the longest routes first).

    python scripts/replay_start_order.py results/reference/eval_fog_town05_routes5 [--workers 2] [--json]

Each worker takes the next job when it frees (what the local executor does); the wall time of a job is
the ``wall_s`` of its record. It estimates what the order alone changes, with the durations held fixed;
a real run's durations vary from run to run.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.runner.evaluate import start_order  # noqa: E402
from harness.runner.jobs import jobs_from_run  # noqa: E402
from harness.runner.store import ResultStore  # noqa: E402


def makespan(walls: list[float], workers: int) -> float:
    free = [0.0] * workers
    for w in walls:
        heapq.heappush(free, heapq.heappop(free) + w)
    return max(free)


def replay(out: Path, workers: int) -> dict:
    store = ResultStore(out)
    jobs, keys = jobs_from_run(store.read_run())
    recs = store.finished()
    missing = [k for k in keys if k not in recs]
    if missing:
        raise SystemExit(f"{out}: {len(missing)} of {len(keys)} planned route runs have no record; replay needs them all")
    walls = [float(recs[k]["result"]["wall_s"]) for k in keys]
    order = start_order(jobs)
    planned, started = makespan(walls, workers), makespan([walls[i] for i in order], workers)
    return {"run": str(out), "workers": workers, "route_runs": len(keys), "sum_wall_s": round(sum(walls), 1),
            "lower_bound_s": round(max(sum(walls) / workers, max(walls)), 1),
            "planned_order_s": round(planned, 1), "start_order_s": round(started, 1),
            "ratio": round(started / planned, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="a folder holding a finished eval (run.json and records/)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="one JSON line")
    a = ap.parse_args()
    r = replay(a.out, a.workers)
    print(json.dumps(r) if a.json else "\n".join(f"{k}: {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
