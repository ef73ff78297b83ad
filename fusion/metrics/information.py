"""Information metrics: entropy (EN), mutual information (MI) and visual information fidelity (VIF).

All take grey images ``(H, W)`` in ``[0, 255]``; ``ir`` and ``vis`` are the sources A and B, ``fused``
is F. The published convention is the one of MMIF-CDDFuse ``utils/Evaluator.py`` (the evaluator
behind most published infrared/visible fusion tables).

Quirks of the published convention, kept on purpose so our numbers match the tables:

* **EN** is in bits over 256 integer bins after rounding (``np.round``, half to even). Textbook.
* **MI** is in **nats**, not bits: the reference calls ``sklearn.metrics.mutual_info_score`` on the
  flattened images, which uses the natural log. MATLAB toolboxes (e.g. Linfeng Tang's
  Evaluation-for-Image-Fusion, VIFB) report bits, so their MI is ``1/ln 2 = 1.4427`` times larger
  for the same images; :func:`mi_bits` gives that. It is **summed** over the sources,
  ``MI(A,F) + MI(B,F)``, so it ranges over ``[0, 2 * 8 ln 2] = [0, 11.09]`` nats, not
  ``[0, 8 ln 2]``. ``mutual_info_score`` treats every distinct value as its own label, so on a
  non-integer F it would count ``(A+B)/2``'s half levels as extra bins; published tables are always
  computed on 8-bit files, so we round F to integers first, which reproduces them.
* **VIF** is the pixel-domain multi-scale VIF of Sheikh and Bovik (``vifp_mscale``: four scales,
  Gaussian windows of 17, 9, 5, 3 taps with sigma = N/5, 'valid' filtering, 2x decimation,
  sigma_n^2 = 2 on 0..255 data), **summed** over the sources: ``VIFp(A,F) + VIFp(B,F)``. The
  reference names it VIFF, but it is not Han et al.'s VIFF fusion metric. A source with no
  texture at all (every local variance zero) makes the ratio 0/0; the reference then returns 1.0
  for that source, and so do we. VIFp can exceed 1 when F has more contrast than the source.
"""

from __future__ import annotations

import numpy as np

from fusion.metrics._inputs import as_grey, as_grey_triple, filter_valid, quantise
from harness.errors import ConfigError

_LEVELS = 256
# vifp_mscale: the noise variance of the HVS model, in grey levels squared on 0..255 data
_VIF_SIGMA_NSQ = 2.0
# vifp_mscale: variances under this count as zero (a flat window)
_VIF_EPS = 1e-10
# vifp_mscale window sizes per scale, N = 2**(4 - scale + 1) + 1 for scale = 1..4
_VIF_WINDOWS = (17, 9, 5, 3)
# the smallest side for which every scale still has at least one 'valid' window (see _vif_min_side)
VIF_MIN_SIDE = 41


