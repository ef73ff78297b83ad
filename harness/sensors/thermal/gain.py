"""Automatic gain control (AGC): 14-bit counts -> the 8-bit image an agent sees, smoothed over frames.

Two modes, chosen by ``ThermalSpec.agc_mode``:

- ``"plateau"`` (the default; FLIR's default AGC): plateau histogram equalisation. The counts'
  histogram has 16-count bins (about 0.16 K); each bin may claim at most ``agc_plateau_pct`` % of the
  pixels, so a large flat surface (a road, a wall) gets a bounded share of the grey range instead of
  all of it, and surfaces a kelvin or two apart stay distinguishable at night, when a linear window
  spanning the cold sky would merge them. The coldest occupied bin maps to 0, the hottest to 255.
- ``"linear"``: a linear window; the ``agc_low_pct``..``agc_high_pct`` percentiles of the counts map
  to 0..255, never less than ``MIN_AGC_SPAN_K`` apart (which caps the gain on a uniform scene).

Either way the mapping is smoothed over frames: ``agc_smoothing`` [0..1) is the weight of the
previous frame's mapping (the cumulative histogram in plateau mode, the window in linear mode), so a
camera must be :meth:`~GainControl.reset` at a new episode. Histograms are taken over every other
row and column (every pixel on small sensors): a quarter of the cost, the same mapping to within a bin.
"""

from __future__ import annotations

import abc

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from harness.errors import ConfigError
from harness.rig import ThermalSpec
from harness.sensors.thermal.noise import COUNTS_MAX

MIN_AGC_SPAN_K = 1.0  # [K] the linear window never stretches less than this (caps the gain on a uniform scene)
AGC_MIN_SAMPLES = 4096  # histogram every pixel when a 2x2 subsample would hold fewer
PLATEAU_SHIFT = 4  # plateau AGC bins of 2**4 counts (~0.16 K)
PLATEAU_SMOOTH_BINS = 3.0  # [bins] Gaussian spread of the histogram before clipping (~0.5 K)


def _histogram_sample(counts: np.ndarray) -> np.ndarray:
    """Every other row and column of ``counts``, or all of it when that would hold < AGC_MIN_SAMPLES."""
    return counts[::2, ::2] if counts.size >= 4 * AGC_MIN_SAMPLES else counts


class GainControl(abc.ABC):
    """Maps uint16 counts ``(H, W)`` in 0..``COUNTS_MAX`` to a uint8 image ``(H, W)``; keeps state across frames."""

    @abc.abstractmethod
    def __call__(self, counts: np.ndarray) -> np.ndarray:
        """The uint8 image of this frame's counts; updates the smoothed mapping."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget the mapping of earlier frames (a new episode)."""


class PlateauEqualisation(GainControl):
    """Plateau histogram equalisation (FLIR's default AGC); ``plateau_pct`` [%] of the pixels a bin may claim."""

    def __init__(self, plateau_pct: float, smoothing: float) -> None:
        self.plateau_pct = plateau_pct  # [%]
        self.smoothing = smoothing  # [0..1) weight of the previous cumulative histogram
        self._cdf: np.ndarray | None = None  # smoothed cumulative histogram, 0..1 per bin

    def reset(self) -> None:
        self._cdf = None

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        sample = _histogram_sample(counts)
        raw = np.bincount((sample >> PLATEAU_SHIFT).ravel(), minlength=(COUNTS_MAX >> PLATEAU_SHIFT) + 1)
        occupied = np.flatnonzero(raw)
        # spread each surface's peak over neighbouring bins first, so that sensor noise flipping a
        # pixel between two adjacent bins moves it a few grey levels, not a whole plateau
        hist = gaussian_filter1d(raw.astype(np.float64), PLATEAU_SMOOTH_BINS, mode="constant")
        plateau = max(1.0, self.plateau_pct / 100.0 * sample.size)
        cdf = np.cumsum(np.minimum(hist, plateau))
        cdf = cdf / cdf[-1]
        if self._cdf is not None:
            s = self.smoothing
            cdf = s * self._cdf + (1.0 - s) * cdf
        self._cdf = cdf
        # the coldest occupied bin maps to 0, the hottest to 255
        lo_cdf, hi_cdf = cdf[occupied[0]], cdf[occupied[-1]]
        lut = np.clip(np.round(255.0 * (cdf - lo_cdf) / max(hi_cdf - lo_cdf, 1e-9)), 0, 255).astype(np.uint8)
        return lut[counts >> PLATEAU_SHIFT]


class LinearWindow(GainControl):
    """The ``low_pct``..``high_pct`` [%] percentiles of the counts map linearly to 0..255.

    Percentiles come from a histogram of 4-count bins (0.04 K). ``min_span`` [counts] is the
    narrowest window (``MIN_AGC_SPAN_K`` in counts).
    """

    def __init__(self, low_pct: float, high_pct: float, smoothing: float, min_span: float) -> None:
        self._low_q, self._high_q = low_pct / 100.0, high_pct / 100.0  # [0..1]
        self.smoothing = smoothing  # [0..1) weight of the previous window
        self.min_span = min_span  # [counts]
        self._window: tuple[float, float] | None = None  # [counts] smoothed (low, high)

    def reset(self) -> None:
        self._window = None

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        sample = _histogram_sample(counts)
        cdf = np.cumsum(np.bincount((sample >> 2).ravel(), minlength=(COUNTS_MAX >> 2) + 1))
        n = int(cdf[-1])
        lo_bin, hi_bin = np.searchsorted(cdf, [max(q * n, 1.0) for q in (self._low_q, self._high_q)])
        lo, hi = 4.0 * lo_bin, 4.0 * hi_bin + 4.0  # [counts] bin edges enclosing both percentiles
        if self._window is not None:
            s = self.smoothing
            lo, hi = s * self._window[0] + (1.0 - s) * lo, s * self._window[1] + (1.0 - s) * hi
        self._window = (lo, hi)
        if hi - lo < self.min_span:
            mid = 0.5 * (lo + hi)
            lo, hi = mid - 0.5 * self.min_span, mid + 0.5 * self.min_span
        # Window start rounded to a whole count (0.01 K): then two saturating cv2 passes do the map.
        above = cv2.subtract(counts, float(round(lo)))
        return cv2.convertScaleAbs(above, alpha=255.0 / (hi - lo))


def gain_control(spec: ThermalSpec, counts_per_kelvin: float) -> GainControl:
    """The AGC ``spec.agc_mode`` names, for a readout of ``counts_per_kelvin`` [counts/K]; raises ConfigError."""
    if spec.agc_mode == "plateau":
        return PlateauEqualisation(spec.agc_plateau_pct, spec.agc_smoothing)
    if spec.agc_mode == "linear":
        return LinearWindow(spec.agc_low_pct, spec.agc_high_pct, spec.agc_smoothing, MIN_AGC_SPAN_K * counts_per_kelvin)
    raise ConfigError(f"thermal agc_mode must be 'plateau' or 'linear', got {spec.agc_mode!r}")
