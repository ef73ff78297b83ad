"""Policy data collection and training, end to end on a tiny dataset."""

from __future__ import annotations

import json
import subprocess
import warnings

import numpy as np
import pytest

from distill.policy.data import Episode, collect_episode, default_episodes, load_shards, seg_target, shard_version
from harness.errors import ConfigError
from harness.render import RENDER_VERSION
from harness.scenario import load_scenario
from harness.semantics import Sem


def test_seg_target_keeps_small_pedestrians():
    sem = np.full((4, 6), int(Sem.ROAD), np.uint8)
    sem[0, 0] = Sem.PEDESTRIAN  # one pixel in a block of car pixels
    sem[0:2, 1] = Sem.CAR
    sem[2:4, 2:4] = Sem.TRUCK
    assert seg_target(sem).tolist() == [[2, 0, 0], [0, 1, 0]]


def test_policy_never_trains_or_validates_on_an_evaluation_or_selection_route():
    train, val = default_episodes("train"), default_episodes("val")
    assert len({e.key for e in train}) == len(train) and len({e.seed for e in train + val}) == len(train + val)
    seen = {(e.town, e.route) for e in train + val}
    for name in ("clear_town05", "clear_noon_town05", "night_town05", "fog_town05", "night_fog_town05", "select_clear_noon_town05"):
        held_out = {("town05", r) for r in load_scenario(name).route_ids}
        assert held_out and not held_out & seen, name
    # the routes that choose between trainings are not evaluation routes either
    assert not set(load_scenario("select_clear_noon_town05").route_ids) & set(load_scenario("clear_noon_town05").route_ids)
    assert {e.weather for e in train} == {"clear", "clear_noon", "cloudy"}


@pytest.mark.slow  # collects expert frames and trains a tiny network (~10 s alone, more beside other tests)
def test_collect_and_train_tiny(gl_ok, tmp_path):
    from agents.rgb_policy.model import load_perception
    from distill.policy.train import TrainConfig, train

    data = tmp_path / "data"
    ep = Episode("town01", "0", "clear", 5)
    shard = collect_episode(ep, data / "train", every=5, max_steps=40)
    collect_episode(Episode("town01", "9", "cloudy", 6), data / "val", every=5, max_steps=20)
    with np.load(shard) as z:
        assert z["rgb"].shape[1:] == (160, 320, 3) and z["seg"].shape[1:] == (80, 160)
        assert len(z["rgb"]) == len(z["seg"]) == len(z["light_m"]) == len(z["lamp_uv"]) > 0
        # the clean image is the same view without the camera's noise (and at clear noon: here clear, sun 60 deg)
        assert z["clean"].shape == z["rgb"].shape and z["clean"].dtype == np.uint8
        diff = np.abs(z["clean"].astype(np.int16) - z["rgb"]).mean()
        assert 0.5 < diff < 25.0, diff
    mtime = shard.stat().st_mtime_ns
    assert collect_episode(ep, data / "train", every=5, max_steps=40).stat().st_mtime_ns == mtime  # not redone
    # a shard from an older renderer is refused by the loader and collected again
    with np.load(shard) as z:
        fields = {k: z[k] for k in z.files if k != "render_version"}
    np.savez(shard, **fields)
    assert shard_version(shard) == 1
    with pytest.raises(ConfigError, match="renderer version 1"):
        load_shards([shard])
    assert shard_version(collect_episode(ep, data / "train", every=5, max_steps=40)) == RENDER_VERSION
    assert np.array_equal(load_shards([shard])["rgb"], fields["rgb"])  # same pixels: this renderer made them
    # a shard without the clean image (collected before it was stored) is refused with what is missing
    with np.load(shard) as z:
        np.savez(shard, **{k: z[k] for k in z.files if k != "clean"})
    with pytest.raises(ConfigError, match="has no clean"):
        load_shards([shard])
    collect_episode(ep, data / "train", every=5, max_steps=40)
    out = tmp_path / "weights"
    result = train(TrainConfig(data=str(data), epochs=1, batch=2, threads=1), out, progress=False)
    assert set(result["validation"]) >= {"iou_vehicle", "iou_pedestrian", "recall_pedestrian", "light_frames"}
    net, meta = load_perception(out)
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("command", "config", "seed", "commit", "data", "validation", "weights_bytes"):
        assert key in manifest
    assert manifest["data"]["train_frames"] == result["train_frames"]
    # how the shards were collected: one value where they agree, all of them where not
    assert (manifest["data"]["every"], manifest["data"]["max_steps"], manifest["data"]["linger"]) == (5, [20, 40], False)
    assert meta["val"] == manifest["validation"]