def en(fused: np.ndarray) -> float:
    """Shannon entropy of the fused image's grey-level histogram, in bits.

    Args:
        fused: ``(H, W)`` grey levels in ``[0, 255]``; rounded to integers first.

    Returns:
        ``-sum p log2 p`` over 256 bins, in ``[0, 8]`` bits.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey`.
    """
    levels = quantise(as_grey(fused, "fused"))
    p = np.bincount(levels.ravel(), minlength=_LEVELS) / levels.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Mutual information of two grey images' joint histogram (256 x 256 integer bins), in nats.

    Equal to ``sklearn.metrics.mutual_info_score(x.ravel(), y.ravel())`` on integer images. Symmetric;
    ``mutual_information(x, x)`` is the entropy of ``x`` in nats.

    Args:
        x, y: ``(H, W)`` grey levels in ``[0, 255]``, same shape; rounded to integers first.

    Returns:
        MI in nats, ``>= 0``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey`, or different shapes.
    """
    x = quantise(as_grey(x, "x"))
    y = quantise(as_grey(y, "y"))
    if x.shape != y.shape:
        raise ConfigError(f"x and y must have the same (H, W), got {x.shape} and {y.shape}")
    return _mi_nats(x, y)


def mi(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published MI: ``MI(A, F) + MI(B, F)`` in nats (see the module docstring).

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape; rounded to integers.

    Returns:
        Sum of the two mutual informations in nats, in ``[0, 16 ln 2]``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = (quantise(x) for x in as_grey_triple(ir, vis, fused))
    return _mi_nats(a, f) + _mi_nats(b, f)


def mi_bits(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """MI in bits, ``(MI(A, F) + MI(B, F)) / ln 2``: the unit MATLAB toolboxes report.

    Returns:
        In ``[0, 16]`` bits. Raises as :func:`mi`.
    """
    return mi(ir, vis, fused) / np.log(2.0)


def vif(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published VIF: ``VIFp(A, F) + VIFp(B, F)``, pixel-domain multi-scale VIF, sigma_n^2 = 2.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape, each side at least
            :data:`VIF_MIN_SIDE` (41) pixels so that every scale keeps a valid window.

    Returns:
        Sum over the sources, typically in ``[0, 2]`` (each term can exceed 1 for a contrast-enhanced
        F). ``F = A = B`` gives 2; a constant F gives 0.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused, min_side=VIF_MIN_SIDE, metric="VIF")
    return _vifp(a, f) + _vifp(b, f)


def _mi_nats(x: np.ndarray, y: np.ndarray) -> float:
    joint = np.bincount((x * _LEVELS + y).ravel(), minlength=_LEVELS * _LEVELS).astype(np.float64)
    joint = joint.reshape(_LEVELS, _LEVELS) / x.size
    px = joint.sum(axis=1, keepdims=True)
    py = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    outer = (px * py)[nz]
    # sklearn clips the tiny negative values rounding can give for independent images
    return float(max((joint[nz] * np.log(joint[nz] / outer)).sum(), 0.0))


def _gauss_1d(n: int) -> np.ndarray:
    # MATLAB fspecial('gaussian', n, n/5) is the outer product of this normalised 1-D kernel; its
    # cut of values under eps*max never bites at sigma = n/5 (the corner is e^-12.5 of the peak)
    r = (n - 1) / 2.0
    x = np.arange(n, dtype=np.float64) - r
    g = np.exp(-(x * x) / (2.0 * (n / 5.0) ** 2))
    return g / g.sum()


def _vifp(ref: np.ndarray, dist: np.ndarray) -> float:
    num = 0.0
    den = 0.0
    for scale, n in enumerate(_VIF_WINDOWS, start=1):
        g = _gauss_1d(n)
        if scale > 1:
            ref = filter_valid(ref, g)[::2, ::2]
            dist = filter_valid(dist, g)[::2, ::2]
        mu1 = filter_valid(ref, g)
        mu2 = filter_valid(dist, g)
        s1 = np.maximum(filter_valid(ref * ref, g) - mu1 * mu1, 0.0)
        s2 = np.maximum(filter_valid(dist * dist, g) - mu2 * mu2, 0.0)
        s12 = filter_valid(ref * dist, g) - mu1 * mu2

        # the gain g and the distortion variance sv of the model dist = g * ref + v, with the
        # reference's special cases in its order: flat ref, flat dist, negative gain
        gain = s12 / (s1 + _VIF_EPS)
        sv = s2 - gain * s12
        flat1 = s1 < _VIF_EPS
        gain[flat1] = 0.0
        sv[flat1] = s2[flat1]
        s1 = np.where(flat1, 0.0, s1)
        flat2 = s2 < _VIF_EPS
        gain[flat2] = 0.0
        sv[flat2] = 0.0
        neg = gain < 0
        sv[neg] = s2[neg]
        gain[neg] = 0.0
        sv = np.maximum(sv, _VIF_EPS)

        num += float(np.log10(1.0 + gain * gain * s1 / (sv + _VIF_SIGMA_NSQ)).sum())
        den += float(np.log10(1.0 + s1 / _VIF_SIGMA_NSQ).sum())
    if den == 0.0:
        # a source without texture: 0/0, which the reference maps to 1.0
        return 1.0
    return num / den


def _vif_min_side() -> int:
    """The smallest side length that leaves at least one valid window at every scale."""
    side = 1
    while True:
        size, ok = side, True
        for scale, n in enumerate(_VIF_WINDOWS, start=1):
            if scale > 1:
                size = (size - n + 1 + 1) // 2  # 'valid' filter, then keep every other sample
            if size - n + 1 < 1:
                ok = False
                break
        if ok:
            return side
        side += 1
