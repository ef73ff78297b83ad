"""Structural metrics: SSIM and MS-SSIM, each summed over the two sources as published tables do,
with corrected variants beside them.

All take grey images ``(H, W)`` in ``[0, 255]``; ``ir`` and ``vis`` are the sources A and B, ``fused``
is F. SSIM is symmetric in its two images, so ``SSIM(A, F) == SSIM(F, A)``.

Quirks of the published conventions, kept on purpose so our numbers match the tables:

* **SSIM** follows MMIF-CDDFuse ``utils/Evaluator.py``: ``ssim(F, A) + ssim(F, B)`` with
  scikit-image's ``structural_similarity`` on float images and no ``data_range``. Before
  scikit-image 0.20 made ``data_range`` mandatory for floats, it was taken from the dtype, which
  for floats is ``[-1, 1]``: a **data range of 2** on images that span 0..255. The stabilising
  constants ``C1 = (0.01 * 2)^2 = 4e-4`` and ``C2 = (0.03 * 2)^2 = 3.6e-3`` are then about 16,000
  times smaller than with the correct range 255, so flat regions, where both variances are near
  zero, no longer score close to 1 but anything between -1 and 1, and the mean drops. The rest is
  scikit-image's legacy default: a 7x7 uniform window, sample covariance (N-1 = 48), K1 0.01,
  K2 0.03, the mean over the image without a 3-pixel border. Summing over the two sources puts
  the range at [-2, 2], with 2 only for ``F = A = B``, yet published values sit near 1: the
  CDDFuse paper's table spans 0.24 to 1.03 (0.86 to 0.99 on RoadScene). Two things keep them there.
  The sources differ, so F cannot be close to both; and the tiny constants pull the mean down.
  On the 50 RoadScene pairs here, ``F = round((A+B)/2)`` scores 0.62 against the infrared and 0.33
  against the visible source, 0.95 summed (0.69 to 1.15); the same window with data range 255
  gives 0.76 + 0.72 = 1.48. The visible term suffers most: where its windows are flat, both
  variances are near zero and SSIM becomes the ratio of two tiny numbers. Running the reference
  today needs scikit-image < 0.20 (0.20 raises for float input without ``data_range``).
  :func:`ssim_corrected` is Wang et al. (2004) as written: Gaussian window sigma 1.5 (11 taps),
  population covariance, data range 255, **averaged** over the sources, so it lies in [-1, 1]
  with 1 for ``F = A = B`` (0.76 for the same fused images).
  The reference computes in float32 (scikit-image keeps the input's float32); we compute in
  float64, which moves its values by at most 4e-6 relative on RoadScene.
* **MS-SSIM** is not in the CDDFuse evaluator. We follow the Python ports of Linfeng Tang's
  Evaluation-for-Image-Fusion toolbox (``Metric.py``: ``ms_ssim(A, F) + ms_ssim(B, F)``, the
  pytorch_msssim algorithm): Wang et al.'s five-scale MS-SSIM with weights 0.0448, 0.2856, 0.3001,
  0.2363, 0.1333, an 11-tap Gaussian (sigma 1.5) applied 'valid' (no padding), 2x2 average
  pooling between scales with a zero row/column prepended where a side is odd (counted in the
  average), negative contrast-structure terms clipped to 0. The port scales its float input by
  255 a second time (``to_tensor`` leaves float arrays unscaled) and then uses data range 255, so
  the **effective data range is 1** on 0..255 images, again making the constants negligible.
  Summed over the sources: in [0, 2], 2 for ``F = A = B``. Images need at least 161 pixels on each
  side (the port asserts it; smaller images lose the Gaussian at the coarsest scale). The MATLAB
  toolbox's ``MS_SSIM`` column is a different metric (Ma et al.'s multi-exposure MEF-SSIM over the
  source stack), not reproduced here. :func:`ms_ssim_corrected` uses data range 255 and averages.
  The port computes in float32 with a float32 Gaussian window; with the effective range of 1 that
  rounding shows, and our float64 values differ from it by up to 2.4e-4 relative on RoadScene
  (by 4e-14 once the port is run in float64).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter, uniform_filter

from fusion.metrics._inputs import as_grey_triple, filter_valid

_K1, _K2 = 0.01, 0.03
# scikit-image's float default before 0.20: dtype_range[float] = (-1, 1)
_LEGACY_DATA_RANGE = 2.0
_LEGACY_WIN = 7
# Wang et al. 2004: Gaussian sigma 1.5, truncated at 3.5 sigma as scikit-image does (11 taps)
_GAUSS_SIGMA, _GAUSS_TRUNCATE = 1.5, 3.5
_GAUSS_RADIUS = int(_GAUSS_TRUNCATE * _GAUSS_SIGMA + 0.5)

_MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_MS_WIN = 11
# the port's effective range (see the module docstring) and the honest one
_MS_PUBLISHED_RANGE = 1.0
_FULL_RANGE = 255.0
# (11 - 1) * 2**4 + 1: every one of the five scales keeps a full 11-tap window
MS_SSIM_MIN_SIDE = (_MS_WIN - 1) * 2 ** (len(_MS_WEIGHTS) - 1) + 1


def ssim(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published SSIM: ``ssim(F, A) + ssim(F, B)`` with the legacy scikit-image float path (data
    range 2, 7x7 uniform window, sample covariance).

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape, at least 7x7.

    Returns:
        In ``[-2, 2]``; 2 for ``F = A = B``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused, min_side=_LEGACY_WIN, metric="SSIM")
    return _ssim_legacy(f, a) + _ssim_legacy(f, b)


def ssim_corrected(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """SSIM of Wang et al. (2004) with data range 255, averaged over the sources.

    Gaussian window sigma 1.5 (11 taps), population covariance, K1 0.01, K2 0.03, mean without a
    5-pixel border; equal to scikit-image's ``structural_similarity(F, A, data_range=255,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape, at least 11x11.

    Returns:
        ``(ssim(F, A) + ssim(F, B)) / 2`` in ``[-1, 1]``; 1 for ``F = A = B``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused, min_side=2 * _GAUSS_RADIUS + 1, metric="SSIM_corrected")
    return (_ssim_gaussian(f, a) + _ssim_gaussian(f, b)) / 2.0