def test_missing_data_and_weights_say_how_to_make_them(tmp_path):
    from agents.rgb_policy.model import load_perception
    from distill.policy.train import TrainConfig, train

    with pytest.raises(ConfigError, match="collect-policy-data"):
        train(TrainConfig(data=str(tmp_path)), tmp_path / "w", progress=False)
    with pytest.raises(ConfigError, match="train-policy"):
        load_perception(tmp_path / "nothing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a perception checkpoint"):
        load_perception(bad)


def test_light_targets_mark_only_the_own_lamp_cell():
    from distill.policy.train import LAMP_WEIGHT, light_targets

    uv = np.array([[81.5, 41.5], [81.5, 41.5], [np.nan, np.nan], [500.0, 41.5]], np.float32)
    cls, wt, near = light_targets(uv, np.array([0, 2, 0, 1], np.uint8), (13, 40))
    assert cls[0, 5, 10] == 1 and cls[1, 5, 10] == 2  # red -> stop, green -> go, at the lamp's cell
    assert wt[0, 5, 10] == LAMP_WEIGHT
    assert wt[0, 4:7, 9:12].sum() == LAMP_WEIGHT  # its neighbours: none or the lamp's own colour
    assert int((near[0] == 1).sum()) == 8 and int((near[1] == 2).sum()) == 8 and near[0, 5, 10] == 0
    assert int((cls[0] > 0).sum()) == 1 and wt[0].sum() == 13 * 40 - 9 + LAMP_WEIGHT
    for b in (2, 3):  # no lamp in view (or projected outside the map): every cell is none
        assert cls[b].sum() == 0 and bool((wt[b] == 1).all()) and near[b].sum() == 0


def test_light_loss_punishes_the_wrong_colour_next_to_the_lamp_not_the_right_one():
    import torch

    from distill.policy.train import light_loss, light_targets

    cls, wt, near = light_targets(np.array([[81.5, 41.5]], np.float32), np.array([2], np.uint8), (13, 40))
    base = torch.zeros((1, 3, 13, 40))
    base[:, 0] = 4.0  # confident "none" everywhere
    base[0, :, 5, 10] = torch.tensor([0.0, 0.0, 4.0])  # and "go" at the lamp
    right, wrong = base.clone(), base.clone()
    right[0, :, 5, 11] = torch.tensor([0.0, 0.0, 4.0])  # the neighbour says go too: fine
    wrong[0, :, 5, 11] = torch.tensor([0.0, 4.0, 0.0])  # the neighbour says stop: wrong
    l_base, l_right, l_wrong = (float(light_loss(t, cls, wt, near)) for t in (base, right, wrong))
    assert abs(l_right - l_base) < 1e-3 and l_wrong > l_base + 0.002


def test_stop_probability_compares_stop_and_go_cells():
    import torch

    from agents.rgb_policy.model import stop_probability

    maps = torch.zeros((3, 3, 13, 40))
    maps[:, 0] = 5.0  # nothing seen
    maps[1, :, 6, 20] = torch.tensor([0.0, 5.0, 0.0])  # a red lamp
    maps[2, :, 6, 20] = torch.tensor([0.0, 2.0, 0.0])  # a green lamp whose neighbour is unsure
    maps[2, :, 6, 21] = torch.tensor([0.0, 0.0, 5.0])
    p = stop_probability(maps)
    assert p[0] == 0.0 and p[1] > 0.9 and p[2] < 0.5


