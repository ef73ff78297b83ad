"""Filters the classical fusions share: box, Gaussian, Laplacian, min, the guided filter and pyramids.

Every filter takes a float ``(N,C,H,W)`` tensor, filters each channel on its own and returns the same
shape (the pyramid steps change H, W as stated), dtype and device. Work per pixel does not depend on
the radius of the box and guided filters (cumulative sums), so r = 45 costs what r = 2 costs; the min
filter takes O(log r) element-wise minimums per pixel.

Borders, as the reference implementations treat them:
- ``"replicate"``: the edge pixel repeats outward (MATLAB ``imfilter(..., 'replicate')``, the GFF
  authors' mean, Laplacian and Gaussian filters).
- ``"truncate"``: the window is cut at the image edge and the mean is over the pixels inside
  (He's ``boxfilter(I, r) ./ N`` in ``guidedfilter.m``), so any radius works on any size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from harness.errors import ConfigError

BORDERS = ("replicate", "truncate")


def _check(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        got = (tuple(x.shape), x.dtype) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ConfigError(f"{name} takes a float (N, C, H, W) tensor, got {got}; add batch/channel axes first")


def _check_radius(name: str, radius: int) -> None:
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
        raise ConfigError(f"{name}: radius must be an int >= 0 [px], got {radius!r}")


def _window_counts(n: int, radius: int, device: torch.device) -> torch.Tensor:
    """How many of the 2r+1 window positions around each of n pixels lie inside [0, n). (n,) float64."""
    i = torch.arange(n, device=device, dtype=torch.float64)
    return (i + radius).clamp_(max=n - 1) - (i - radius).clamp_(min=0) + 1


def integral_image(x: torch.Tensor) -> torch.Tensor:
    """Inclusive summed-area table in float64: ``ii[..., i, j] = x[..., :i+1, :j+1].sum()``.
    (N,C,H,W) -> (N,C,H,W) float64 (a new tensor).

    float64 because box sums are differences of these totals: in fp32 a total over a 320x160 frame
    (~5e4) keeps only ~4e-3 absolute, far more than the guided filter's 1e-6 regulariser tolerates.
    """
    _check("integral_image", x)
    return x.to(torch.float64, copy=True).cumsum_(dim=-2).cumsum_(dim=-1)


def box_sum_truncated(ii: torch.Tensor, radius: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """Sums over the (2r+1)^2 window cut at the border, from ``integral_image``: O(1) per pixel.
    (N,C,H,W) float64 -> (N,C,H,W) float64 (into ``out`` when given). Divide by ``window_count``
    for the mean."""
    h, w = ii.shape[-2:]
    r, q = min(radius, h - 1), min(radius, w - 1)  # a wider window covers the whole axis anyway
    # S[i,j] = ii[hi(i), hi(j)] - ii[lo(i), hi(j)] - ii[hi(i), lo(j)] + ii[lo(i), lo(j)] with
    # hi(i) = min(i + r, H - 1) and lo(i) = i - r - 1 (a zero term when negative), written as slices
    # over the blocks where hi and lo are shifts or clamped, straight into the output
    out = torch.empty_like(ii) if out is None else out
    out[..., :h - r, :w - q] = ii[..., r:, q:]
    out[..., :h - r, w - q:] = ii[..., r:, w - 1:]
    out[..., h - r:, :w - q] = ii[..., h - 1:, q:]
    out[..., h - r:, w - q:] = ii[..., h - 1:, w - 1:]
    out[..., r + 1:, :w - q] -= ii[..., :h - r - 1, q:]
    out[..., r + 1:, w - q:] -= ii[..., :h - r - 1, w - 1:]
    out[..., :h - r, q + 1:] -= ii[..., r:, :w - q - 1]
    out[..., h - r:, q + 1:] -= ii[..., h - 1:, :w - q - 1]
    out[..., r + 1:, q + 1:] += ii[..., :h - r - 1, :w - q - 1]
    return out


def window_count(h: int, w: int, radius: int, device: torch.device) -> torch.Tensor:
    """Pixels inside the image in each border-cut (2r+1)^2 window. (H,W) float64."""
    return torch.outer(_window_counts(h, radius, device), _window_counts(w, radius, device))


def box_filter(x: torch.Tensor, radius: int, border: str = "replicate",
               accumulate: torch.dtype = torch.float64) -> torch.Tensor:
    """Mean over the (2r+1)x(2r+1) window around each pixel, O(1) per pixel (cumulative sums).

    Args:
        x: (N,C,H,W) float, any range.
        radius: r >= 0 [px]; r = 0 returns x.
        border: ``"replicate"`` or ``"truncate"`` (see the module docstring).
        accumulate: dtype of the cumulative sums, at least x's (``"truncate"`` always uses float64).
            float64 is exact to ~1e-12 (see ``integral_image``); float32, with ``"replicate"``, runs
            twice as fast and is off by ~1e-6 on [0,1] images at r = 15 and 320 px: enough for an
            image layer, not for the variances of the guided filter.

    Returns:
        (N,C,H,W), x's dtype.
    """
    _check("box_filter", x)
    _check_radius("box_filter", radius)
    if border not in BORDERS:
        raise ConfigError(f"box_filter: border must be one of {BORDERS}, got {border!r}")
    if radius == 0:
        return x
    h, w = x.shape[-2:]
    if border == "truncate":
        return (box_sum_truncated(integral_image(x), radius) * window_count(h, w, radius, x.device).reciprocal_()
                ).to(x.dtype)
    k = 2 * radius + 1
    # pad r + 1 before and r after (edge pixel repeated), then window sum at i = c[i + k] - c[i]
    acc = torch.promote_types(x.dtype, accumulate)
    c = F.pad(x, (radius + 1, radius, radius + 1, radius), mode="replicate").to(acc).cumsum_(dim=-2)
    c = (c[..., k:, :] - c[..., :h, :]).cumsum_(dim=-1)
    return ((c[..., k:] - c[..., :w]) * (1.0 / (k * k))).to(x.dtype)


def box_filter_flops(h: int, w: int, radius: int) -> float:
    """FLOPs of ``box_filter`` (replicate border) on one (h, w) channel: the cumulative sum down the
    padded frame, the difference and the sum along the rows (both h x (w + 2r + 1)), the last
    difference and the normalisation."""
    k = 2 * radius + 1
    return (h + k) * (w + k) + 2 * h * (w + k) + 2 * h * w


def gaussian_taps(sigma: float, radius: int) -> list[float]:
    """Sampled Gaussian exp(-x^2 / 2 sigma^2), x in [-radius, radius], normalised to sum 1 (2r+1 floats)."""
    k = [math.exp(-(x * x) / (2.0 * sigma * sigma)) for x in range(-radius, radius + 1)]
    total = math.fsum(k)
    return [v / total for v in k]


def _correlate_valid(xp: torch.Tensor, taps: list[float], dim: int, step: int = 1) -> torch.Tensor:
    """``sum_t taps[t] * xp[i*step + t]`` along ``dim`` for every i the padded ``xp`` covers: one
    multiply-add per tap over the whole tensor (small kernels on 1-channel images run faster as
    shifted adds than as ``conv2d``)."""
    n = (xp.shape[dim] - len(taps)) // step + 1
    span = (n - 1) * step + 1

    def shifted(t: int) -> torch.Tensor:
        v = xp.narrow(dim, t, span)
        return v if step == 1 else (v[..., ::step, :] if dim in (-2, xp.ndim - 2) else v[..., ::step])

    out = shifted(0) * taps[0]
    for t in range(1, len(taps)):
        out.add_(shifted(t), alpha=taps[t])
    return out


def gaussian_blur(x: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """Separable Gaussian over a (2r+1)x(2r+1) window, replicate borders. (N,C,H,W) -> (N,C,H,W).

    ``gaussian_blur(x, 5, 5)`` is MATLAB's ``imfilter(x, fspecial('gaussian', 11, 5), 'replicate')``."""
    _check("gaussian_blur", x)
    _check_radius("gaussian_blur", radius)
    if not (isinstance(sigma, (int, float)) and sigma > 0):
        raise ConfigError(f"gaussian_blur: sigma must be > 0 [px], got {sigma!r}")
    if radius == 0:
        return x
    taps = gaussian_taps(sigma, radius)
    y = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    return _correlate_valid(_correlate_valid(y, taps, -2), taps, -1)


