"""The metric list and the single entry point :func:`evaluate`.

``METRICS`` names every metric with a one-line description; ``PUBLISHED`` is the default set, with
the keys published tables use. The ``*_corrected`` and ``MI_bits`` entries are opt-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from fusion.metrics import gradient, information, pixel, structural
from fusion.metrics._inputs import as_grey, luma
from harness.errors import ConfigError


@dataclass(frozen=True)
class MetricInfo:
    """One metric: its key, a one-line description, and which way is better."""

    name: str  # the key in evaluate()'s result, as published tables spell it
    description: str  # one line, with the unit or range
    higher_is_better: bool
    fn: Callable[..., float]  # fn(fused) when not uses_sources, else fn(ir, vis, fused)
    uses_sources: bool  # False for the no-reference metrics (EN, SD, SF, AG)


_ALL = (
    MetricInfo("EN", "entropy of the fused grey levels, bits (0..8)", True, information.en, False),
    MetricInfo("SD", "standard deviation of the fused image, grey levels (contrast)", True, pixel.sd,
               False),
    MetricInfo("SF", "spatial frequency, RMS of first differences, grey levels", True, gradient.sf, False),
    MetricInfo("AG", "average gradient, grey levels per pixel (sharpness)", True, gradient.ag, False),
    MetricInfo("MI", "mutual information MI(A,F)+MI(B,F), nats", True, information.mi, True),
    MetricInfo("SCD", "sum of the correlations of differences r(F-B,A)+r(F-A,B) (-2..2)", True,
               pixel.scd, True),
    MetricInfo("VIF", "pixel-domain multi-scale visual information fidelity, summed over sources", True,
               information.vif, True),
    MetricInfo("Qabf", "gradient-weighted edge transfer from the sources (0..0.975)", True,
               gradient.qabf, True),
    MetricInfo("SSIM", "SSIM(F,A)+SSIM(F,B), legacy scikit-image float path, data range 2 (-2..2)", True,
               structural.ssim, True),
    MetricInfo("Nabf", "fusion artefacts: edge loss where F is sharper than both sources (lower is better)",
               False, gradient.nabf, True),
    MetricInfo("MS_SSIM", "MS-SSIM(A,F)+MS-SSIM(B,F), five scales, effective data range 1 (0..2)", True,
               structural.ms_ssim, True),
    MetricInfo("PSNR", "10 log10(max(F)^2 / mean of the two MSEs), dB", True, pixel.psnr, True),
    MetricInfo("CC", "mean Pearson correlation (r(A,F)+r(B,F))/2 (-1..1)", True, pixel.cc, True),
    MetricInfo("MI_bits", "MI in bits, the unit MATLAB toolboxes report", True, information.mi_bits, True),
    MetricInfo("SSIM_corrected",
               "Wang et al. SSIM, Gaussian window, data range 255, mean over sources (-1..1)", True,
               structural.ssim_corrected, True),
    MetricInfo("MS_SSIM_corrected", "MS-SSIM with data range 255, mean over sources (0..1)", True,
               structural.ms_ssim_corrected, True),
    MetricInfo("PSNR_corrected", "PSNR with peak 255 over the mean of the two MSEs, dB", True,
               pixel.psnr_corrected, True),
    MetricInfo("Qabf_corrected", "Qabf with replicated border, G=1 for equal edges, orientation mod pi",
               True, gradient.qabf_corrected, True),
)

METRICS: dict[str, MetricInfo] = {m.name: m for m in _ALL}
PUBLISHED: tuple[str, ...] = ("EN", "SD", "SF", "AG", "MI", "SCD", "VIF", "Qabf", "SSIM", "Nabf",
                              "MS_SSIM", "PSNR", "CC")


def evaluate(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray,
             metrics: Iterable[str] | None = None) -> dict[str, float]:
    """Compute fusion metrics for one image pair and its fused image.

    Colour inputs are reduced to BT.601 luma (:func:`fusion.metrics.luminance`, unrounded). EN and
    MI round to integer grey levels; every other metric uses the values as given. Published tables
    are computed on 8-bit files, so pass 8-bit images (or round) to reproduce one exactly.

    Args:
        ir: infrared source A, ``(H, W)`` grey or ``(H, W, 3)`` RGB, values in ``[0, 255]``.
        vis: visible source B, same.
        fused: fused image F, same.
        metrics: names from :data:`METRICS`; ``None`` means :data:`PUBLISHED`, in that order.

    Returns:
        ``{name: value}`` in the order asked. Values are floats; PSNR can be ``inf`` (F equal to
        both sources) and Qabf NaN (sources without any edge).

    Raises:
        ConfigError: an unknown metric name (or one name given as a bare string), inputs that
            are not ``(H, W)`` or ``(H, W, 3)``, that differ in size, hold NaN/inf or values
            outside ``[0, 255]``, or images too small for a requested metric (VIF needs 41
            pixels a side, MS-SSIM 161).
    """
    if isinstance(metrics, str):
        raise ConfigError(f"metrics must be a list of names, got the string {metrics!r}; "
                          f"pass [{metrics!r}]")
    names = PUBLISHED if metrics is None else tuple(metrics)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(METRICS)}")
    a, b, f = (_grey(img, name) for img, name in ((ir, "ir"), (vis, "vis"), (fused, "fused")))
    if not a.shape == b.shape == f.shape:
        raise ConfigError(f"ir, vis and fused must have the same (H, W), got {a.shape}, {b.shape} "
                          f"and {f.shape}; register and crop the pair first")
    out: dict[str, float] = {}
    for name in names:
        info = METRICS[name]
        out[name] = float(info.fn(a, b, f) if info.uses_sources else info.fn(f))
    return out


def _grey(image: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 3:
        return luma(arr, name)
    return as_grey(arr, name)
