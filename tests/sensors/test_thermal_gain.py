"""Tests of the thermal camera's automatic gain control (harness.sensors.thermal.gain), on counts directly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.rig import ThermalSpec
from harness.sensors.thermal import COUNTS_MAX, LinearWindow, PlateauEqualisation
from harness.sensors.thermal.gain import gain_control

H, W = 160, 320


def ramp(lo: int = 4000, hi: int = 9000) -> np.ndarray:
    """uint16 counts rising left to right from ``lo`` to ``hi``."""
    return np.tile(np.linspace(lo, hi, W).astype(np.uint16), (H, 1))


def two_surfaces() -> np.ndarray:
    """A cold sky (top quarter), and below it two large surfaces 2 K (about 200 counts) apart."""
    counts = np.full((H, W), 8000, np.uint16)
    counts[: H // 4] = 5000
    counts[H // 4 :, W // 2 :] = 8200
    return counts


@pytest.mark.parametrize("agc", [PlateauEqualisation(5.0, 0.8), LinearWindow(1.0, 99.5, 0.8, 100.0)])
def test_maps_the_scene_onto_0_to_255_monotonically(agc):
    counts = ramp()
    image = agc(counts)
    assert image.dtype == np.uint8 and image.shape == (H, W)
    assert image.min() == 0 and image.max() == 255
    assert (np.diff(image[0].astype(int)) >= 0).all()


def test_plateau_keeps_close_surfaces_apart_that_a_linear_window_squeezes():
    counts = two_surfaces()
    plateau = PlateauEqualisation(5.0, 0.0)(counts).astype(int)
    linear = LinearWindow(1.0, 99.5, 0.0, 100.0)(counts).astype(int)
    gap = {name: image[-1, -1] - image[-1, 0] for name, image in (("plateau", plateau), ("linear", linear))}
    assert gap["plateau"] > 2 * gap["linear"], gap
    assert plateau[0, 0] == linear[0, 0] == 0  # the sky stays the coldest


def test_linear_window_never_spans_less_than_its_minimum():
    counts = np.full((H, W), 8000, np.uint16)
    counts[::2] = 8004  # a 4-count (0.04 K) scene
    image = LinearWindow(1.0, 99.5, 0.0, min_span=100.0)(counts)
    assert 100 < image.mean() < 155  # mid grey, not stretched to black and white
    assert int(image.max()) - int(image.min()) < 20


@pytest.mark.parametrize("make", [lambda: PlateauEqualisation(5.0, 0.8), lambda: LinearWindow(1.0, 99.5, 0.8, 100.0)])
def test_mapping_is_smoothed_over_frames_and_reset_forgets_it(make):
    seasoned, fresh = make(), make()
    seasoned(ramp(6000, 12000))  # overlaps the next scene, so the blend shows
    after = seasoned(ramp())
    first = fresh(ramp())
    assert not np.array_equal(after, first)
    seasoned.reset()
    np.testing.assert_array_equal(seasoned(ramp()), first)


def test_the_spec_chooses_the_mode_with_plateau_by_default():
    assert isinstance(gain_control(ThermalSpec(), 100.0), PlateauEqualisation)
    linear = gain_control(replace(ThermalSpec(), agc_mode="linear"), 100.0)
    assert isinstance(linear, LinearWindow)
    assert linear.min_span == pytest.approx(100.0)  # MIN_AGC_SPAN_K of 1 K at 100 counts/K


def test_saturated_counts_stay_in_range():
    counts = ramp()
    counts[:, -10:] = COUNTS_MAX
    for agc in (PlateauEqualisation(5.0, 0.0), LinearWindow(1.0, 99.5, 0.0, 100.0)):
        image = agc(counts)
        assert image[:, -1].min() == 255