def gaussian_blur_flops(h: int, w: int, radius: int) -> float:
    """FLOPs of ``gaussian_blur`` on one (h, w) channel (two passes of 2r+1 multiply-adds)."""
    return 2 * (2 * radius + 1) * (h * (w + 2 * radius) + h * w)


def laplacian3x3(x: torch.Tensor) -> torch.Tensor:
    """The 3x3 Laplacian [[0,1,0],[1,-4,1],[0,1,0]], replicate borders. (N,C,H,W) -> (N,C,H,W)."""
    _check("laplacian3x3", x)
    h, w = x.shape[-2:]
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    out = p[..., :h, 1:w + 1] + p[..., 2:, 1:w + 1]
    out += p[..., 1:h + 1, :w]
    out += p[..., 1:h + 1, 2:]
    return out.sub_(x, alpha=4.0)


def _min_axis(x: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """Minimum over windows of k samples starting at each position of ``x`` along ``dim`` ("valid").
    Doubling: mins over 1, 2, 4, ... samples, then two overlapping windows of the last size cover k
    (the minimum does not mind the overlap): about log2(k) + 1 element-wise minimums."""
    m, size = x, 1
    while 2 * size <= k:
        n = m.shape[dim] - size
        m = torch.minimum(m.narrow(dim, 0, n), m.narrow(dim, size, n))
        size *= 2
    if size == k:
        return m
    n = m.shape[dim] - (k - size)
    return torch.minimum(m.narrow(dim, 0, n), m.narrow(dim, k - size, n))


def min_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Minimum over the (2r+1)x(2r+1) window, cut at the border (pixels outside do not count).
    (N,C,H,W) -> (N,C,H,W). O(log r) element-wise operations per pixel, separable."""
    _check("min_filter", x)
    _check_radius("min_filter", radius)
    if radius == 0:
        return x
    k = 2 * radius + 1
    p = F.pad(x, (radius, radius, radius, radius), value=math.inf)
    return _min_axis(_min_axis(p, k, -2), k, -1)


def _check_guided(guide: torch.Tensor, src: torch.Tensor, settings: list[tuple[int, float]]) -> None:
    _check("guided_filter", guide)
    _check("guided_filter", src)
    for radius, eps in settings:
        _check_radius("guided_filter", radius)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0 < eps < math.inf):
            raise ConfigError(f"guided_filter: eps must be a finite float > 0 (in guide units squared), got {eps!r}")
    if guide.shape[1] not in (1, src.shape[1]) or guide.shape[0] != src.shape[0] or guide.shape[-2:] != src.shape[-2:]:
        raise ConfigError(f"guided_filter: guide {tuple(guide.shape)} must match src {tuple(src.shape)} "
                          f"in batch and size, with 1 or the same number of channels")


class Scratch:
    """Buffers a module keeps between frames for the guided filter's float64 sums.

    A fresh multi-megabyte tensor each frame costs a page fault per 4 KiB touched (glibc returns large
    freed blocks to the kernel), which at 320x160 doubled GFF's time on the CPU. One buffer per key,
    shape, dtype, device and inference mode; the oldest go beyond ``MAX_BUFFERS``. Not thread-safe:
    one per module, used by one thread at a time.
    """

    MAX_BUFFERS = 16

    def __init__(self) -> None:
        self._buffers: dict[tuple, torch.Tensor] = {}

    def get(self, key: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """An uninitialised tensor of this shape, dtype and device: the same memory as the last call with
        these arguments (under the same inference mode), else a new one."""
        index = (key, tuple(shape), dtype, torch.device(device), torch.is_inference_mode_enabled())
        buf = self._buffers.get(index)
        if buf is None:
            while len(self._buffers) >= self.MAX_BUFFERS:
                self._buffers.pop(next(iter(self._buffers)))
            buf = self._buffers[index] = torch.empty(shape, dtype=dtype, device=device)
        return buf


def guided_filters(guide: torch.Tensor, src: torch.Tensor, settings: list[tuple[int, float]],
                   scratch: Scratch | None = None) -> list[torch.Tensor]:
    """The guided filter at several (radius, eps) settings; the window statistics of I, p, Ip and II come
    from one integral image shared by all settings. Same arguments as ``guided_filter``, plus an
    optional ``Scratch`` for the large float64 buffers; one output per setting, in order, never sharing
    memory with the scratch. Not differentiable (in-place arithmetic): call it without autograd."""
    _check_guided(guide, src, settings)
    n, c, h, w = src.shape
    g = guide.shape[1]  # 1 (one grey guide for every channel) or c

    def buffer(key: str, channels: int) -> torch.Tensor:
        shape = (n, channels, h, w)
        if scratch is None:
            return src.new_empty(shape, dtype=torch.float64)
        return scratch.get(key, shape, torch.float64, src.device)

    # I, II (g maps each), p, Ip (c maps each) side by side in one float64 buffer, summed in place
    stats = buffer("stats", 2 * g + 2 * c)
    i, p = stats[:, :g], stats[:, 2 * g:2 * g + c]
    i.copy_(guide)
    torch.mul(i, i, out=stats[:, g:2 * g])
    p.copy_(src)
    torch.mul(i, p, out=stats[:, 2 * g + c:])
    stats.cumsum_(dim=-2).cumsum_(dim=-1)
    out = []
    for radius, eps in settings:
        if radius == 0:  # a one-pixel window has no variance: a = 0, b = p
            out.append(src.clone())
            continue
        inv_count = window_count(h, w, radius, src.device).reciprocal_()
        means = box_sum_truncated(stats, radius, out=buffer("means", 2 * g + 2 * c)).mul_(inv_count)
        m_i, m_ii, m_p, m_ip = means.split([g, g, c, c], 1)
        # in place, no temporaries: a = cov / (var + eps) where Ip was, b = mean(p) - a mean(I) where p was
        a = m_ip.addcmul_(m_i, m_p, value=-1.0).div_(m_ii.addcmul_(m_i, m_i, value=-1.0).add_(eps))
        m_p.addcmul_(a, m_i, value=-1.0)  # channels [2g, 2g + 2c) now hold b, a
        ba = means[:, 2 * g:].cumsum_(dim=-2).cumsum_(dim=-1)
        m_b, m_a = box_sum_truncated(ba, radius, out=buffer("ab", 2 * c)).mul_(inv_count).split(c, 1)
        out.append(m_a.mul_(guide).add_(m_b).to(src.dtype, copy=True))
    return out


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float,
                  scratch: Scratch | None = None) -> torch.Tensor:
    """He, Sun, Tang's guided filter (ECCV 2010, TPAMI 2013) with a grey guide per channel.

    ``q = mean_a * I + mean_b`` with ``a = cov(I, p) / (var(I) + eps)``, ``b = mean(p) - a mean(I)``,
    means over (2r+1)^2 windows cut at the border (``guidedfilter.m``). eps is in the units of the
    guide squared: for guides in [0,1], eps = 0.3 smooths across most edges, eps = 1e-6 keeps them.

    Args:
        guide: (N,C,H,W) or (N,1,H,W) float (the guide I).
        src: (N,C,H,W) float (the input p).
        radius: r >= 0 [px].
        eps: > 0, the regulariser.
        scratch: optional ``Scratch`` that keeps the float64 buffers between calls.

    Returns:
        (N,C,H,W) in src's dtype. Computed in float64 (the variance is a difference of two means).
    """
    return guided_filters(guide, src, [(radius, eps)], scratch)[0]


def guided_filter_flops(h: int, w: int, radius: int) -> float:
    """FLOPs of ``guided_filter`` on one (h, w) channel, per pixel: the products II and Ip (2); six maps
    (I, II, p, Ip, then a, b) each summed twice, differenced by three adds and normalised (6 x 6);
    a and b (8); the output (2). Independent of the radius: 48 per pixel."""
    return 48 * h * w


_REDUCE = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]  # Burt & Adelson's generating kernel, a = 0.375


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """Burt-Adelson REDUCE: 5x5 binomial blur (replicate borders), keep every second pixel.
    (N,C,H,W) -> (N,C,ceil(H/2),ceil(W/2)); pixel j sits on input pixel 2j."""
    _check("pyr_down", x)
    p = F.pad(x, (2, 2, 2, 2), mode="replicate")
    return _correlate_valid(_correlate_valid(p, _REDUCE, -2, step=2), _REDUCE, -1, step=2)


def _expand_axis(cp: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """One axis of EXPAND on a coarse signal padded by one replicated sample at each end: fine 2j gets
    (c[j-1] + 6 c[j] + c[j+1]) / 8, fine 2j+1 gets (c[j] + c[j+1]) / 2; interleaved, cut to n."""
    m = cp.shape[dim] - 2
    left, mid, right = cp.narrow(dim, 0, m), cp.narrow(dim, 1, m), cp.narrow(dim, 2, m)
    even = (left + right).mul_(0.125).add_(mid, alpha=0.75)
    odd = (mid + right).mul_(0.5)
    both = torch.stack([even, odd], dim=dim if dim < 0 else dim + 1)  # (..., m, 2, ...) on that axis
    shape = list(cp.shape)
    shape[dim] = 2 * m
    return both.reshape(shape).narrow(dim, 0, n)


def pyr_up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Burt-Adelson EXPAND to ``size`` (H, W): zero insertion then the binomial blur x4, done per axis in
    its two phases, with the coarse image replicated one pixel past its border so that every output
    pixel gets weight 1. (N,C,h,w) -> (N,C,H,W) for H in {2h-1, 2h}, W in {2w-1, 2w}."""
    _check("pyr_up", x)
    h, w = size
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return _expand_axis(_expand_axis(p, h, -2), w, -1)


def pyr_down_flops(h: int, w: int) -> float:
    """FLOPs of ``pyr_down`` from (h, w), one channel: a 5-tap pass (10 per output) down the columns at
    half the rows, then along the rows at half the columns: ~7.5 per input pixel."""
    return 10 * math.ceil(h / 2) * (w + 4) + 10 * math.ceil(h / 2) * math.ceil(w / 2)


def pyr_up_flops(h: int, w: int) -> float:
    """FLOPs of ``pyr_up`` to (h, w), one channel: five per coarse pair on each axis: ~3.75 per output pixel."""
    return 5 * math.ceil(h / 2) * (math.ceil(w / 2) + 2) + 5 * h * math.ceil(w / 2)
