"""Teacher training end to end on a tiny synthetic dataset: it learns, checkpoints, resumes to the
same weights as an uninterrupted run, and writes weights the sampler loads with a manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from distill.fusion_data import FIELDS
from distill.train_teacher import Crops, TeacherTrainConfig, train
from harness.errors import ConfigError
from harness.render import RENDER_VERSION


def _shard(path, n, seed):
    """Frames where the clean image is a function of the inputs (so there is something to learn)."""
    rng = np.random.default_rng(seed)
    th = rng.integers(0, 256, (n, 32, 48), dtype=np.uint8)
    rgb = (rng.integers(0, 60, (n, 32, 48, 3))).astype(np.uint8)
    clean = np.stack([th, 255 - th, rgb[..., 0] * 4], axis=-1).astype(np.uint8)
    extra = {"thermal_raw": th, "calib": np.zeros((n, 3), np.float32), "semantic": np.zeros((n, 32, 48), np.uint8),
             "depth": np.zeros((n, 32, 48), np.float16)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, rgb=rgb, thermal=th, clean=clean, render_version=np.int64(RENDER_VERSION), **extra)
    assert set(FIELDS) <= {"rgb", "thermal", "clean", *extra}


@pytest.fixture
def data(tmp_path):
    _shard(tmp_path / "data" / "train" / "a.npz", 12, 0)
    _shard(tmp_path / "data" / "val" / "b.npz", 4, 1)
    return tmp_path / "data"


def _cfg(data, **kw) -> TeacherTrainConfig:
    base = dict(data=str(data), steps=6, batch=4, crop=16, lr=5e-3, warmup=2, seed=3, threads=1, val_every=3,
                ckpt_every=1, val_frames=2, val_k=2, val_steps=2, widths=(8, 16), reg_widths=(8, 16), head=4)
    return TeacherTrainConfig(**(base | kw))


def test_crops_flip_all_three_images_together():
    rng = np.random.default_rng(0)
    img = np.arange(8 * 8, dtype=np.uint8).reshape(1, 8, 8)
    data = {"rgb": np.repeat(img[..., None], 3, -1), "thermal": img.copy(), "clean": np.repeat(img[..., None], 3, -1)}
    crops = Crops(data, 4, rng)
    for _ in range(10):
        rgb, th, clean, weight = crops.batch(3)
        torch.testing.assert_close(rgb[:, :1], th)
        torch.testing.assert_close(clean, rgb)
        assert bool((weight == 1).all())
    with pytest.raises(ConfigError, match="larger than the frames"):
        Crops(data, 16, rng)


def test_lamp_pixels_weigh_more_and_lamp_crops_hold_one():
    from harness.semantics import Sem

    img = np.arange(16 * 16, dtype=np.uint8).reshape(1, 16, 16)
    sem = np.zeros((1, 16, 16), np.uint8)
    sem[0, 13, 2] = Sem.TRAFFIC_LIGHT  # one lamp pixel in a corner; it carries its own value in rgb
    data = {"rgb": np.repeat(img[..., None], 3, -1), "thermal": img.copy(), "clean": np.repeat(img[..., None], 3, -1),
            "semantic": sem}
    crops = Crops(data, 4, np.random.default_rng(0), lamp_weight=9.0, lamp_crops=1.0)
    for _ in range(20):
        rgb, _, _, weight = crops.batch(5)
        on = weight[:, 0] == 10.0
        assert bool(on.flatten(1).sum(1).eq(1).all())  # every crop holds the lamp, weighted 1 + 9
        assert bool((rgb[:, 0][on] * 255).round().eq(13 * 16 + 2).all())  # at the lamp's own pixel (flips too)
        assert bool((weight[~on.unsqueeze(1)] == 1).all())
    plain = Crops(data, 4, np.random.default_rng(0), lamp_weight=9.0)  # weighted, crops anywhere
    held = sum(int((plain.batch(8)[3] > 1).any(dim=(1, 2, 3)).sum()) for _ in range(20))
    assert 0 < held < 160
    with pytest.raises(ConfigError, match="semantic"):
        Crops({k: v for k, v in data.items() if k != "semantic"}, 4, np.random.default_rng(0), lamp_weight=1.0)
    with pytest.raises(ConfigError, match="lamp_crops"):
        Crops(data, 4, np.random.default_rng(0), lamp_crops=1.5)


def test_weighted_losses_are_the_plain_ones_under_unit_weight():
    from distill.train_teacher import losses
    from fusion.teacher.denoiser import TeacherConfig, TeacherNet

    torch.manual_seed(0)
    net = TeacherNet(TeacherConfig(widths=(8, 16), reg_widths=(8, 16), head=4))
    rgb, th, clean = torch.rand(2, 3, 16, 16), torch.rand(2, 1, 16, 16), torch.rand(2, 3, 16, 16)
    plain = losses(net, rgb, th, clean, torch.Generator().manual_seed(1))
    ones = losses(net, rgb, th, clean, torch.Generator().manual_seed(1), torch.ones(2, 1, 16, 16))
    heavy = losses(net, rgb, th, clean, torch.Generator().manual_seed(1), torch.full((2, 1, 16, 16), 3.0))
    for a, b, c in zip(plain, ones, heavy):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(c, 3 * a)


def test_training_resumes_to_the_same_weights(data, tmp_path, monkeypatch):
    whole = train(_cfg(data), tmp_path / "whole", progress=False)
    import distill.train_teacher as tt

    calls = {"n": 0}
    real = tt.Crops.batch

    def stop_after_four(self, b):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(self, b)

    monkeypatch.setattr(tt.Crops, "batch", stop_after_four)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(data), tmp_path / "split", progress=False)
    monkeypatch.setattr(tt.Crops, "batch", real)
    resumed = train(_cfg(data, threads=1, val_every=2), tmp_path / "split", progress=False)  # val/threads may change
    a = torch.load(tmp_path / "whole" / "teacher.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "teacher.pt", weights_only=True)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    assert resumed == whole
    log = (tmp_path / "split" / "train_log.csv").read_text().splitlines()
    assert [int(r.split(",")[0]) for r in log[1:]] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ConfigError, match="another configuration"):
        train(_cfg(data, lr=1e-3), tmp_path / "split", progress=False)


def test_validation_reports_the_lamps_chroma(tmp_path):
    from harness.semantics import Sem

    _shard(tmp_path / "d" / "train" / "a.npz", 6, 0)
    _shard(tmp_path / "d" / "val" / "b.npz", 4, 1)
    with np.load(tmp_path / "d" / "val" / "b.npz") as z:
        arrays = dict(z)
    arrays["semantic"][1:3, 10:12, 20:22] = Sem.TRAFFIC_LIGHT
    arrays["clean"][1:3, 10:12, 20:22] = (230, 20, 10)  # lit red in the target
    arrays["semantic"][3, 0:2, 0:2] = Sem.TRAFFIC_LIGHT  # a housing: grey, not a lit lamp
    arrays["clean"][3, 0:2, 0:2] = 90
    np.savez(tmp_path / "d" / "val" / "b.npz", **arrays)
    figs = train(_cfg(tmp_path / "d", steps=2, lamp_weight=5.0, lamp_crops=0.5), tmp_path / "out", progress=False)
    assert figs["val_lamp_chroma_clean"] == pytest.approx(220 / 255, abs=1e-3)
    assert 0 <= figs["val_lamp_chroma"] <= 1 and 0 <= figs["val_lamp_chroma_rgb"] <= 1
    no_lamps = train(_cfg(tmp_path / "d", steps=2), tmp_path / "out2", progress=False)
    assert "val_lamp_chroma" in no_lamps  # the validation frames have lamps whatever the training weights


def test_training_learns_and_its_weights_load(data, tmp_path):
    from fusion.teacher.sampler import Teacher

    figs_short = train(_cfg(data, steps=2, ema=0.0), tmp_path / "short", progress=False)
    figs = train(_cfg(data, steps=60, lr=2e-2, ema=0.0, val_every=100), tmp_path / "long", progress=False)
    assert figs["val_mu_l1"] < 0.7 * figs_short["val_mu_l1"], (figs, figs_short)
    manifest = json.loads((tmp_path / "long" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["validation"] == figs and manifest["train_frames"] == 12
    assert manifest["config"]["steps"] == 60 and len(manifest["sha256"]) == 64
    assert sorted(p.name for p in (tmp_path / "long").glob("val_*.png")) == ["val_000060.png"]
    teacher = Teacher.load(tmp_path / "long" / "teacher.pt")
    stats = teacher.sample(torch.rand(1, 3, 32, 48), torch.rand(1, 1, 32, 48), k=2, steps=2,
                           generator=torch.Generator().manual_seed(0))
    assert stats.mean.shape == (1, 3, 32, 48)


def test_init_starts_from_given_weights(data, tmp_path):
    train(_cfg(data, steps=3), tmp_path / "first", progress=False)
    first = tmp_path / "first" / "teacher.pt"
    train(_cfg(data, steps=1, lr=1e-12, warmup=1, ema=0.0, init=str(first)), tmp_path / "more", progress=False)
    a = torch.load(first, weights_only=True)["model"]
    b = torch.load(tmp_path / "more" / "teacher.pt", weights_only=True)["model"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-3, rtol=0)  # fp16 on disk; a step of lr 1e-12
    manifest = json.loads((tmp_path / "more" / "manifest.json").read_text())
    assert manifest["config"]["init"] == str(first) and len(manifest["init_sha256"]) == 64
    with pytest.raises(ConfigError, match="another architecture"):
        train(_cfg(data, steps=1, widths=(8, 24), init=str(first)), tmp_path / "other", progress=False)


def test_the_light_term_reads_the_frozen_policy_on_mu_and_trains(tmp_path):
    """--w-light: 0 when mu is the clean target, above 0 otherwise; logged beside the other terms and
    reported on the lamp validation frames; the policy's weights untouched by training."""
    from distill.train_teacher import losses
    from distill.training import frozen_policy
    from fusion.teacher.denoiser import TeacherConfig, TeacherNet
    from harness.semantics import Sem

    policy = frozen_policy()
    torch.manual_seed(0)
    net = TeacherNet(TeacherConfig(widths=(8, 16), reg_widths=(8, 16), head=4))
    rgb, th, clean = torch.rand(2, 3, 32, 32), torch.rand(2, 1, 32, 32), torch.rand(2, 3, 32, 32)
    assert float(losses(net, rgb, th, clean, torch.Generator().manual_seed(1))[2]) == 0.0  # off without a policy
    assert float(losses(net, rgb, th, clean, torch.Generator().manual_seed(1), policy=policy)[2].detach()) > 0
    net.estimate = lambda r, t: clean  # noqa: E731  (mu is the target)
    assert float(losses(net, rgb, th, clean, torch.Generator().manual_seed(1), policy=policy)[2]) == pytest.approx(0, abs=1e-6)

    _shard(tmp_path / "d" / "train" / "a.npz", 6, 0)
    _shard(tmp_path / "d" / "val" / "b.npz", 4, 1)
    with np.load(tmp_path / "d" / "val" / "b.npz") as z:
        arrays = dict(z)
    arrays["semantic"][1:3, 10:12, 20:22] = Sem.TRAFFIC_LIGHT
    arrays["clean"][1:3, 10:12, 20:22] = (230, 20, 10)
    np.savez(tmp_path / "d" / "val" / "b.npz", **arrays)
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    figs = train(_cfg(tmp_path / "d", steps=3, w_light=1.0), tmp_path / "light", progress=False)
    log = np.genfromtxt(tmp_path / "light" / "train_log.csv", delimiter=",", names=True)
    assert (log["loss_light"] > 0).all() and figs["val_lamp_light"] >= 0
    assert "val_lamp_light" not in train(_cfg(tmp_path / "d", steps=1), tmp_path / "plain", progress=False)
    assert all(torch.equal(v, frozen_policy().state_dict()[k]) for k, v in before.items())
    with pytest.raises(ConfigError, match="w_light"):
        train(_cfg(tmp_path / "d", w_light=-1.0), tmp_path / "bad", progress=False)
