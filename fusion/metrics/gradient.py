"""Gradient metrics: spatial frequency (SF), average gradient (AG), edge transfer (Qabf) and
fusion artefacts (Nabf).

All take grey images ``(H, W)`` in ``[0, 255]``; ``ir`` and ``vis`` are the sources A and B, ``fused``
is F. SF, AG and Qabf follow MMIF-CDDFuse ``utils/Evaluator.py``; Nabf is not in that evaluator and
follows ``analysis_nabf.m`` (B. K. Shreyamsha Kumar's modified Nabf, as shipped in the MATLAB
toolboxes of DenseFuse/RFN-Nest and Linfeng Tang's Evaluation-for-Image-Fusion).

Quirks of the published conventions, kept on purpose so our numbers match the tables:

* **SF** = ``sqrt(mean(dx^2) + mean(dy^2))`` with first differences; each mean runs over its own
  ``H x (W-1)`` or ``(H-1) x W`` differences. Textbook.
* **AG** uses ``np.gradient``-style derivatives (central differences inside, one-sided at the
  border) and averages ``sqrt((gx^2 + gy^2) / 2)`` over all ``H x W`` pixels. MATLAB toolboxes
  divide the same sum by ``(H-1)(W-1)`` instead, about 0.5 % larger at 496x301.
* **Qabf** (Xydeas and Petrovic) with the MATLAB constants Tg 0.9994, kg -15, Dg 0.5, Ta 0.9879,
  ka -22, Da 0.8 and raw 3x3 Sobel responses:

  - the Sobel filter pads with **zeros**, so a bright image gets a strong artificial edge around
    its frame, which counts in both the numerator and the gradient weights;
  - the relative strength ``G = min(gA, gF) / max(gA, gF)`` is replaced by ``gF`` itself where
    ``gA == gF`` (a branch meant for ``gA = gF = 0``), so equal non-zero edges get ``G = gF``
    instead of 1: Qg saturates at Tg for the strong edges of 8-bit images (a little above the
    ``Qg(1) = 0.99885`` a ratio of 1 gives) and drops for equal edges weaker than one grey level;
  - the orientation is ``arctan(Sy / Sx)`` of the two Sobel responses, in ``(-pi/2, pi/2)``
    (``pi/2`` where ``Sx == 0``, flat pixels included), and ``A = 1 - |aA - aF| / (pi/2)`` is not
    wrapped: two nearly vertical gradients at +89 and -89 degrees score as opposite (A close to
    -1) instead of alike;
  - the constants cap a perfect transfer at ``Tg * Ta / (1 + e^-4.4) = 0.9753``, not 1.

  :func:`qabf_corrected` removes the first three (replicated border, ``G = 1`` for equal edges,
  orientation difference taken modulo pi); it keeps the constants so the scale stays comparable.
* **Nabf** (fusion artefacts, lower is better; 0 for ``F = A``) uses a Sobel filter divided by 8 on
  a mirrored border, the constants Td 2, wt_min 0.001, Lg 1.5, Nrg 0.9999, kg 19, sigma_g 0.5, Nra
  0.9995, ka 22, sigma_a 0.5, and counts a pixel as an artefact where ``gF > gA`` and ``gF > gB``.
  Two published variants differ from it. Tang's ``analysis_Reference.m`` passes the images in the
  wrong order (``analysis_nabf(ir, vis, fused)`` against the signature ``(fused, ir, vis)``), so
  its Nabf treats the infrared image as the fused one and measures how much the infrared image
  exceeds the visible and fused ones: 0.003 to 0.19 on six RoadScene pairs for ``F = (A+B)/2``
  or ``max(A, B)``, where the documented order gives under 0.0004. ``nabf(vis, fused, ir)``
  reproduces that number. The Python ports of the toolbox give weak-edge pixels (``g < Td``)
  weight 0 instead of 0.001, which moves Nabf by under 0.1 % relative when it is above 1e-5
  and by 5 to 16 % on the near-zero values of ``F = (A+B)/2``. We follow
  ``analysis_nabf.m`` itself with the images in their documented roles (as DenseFuse/RFN-Nest's
  ``analysis_Reference.m`` and the Python ports call it).
"""

from __future__ import annotations

import numpy as np

from fusion.metrics._inputs import as_grey, as_grey_triple

# Qabf constants as in the MATLAB code every Python port copies (Xydeas & Petrovic 2000)
_QABF_TG, _QABF_KG, _QABF_DG = 0.9994, -15.0, 0.5
_QABF_TA, _QABF_KA, _QABF_DA = 0.9879, -22.0, 0.8

