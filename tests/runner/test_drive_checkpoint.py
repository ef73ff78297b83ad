"""`harness drive --checkpoint`: other weights reach the agent, and the JSON line names the weights
driven (so rows driven with different weights are not pooled by mistake)."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from agents import registry
from agents.rgb_policy.model import WEIGHTS_DIR, WEIGHTS_FILE
from harness.cli import main
from harness.runner.jobs import file_digest
from harness.runner.store import ResultStore


def test_drive_names_its_weights_and_hands_the_checkpoint_to_the_agent(gl_ok, tmp_path, monkeypatch, capsys):
    import torch

    from harness.runner.worker import drop_backend, execute

    other = tmp_path / "other"
    other.mkdir()
    ckpt = torch.load(WEIGHTS_DIR / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    first = next(iter(ckpt["model"]))
    ckpt["model"][first] = ckpt["model"][first] + 0.01  # other weights, same shapes
    torch.save(ckpt, other / WEIGHTS_FILE)
    base = ["drive", "--scenario", "clear_town01", "--routes", "0", "--variant", "rgb", "--max-steps", "4", "--json"]
    runs = {}
    for label, extra in (("committed", []), ("other", ["--checkpoint", str(other)])):
        assert main(base + extra + ["--out", str(tmp_path / f"drive_{label}")]) == 0
        runs[label] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert runs["committed"]["weights"] == file_digest(WEIGHTS_DIR / WEIGHTS_FILE)[:16]
    assert runs["other"]["weights"] == file_digest(other / WEIGHTS_FILE)[:16] != runs["committed"]["weights"]
    assert runs["other"]["out"] == str(tmp_path / "drive_other")
    row = runs["committed"]["routes"][0]  # penalties per kind, for harness.metrics.attribution: their product is IS
    assert isinstance(row["penalties"], dict) and math.prod(row["penalties"].values()) == pytest.approx(row["IS"], abs=1e-4)

    # the job the workers ran names the checkpoint by its absolute path, and a worker hands it to the agent
    (record,) = ResultStore(tmp_path / "drive_other").finished().values()
    assert record["job"]["agent_config"] == str(other.resolve())
    confs = []
    real = registry.make_agent

    def spy(name, variant=None, **kw):
        confs.append(kw.get("conf", ""))
        return real(name, variant, **kw)

    monkeypatch.setattr(registry, "make_agent", spy)
    from harness.runner.jobs import jobs_from_run

    (job,), _ = jobs_from_run(ResultStore(tmp_path / "drive_other").read_run())
    try:
        execute(job)
    finally:
        drop_backend()  # the worker's simulator, built in this process
    assert confs == [str(other.resolve())]

    shutil.rmtree(other)
    assert main(["drive", "--scenario", "clear_town01", "--routes", "0", "--agent", "expert", "--max-steps", "2", "--json",
                 "--out", str(tmp_path / "expert")]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["weights"] is None