def ms_ssim(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published MS-SSIM: ``ms_ssim(A, F) + ms_ssim(B, F)``, five scales, effective data range 1.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape, each side at least
            :data:`MS_SSIM_MIN_SIDE` (161) pixels.

    Returns:
        In ``[0, 2]``; 2 for ``F = A = B``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused, min_side=MS_SSIM_MIN_SIDE, metric="MS_SSIM")
    return _ms_ssim(a, f, _MS_PUBLISHED_RANGE) + _ms_ssim(b, f, _MS_PUBLISHED_RANGE)


def ms_ssim_corrected(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """MS-SSIM as :func:`ms_ssim` but with data range 255 and averaged over the sources.

    Returns:
        In ``[0, 1]``; 1 for ``F = A = B``. Args and Raises as :func:`ms_ssim`.
    """
    a, b, f = as_grey_triple(ir, vis, fused, min_side=MS_SSIM_MIN_SIDE, metric="MS_SSIM_corrected")
    return (_ms_ssim(a, f, _FULL_RANGE) + _ms_ssim(b, f, _FULL_RANGE)) / 2.0


def _ssim_map(ux: np.ndarray, uy: np.ndarray, vx: np.ndarray, vy: np.ndarray, vxy: np.ndarray,
              data_range: float) -> np.ndarray:
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def _ssim_legacy(x: np.ndarray, y: np.ndarray) -> float:
    def filt(img: np.ndarray) -> np.ndarray:
        return uniform_filter(img, size=_LEGACY_WIN)

    n = _LEGACY_WIN ** 2
    cov_norm = n / (n - 1.0)  # scikit-image's use_sample_covariance=True default
    ux, uy = filt(x), filt(y)
    vx = cov_norm * (filt(x * x) - ux * ux)
    vy = cov_norm * (filt(y * y) - uy * uy)
    vxy = cov_norm * (filt(x * y) - ux * uy)
    s = _ssim_map(ux, uy, vx, vy, vxy, _LEGACY_DATA_RANGE)
    pad = (_LEGACY_WIN - 1) // 2  # windows that reach the padded border are left out
    return float(s[pad:-pad, pad:-pad].mean())


def _ssim_gaussian(x: np.ndarray, y: np.ndarray) -> float:
    def filt(img: np.ndarray) -> np.ndarray:
        return gaussian_filter(img, _GAUSS_SIGMA, truncate=_GAUSS_TRUNCATE, mode="reflect")

    ux, uy = filt(x), filt(y)
    vx = filt(x * x) - ux * ux
    vy = filt(y * y) - uy * uy
    vxy = filt(x * y) - ux * uy
    s = _ssim_map(ux, uy, vx, vy, vxy, _FULL_RANGE)
    pad = _GAUSS_RADIUS
    return float(s[pad:-pad, pad:-pad].mean())


def _gauss_window() -> np.ndarray:
    # pytorch_msssim's _fspecial_gauss_1d: coordinates -5..5, sigma 1.5, normalised
    x = np.arange(_MS_WIN, dtype=np.float64) - _MS_WIN // 2
    g = np.exp(-(x * x) / (2.0 * _GAUSS_SIGMA ** 2))
    return g / g.sum()


def _avg_pool(img: np.ndarray) -> np.ndarray:
    """``avg_pool2d(kernel 2, padding = side % 2)``: an odd side gets a zero line in front, which
    counts in the average (count_include_pad); the padding behind it is never reached."""
    h, w = img.shape
    img = np.pad(img, ((h % 2, 0), (w % 2, 0)))
    h, w = img.shape
    return img.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _ms_ssim(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    g = _gauss_window()
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    terms = []
    for level in range(len(_MS_WEIGHTS)):
        ux, uy = filter_valid(x, g), filter_valid(y, g)
        vx = filter_valid(x * x, g) - ux * ux
        vy = filter_valid(y * y, g) - uy * uy
        vxy = filter_valid(x * y, g) - ux * uy
        cs_map = (2 * vxy + c2) / (vx + vy + c2)
        if level < len(_MS_WEIGHTS) - 1:
            terms.append(max(float(cs_map.mean()), 0.0))
            x, y = _avg_pool(x), _avg_pool(y)
        else:
            lum = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1)
            terms.append(max(float((lum * cs_map).mean()), 0.0))
    return float(np.prod(np.power(terms, _MS_WEIGHTS)))
