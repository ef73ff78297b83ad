"""The committed reference runs are current: planning each one's recorded request with today's code
gives the job keys its records are filed under.

A key hashes what a route run reads (scenario YAML, route, seed, policy and fusion weights,
calibration, ...), so a change to any of those without re-driving the references would leave records
that no longer answer their own question, and ``--reuse`` of them (the README's way to drive only
one's own module beside the committed rows) would quietly copy nothing. This test says which folder
and how many keys moved. Where a reference's variant was a candidate whose weights were not committed,
the variant is named below with the reason and its jobs are left out; every other job must match.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "results" / "reference"

# folder (relative to results/reference) -> {variant: why its records cannot be re-planned here}
NOT_REPLANNABLE = {
    "teacher/light_term/short_night_fog_town05": {
        "teacher:k=2,steps=2": "a candidate light-term teacher swapped in for the run; only the committed one is in "
                               "fusion/teacher/weights (README there)"},
}


def _runs() -> list[Path]:
    return sorted(p.parent for p in REFERENCE.rglob("run.json")
                  if json.loads(p.read_text()).get("kind") in ("eval", "sweep"))


def _uncommitted_weights(variant: str) -> bool:
    """A variant given a weights file that is not in the repository (a training run's output under runs/)."""
    tail = variant.split(":", 1)[1] if ":" in variant else ""
    params = dict(kv.split("=", 1) for kv in tail.split(",") if "=" in kv)
    return "weights" in params and not (REPO / params["weights"]).is_file()


def _planned(run: dict, skip: set[str]) -> dict[tuple, str]:
    """(condition, variant, route, seed) -> key, planned now for the recorded request less ``skip``."""
    from dataclasses import replace

    from harness.runner.evaluate import job_keys, plan, request_from_dict
    from harness.runner.sweep import condition

    req = request_from_dict(run["request"])
    req = replace(req, variants=tuple(v for v in req.variants if v not in skip))
    reqs = ([(None, req)] if run["kind"] == "eval"
            else [(v, condition(req, run["axis"], v)) for v in run["values"]])
    out = {}
    for value, r in reqs:
        jobs = plan(r)
        out.update({(value, j.variant, j.route_id, j.seed): k for j, k in zip(jobs, job_keys(jobs))})
    return out


def _recorded(run: dict, skip: set[str], names: dict[str, str]) -> dict[tuple, str]:
    from harness.runner.jobs import jobs_from_run

    groups = [(None, run)] if run["kind"] == "eval" else [(c["value"], c) for c in run["conditions"]]
    out = {}
    for value, listing in groups:
        jobs, keys = jobs_from_run(listing)
        out.update({(value, j.variant, j.route_id, j.seed): k for j, k in zip(jobs, keys)
                    if names.get(j.variant, j.variant) not in skip})
    return out


@pytest.mark.parametrize("folder", _runs(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_committed_reference_runs_keep_their_keys(folder: Path):
    import torch

    from fusion.registry import check_variant

    run = json.loads((folder / "run.json").read_text())
    req = run["request"]
    if req.get("device", "cpu").startswith("cuda") and not torch.cuda.is_available():
        pytest.skip(f"{folder.name} ran its fusion modules on CUDA; no CUDA device here")
    rel = str(folder.relative_to(REFERENCE))
    skip = {v for v in req["variants"] if _uncommitted_weights(v)} | set(NOT_REPLANNABLE.get(rel, {}))
    # the request lists variants as typed; jobs record their canonical names (gff:r1=45 is gff)
    names = {}
    for v in req["variants"]:
        if v != "none" and v not in skip:
            names[check_variant(v).name] = v
    names.update({v: v for v in skip})
    planned, recorded = _planned(run, skip), _recorded(run, skip, names)
    assert planned.keys() == recorded.keys(), f"{rel}: the plan's jobs differ from the recorded ones"
    moved = sorted(k for k in planned if planned[k] != recorded[k])
    assert not moved, (f"{rel}: {len(moved)} of {len(planned)} job keys changed since the run (first: {moved[0]}); "
                       "something a route run reads changed: re-drive the reference (its run.sh) or say why not")


def test_a_recorded_request_reads_back_as_it_was_made():
    from harness.runner.evaluate import EvalRequest, _request_dict, request_from_dict
    from harness.runner.jobs import Fault
    from harness.sensors.registration import Calibration

    req = EvalRequest("fog_town05", variants=("rgb", "gff:r1=30"), routes="0-2", seeds=(0, 3),
                      calibration=Calibration(dx_px=4.0, dy_px=-2.0, rot_deg=1.5), weather=(("fog_m", 80.0),),
                      fault=Fault("crash", 5), fault_routes=("1",), latency="measured", max_steps=400)
    assert request_from_dict(json.loads(json.dumps(_request_dict(req)))) == req
