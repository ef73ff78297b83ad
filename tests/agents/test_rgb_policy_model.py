"""The perception network's light branch: what a cell of the light map can see."""

from __future__ import annotations

import pytest
import torch

from agents.rgb_policy.model import LIGHT_CELL_PX, NetConfig, PerceptionNet


def _net(local: bool) -> PerceptionNet:
    torch.manual_seed(0)
    net = PerceptionNet(NetConfig(light_local=local)).eval()
    for m in net.modules():  # non-trivial batch-norm statistics, so nothing cancels by accident
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return net


@pytest.mark.parametrize("local", [True, False])
def test_light_cell_sees_only_its_surroundings_when_local(local):
    """A light cell of the local branch does not change when pixels more than 40 px away do (so it
    cannot read where the car stands from the scene, only the lamp and its head); the wide branch's does."""
    net = _net(local)
    x = torch.rand(1, 3, 160, 320, generator=torch.Generator().manual_seed(1))
    y = x.clone()
    y[:, :, :, 200:] = torch.rand(1, 3, 160, 120, generator=torch.Generator().manual_seed(2))  # right part replaced
    with torch.no_grad():
        a, b = net(x)[1], net(y)[1]
    col = 160 // LIGHT_CELL_PX - 1  # cell over pixels 152-159: 40 px left of the change
    same = torch.allclose(a[..., :col + 1], b[..., :col + 1], atol=1e-5)
    assert same == local


def test_local_light_branch_is_shift_equivariant():
    """Shift the image by one cell and the light map shifts by one cell (away from the borders): a
    lamp off the image's centre column is read as it is read at the centre."""
    net = _net(True)
    x = torch.rand(1, 3, 160, 320, generator=torch.Generator().manual_seed(3))
    shifted = torch.roll(x, LIGHT_CELL_PX, dims=3)
    with torch.no_grad():
        a, b = net(x)[1], net(shifted)[1]
    assert torch.allclose(a[..., 5:-6], b[..., 6:-5], atol=1e-5)


def test_light_logits_read_the_whole_image_as_forward_reads_the_top():
    """``light_logits`` (what the student's light term reads on crops) is the forward pass's light
    branch: on the top 5/8 of a frame it gives the forward pass's light map, value for value."""
    from agents.rgb_policy.model import light_rows

    net = _net(False)
    x = torch.rand(2, 3, 160, 320, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(net.light_logits(x[:, :, :light_rows(160)]), net(x)[1])
        assert net.light_logits(torch.rand(1, 3, 96, 192)).shape == (1, 3, 96 // LIGHT_CELL_PX, 192 // LIGHT_CELL_PX)


def test_seg_logits_are_the_forward_pass_obstacle_map():
    """``seg_logits`` (what the student's obstacle term reads on crops) is ``forward``'s first output,
    value for value, on a frame and on a crop."""
    net = _net(False)
    x = torch.rand(2, 3, 160, 320, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.equal(net.seg_logits(x), net(x)[0])
        assert net.seg_logits(torch.rand(1, 3, 96, 192)).shape == (1, 3, 48, 96)
