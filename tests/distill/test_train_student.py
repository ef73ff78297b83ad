"""Student training end to end on a tiny synthetic dataset and cache: it learns, checkpoints, resumes
to the same weights as an uninterrupted run, writes weights the ``fusionproxy`` loader reads with a
manifest, and the crops keep every image and variance map together."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from distill.ensemble_cache import CacheConfig, build
from distill.train_student import ALIGN, Batches, StudentTrainConfig, jitter_thermal, load_split, train
from fusion.student.proxy import load_student
from harness.errors import ConfigError
from harness.semantics import Sem
from tests.distill.test_train_teacher import _shard


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    data = root / "data"
    _shard(data / "train" / "a.npz", 6, 0)
    _shard(data / "val" / "b.npz", 2, 1)
    man = build(CacheConfig(data=str(data), root=str(root / "cache"), k=2, steps=1, backbones=("policy",), threads=1,
                            every={"train": 1, "val": 1}), progress=False)
    return data, root / "cache" / man["key"]


def _cfg(setup, **kw) -> StudentTrainConfig:
    data, cache = setup
    base = dict(data=str(data), cache=str(cache), size="xs", steps=6, batch=3, crop_h=16, crop_w=32, lr=3e-3, warmup=2,
                threads=1, val_every=3, ckpt_every=1, backbone="policy", seed=5)
    return StudentTrainConfig(**(base | kw))


def test_batches_crop_all_maps_together(setup):
    d = load_split(_cfg(setup), "train")
    # make every map the same picture (its column index), so a crop or flip that moves one map
    # and not another shows up as a difference
    cols = np.broadcast_to(np.arange(48, dtype=np.uint8), (6, 32, 48))
    d = {"rgb": np.repeat(cols[..., None], 3, -1).copy(), "thermal": cols.copy(), "clean": np.repeat(cols[..., None], 3, -1).copy(),
         "mean": np.repeat(cols[:, None] / 255, 3, 1).astype(np.float16), "pixel_var": (cols[:, None] / 255).astype(np.float16),
         "fvar": [(cols[:, None, ::s, ::s] / 255).astype(np.float16) for s in (2, 4, 8, 16)],
         "semantic": np.where(cols % 7 == 0, Sem.TRAFFIC_LIGHT, Sem.ROAD).astype(np.uint8)}
    b = Batches(d, _cfg(setup, jitter=0.0), np.random.default_rng(0))
    for _ in range(5):
        x = b.batch(4)
        torch.testing.assert_close(x["rgb"], x["clean"])
        assert torch.equal(x["lamp"], (x["thermal"] * 255).round().long() % 7 == 0)
        torch.testing.assert_close(x["mean"], x["rgb"], atol=1e-3, rtol=0)
        torch.testing.assert_close(x["pixel_var"], x["thermal"], atol=1e-3, rtol=0)
        for layer, s in enumerate((2, 4, 8, 16)):
            assert x["fvar"][layer].shape[-2:] == (16 // s, 32 // s)
        # column of the crop's left edge is a multiple of ALIGN (or, flipped, its right edge + 1 is)
        left = (x["rgb"][:, 0, 0, 0] * 255).round().long()
        right = (x["rgb"][:, 0, 0, -1] * 255).round().long()
        assert all(min(lf, rt) % ALIGN == 0 for lf, rt in zip(left.tolist(), right.tolist()))


def test_lamp_crops_hold_a_lamp_and_lamps_weigh_more(setup):
    from distill.train_student import loss_terms

    d = load_split(_cfg(setup), "train")
    d["semantic"][:] = Sem.ROAD
    d["semantic"][4, 29, 45] = Sem.TRAFFIC_LIGHT  # one lamp pixel, near a corner of one frame
    cfg = _cfg(setup, jitter=0.0, lamp_crops=1.0, lamp_weight=9.0)
    b = Batches(d, cfg, np.random.default_rng(0))
    for _ in range(10):
        x = b.batch(4)
        assert x["lamp"].flatten(1).sum(1).tolist() == [1, 1, 1, 1]
        at_lamp = x["rgb"][x["lamp"].expand(-1, 3, -1, -1)].reshape(4, 3)  # (crop, channel) at each crop's lamp
        torch.testing.assert_close(at_lamp, (torch.from_numpy(d["rgb"][4, 29, 45]).float() / 255).expand(4, 3))
    # only the lamp pixel is wrong: the pixel term is (1 + lamp_weight) times the unweighted one
    x = b.batch(2)
    x["mean"] = x["rgb"].clone()
    x["mean"][x["lamp"].expand(-1, 3, -1, -1)] += 0.5

    class Net(torch.nn.Module):  # the input, unchanged
        def forward(self, rgb, th):
            return rgb

    net = Net()
    plain = loss_terms(net, None, x, _cfg(setup, w_feat=0.0, pixel_weighting=False))[1]
    heavy = loss_terms(net, None, x, _cfg(setup, w_feat=0.0, pixel_weighting=False, lamp_weight=9.0))[1]
    torch.testing.assert_close(heavy, 10 * plain)
    assert float(plain) > 0

    # validation reads the lit lamps' chroma (a red lamp in the target; the grey housing is not a lamp)
    from distill.train_student import lamp_frames, validate

    d["clean"][4, 29, 45] = (230, 20, 10)
    d["semantic"][2, 0, 0] = Sem.TRAFFIC_LIGHT
    d["clean"][2, 0, 0] = 90
    lamps = lamp_frames(d, 8)
    assert len(lamps["rgb"]) == 1
    figs = validate(net, {k: v for k, v in d.items() if k != "fvar"}, None, lamps=lamps)
    assert figs["clean_lamp_chroma"] == pytest.approx(220 / 255, abs=1e-4)
    assert figs["val_lamp_chroma"] == pytest.approx(figs["rgb_lamp_chroma"])  # the identity keeps the input's


def test_lamps_the_camera_shows_take_the_clean_target():
    from distill.train_student import loss_terms, seen_lamps

    lamp = torch.zeros(1, 1, 2, 3, dtype=torch.bool)
    lamp[0, 0, 0, :2] = True  # two traffic-light pixels
    rgb = torch.full((1, 3, 2, 3), 0.5)
    rgb[0, :, 0, 0] = torch.tensor([0.9, 0.5, 0.5])  # the camera shows the first one reddish (chroma 0.4)
    rgb[0, :, 1, 2] = torch.tensor([0.9, 0.1, 0.1])  # a red pixel that is no traffic light
    seen = seen_lamps(lamp, rgb, 0.2)
    assert seen.sum() == 1 and bool(seen[0, 0, 0, 0])
    assert not seen_lamps(lamp, rgb, 0.45).any()

    class Net(torch.nn.Module):  # returns the camera image
        def forward(self, rgb, th):
            return rgb

    x = {"rgb": rgb, "thermal": torch.zeros(1, 1, 2, 3), "lamp": lamp, "pixel_var": torch.zeros(1, 1, 2, 3),
         "mean": rgb.clone(), "clean": rgb.clone()}
    x["clean"][0, :, 0, 0] = torch.tensor([0.9, 0.1, 0.1])  # the clean lamp is redder than the camera's
    x["clean"][0, :, 1, 1] = 0.0  # elsewhere the clean image differs too, but the teacher's mean is the target there
    teacher_only = loss_terms(Net(), None, x, _cfg_plain(lamp_seen=0.0))[1]
    seen_target = loss_terms(Net(), None, x, _cfg_plain(lamp_seen=0.2))[1]
    assert float(teacher_only) == 0.0  # the mean is the camera image: nothing to learn
    assert float(seen_target) > 0.0  # only the seen lamp pixel now asks for the clean colour
    x["clean"][0, :, 0, 0] = rgb[0, :, 0, 0]
    assert float(loss_terms(Net(), None, x, _cfg_plain(lamp_seen=0.2))[1]) == 0.0


def _cfg_plain(**kw):
    from distill.train_student import StudentTrainConfig

    return StudentTrainConfig(w_feat=0.0, pixel_weighting=False, **kw)


def test_jitter_moves_the_thermal_frame():
    th = np.zeros((32, 48), np.uint8)
    th[10:20, 10:20] = 255
    moved = jitter_thermal(th, np.random.default_rng(0), 8.0, 5.0)
    assert moved.shape == th.shape and moved.dtype == np.uint8
    assert not np.array_equal(moved, th)
    assert np.array_equal(jitter_thermal(th, np.random.default_rng(0), 0.0, 0.0), th)


def test_training_learns_resumes_and_writes_weights(setup, tmp_path, monkeypatch):
    whole = train(_cfg(setup, steps=40, val_every=20), tmp_path / "whole", progress=False)
    log = np.genfromtxt(tmp_path / "whole" / "train_log.csv", delimiter=",", names=True)
    assert log["loss"][-10:].mean() < 0.7 * log["loss"][:5].mean()
    assert log["loss_feat"].max() > 0  # the feature term is on
    net = load_student(tmp_path / "whole" / "student.pt")
    man = json.loads((tmp_path / "whole" / "manifest.json").read_text())
    assert man["student"]["size"] == "xs" and man["validation"] == whole
    assert man["cache_manifest"]["key"] == setup[1].name
    out = net(torch.rand(1, 3, 30, 50), torch.rand(1, 1, 30, 50))
    assert out.shape == (1, 3, 30, 50) and 0 <= float(out.min()) and float(out.max()) <= 1

    # stopped after 4 steps, then resumed: the same weights as one run of 6
    import distill.train_student as ts

    one = train(_cfg(setup), tmp_path / "one", progress=False)
    real = ts.Batches.batch
    calls = {"n": 0}

    def stop_after_four(self, b):
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt
        return real(self, b)

    monkeypatch.setattr(ts.Batches, "batch", stop_after_four)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(setup), tmp_path / "two", progress=False)
    monkeypatch.setattr(ts.Batches, "batch", real)
    two = train(_cfg(setup), tmp_path / "two", progress=False)
    assert one == two
    a = torch.load(tmp_path / "one" / "student.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "two" / "student.pt", weights_only=True)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    with pytest.raises(ConfigError, match="another configuration"):
        train(_cfg(setup, tau=2.0), tmp_path / "two", progress=False)


@pytest.mark.parametrize("kw", [{"target": "clean"}, {"w_feat": 0.0}, {"routing": "uniform", "pixel_weighting": False},
                                {"lamp_weight": 5.0, "lamp_crops": 0.5},
                                {"lamp_seen": 0.2, "lamp_weight": 5.0, "rgb_gate": True}])
def test_ablation_switches_train(setup, tmp_path, kw):
    figs = train(_cfg(setup, steps=2, **kw), tmp_path / "abl", progress=False)
    assert np.isfinite(list(figs.values())).all()


@pytest.mark.parametrize("kw,match", [({"size": "xxl"}, "size"), ({"crop_h": 20}, "multiple of 16"),
                                      ({"target": "gt"}, "target"), ({"tau": 0.0}, "tau"), ({"jitter": 2.0}, "jitter"),
                                      ({"lamp_crops": 2.0}, "lamp_crops"), ({"lamp_seen": 1.0}, "lamp_seen"),
                                      ({"crop_h": 64}, "larger than the frames")])
def test_bad_config_fails_with_one_line(setup, tmp_path, kw, match):
    with pytest.raises(ConfigError, match=match):
        train(_cfg(setup, **kw), tmp_path / "bad", progress=False)


def test_the_light_term_reads_the_frozen_policy_and_trains(setup, tmp_path):
    """--w-light: zero when the student gives the target image back, the policy's weights untouched by
    training, logged beside the other terms."""
    from distill.train_student import frozen_policy, loss_terms

    cfg = _cfg(setup, w_feat=0.0, w_light=1.0)
    x = Batches(load_split(cfg, "train"), cfg, np.random.default_rng(0)).batch(2)
    policy = frozen_policy()

    class Give(torch.nn.Module):  # returns the teacher mean (or the clean image) it is handed
        def __init__(self, img):
            super().__init__()
            self.img = img

        def forward(self, rgb, th):
            return self.img

    assert float(loss_terms(Give(x["mean"]), None, x, cfg, policy)[3]) == pytest.approx(0.0, abs=1e-6)
    clean = StudentTrainConfig(**{**cfg.to_dict(), "light_target": "clean"})
    assert float(loss_terms(Give(x["clean"]), None, x, clean, policy)[3]) == pytest.approx(0.0, abs=1e-6)
    assert float(loss_terms(Give(x["rgb"]), None, x, cfg, policy)[3]) > 0
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    train(_cfg(setup, w_light=1.0, steps=4), tmp_path / "light", progress=False)
    log = np.genfromtxt(tmp_path / "light" / "train_log.csv", delimiter=",", names=True)
    assert (log["loss_light"] > 0).all()
    assert all(torch.equal(v, frozen_policy().state_dict()[k]) for k, v in before.items())
    with pytest.raises(ConfigError, match="light-target"):
        StudentTrainConfig(light_target="oracle").check()


def test_the_obstacle_term_reads_the_frozen_policy_and_trains(setup, tmp_path):
    """--w-seg: zero when the student gives the target image back, positive otherwise, logged as
    loss_seg, the policy's weights untouched; a negative weight is refused."""
    from distill.train_student import frozen_policy, loss_terms

    cfg = _cfg(setup, w_feat=0.0, w_seg=1.0)
    assert cfg.reads_policy and not _cfg(setup).reads_policy
    x = Batches(load_split(cfg, "train"), cfg, np.random.default_rng(0)).batch(2)
    policy = frozen_policy()

    class Give(torch.nn.Module):
        def __init__(self, img):
            super().__init__()
            self.img = img

        def forward(self, rgb, th):
            return self.img

    terms = loss_terms(Give(x["mean"]), None, x, cfg, policy)
    assert float(terms[4]) == pytest.approx(0.0, abs=1e-6) and float(terms[3]) == 0.0  # no light term asked for
    plain = float(loss_terms(Give(x["rgb"]), None, x, cfg, policy)[4])
    assert plain > 0
    guarded = replace(cfg, seg_guard=True)  # the phantom guard: still 0 at the target, weighs the camera's image otherwise
    assert float(loss_terms(Give(x["mean"]), None, x, guarded, policy)[4]) == pytest.approx(0.0, abs=1e-6)
    assert float(loss_terms(Give(x["rgb"]), None, x, guarded, policy)[4]) not in (0.0, pytest.approx(plain))
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    train(_cfg(setup, w_seg=1.0, steps=4), tmp_path / "seg", progress=False)
    log = np.genfromtxt(tmp_path / "seg" / "train_log.csv", delimiter=",", names=True)
    assert (log["loss_seg"] > 0).all() and (log["loss_light"] == 0).all()
    assert all(torch.equal(v, frozen_policy().state_dict()[k]) for k, v in before.items())
    with pytest.raises(ConfigError, match="w_seg"):
        StudentTrainConfig(w_seg=-1.0).check()
    with pytest.raises(ConfigError, match="--seg-guard"):
        StudentTrainConfig(seg_guard=True).check()
