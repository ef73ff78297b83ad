"""harness.report.drive_rows pools seeds only over drives of the same policy weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.report.drive_rows import print_summary


def _write(folder: Path, name: str, weights: str | None, ds: float, agent: str = "rgb_policy") -> None:
    routes = [{"route": r, "DS": ds, "RC": ds, "IS": 1.0, "status": "Failed - Agent got blocked",
               "infractions": {"vehicle_blocked": 1}} for r in ("0", "1")]
    run = {"agent": agent, "DS": ds, "routes": routes, "infraction_counts": {"vehicle_blocked": 2}}
    if weights is not None:
        run["weights"] = weights
    (folder / f"{name}.json").write_text(json.dumps(run))


def test_summary_refuses_policy_rows_of_different_weights(tmp_path, capsys):
    _write(tmp_path, "policy_clear_noon_rgb", "aaaa", 80.0)
    _write(tmp_path, "policy_clear_noon_rgb_seed1", None, 70.0)  # a file from before drives named their weights
    _write(tmp_path, "policy_night_fog_oracle_clean", "aaaa", 72.0)
    _write(tmp_path, "expert_clear_noon", None, 90.0, agent="expert")
    print_summary(tmp_path)
    out = capsys.readouterr().out
    assert "| policy_clear_noon_rgb | 0, 1 | 80.0, 70.0 | 75.0" in out
    assert "72.0 / 80.0 = 90% over seeds [0]" in out
    # the 8 points from clear noon to oracle_clean: completion lost to getting blocked, no collisions
    assert ("clear noon -> oracle_clean night_fog, policy: 8.0 points over 2 route runs (seeds [0]): ended blocked +8.0; "
            "route completion +8.0, penalties +0.0; pedestrian and vehicle collisions 0% of it") in out
    assert "Standing still" not in out  # rows from before drives said what stood ahead
    night = json.loads((tmp_path / "policy_night_fog_oracle_clean.json").read_text())
    for r, (stood, by) in zip(night["routes"], (({"nothing": 200.0}, "nothing"), ({"actor": 190.0, "red_light": 10.0}, "actor"))):
        r.update(standing_s=stood, blocked_by=by)
    (tmp_path / "policy_night_fog_oracle_clean.json").write_text(json.dumps(night))
    print_summary(tmp_path)
    out = capsys.readouterr().out
    assert "| policy_night_fog_oracle_clean | 5.0 | 95.0 | 100.0 | 2 | 0 / 1 / 1 |" in out
    assert "ended blocked, nothing ahead +4.0, ended blocked behind an actor +4.0" in out
    print_summary(tmp_path, plot=tmp_path / "loss.png")
    assert "plot: " in capsys.readouterr().out and (tmp_path / "loss.png").stat().st_size > 1000
    _write(tmp_path, "policy_night_fog_oracle_clean_seed1", "bbbb", 60.0)
    with pytest.raises(ConfigError, match="different weights") as err:
        print_summary(tmp_path)
    assert "policy_night_fog_oracle_clean_seed1.json" in str(err.value) and "bbbb" in str(err.value)
