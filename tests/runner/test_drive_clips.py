"""`harness drive --clips DIR`: the single-configuration loop records infraction clips like eval does."""

from __future__ import annotations

import harness.report.clips as clips_mod
from harness.runner.drive import DriveJob, drive


def test_drive_hands_every_step_to_the_clip_recorder(gl_ok, tmp_path, monkeypatch):
    seen = {"steps": 0, "closed": 0, "fused": 0}

    class Recorder:
        def __init__(self, out_dir, name, **_):
            seen["out"], seen["name"] = str(out_dir), name

        def add(self, frame, fused, events, world):
            seen["steps"] += 1
            seen["fused"] += fused is not None and fused.shape == frame.rgb.shape
            assert world is not None and hasattr(events, "blocked_s")

        def close(self):
            seen["closed"] += 1

    monkeypatch.setattr(clips_mod, "ClipRecorder", Recorder)
    job = DriveJob("clear_town01", "rgb_policy", "rgb", "0", 0, max_steps=6, clips=str(tmp_path))
    ((_, res),) = list(drive([job]))
    assert seen["out"] == str(tmp_path) and seen["name"] == "rgb_route0_seed0"
    assert seen["steps"] == res.steps == seen["fused"] and seen["closed"] == 1
