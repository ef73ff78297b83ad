"""Infraction clips: a few seconds of RGB | thermal | fused | top view around each collision.

The recorder keeps the last ``before_s`` seconds of panels (every ``every``-th 20 Hz frame) and,
when a collision is reported, records ``after_s`` more and writes ``<out>/<name>_f<frame>_<kind>.mp4``
(OpenCV's MPEG-4 writer; ``.gif`` where that writer is unavailable: noisy camera frames make GIFs
about 50 times larger). Collisions during a clip, and contact with the same actor within
``SAME_ACTOR_S`` (the leaderboard's rule for counting a collision once), share one clip.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

FPS = 20.0  # the simulation's fixed step
SAME_ACTOR_S = 5.0  # [s] a new contact with the same actor within this is the same collision
TOP_M = 40.0  # [m] side of the top view's square window around the ego
COLORS = {"ego": (60, 220, 60), "vehicle": (70, 130, 255), "pedestrian": (255, 70, 70), "route": (150, 150, 150)}


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = np.ascontiguousarray(img)
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def top_view(world, size: int) -> np.ndarray:
    """(size, size, 3) uint8: the route and every actor within TOP_M / 2 of the ego, ego heading up."""
    from harness.semantics import Sem

    img = np.full((size, size, 3), 30, np.uint8)
    if world is None:
        return _label(img, "no top view")
    ppm = size / TOP_M
    ex, ey, eyaw = world.ego.x, world.ego.y, world.ego.yaw
    c, s = np.cos(-eyaw), np.sin(-eyaw)

    def to_px(xy: np.ndarray) -> np.ndarray:  # world -> image, ego at the centre facing up
        d = np.atleast_2d(xy) - (ex, ey)
        fwd, right = d[:, 0] * c - d[:, 1] * s, d[:, 0] * s + d[:, 1] * c
        return np.stack([size / 2 + right * ppm, size / 2 - fwd * ppm], -1)

    pts = world.route.points
    near = np.hypot(*(pts - (ex, ey)).T) < TOP_M
    if near.any():
        cv2.polylines(img, [to_px(pts[near]).astype(np.int32)], False, COLORS["route"], 2, cv2.LINE_AA)
    view = world.actor_view(include_ego=True)
    for k in np.flatnonzero(np.hypot(*(view.xy - (ex, ey)).T) < TOP_M * 0.75):
        length, width = view.size[k, 0], view.size[k, 1]
        ca, sa = np.cos(view.yaw[k]), np.sin(view.yaw[k])
        corners = np.array([[length / 2, width / 2], [length / 2, -width / 2], [-length / 2, -width / 2], [-length / 2, width / 2]])
        world_pts = view.xy[k] + corners @ np.array([[ca, sa], [-sa, ca]])
        kind = "ego" if k == 0 else ("pedestrian" if view.sem[k] in (Sem.PEDESTRIAN, Sem.RIDER) else "vehicle")
        cv2.fillPoly(img, [to_px(world_pts).astype(np.int32)], COLORS[kind], cv2.LINE_AA)
    return _label(img, "top view")


def panel(rgb: np.ndarray, thermal: np.ndarray | None, fused: np.ndarray | None, world) -> np.ndarray:
    """One clip frame: RGB | thermal | fused | top view, at the RGB camera's height."""
    h, w = rgb.shape[:2]

    def fit(img: np.ndarray | None, text: str) -> np.ndarray:
        if img is None or img.size == 0:
            return _label(np.zeros((h, w, 3), np.uint8), f"{text}: none")
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if img.shape[:2] != (h, w):
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        return _label(img, text)

    return np.concatenate([fit(rgb, "RGB"), fit(thermal, "thermal"), fit(fused, "fused (policy input)"),
                           top_view(world, h)], axis=1)


class ClipRecorder:
    def __init__(self, out_dir: str | Path, name: str, before_s: float = 3.0, after_s: float = 1.5, every: int = 2) -> None:
        self.out_dir = Path(out_dir)
        self.name = name
        self.every = every
        self.before = deque(maxlen=max(1, int(before_s * FPS / every)))
        self.after_frames = int(after_s * FPS / every)
        self._pending: tuple[int, str, list[np.ndarray], int] | None = None  # (frame, kind, frames, left)
        self.written: list[Path] = []
        self._n = 0
        self._last_hit: dict[int, int] = {}  # other actor id -> step of its last contact

    def add(self, frame, fused: np.ndarray | None, events, world) -> None:
        """One 20 Hz step: the sensor frame, the image the policy got, the step's events."""
        hit = None
        for c in events.collisions:
            seen = self._last_hit.get(c.other_id)
            self._last_hit[c.other_id] = self._n
            if hit is None and (seen is None or self._n - seen > SAME_ACTOR_S * FPS):
                hit = c
        if self._n % self.every == 0 or hit is not None:
            thermal = frame.thermal if getattr(frame, "thermal", None) is not None and frame.thermal.size else None
            p = panel(frame.rgb, thermal, fused, world)
            if self._pending is not None:
                self._pending[2].append(p)
                self._pending = (*self._pending[:3], self._pending[3] - 1)
                if self._pending[3] <= 0:
                    self._flush()
            self.before.append(p)
        if hit is not None and self._pending is None:
            self._pending = (events.frame, getattr(hit, "kind", "collision"), list(self.before), self.after_frames)
        self._n += 1

    def _flush(self) -> None:
        frame, kind, frames, _ = self._pending
        self._pending = None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"{self.name}_f{frame}_{kind}"
        fps = FPS / self.every
        h, w = frames[0].shape[:2]
        tmp = stem.with_name(f".{stem.name}.tmp.mp4")
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        if writer.isOpened():
            for f in frames:
                writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            writer.release()
            path = stem.with_suffix(".mp4")
        else:
            tmp = stem.with_name(f".{stem.name}.tmp.gif")
            images = [Image.fromarray(f) for f in frames]
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
            path = stem.with_suffix(".gif")
        tmp.replace(path)
        self.written.append(path)

    def close(self) -> None:
        """Write a clip still waiting for its 'after' frames (the route ended first)."""
        if self._pending is not None:
            self._flush()
