"""Input guards and conversions shared by the fusion metrics.

Every metric takes grey images as ``(H, W)`` arrays of grey levels in ``[0, 255]`` (any real
dtype; they are converted to float64). A colour image is reduced to its luma first with
:func:`luminance`. Guards raise :class:`harness.errors.ConfigError` with one line that says what
was expected, what came and how to fix it.
"""

from __future__ import annotations

import numpy as np

from harness.errors import ConfigError

# ITU-R BT.601 luma weights for R, G, B: the formula of cv2.COLOR_RGB2GRAY / COLOR_BGR2GRAY,
# which is how the published evaluators (MMIF-CDDFuse image_read_cv2(..., 'GRAY')) read colour.
BT601_WEIGHTS = (0.299, 0.587, 0.114)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of an ``(H, W, 3)`` RGB image.

    Args:
        rgb: ``(H, W, 3)``, channel order R, G, B, values in ``[0, 255]``.

    Returns:
        ``(H, W)`` float64 in ``[0, 255]``, not rounded. Published tables are computed on 8-bit
        files, whose reader rounds (``np.round(cv2.cvtColor(img, COLOR_BGR2GRAY))``); round the
        result yourself to reproduce such a table exactly.

    Raises:
        ConfigError: not ``(H, W, 3)``, not real numbers, NaN/inf, or values outside ``[0, 255]``.
    """
    return luma(rgb, "rgb")


def luma(rgb: np.ndarray, name: str) -> np.ndarray:
    """:func:`luminance` with the caller's name for the image in the error messages."""
    arr = _as_float(rgb, name)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ConfigError(f"{name} must be an (H, W, 3) RGB image, got shape {arr.shape}; "
                          f"pass a grey (H, W) image to the metrics directly")
    _check_range(arr, name)
    wr, wg, wb = BT601_WEIGHTS
    return wr * arr[..., 0] + wg * arr[..., 1] + wb * arr[..., 2]


def as_grey(image: np.ndarray, name: str, min_side: int = 1, metric: str = "") -> np.ndarray:
    """Check one grey image and return it as float64.

    Args:
        image: ``(H, W)`` grey levels in ``[0, 255]``.
        name: what the caller calls it (``"fused"``, ``"ir"``, ...), for the message.
        min_side: the smallest height and width the metric can work on.
        metric: the metric's name, for the message about ``min_side``.

    Returns:
        ``(H, W)`` float64 (a copy when the dtype changes).

    Raises:
        ConfigError: wrong ndim, not real numbers, NaN/inf, values outside ``[0, 255]``, or a
            side shorter than ``min_side``.
    """
    arr = _as_float(image, name)
    if arr.ndim != 2:
        hint = ("convert colour with fusion.metrics.luminance first"
                if arr.ndim == 3 and arr.shape[-1] == 3 else "pass one grey image")
        raise ConfigError(f"{name} must be a grey (H, W) image, got shape {arr.shape}; {hint}")
    _check_range(arr, name)
    if min(arr.shape) < min_side:
        raise ConfigError(f"{name} is {arr.shape[0]}x{arr.shape[1]} but {metric or 'this metric'} "
                          f"needs at least {min_side}x{min_side} pixels; use a larger image")
    return arr


def as_grey_triple(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray, min_side: int = 1,
                   metric: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the two sources and the fused image: each as :func:`as_grey`, all the same shape.

    Returns:
        ``(ir, vis, fused)``, each ``(H, W)`` float64 in ``[0, 255]``.

    Raises:
        ConfigError: any single-image guard, or shapes that differ.
    """
    out = tuple(as_grey(img, name, min_side, metric)
                for img, name in ((ir, "ir"), (vis, "vis"), (fused, "fused")))
    if not out[0].shape == out[1].shape == out[2].shape:
        raise ConfigError(f"ir, vis and fused must have the same (H, W), got {out[0].shape}, "
                          f"{out[1].shape} and {out[2].shape}; register and crop the pair first")
    return out  # type: ignore[return-value]


def quantise(image: np.ndarray) -> np.ndarray:
    """Round ``(H, W)`` grey levels to integers ``0..255`` (int64), half to even as ``np.round``.

    Histogram metrics (EN, MI) need integer bins; the published evaluators round the same way
    (``np.uint8(np.round(img))``). Input is assumed checked (in ``[0, 255]``).
    """
    return np.round(image).astype(np.int64)


def _as_float(image: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(image)
    # bool and complex would silently become 0/1 or lose a part; refuse them
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer)
                                     or np.issubdtype(arr.dtype, np.floating)):
        raise ConfigError(f"{name} must hold real grey levels (an integer or float array), got "
                          f"dtype {arr.dtype}; convert it with np.asarray(x, dtype=np.float64)")
    return arr.astype(np.float64, copy=False)


def _check_range(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        raise ConfigError(f"{name} is empty (shape {arr.shape}); pass a non-empty image")
    if not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ConfigError(f"{name} must be finite, got {bad} NaN/inf value(s); "
                          f"fix the producer or np.nan_to_num it first")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 255.0:
        raise ConfigError(f"{name} must hold grey levels in [0, 255], got values in "
                          f"[{lo:g}, {hi:g}]; clip it, or multiply a [0, 1] image by 255")


def filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering with the symmetric 1-D kernel ``g``: ``(H-n+1, W-n+1)``."""
    from scipy.ndimage import correlate1d

    half = len(g) // 2
    out = correlate1d(img, g, axis=0, mode="constant")
    out = correlate1d(out, g, axis=1, mode="constant")
    return out[half:img.shape[0] - half, half:img.shape[1] - half]
