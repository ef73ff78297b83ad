"""Pixel-statistics metrics: standard deviation (SD), correlation (CC), the sum of the correlations
of differences (SCD) and PSNR.

All take grey images ``(H, W)`` in ``[0, 255]``; ``ir`` and ``vis`` are the sources A and B, ``fused``
is F. The published convention is MMIF-CDDFuse ``utils/Evaluator.py``.

Quirks of the published convention, kept on purpose so our numbers match the tables:

* **SD** is the population standard deviation (``ddof = 0``) in grey levels. Textbook.
* **CC** is the **mean** of the Pearson correlations ``(r(A, F) + r(B, F)) / 2``, in [-1, 1].
* **SCD** (Aslantas and Bendes 2015) is ``r(F - B, A) + r(F - A, B)``, in [-2, 2]: how much of each
  source is left in what F does not share with the other.
* A correlation with a constant image is 0/0; the reference then returns NaN (with a numpy warning)
  and so SCD of ``F = A`` or ``F = B`` is NaN there. We define such a correlation as 0 (a constant
  carries no signal to correlate with), so a fused image equal to one source (the ``rgb`` and
  ``thermal`` variants) still gets a finite SCD and CC. This is the one place we deviate.
* **PSNR** is ``10 log10(max(F)^2 / MSE)`` with ``MSE = (MSE(A, F) + MSE(B, F)) / 2``: the peak is
  the fused image's own maximum, not 255, so a darker F scores lower for the same error (by
  ``20 log10(255 / max F)`` dB). :func:`psnr_corrected` uses 255. Values are low (about 10 to 20 dB)
  because the sources differ from each other and F cannot be close to both. MATLAB toolboxes
  (Tang's ``PSNR_evaluation.m`` and its Python ports) compute ``20 log10(255 / sqrt(MSE))`` with
  the MSE of images scaled to [0, 1], which is the 255-peak PSNR plus ``20 log10 255 = 48.13`` dB:
  their tables show PSNR near 60 dB.
"""

from __future__ import annotations

import numpy as np

from fusion.metrics._inputs import as_grey, as_grey_triple
from harness.errors import ConfigError

_PEAK = 255.0


def sd(fused: np.ndarray) -> float:
    """Population standard deviation of the fused image, in grey levels.

    Args:
        fused: ``(H, W)`` grey levels in ``[0, 255]``.

    Returns:
        In ``[0, 127.5]``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey`.
    """
    return float(np.std(as_grey(fused, "fused")))


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two equally shaped arrays; 0 when either is constant.

    Args:
        x, y: arrays of the same shape (any real values: SCD feeds it differences).

    Returns:
        In ``[-1, 1]``.

    Raises:
        ConfigError: the shapes differ.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ConfigError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    xc = x - x.mean()
    yc = y - y.mean()
    den = np.sqrt(np.sum(xc * xc) * np.sum(yc * yc))
    if den == 0.0:
        return 0.0  # a constant image: no signal to correlate with (the reference gives NaN)
    return float(np.sum(xc * yc) / den)


def cc(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published CC: ``(r(A, F) + r(B, F)) / 2``.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape.

    Returns:
        In ``[-1, 1]``; 1 for ``F = A = B``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused)
    return (correlation(a, f) + correlation(b, f)) / 2.0


def scd(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Sum of the correlations of differences: ``r(F - B, A) + r(F - A, B)``.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape.

    Returns:
        In ``[-2, 2]``; ``F = A + B`` (when it fits in range) gives 2.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused)
    return correlation(f - b, a) + correlation(f - a, b)


def psnr(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published PSNR: ``10 log10(max(F)^2 / ((MSE(A, F) + MSE(B, F)) / 2))`` in dB.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape.

    Returns:
        dB; ``inf`` when ``F = A = B``, ``-inf`` when F is all zero but the sources are not.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused)
    return _psnr(float(f.max()), _mean_mse(a, b, f))


def psnr_corrected(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """PSNR with the 8-bit peak: ``10 log10(255^2 / ((MSE(A, F) + MSE(B, F)) / 2))`` in dB.

    Returns:
        dB; ``inf`` when ``F = A = B``. Args and Raises as :func:`psnr`.
    """
    a, b, f = as_grey_triple(ir, vis, fused)
    return _psnr(_PEAK, _mean_mse(a, b, f))


def _mean_mse(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    return float((np.mean((a - f) ** 2) + np.mean((b - f) ** 2)) / 2.0)


def _psnr(peak: float, mse: float) -> float:
    if mse == 0.0:
        return float("inf")
    if peak == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(peak * peak / mse))
