"""fusion.metrics on real RoadScene pairs, against numbers from the reference evaluators.

The pairs are read in place from ../shared/data/roadscene (never copied into the repository); the
tests skip, saying so, when that folder is absent.

How REFERENCE was produced (throwaway folder outside the repository, nothing of it kept here):

* EN SD SF AG MI SCD VIF Qabf SSIM PSNR CC: MMIF-CDDFuse ``utils/Evaluator.py`` at commit
  fd8da1f39d8d403b7343e577bd5a30cba38c7b7b, unmodified, under Python 3.8.18 with the versions its
  requirements.txt pins (numpy 1.21.5, scikit-image 0.19.2, scikit-learn 1.1.3, scipy 1.7.3,
  opencv 4.5.3.56 headless). Images read with its ``image_read_cv2(path, 'GRAY')`` (float32);
  ``Evaluator.EN(F)``, ``Evaluator.MI(F, A, B)``, ... as its test_IVF.py calls them.
* Nabf: ``Evaluation/analysis_nabf.m`` (+ sobel_fn.m, per_extn_im_fn.m) of
  Linfeng-Tang/Evaluation-for-Image-Fusion at 0e87153be77320e31ef2cabb5820518d2ac56bac under GNU
  Octave 7.3.0, as ``analysis_nabf(F, A, B)`` (its documented argument order) on float64 copies.
* MS_SSIM: ``ms_ssim(A, F) + ms_ssim(B, F)`` of Metric_Python/ssim.py in
  puduliu/Fusion_metric_python at 8a85d43a81e2787c2c6a95f5bf1c780d2e678bbf (a Python port of Tang's
  toolbox), torch 2.13 CPU, float32 arrays as its evaluation_one passes them.

Fused images: ``mean = round((A+B)/2)``, ``max = max(A, B)``, ``sharp`` = the mean unsharp-masked
with a 3x3 box (edges stronger than both sources, so Nabf has artefacts to count); see _fused.
Tolerances are the references' float32 rounding (we compute in float64): SSIM moves by up to 4e-6
relative, the port's MS_SSIM by up to 2.4e-4 (both agree to 1e-13 once the reference code is run
on float64 input, and for MS_SSIM with a float64 Gaussian window).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from fusion import metrics as M

ROADSCENE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "roadscene"

REL_TOL = {"EN": 1e-12, "MI": 1e-12, "VIF": 1e-9, "Nabf": 1e-8, "SSIM": 2e-5, "MS_SSIM": 5e-4}
FLOAT32_REL_TOL = 2e-6  # SD SF AG SCD Qabf PSNR CC: the reference sums in float32

# (pair, fused) -> {metric: reference value}, produced as the module docstring says
REFERENCE = {(r["pair"], r["fused"]): r["values"]
             for r in json.loads((Path(__file__).parent / "data" / "roadscene_reference.json").read_text())}


def _read(kind: str, name: str) -> np.ndarray:
    """Grey levels as the reference reads them: BT.601 luma of the decoded JPEG, rounded."""
    import cv2

    bgr = cv2.imread(str(ROADSCENE / kind / f"{name}.jpg"))
    if bgr is None:
        pytest.skip(f"RoadScene image {kind}/{name}.jpg not readable under {ROADSCENE}")
    return np.round(M.luminance(bgr[..., ::-1].astype(np.float64)))


def _fused(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    mean = np.round((a + b) / 2.0)
    if kind == "mean":
        return mean
    if kind == "max":
        return np.maximum(a, b)
    # 2 * mean - box3(mean), edge-replicated; the box sum is an integer over 9, so no rounding tie
    p = np.pad(mean, 1, mode="edge")
    box = sum(p[i:i + mean.shape[0], j:j + mean.shape[1]] for i in range(3) for j in range(3))
    return np.clip(np.round(2.0 * mean - box / 9.0), 0.0, 255.0)


@pytest.fixture(scope="module")
def roadscene() -> Path:
    if not (ROADSCENE / "ir").is_dir() or not (ROADSCENE / "vi").is_dir():
        pytest.skip(f"RoadScene sample not found at {ROADSCENE} (ir/ and vi/); these tests read the "
                    f"shared data in place and never copy it into the repository")
    return ROADSCENE


@pytest.fixture(scope="module")
def scores(roadscene) -> dict[tuple[str, str], dict[str, float]]:
    """Every metric, published and corrected, for each reference pair and fused image."""
    out = {}
    for pair in sorted({p for p, _ in REFERENCE}):
        a, b = _read("ir", pair), _read("vi", pair)
        for kind in ("mean", "max", "sharp"):
            out[(pair, kind)] = M.evaluate(a, b, _fused(a, b, kind), metrics=list(M.METRICS))
    return out


@pytest.mark.parametrize("key", sorted(REFERENCE), ids=lambda k: f"{k[0]}-{k[1]}")
def test_matches_the_reference_evaluators(scores, key):
    ours = scores[key]
    for metric, expected in REFERENCE[key].items():
        tol = REL_TOL.get(metric, FLOAT32_REL_TOL)
        assert ours[metric] == pytest.approx(expected, rel=tol, abs=1e-12), metric


def test_values_in_their_ranges(scores):
    for key, s in scores.items():
        assert all(math.isfinite(v) for v in s.values()), key
        assert 0.0 <= s["EN"] <= 8.0
        assert 0.0 <= s["MI"] <= 16.0 * math.log(2.0)
        assert -2.0 <= s["SSIM"] <= 2.0 and -1.0 <= s["SSIM_corrected"] <= 1.0
        assert 0.0 <= s["MS_SSIM"] <= 2.0 and 0.0 <= s["MS_SSIM_corrected"] <= 1.0
        assert 0.0 <= s["Qabf"] <= 0.9754 and 0.0 <= s["Qabf_corrected"] <= 0.9754
        assert 0.0 <= s["Nabf"] < 1.0
        assert -1.0 <= s["CC"] <= 1.0 and -2.0 <= s["SCD"] <= 2.0
        assert s["MI_bits"] == pytest.approx(s["MI"] / math.log(2.0))
        assert s["PSNR_corrected"] >= s["PSNR"]  # max(F) <= 255


def test_what_the_fused_images_should_show(scores):
    for pair in {p for p, _ in scores}:
        mean, mx, sharp = (scores[(pair, k)] for k in ("mean", "max", "sharp"))
        # averaging cannot create an edge stronger than both sources (|grad (A+B)/2| <= max):
        # no artefacts beyond rounding; sharpening creates them
        assert mean["Nabf"] < 1e-5 < sharp["Nabf"]
        # the tiny constants of the published SSIM only lower it on these images
        assert mean["SSIM"] / 2.0 < mean["SSIM_corrected"]
        # the maximum keeps the brighter source's levels: more contrast than the average
        assert mx["SD"] > mean["SD"]
