"""The committed teacher weights: the variance means something on held-out frames.

Slow: drives the expert over a few held-out night-fog routes (the perception probe's frames) and
samples the committed teacher on them."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.teacher.sampler import WEIGHTS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not WEIGHTS.is_file(), reason=f"no teacher weights at {WEIGHTS}; make train-teacher")]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from fusion.teacher.analysis import ensemble_report

    return ensemble_report("night_fog_town05", frames=20, every=20, cache=tmp_path_factory.mktemp("probe"),
                           progress=False)


@pytest.mark.xfail(strict=True, reason="not yet: the committed teacher's sample spread is still mostly the denoiser's "
                   "own residual noise, as large on people and cars as behind the fog (issue 22's note has the figures)")
def test_pixel_variance_is_larger_where_fog_hides_a_flat_scene_than_on_salient_objects(report):
    """Where the RGB camera sees nothing and the thermal image is flat, the inputs leave the clean
    image open and the samples disagree; people and vehicles that stand out in thermal are pinned
    down by it (their shape and place)."""
    assert report["pixels_hidden_flat"] > 1000 and report["pixels_salient"] > 200, report
    assert report["var_hidden_flat"] > report["var_salient"], report
    assert np.isfinite(report["ratio"]) and report["ratio"] > 1.0


def test_the_ensemble_is_what_the_sampler_returns(report):
    assert report["k"] == 8 and report["steps"] == 4 and report["n_frames"] == 20
    assert report["seconds_per_frame"] > 0
