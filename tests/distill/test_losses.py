"""The dual-signal loss's pieces: the pixel weights follow the image variance, the routing follows the
feature variance across layers, and the temperature behaves at both ends."""

from __future__ import annotations

import pytest
import torch

from distill.losses import (feature_term, layer_distance, layer_routing, normalise_layer_variance, pixel_term,
                            pixel_weights, uniform_routing)


def _var_map(high_left: bool = True) -> torch.Tensor:
    """(1,1,8,8): variance 1.0 on the left half, 0.01 on the right (or the other way)."""
    v = torch.full((1, 1, 8, 8), 0.01)
    v[..., :4] = 1.0
    return v if high_left else v.flip(-1)


def test_pixel_weights_mean_one_and_decreasing():
    v = torch.rand(2, 1, 16, 16) * 0.05
    w = pixel_weights(v)
    torch.testing.assert_close(w.mean(dim=(-2, -1)), torch.ones(2, 1))
    for i in range(2):  # within an image, higher variance never weighs more
        order = v[i].flatten().argsort()
        assert (w[i].flatten()[order].diff() <= 1e-6).all()
    # scale-free: the weights of 100x the variance are the same
    torch.testing.assert_close(pixel_weights(v * 100), w)


def test_pixel_gradient_shrinks_where_variance_is_high():
    s = torch.full((1, 3, 8, 8), 0.5, requires_grad=True)
    t = torch.zeros(1, 3, 8, 8)
    pixel_term(s, t, pixel_weights(_var_map())).backward()
    g = s.grad.abs()[0, 0]
    assert g[:, :4].max() < 0.2 * g[:, 4:].min()  # twice the mean variance: e^-2 of a certain pixel
    s.grad = None
    pixel_term(s, t, None).backward()  # uniform: equal gradients
    assert torch.allclose(s.grad, s.grad.flatten()[0].expand_as(s.grad))


def test_tau_to_zero_picks_the_lowest_variance_layer():
    torch.manual_seed(0)
    vs = [torch.rand(1, 1, 8, 8) + 0.05, torch.rand(1, 1, 4, 4) + 0.05, torch.rand(1, 1, 2, 2) + 0.05]
    alpha = layer_routing(vs, tau=1e-4)
    assert alpha.shape == (1, 3, 8, 8)
    up = torch.cat([torch.nn.functional.interpolate(normalise_layer_variance(v), size=(8, 8), mode="bilinear",
                                                    align_corners=False) for v in vs], 1)
    pick = up.argmin(1)
    torch.testing.assert_close(alpha.argmax(1), pick)
    assert (alpha.max(1).values > 0.99).float().mean() > 0.95  # one-hot nearly everywhere


