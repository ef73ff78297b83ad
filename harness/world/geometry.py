"""Small geometry kernel for the world model (numpy only).

Frame: CARLA's. x forward/east, y right/south, z up, yaw in degrees from +x towards +y. A heading
``h`` [rad] has unit vector ``(cos h, sin h)``; the right-hand side of that heading is
``(-sin h, cos h)``.
"""

from __future__ import annotations

import numpy as np


def right_of(d: np.ndarray) -> np.ndarray:
    """Unit vector(s) to the right of direction(s) ``d`` (..., 2) in the CARLA frame."""
    d = np.asarray(d, dtype=np.float64)
    return np.stack([-d[..., 1], d[..., 0]], axis=-1)


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Wrap radians to [-pi, pi)."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


class PolylineSet:
    """Many polylines packed into flat arrays so positions can be looked up for many actors at once.

    ``lookup(ids, s)`` returns positions and headings of arc length ``s`` [m] along polyline ``ids``.
    Queries beyond either end are clamped to the ends.
    """

    def __init__(self, polylines: list[np.ndarray]) -> None:
        if not polylines:
            raise ValueError("PolylineSet needs at least one polyline")
        pts, cum, starts, lengths = [], [], [], []
        base = 0.0
        offset = 0
        for i, p in enumerate(polylines):
            p = np.asarray(p, dtype=np.float64)
            if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
                raise ValueError(f"polyline {i} must be an (N>=2, 2) array, got shape {p.shape}")
            seg = np.hypot(*np.diff(p, axis=0).T)
            s = np.concatenate([[0.0], np.cumsum(seg)])
            pts.append(p)
            cum.append(base + s)
            starts.append(offset)
            lengths.append(s[-1])
            offset += len(p)
            base += s[-1] + 1.0e4  # a gap so that no query of one polyline lands in the next
        self.points = np.concatenate(pts)
        self.cum = np.concatenate(cum)
        self.first = np.asarray(starts, dtype=np.int64)
        self.count = np.asarray([len(p) for p in pts], dtype=np.int64)
        self.base = self.cum[self.first]
        self.lengths = np.asarray(lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def lookup(self, ids: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``(N, 2)`` [m] and headings ``(N,)`` [rad] at arc lengths ``s`` along ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        s = np.clip(np.asarray(s, dtype=np.float64), 0.0, self.lengths[ids])
        gs = self.base[ids] + s
        k = np.searchsorted(self.cum, gs, side="right") - 1
        k = np.clip(k, self.first[ids], self.first[ids] + self.count[ids] - 2)
        p0, p1 = self.points[k], self.points[k + 1]
        seg = self.cum[k + 1] - self.cum[k]
        t = np.where(seg > 0, (gs - self.cum[k]) / np.maximum(seg, 1e-9), 0.0)
        pos = p0 + (p1 - p0) * t[:, None]
        d = p1 - p0
        return pos, np.arctan2(d[:, 1], d[:, 0])

    def project(self, pid: int, xy: np.ndarray) -> tuple[float, float, float]:
        """Arc length of the closest point on polyline ``pid`` to ``xy``, the signed lateral
        offset [m] (positive to the right) and the distance [m] to that point."""
        a = self.first[pid]
        p = self.points[a : a + self.count[pid]]
        d = np.diff(p, axis=0)
        seg2 = np.maximum((d**2).sum(1), 1e-12)
        t = np.clip(((xy - p[:-1]) * d).sum(1) / seg2, 0.0, 1.0)
        q = p[:-1] + d * t[:, None]
        dist = np.hypot(*(xy - q).T)
        k = int(np.argmin(dist))
        s = self.cum[a + k] - self.cum[a] + t[k] * np.sqrt(seg2[k])
        r = right_of(d[k] / np.sqrt(seg2[k]))
        return float(s), float(np.dot(xy - q[k], r)), float(dist[k])


def bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, step_m: float = 1.0) -> np.ndarray:
    """Cubic Bezier from ``p0`` to ``p3`` sampled about every ``step_m`` metres, ends included."""
    approx = np.hypot(*(p1 - p0)) + np.hypot(*(p2 - p1)) + np.hypot(*(p3 - p2))
    n = max(4, int(np.ceil(approx / step_m)) + 1)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def obb_corners(x: np.ndarray, y: np.ndarray, yaw: np.ndarray, half_len: np.ndarray, half_wid: np.ndarray) -> np.ndarray:
    """Corners ``(N, 4, 2)`` of oriented boxes centred at ``(x, y)`` with heading ``yaw`` [rad]."""
    c, s = np.cos(yaw), np.sin(yaw)
    f = np.stack([c, s], -1) * np.asarray(half_len)[..., None]
    r = np.stack([-s, c], -1) * np.asarray(half_wid)[..., None]
    ctr = np.stack([x, y], -1)
    return np.stack([ctr + f + r, ctr + f - r, ctr - f - r, ctr - f + r], axis=-2)


def obb_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Separating-axis test between box ``a`` (4, 2) and boxes ``b`` (N, 4, 2); returns (N,) bool."""
    b = np.asarray(b)
    if b.size == 0:
        return np.zeros(0, dtype=bool)
    overlap = np.ones(len(b), dtype=bool)
    axes_a = np.stack([a[1] - a[0], a[3] - a[0]])  # (2, 2)
    axes_b = np.stack([b[:, 1] - b[:, 0], b[:, 3] - b[:, 0]], axis=1)  # (N, 2, 2)
    for k in range(2):
        ax = np.broadcast_to(axes_a[k], (len(b), 2))
        overlap &= _overlap_on(a, b, ax)
        overlap &= _overlap_on(a, b, axes_b[:, k])
    return overlap


def _overlap_on(a: np.ndarray, b: np.ndarray, ax: np.ndarray) -> np.ndarray:
    pa = np.einsum("kd,nd->nk", a, ax)
    pb = np.einsum("nkd,nd->nk", b, ax)
    return (pa.max(1) >= pb.min(1)) & (pb.max(1) >= pa.min(1))