# Nabf constants of analysis_nabf.m (Petrovic & Xydeas, modified by Shreyamsha Kumar 2013)
_NABF_TD = 2.0  # edge-strength threshold, on the Sobel/8 scale
_NABF_WT_MIN = 0.001  # weight of pixels below the threshold
_NABF_LG = 1.5  # weight = g ** Lg
_NABF_NRG, _NABF_KG, _NABF_SG = 0.9999, 19.0, 0.5
_NABF_NRA, _NABF_KA, _NABF_SA = 0.9995, 22.0, 0.5


def sf(fused: np.ndarray) -> float:
    """Spatial frequency ``sqrt(mean(dx^2) + mean(dy^2))`` of first differences, in grey levels.

    Args:
        fused: ``(H, W)`` grey levels in ``[0, 255]``, at least 2x2.

    Returns:
        SF ``>= 0``; a column pattern alternating 0 and c gives ``c``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey`.
    """
    f = as_grey(fused, "fused", min_side=2, metric="SF")
    dx = np.diff(f, axis=1)
    dy = np.diff(f, axis=0)
    return float(np.sqrt(np.mean(dx * dx) + np.mean(dy * dy)))


def ag(fused: np.ndarray) -> float:
    """Average gradient: mean over all pixels of ``sqrt((gx^2 + gy^2) / 2)``, in grey levels/pixel.

    Derivatives as ``np.gradient`` (central inside, one-sided on the border).

    Args:
        fused: ``(H, W)`` grey levels in ``[0, 255]``, at least 2x2.

    Returns:
        AG ``>= 0``; a horizontal ramp of slope c gives ``c / sqrt(2)``.

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey`.
    """
    f = as_grey(fused, "fused", min_side=2, metric="AG")
    gy, gx = np.gradient(f)
    return float(np.mean(np.sqrt((gx * gx + gy * gy) / 2.0)))