def test_augment_darkens_keeps_labels_and_is_seeded():
    """With shadows the jitter includes darker frames (dark ground), keeps values in [0, 1] and
    labels untouched, and repeats exactly under the same generator."""
    import torch

    from distill.policy.augment import augment

    x = torch.full((256, 3, 8, 8), 0.5)
    y = torch.randint(0, 3, (256, 4, 4))
    a, ya = augment(x.clone(), y.clone(), torch.Generator().manual_seed(3), shadows=0.5)
    b, _ = augment(x.clone(), y.clone(), torch.Generator().manual_seed(3), shadows=0.5)
    assert torch.equal(a, b) and torch.equal(ya, y)
    assert a.min() >= 0.0 and a.max() <= 1.0
    ground, level = a[:, :, 6:].mean((1, 2, 3)), a.mean((1, 2, 3))
    assert (ground < 0.5 * 0.6).float().mean() > 0.1, "too few frames with a dark road"
    assert (level > 0.5 * 1.15).float().mean() > 0.05, "no brighter frames"
    plain, _ = augment(x.clone(), y.clone(), torch.Generator().manual_seed(3))
    assert (plain.mean((1, 2, 3)) > 0.5 * 0.7).all(), "without shadows only the 0.75-1.25 brightness jitter"


def test_cast_shadows_darken_only_the_ground():
    import torch

    from distill.policy.augment import cast_shadows

    x = torch.full((64, 3, 40, 80), 0.8)
    out = cast_shadows(x, torch.Generator().manual_seed(0), p=1.0)
    sky, road = out[:, :, :20], out[:, :, 30:]
    assert torch.equal(sky, x[:, :, :20]), "a shadow reached the top of the image (lamps, sky)"
    dark = (road < 0.8 * 0.8).flatten(1).float().mean(1)
    assert (dark > 0.2).float().mean() > 0.5, "most images should carry a shadow over the road"


