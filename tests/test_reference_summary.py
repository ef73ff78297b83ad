"""results/reference/agents/summary.py pools seeds only over drives of the same policy weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _write(folder: Path, name: str, weights: str | None, ds: float, agent: str = "rgb_policy") -> None:
    run = {"agent": agent, "DS": ds, "routes": [{"route": "0", "DS": ds}, {"route": "1", "DS": ds}], "infraction_counts": {}}
    if weights is not None:
        run["weights"] = weights
    (folder / f"{name}.json").write_text(json.dumps(run))


def test_summary_refuses_policy_rows_of_different_weights(tmp_path, capsys, reference_script):
    mod = reference_script("agents/summary.py")
    _write(tmp_path, "policy_clear_noon_rgb", "aaaa", 80.0)
    _write(tmp_path, "policy_clear_noon_rgb_seed1", None, 70.0)  # a file from before drives named their weights
    _write(tmp_path, "policy_night_fog_oracle_clean", "aaaa", 72.0)
    _write(tmp_path, "expert_clear_noon", None, 90.0, agent="expert")
    mod.main(tmp_path)
    out = capsys.readouterr().out
    assert "| policy_clear_noon_rgb | 0, 1 | 80.0, 70.0 | 75.0" in out
    assert "72.0 / 80.0 = 90% over seeds [0]" in out
    _write(tmp_path, "policy_night_fog_oracle_clean_seed1", "bbbb", 60.0)
    with pytest.raises(SystemExit, match="different weights") as err:
        mod.main(tmp_path)
    assert "policy_night_fog_oracle_clean_seed1.json" in str(err.value) and "bbbb" in str(err.value)
