"""A worker runs many routes on one simulator: its memory must not grow with the number of routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from harness.runner.jobs import EvalJob
from harness.runner.worker import execute

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

out = []
for i in range(50):  # 50 routes: three route ids, alternating variants, a new traffic seed each time
    execute(EvalJob(sys.argv[1], str(i % 3), "thermal" if i % 2 else "rgb", i, max_steps=10))
    out.append(rss_mb())
print(json.dumps(out))
"""


@pytest.mark.slow  # 50 routes of 10 steps in one worker (~25 s on 2 shared cores)
def test_fifty_routes_in_one_worker_do_not_grow_its_memory(eval_scenario):
    if not Path("/proc/self/status").is_file():
        pytest.skip("reads RSS from /proc (Linux)")
    res = subprocess.run([sys.executable, "-c", SCRIPT, eval_scenario], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    rss = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(rss) == 50
    # after warm-up (caches, first allocations) nothing should accumulate: the last ten routes against routes 10-19,
    # medians, so that one sample where the allocator happened to hand pages back is not the baseline (a leak of
    # 1 MB a route would add 30 MB here)
    growth = float(np.median(rss[40:]) - np.median(rss[10:20]))
    assert growth < 20.0, f"RSS grew by {growth:.1f} MB from routes 10-19 to 40-49: {[round(r) for r in rss]}"