def test_large_tau_gives_uniform_weights():
    vs = [torch.rand(2, 1, 8, 8), torch.rand(2, 1, 4, 4) * 10, torch.rand(2, 1, 2, 2)]
    alpha = layer_routing(vs, tau=1e6)
    torch.testing.assert_close(alpha, torch.full_like(alpha, 1 / 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(uniform_routing(vs), torch.full_like(alpha, 1 / 3))
    with pytest.raises(ValueError, match="tau"):
        layer_routing(vs, tau=0)


def test_routing_weights_sum_to_one_and_ignore_a_layers_scale():
    vs = [torch.rand(1, 1, 8, 8) + 0.1, torch.rand(1, 1, 4, 4) + 0.1]
    a = layer_routing(vs, tau=1.0)
    torch.testing.assert_close(a.sum(1), torch.ones(1, 8, 8))
    # per-layer normalisation: a layer whose variance is 1000x larger everywhere is routed the same
    torch.testing.assert_close(layer_routing([vs[0] * 1000, vs[1]], tau=1.0), a)


def test_feature_gradient_shrinks_where_a_layer_is_uncertain():
    """Two layers of one resolution; where layer 0 is uncertain (left half), its distance pulls less."""
    fs = [torch.ones(1, 4, 8, 8, requires_grad=True), torch.ones(1, 4, 8, 8, requires_grad=True)]
    ft = [torch.zeros(1, 4, 8, 8) + 2, torch.zeros(1, 4, 8, 8) + 2]
    alpha = layer_routing([_var_map(high_left=True), _var_map(high_left=False)], tau=0.5)
    feature_term(fs, ft, alpha).backward()
    g0, g1 = fs[0].grad.abs()[0, 0], fs[1].grad.abs()[0, 0]
    assert g0[:, :4].max() < 0.2 * g0[:, 4:].min()
    assert g1[:, 4:].max() < 0.2 * g1[:, :4].min()


def test_uniform_feature_term_is_the_mean_of_the_layer_losses():
    torch.manual_seed(1)
    fs = [torch.rand(2, 3, 8, 8), torch.rand(2, 5, 4, 4)]
    ft = [torch.rand(2, 3, 8, 8), torch.rand(2, 5, 4, 4)]
    got = feature_term(fs, ft, uniform_routing(ft))
    want = sum(layer_distance(a, b).mean() for a, b in zip(fs, ft)) / 2
    torch.testing.assert_close(got, want)
    assert float(feature_term(ft, ft, uniform_routing(ft))) == 0.0
    with pytest.raises(ValueError, match="layers"):
        feature_term(fs[:1], ft, uniform_routing(ft))


def test_light_term_matches_the_policys_reading_and_weighs_signal_cells_more():
    from distill.losses import light_term

    t = torch.zeros(1, 3, 2, 4)
    t[:, 0] = 4.0  # every cell: "none", confidently
    t[0, :, 1, 2] = torch.tensor([-4.0, 4.0, -4.0])  # one cell: a stop lamp
    assert float(light_term(t, t)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="shape"):
        light_term(t[..., :3], t)
    # the same wrong answer costs more at the signal cell than at a "none" cell
    def cost(y: int, x: int) -> float:
        s = t.clone()
        s[0, [0, 1], y, x] = t[0, [1, 0], y, x]  # none and stop swapped
        return float(light_term(s, t, signal_weight=10.0))

    assert cost(1, 2) > 5 * cost(0, 0) > 0
    s = t.clone().requires_grad_(True)
    light_term(s + torch.randn_like(t), t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_the_phantom_guard_weighs_a_shown_object_at_least_as_much_as_a_missed_one():
    from distill.losses import light_term

    t = torch.zeros(1, 3, 4, 4)
    t[:, 0] = 4.0  # every cell background, confidently
    t[0, :, 1, 2] = torch.tensor([-4.0, -4.0, 4.0])  # one pedestrian cell
    miss, phantom = t.clone(), t.clone()
    miss[0, :, 1, 2] = t[0, :, 0, 0]  # the student's image loses the pedestrian
    phantom[0, :, 3, 0] = t[0, :, 1, 2]  # ... or shows one where there is none
    plain = [float(light_term(s, t)) for s in (miss, phantom)]
    guarded = [float(light_term(s, t, guard=True)) for s in (miss, phantom)]
    assert plain[1] < plain[0] / 3  # unguarded, a phantom costs a fraction of a miss
    assert guarded[0] == pytest.approx(plain[0])  # a miss costs what it did
    assert guarded[1] >= guarded[0]  # guarded, a phantom costs at least as much as a miss
    assert float(light_term(t, t, guard=True)) == pytest.approx(0.0, abs=1e-6)
    s = phantom.clone().requires_grad_(True)
    light_term(s, t, guard=True).backward()
    assert s.grad[0, :, 3, 0].abs().sum() > 0


def test_the_obstacle_term_reads_the_policys_obstacle_branch():
    """policy_seg_term: 0 when the image is the target, positive for another image, and gradients reach
    the image through the frozen policy (the cell weighting is light_term's, tested above)."""
    from agents.rgb_policy.model import NetConfig, PerceptionNet
    from distill.losses import policy_seg_term

    torch.manual_seed(0)
    policy = PerceptionNet(NetConfig()).eval()
    for p in policy.parameters():
        p.requires_grad_(False)
    target = torch.rand(1, 3, 64, 128)
    assert float(policy_seg_term(policy, target, target)) == pytest.approx(0.0, abs=1e-6)
    image = (target + 0.2 * torch.randn_like(target)).clamp(0, 1).requires_grad_(True)
    loss = policy_seg_term(policy, image, target)
    assert float(loss) > 0
    loss.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