def test_shift_frames_moves_image_mask_and_lamp_together():
    """A shifted frame keeps image, mask and lamp label in register: the lit lamp pixel and the
    vehicle block move by the shift (the mask by half of it), a lamp shifted out of view is dropped,
    unshifted frames are untouched, and the draw is seeded."""
    import torch

    from distill.policy.augment import SHIFT_STEPS_PX, shift_frames
    from distill.policy.train import TrainConfig

    b, h, w = 32, 40, 80
    x = torch.zeros((b, 3, h, w))
    x[:, 0, 10, 40] = 1.0  # the own red lamp at u = 40, v = 10
    x[:, 1, :, 0] = 1.0  # a bright left edge: repeated when shifted right, gone when shifted left (no wrap)
    y = torch.zeros((b, h // 2, w // 2), dtype=torch.long)
    y[:, 15, 18:22] = 1  # a vehicle
    uv = np.tile([[40.0, 10.0]], (b, 1))
    uv[-1] = (76.0, 10.0)  # near the right edge: leaves the image when shifted right by 4 or more
    out, yo, uvo = shift_frames(x, y, uv, torch.Generator().manual_seed(1), p=0.5)
    again = shift_frames(x, y, uv, torch.Generator().manual_seed(1), p=0.5)
    assert torch.equal(out, again[0]) and np.array_equal(uvo, again[2], equal_nan=True)
    moved = 0
    for k in range(b - 1):
        d = int(uvo[k, 0] - 40.0)
        if d == 0:
            assert torch.equal(out[k], x[k]) and torch.equal(yo[k], y[k])
            continue
        moved += 1
        assert d in SHIFT_STEPS_PX
        assert out[k, 0, 10, 40 + d] == 1.0 and out[k, 0].sum() == 1.0, "the lamp pixel moves with its label"
        assert out[k, 1].sum() == (h * (d + 1) if d > 0 else 0), "edge columns are repeated, not wrapped"
        assert torch.equal(torch.nonzero(yo[k, 15]).flatten(), torch.arange(18, 22) + d // 2)
    assert 0 < moved < b - 1
    edge = np.tile([[76.0, 10.0]], (b, 1))  # every frame shifted: right -> out of view, left -> 76 + shift
    _, _, uve = shift_frames(x, y, edge, torch.Generator().manual_seed(2), p=1.0)
    gone = np.isnan(uve[:, 0])
    assert gone.any() and (~gone).any()
    assert set(uve[~gone, 0].tolist()) <= {76.0 + d for d in SHIFT_STEPS_PX if 76.0 + d < w}
    assert {d % 8 for d in SHIFT_STEPS_PX} == {0, 2, 4, 6}, "shifts move lamps across the light cells' phases"
    with pytest.raises(ConfigError, match="shift"):
        TrainConfig(shift=1.5)


def test_exposure_min_widens_the_brightness_jitter_only_downwards():
    import torch

    from distill.policy.augment import augment
    from distill.policy.train import TrainConfig

    x = torch.full((64, 3, 8, 8), 0.5)
    y = torch.zeros(64, 4, 4, dtype=torch.long)

    def levels(lo):  # per-frame mean, same random stream for both
        return augment(x.clone(), y, torch.Generator().manual_seed(3), exposure_min=lo)[0].mean((1, 2, 3))

    default, wide = levels(0.75), levels(0.3)
    assert default.min() > 0.5 * 0.75 * 0.7, "the default keeps frames within about a stop of their exposure"
    assert wide.min() < 0.5 * 0.5, "exposure_min 0.3 gives frames darker than the default ever does"
    assert (wide <= default + 1e-6).all() and torch.isclose(wide.max(), default.max(), atol=0.1)
    with pytest.raises(ConfigError, match="exposure_min"):
        TrainConfig(exposure_min=0.0)


def test_light_context_picks_the_light_branch():
    from distill.policy.train import TrainConfig

    assert TrainConfig(light_context="local").net_config().light_local
    assert not TrainConfig(light_context="wide").net_config().light_local
    with pytest.raises(ConfigError, match="light_context"):
        TrainConfig(light_context="huge")


def test_train_policy_cli_defaults_are_train_config_defaults():
    """The CLI leaves unset options to TrainConfig; the numbers its --help names must be those."""
    import re

    from distill.cli import build_parser
    from distill.policy.train import TrainConfig

    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command").choices["train-policy"]
    def value(text: str):
        try:
            return float(text)
        except ValueError:
            return text

    named = {m.group(1): value(m.group(2)) for a in sub._actions if a.help
             for m in [re.search(r"TrainConfig\.(\w+), ([\w.-]+)[);]", a.help)] if m}
    assert set(named) == {"epochs", "batch", "lr", "seed", "shadows", "shift", "clean", "light_context", "exposure_min", "threads"}
    for field, value in named.items():
        assert getattr(TrainConfig(), field) == value, f"--{field} help says {value}"
    args = build_parser().parse_args(["train-policy"])
    assert all(getattr(args, k) is None for k in named), "an explicit CLI default would shadow TrainConfig"


def test_manifest_commit_says_dirty_wherever_the_weights_go(tmp_path, monkeypatch):
    from distill.policy.train import _commit

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    (repo / "code.py").write_text("a = 1\n")
    (repo / "weights").mkdir()
    (repo / "weights" / "w.pt").write_text("old")
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "c"], check=True)
    monkeypatch.chdir(repo)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    (repo / "weights" / "w.pt").write_text("new")  # the weights being replaced do not count
    assert _commit(repo / "weights") == head
    (repo / "code.py").write_text("a = 2\n")  # a code change does, also when the weights go elsewhere
    assert _commit(repo / "weights") == head + "+dirty"
    assert _commit(tmp_path / "elsewhere") == head + "+dirty"


def test_training_names_shards_outside_the_documented_episodes(tmp_path):
    from distill.policy.train import _warn_unlisted

    keys = {e.key for e in default_episodes("train")}
    listed = sorted(keys)
    paths = [tmp_path / f"{k}.npz" for k in listed[1:]] + [tmp_path / "town05_r15_clear_s999.npz"]
    with pytest.warns(UserWarning) as got:
        _warn_unlisted(tmp_path, paths, keys)
    text = " | ".join(str(w.message) for w in got)
    assert "1 (town05_r15_clear_s999) shard(s) that are not episodes" in text
    assert f"1 ({listed[0]}) episode(s) of `collect-policy-data` are missing" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_unlisted(tmp_path, [tmp_path / f"{k}.npz" for k in listed], keys)  # exactly the episodes
        _warn_unlisted(tmp_path, [tmp_path / "town01_r0_clear_s5.npz"], keys)  # a data set of one's own


def test_linger_holds_once_per_red_wait_and_only_at_the_line():
    from distill.policy.data import LINGER_S, Linger

    lo, hi = (int(s * 20) for s in LINGER_S)
    linger = Linger(seed=3)
    assert not linger(0.0, 2.0, 7, 0)  # standing at its red: the expert waits anyway
    assert linger(0.0, 2.0, 7, 2)  # the red turned green: hold
    held = 1
    while linger(0.0, 2.0, 7, 2):
        held += 1
    assert lo <= held <= hi
    assert not linger(0.0, 2.0, 7, 2)  # once per wait: the expert leaves
    # green without a red wait before it (stopped behind a car, say), or standing far from the
    # line at red, or a wait at another head: no hold
    fresh = Linger(seed=3)
    assert not fresh(0.0, 2.0, 7, 2)
    assert not fresh(0.0, 20.0, 7, 0) and not fresh(0.0, 20.0, 7, 2)
    assert not fresh(0.0, 2.0, 7, 0) and not fresh(0.0, 2.0, 8, 2)
    # rolling away from the line ends the wait
    rolled = Linger(seed=3)
    assert not rolled(0.0, 2.0, 7, 0) and not rolled(2.0, 1.0, 7, 0) and not rolled(0.0, 1.0, 7, 2)
    # the hold's length is drawn from the episode's seed
    lengths = []
    for seed in (3, 3, 4):
        lg = Linger(seed)
        lg(0.0, 2.0, 7, 0)
        n = 0
        while lg(0.0, 2.0, 7, 2):
            n += 1
        lengths.append(n)
    assert lengths[0] == lengths[1] != lengths[2]


def test_linger_episodes_are_the_default_episodes_under_their_own_names():
    plain, linger = default_episodes("train"), default_episodes("train", linger=True)
    assert [(e.town, e.route, e.weather, e.seed) for e in plain] == [(e.town, e.route, e.weather, e.seed) for e in linger]
    assert all(e.key.endswith("_linger") and not p.key.endswith("_linger") for e, p in zip(linger, plain))


def test_use_clean_swaps_whole_frames_for_their_clean_image():
    """A seeded share of frames becomes its clean image, whole; the rest stays the camera's; 0 changes
    nothing and 1 everything; the config keeps the share within [0, 1]."""
    import torch

    from distill.policy.augment import use_clean
    from distill.policy.train import TrainConfig

    b = 64
    x, clean = torch.zeros((b, 3, 4, 6)), torch.ones((b, 3, 4, 6))
    out = use_clean(x, clean, torch.Generator().manual_seed(3), 0.3)
    assert torch.equal(out, use_clean(x, clean, torch.Generator().manual_seed(3), 0.3))
    per_frame = out.mean((1, 2, 3))
    assert set(per_frame.tolist()) <= {0.0, 1.0}, "frames are swapped whole"
    assert 0.1 < per_frame.mean() < 0.5
    assert x.sum() == 0, "the input batch is not changed in place"
    assert torch.equal(use_clean(x, clean, torch.Generator().manual_seed(3), 0.0), x)
    assert torch.equal(use_clean(x, clean, torch.Generator().manual_seed(3), 1.0), clean)
    with pytest.raises(ConfigError, match="clean"):
        TrainConfig(clean=1.5)
