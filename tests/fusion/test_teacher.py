"""The diffusion teacher's pieces: schedule, networks, sampler (untrained nets: shapes, determinism,
padding), and the trained weights where they are committed (the variance test)."""

from __future__ import annotations

import pytest
import torch

from fusion.teacher.denoiser import TeacherConfig, TeacherNet
from fusion.teacher.sampler import Teacher
from fusion.teacher.schedule import alpha_bar, ddim_step, ddim_times, noise, predict_x0_eps

SMALL = TeacherConfig(widths=(8, 16), reg_widths=(8, 16), head=4, temb=16)


def test_cosine_schedule_runs_from_data_to_noise():
    t = torch.linspace(0, 1, 101)
    ab = alpha_bar(t)
    assert float(ab[0]) == pytest.approx(1.0)
    assert float(ab[-1]) < 1e-6
    assert bool((ab[1:] <= ab[:-1]).all())


def test_v_parameterisation_inverts():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 3, 8, 8, generator=g)
    eps = torch.randn(4, 3, 8, 8, generator=g)
    t = torch.tensor([0.0, 0.3, 0.7, 0.999])
    x_t, v = noise(x0, t, eps)
    x0_hat, eps_hat = predict_x0_eps(x_t, t, v)
    torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(eps_hat[1:], eps[1:], atol=1e-4, rtol=1e-4)  # at t=0 eps is not observable


def test_ddim_with_a_perfect_prediction_lands_on_x0():
    """eta=0 and the true x0 and eps: each step stays on the noising path, the last returns x0."""
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(2, 3, 4, 4, generator=g)
    eps = torch.randn(2, 3, 4, 4, generator=g)
    times = ddim_times(5)
    assert times[0] == pytest.approx(0.999) and times[-1] == 0.0 and len(times) == 6
    x, _ = noise(x0, torch.full((2,), times[0]), eps)
    for t, t_next in zip(times[:-1], times[1:]):
        x = ddim_step(x, x0, eps, t, t_next, 0.0, g)
        if t_next > 0:
            expect, _ = noise(x0, torch.full((2,), t_next), eps)
            torch.testing.assert_close(x, expect, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(x, x0)
    with pytest.raises(ValueError):
        ddim_times(0)


def test_networks_are_fully_convolutional():
    torch.manual_seed(0)
    net = TeacherNet(SMALL).eval()
    for h, w in ((32, 64), (48, 80)):
        rgb, th = torch.rand(2, 3, h, w), torch.rand(2, 1, h, w)
        mu = net.estimate(rgb, th)
        assert mu.shape == (2, 3, h, w)
        v = net.velocity(torch.randn(2, 3, h, w), torch.rand(2), net.condition(rgb, th, mu))
        assert v.shape == (2, 3, h, w)


def test_the_timestep_changes_the_prediction():
    torch.manual_seed(0)
    net = TeacherNet(SMALL).eval()
    for p in net.denoiser.parameters():  # FiLM starts near identity; make the time visible
        torch.nn.init.normal_(p, std=0.2) if p.ndim > 1 else None
    rgb, th = torch.rand(1, 3, 32, 32), torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        cond = net.condition(rgb, th, net.estimate(rgb, th))
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        a, b = net.velocity(x, torch.tensor([0.1]), cond), net.velocity(x, torch.tensor([0.9]), cond)
    assert float((a - b).abs().mean()) > 1e-3


def test_sampling_is_batched_deterministic_and_any_size():
    torch.manual_seed(0)
    teacher = Teacher(TeacherNet(SMALL))
    rgb, th = torch.rand(2, 3, 30, 50), torch.rand(2, 1, 30, 50)  # not multiples of 8: padded and cropped back
    a = teacher.sample(rgb, th, k=3, steps=2, generator=torch.Generator().manual_seed(5))
    b = teacher.sample(rgb, th, k=3, steps=2, generator=torch.Generator().manual_seed(5))
    c = teacher.sample(rgb, th, k=3, steps=2, generator=torch.Generator().manual_seed(6))
    assert a.samples.shape == (3, 2, 3, 30, 50) and a.mean.shape == (2, 3, 30, 50) and a.pixel_var.shape == (2, 1, 30, 50)
    torch.testing.assert_close(a.mean, b.mean)
    assert not torch.equal(a.mean, c.mean)
    torch.testing.assert_close(a.mean, a.samples.mean(0))
    torch.testing.assert_close(a.pixel_var, a.samples.var(0, unbiased=False).mean(1, keepdim=True))
    assert float(a.samples.min()) >= 0 and float(a.samples.max()) <= 1
    assert float(a.pixel_var.mean()) > 0  # the samples differ
    # frames are independent: frame 1 alone (same noise stream shape aside) is a valid call too
    one = teacher.sample(rgb[:1], th[:1], k=1, steps=1, generator=torch.Generator().manual_seed(0))
    assert one.pixel_var.abs().max() == 0  # one sample has no spread


def test_bad_k_or_steps_is_one_line():
    from harness.errors import ConfigError

    teacher = Teacher(TeacherNet(SMALL))
    with pytest.raises(ConfigError, match="k and steps"):
        teacher.sample(torch.rand(1, 3, 16, 16), torch.rand(1, 1, 16, 16), k=0)


def test_missing_weights_say_how_to_train(tmp_path):
    from fusion.teacher.sampler import load_net
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="train-teacher"):
        load_net(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(ConfigError, match="not a teacher checkpoint"):
        load_net(bad)
