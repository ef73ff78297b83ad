"""Image-fusion quality metrics, computed the way published tables compute them.

Pure functions on grey images: ``(H, W)`` arrays of grey levels in ``[0, 255]`` (any real dtype),
with the infrared source ``ir`` (A), the visible source ``vis`` (B) and the fused image ``fused`` (F).
A colour image is compared on its BT.601 luma (:func:`luminance`).

One entry point::

    from fusion.metrics import evaluate, METRICS

    scores = evaluate(ir, vis, fused)          # {"EN": .., "SD": .., ..., "CC": ..}
    for m in METRICS.values():
        print(m.name, m.description)

The published names (:data:`PUBLISHED`) follow the conventions of MMIF-CDDFuse
``utils/Evaluator.py`` (EN, SD, SF, AG, MI, SCD, VIF, Qabf, SSIM, PSNR, CC), ``analysis_nabf.m``
(Nabf) and the Python ports of Tang's toolbox (MS_SSIM), quirks included; each module's docstring
lists those quirks and their effect. ``*_corrected`` and ``MI_bits`` are the same measures without
the quirks, under other names, so that both can be reported.

Modules: ``information`` (EN, MI, VIF), ``gradient`` (SF, AG, Qabf, Nabf), ``structural`` (SSIM,
MS-SSIM), ``pixel`` (SD, CC, SCD, PSNR), ``suite`` (the list and :func:`evaluate`).
"""

from fusion.metrics._inputs import luminance
from fusion.metrics.gradient import ag, nabf, qabf, qabf_corrected, sf
from fusion.metrics.information import en, mi, mi_bits, mutual_information, vif
from fusion.metrics.pixel import cc, correlation, psnr, psnr_corrected, scd, sd
from fusion.metrics.structural import ms_ssim, ms_ssim_corrected, ssim, ssim_corrected
from fusion.metrics.suite import METRICS, PUBLISHED, MetricInfo, evaluate

__all__ = [
    "METRICS",
    "PUBLISHED",
    "MetricInfo",
    "ag",
    "cc",
    "correlation",
    "en",
    "evaluate",
    "luminance",
    "mi",
    "mi_bits",
    "ms_ssim",
    "ms_ssim_corrected",
    "mutual_information",
    "nabf",
    "psnr",
    "psnr_corrected",
    "qabf",
    "qabf_corrected",
    "scd",
    "sd",
    "sf",
    "ssim",
    "ssim_corrected",
    "vif",
]
