"""Fusion training data: never on held-out routes, drawn conditions in range, pushes, one short episode."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.fusion_data import (FIELDS, MAX_DX_PX, MAX_ROT_DEG, WEATHERS, FusionEpisode, Pushes, check_held_out,
                                 collect, default_episodes, draw_calibration, draw_conditions, load_shards, split_paths,
                                 stale)
from harness.errors import ConfigError


def test_fusion_data_never_drives_a_route_a_scenario_evaluates_or_selects_on():
    train, val = default_episodes("train"), default_episodes("val")
    check_held_out(train + val)  # every scenarios/*.yaml, resolved through its own route file
    assert len({e.key for e in train + val}) == len(train + val)
    assert {e.weather for e in train} == set(WEATHERS) and {e.weather for e in val} == set(WEATHERS)
    assert not {(e.town, e.route) for e in train} & {(e.town, e.route) for e in val}


@pytest.mark.parametrize("town,route", [("town05", "0"), ("town05", "17"), ("town01", "3")])
def test_an_episode_on_a_held_out_route_is_refused(town, route):
    with pytest.raises(ConfigError, match="evaluates on"):
        check_held_out([FusionEpisode(town, route, "fog", 1)])


def test_conditions_cover_the_stated_ranges():
    rng = np.random.default_rng(0)
    draws = {w: [draw_conditions(w, rng) for _ in range(300)] for w in WEATHERS}
    suns = [c.sun_altitude_deg for cs in draws.values() for c in cs]
    assert -30 <= min(suns) < -25 and 10 < max(suns) <= 15
    fog_vis = [c.fog_visibility_m for w in ("fog", "night_fog") for c in draws[w]]
    assert 15 <= min(fog_vis) < 25 and 200 < max(fog_vis) <= 300
    assert all(c.sun_altitude_deg < 0 for c in draws["night"] + draws["night_fog"])
    assert all(c.fog_visibility_m >= 300 for c in draws["night"] + draws["dusk"])
    assert {c.agc_mode for c in draws["fog"]} == {"plateau", "linear"}
    calib = np.array([draw_calibration(rng) for _ in range(400)])
    exact = (calib == 0).all(axis=1)
    assert 0.4 < exact.mean() < 0.6
    assert np.abs(calib[:, :2]).max() <= MAX_DX_PX and np.abs(calib[:, 2]).max() <= MAX_ROT_DEG
    assert np.abs(calib[~exact, :2]).max() > 0.8 * MAX_DX_PX


def test_pushes_come_while_moving_and_end():
    push = Pushes(np.random.default_rng(3))
    assert all(push(0.0) == 0.0 for _ in range(2000))  # never while standing
    offsets = [push(8.0) for _ in range(20 * 60)]
    on = np.array(offsets) != 0
    assert 3 <= np.count_nonzero(np.diff(on.astype(int)) == 1) <= 16  # a push every 4-12 s
    assert all(0.1 <= abs(o) <= 0.35 for o in offsets if o)
    assert on.mean() < 0.4


@pytest.mark.slow
def test_collect_writes_resumable_stamped_shards(tmp_path, monkeypatch, gl_ok):
    import distill.fusion_data as fd

    monkeypatch.setattr(fd, "default_episodes", lambda split: [FusionEpisode("town02", "0" if split == "train" else "9",
                                                                             "night_fog", 11 if split == "train" else 12)])
    manifest = collect(tmp_path, workers=1, every=4, max_steps=40, progress=False)
    assert manifest["splits"]["train"]["frames"] >= 3 and manifest["splits"]["val"]["frames_per_weather"]["night_fog"] >= 3
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    (path,) = split_paths(tmp_path, "train")
    assert stale(path) is None
    with np.load(path) as z:
        n = len(z["calib"])
        assert z["rgb"].shape == (n, 160, 320, 3) and z["thermal"].shape == (n, 160, 320)
        assert z["thermal_raw"].shape[0] == n and z["clean"].shape == z["rgb"].shape and z["depth"].dtype == np.float16
        cond = json.loads(str(z["conditions"]))
        assert cond["sun_altitude_deg"] < 0 and cond["fog_visibility_m"] <= 300
        assert not np.array_equal(z["rgb"][-1], z["clean"][-1])
    data = load_shards([path], FIELDS)
    assert set(data) == set(FIELDS)
    mtime = path.stat().st_mtime_ns
    collect(tmp_path, workers=1, every=4, max_steps=40, progress=False)
    assert path.stat().st_mtime_ns == mtime  # finished shards are kept


def test_stale_and_missing_shards_say_how_to_collect(tmp_path):
    with pytest.raises(ConfigError, match="collect-fusion-data"):
        split_paths(tmp_path, "train")
    (tmp_path / "train").mkdir()
    old = tmp_path / "train" / "a.npz"
    np.savez(old, rgb=np.zeros((1, 8, 8, 3), np.uint8), render_version=np.int64(0))
    assert "renderer version 0" in stale(old)
    with pytest.raises(ConfigError, match="collect again"):
        load_shards([old])
    junk = tmp_path / "train" / "b.npz"
    junk.write_bytes(b"not a zip")
    assert "cannot be read" in stale(junk)