def qabf(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Published Qabf: gradient-weighted edge transfer from A and B to F (see the module docstring).

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape, at least 2x2.

    Returns:
        ``sum(QAF gA + QBF gB) / sum(gA + gB)``, in ``[0, 0.9753]``; NaN when neither source has
        a single non-zero gradient (only all-zero sources, given the zero-padded border).

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    return _qabf(ir, vis, fused, corrected=False)


def _qabf(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray, corrected: bool) -> float:
    """Both Qabf versions: the corrected one replicates the border (the published one zero-pads)."""
    a, b, f = as_grey_triple(ir, vis, fused, min_side=2, metric="Qabf_corrected" if corrected else "Qabf")
    pad = "edge" if corrected else "constant"
    (ga, aa), (gb, ab), (gf, af) = (_qabf_edges(x, pad) for x in (a, b, f))
    qaf = _qabf_transfer(ga, aa, gf, af, corrected=corrected)
    qbf = _qabf_transfer(gb, ab, gf, af, corrected=corrected)
    return _weighted(qaf, ga, qbf, gb)


def qabf_corrected(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Qabf without the convention's bugs: replicated border, ``G = 1`` for equal edges, orientation
    difference modulo pi. Same constants, so ``F = A = B`` scores ``0.9748`` (the cap).

    Args and Raises as :func:`qabf`.

    Returns:
        In ``[0, 0.9753]``; NaN when neither source has any gradient.
    """
    return _qabf(ir, vis, fused, corrected=True)


def nabf(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Fusion artefacts Nabf (Kumar's modification): the weighted loss of edge information where F
    has stronger edges than both sources. Lower is better.

    Args:
        ir, vis, fused: ``(H, W)`` grey levels in ``[0, 255]``, same shape, at least 2x2.

    Returns:
        In ``[0, 1)``; 0 when F adds no edge stronger than both sources' (e.g. ``F = A``).

    Raises:
        ConfigError: see :func:`fusion.metrics._inputs.as_grey_triple`.
    """
    a, b, f = as_grey_triple(ir, vis, fused, min_side=2, metric="Nabf")
    gxa, gya = _sobel(a, "reflect", scale=1.0 / 8.0)
    gxb, gyb = _sobel(b, "reflect", scale=1.0 / 8.0)
    gxf, gyf = _sobel(f, "reflect", scale=1.0 / 8.0)
    ga, gb, gf = np.hypot(gxa, gya), np.hypot(gxb, gyb), np.hypot(gxf, gyf)

    qaf = _nabf_transfer(ga, gxa, gya, gf, gxf, gyf)
    qbf = _nabf_transfer(gb, gxb, gyb, gf, gxf, gyf)
    wa = np.where(ga >= _NABF_TD, ga ** _NABF_LG, _NABF_WT_MIN)
    wb = np.where(gb >= _NABF_TD, gb ** _NABF_LG, _NABF_WT_MIN)
    artefact = (gf > ga) & (gf > gb)
    num = np.sum(np.where(artefact, (1.0 - qaf) * wa + (1.0 - qbf) * wb, 0.0))
    return float(num / np.sum(wa + wb))


def _sobel(img: np.ndarray, pad_mode: str, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """3x3 Sobel responses ``(gx, gy)``: right minus left and bottom minus top, times ``scale``.

    ``pad_mode`` is a ``np.pad`` mode: ``constant`` (zeros, Qabf's ``convolve2d(.., 'same')``),
    ``reflect`` (mirror without repeating the edge, Nabf's ``per_extn_im_fn``) or ``edge``.
    """
    p = np.pad(img, 1, mode=pad_mode)
    # row sums with weights 1, 2, 1 for the x derivative; column sums likewise for y
    cols = p[:-2, :] + 2.0 * p[1:-1, :] + p[2:, :]
    rows = p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]
    gx = (cols[:, 2:] - cols[:, :-2]) * scale
    gy = (rows[2:, :] - rows[:-2, :]) * scale
    return gx, gy


def _qabf_edges(img: np.ndarray, pad_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength and orientation as Qabf defines them: ``hypot(gx, gy)`` and ``arctan(gy/-gx)``
    (``pi/2`` where ``gx == 0``)."""
    gx, gy = _sobel(img, pad_mode)
    strength = np.hypot(gx, gy)
    # the reference convolves with [[-1,0,1],...] (so its x response is left minus right, -gx);
    # the sign matters where one image has gx == 0 and gets pi/2 while the other gets an arctan
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.where(gx == 0, np.pi / 2, np.arctan(gy / -gx))
    return strength, angle


def _qabf_transfer(gs: np.ndarray, as_: np.ndarray, gf: np.ndarray, af: np.ndarray,
                   corrected: bool) -> np.ndarray:
    """Per-pixel edge preservation ``Q^{SF} = Qg * Qa`` of source S in F."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(gs > gf, gf / gs, gs / gf)
    if corrected:
        g = np.where(gs == gf, 1.0, ratio)
        diff = np.abs(as_ - af)
        diff = np.minimum(diff, np.pi - diff)  # orientations are defined modulo pi
    else:
        g = np.where(gs == gf, gf, ratio)
        diff = np.abs(as_ - af)
    a = 1.0 - diff / (np.pi / 2)
    qg = _QABF_TG / (1.0 + np.exp(_QABF_KG * (g - _QABF_DG)))
    qa = _QABF_TA / (1.0 + np.exp(_QABF_KA * (a - _QABF_DA)))
    return qg * qa


def _weighted(qaf: np.ndarray, ga: np.ndarray, qbf: np.ndarray, gb: np.ndarray) -> float:
    den = float(np.sum(ga + gb))
    if den == 0.0:
        return float("nan")  # no edge in either source: nothing to transfer, Qabf undefined
    return float(np.sum(qaf * ga + qbf * gb) / den)


def _nabf_transfer(gs: np.ndarray, gxs: np.ndarray, gys: np.ndarray, gf: np.ndarray,
                   gxf: np.ndarray, gyf: np.ndarray) -> np.ndarray:
    """Per-pixel edge preservation of analysis_nabf.m: ``sqrt(Qg * Qa)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where((gs == 0) | (gf == 0), 0.0, np.where(gs > gf, gf / gs, gs / gf))
        # atan(gx / gy) with gy = 0 is +-pi/2 in MATLAB and numpy alike; 0 where both vanish
        a_s = np.where((gxs == 0) & (gys == 0), 0.0, np.arctan(gxs / gys))
        a_f = np.where((gxf == 0) & (gyf == 0), 0.0, np.arctan(gxf / gyf))
    a = np.abs(np.abs(a_s - a_f) - np.pi / 2) * 2.0 / np.pi
    qg = _NABF_NRG / (1.0 + np.exp(-_NABF_KG * (g - _NABF_SG)))
    qa = _NABF_NRA / (1.0 + np.exp(-_NABF_KA * (a - _NABF_SA)))
    return np.sqrt(qg * qa)
