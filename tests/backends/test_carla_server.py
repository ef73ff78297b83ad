"""End to end on a real CARLA server: one short route of Town05 driven by the frozen RGB policy
through ``harness eval --backend carla``, scored and reported. Skipped, with the reason, where no
server answers at ``$CARLA_HOST:$CARLA_PORT`` (default localhost:2000); nothing here can run one."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.carla


def test_one_short_route_end_to_end(tmp_path, monkeypatch):
    from harness.backends.carla import towns
    from harness.cli import main

    host, port = os.environ.get("CARLA_HOST", "localhost"), os.environ.get("CARLA_PORT", "2000")
    (tmp_path / "routes").mkdir()
    assert main(["routes", "--backend", "carla", "--town", "Town05", "--carla-host", host, "--carla-port", port,
                 "--count", "1", "--min-m", "150", "--max-m", "250", "--out", str(tmp_path / "routes" / "Town05.xml")]) == 0
    (tmp_path / "carla_towns.yaml").write_text("town05: {town: Town05, routes: routes/Town05.xml}\n")
    monkeypatch.setattr(towns, "TABLE", tmp_path / "carla_towns.yaml")
    out = tmp_path / "run"
    assert main(["eval", "--backend", "carla", "--carla-host", host, "--carla-port", port, "--scenario", "clear_town05",
                 "--variants", "rgb", "--routes", "0", "--seeds", "0", "--max-steps", "600", "--out", str(out)]) == 0
    summ = json.loads((out / "summary.json").read_text())
    rgb = summ["variants"]["rgb"]
    assert rgb["n_recorded"] == 1 and not rgb["quarantined"] and 0 <= rgb["DS"] <= 100
    run = json.loads((out / "run.json").read_text())
    assert all(j["backend"] == "carla" for j in run["jobs"])
