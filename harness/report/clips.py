"""Infraction clips: a few seconds of RGB | thermal | fused | top view around each infraction.

The recorder keeps the last ``before_s`` seconds of panels (every ``every``-th 20 Hz frame) and,
when something goes wrong, records ``after_s`` more and writes ``<out>/<name>_f<frame>_<kind>.mp4``
(OpenCV's MPEG-4 writer; ``.gif`` where that writer is unavailable: noisy camera frames make GIFs
about 50 times larger). Kinds:

- ``pedestrian`` / ``vehicle`` / ``static``: a collision; contact with the same actor within
  ``SAME_ACTOR_S`` (the leaderboard's rule for counting a collision once) is the same collision;
- ``red_light``: the ego crossed a stop line at red;
- ``standing60s``: the ego has stood still for ``STANDING_S`` (longer than a whole signal cycle of
  the embedded towns, so it is not waiting for a light; the leaderboard calls it blocked later).
  This one is a time-lapse of the whole wait, a panel per second played at ``LAPSE_FPS``, so the
  lights it waited through are in it.

Collisions and red-light runs during a clip share it. The top view shows the signal heads in their
current colour and names the state of the next light on the route, so a red run or a wait at green
reads at a glance.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

FPS = 20.0  # the simulation's fixed step
SAME_ACTOR_S = 5.0  # [s] a new contact with the same actor within this is the same collision
STANDING_S = 60.0  # [s] standing still this long gives a clip (the towns' longest signal cycle is 57 s)
LAPSE_STEPS = 20  # a panel per second for the stand-still time-lapse
LAPSE_FPS = 5.0
LAMP_COLORS = {0: (255, 40, 40), 1: (255, 200, 0), 2: (40, 230, 90)}  # red, yellow, green
TOP_M = 40.0  # [m] side of the top view's square window around the ego
COLORS = {"ego": (60, 220, 60), "vehicle": (70, 130, 255), "pedestrian": (255, 70, 70), "route": (150, 150, 150)}


def _label(img: np.ndarray, text: str, y: int = 14) -> np.ndarray:
    out = np.ascontiguousarray(img)
    cv2.putText(out, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def light_ahead(truth) -> str:
    """The next signalised stop line on the route: "light 12 m: red" ("no light ahead" when none)."""
    from harness.world.autopilot import RouteFollower
    from harness.world.signals import STATE_NAMES

    gap, state = RouteFollower(truth).next_signal()
    return "no light ahead" if state is None else f"light {gap:.0f} m: {STATE_NAMES[state]}"


def top_view(truth, size: int) -> np.ndarray:
    """(size, size, 3) uint8: the route and every actor within TOP_M / 2 of the ego, ego heading up."""
    from harness.semantics import Sem

    img = np.full((size, size, 3), 30, np.uint8)
    if truth is None:
        return _label(img, "no top view")
    ppm = size / TOP_M
    ex, ey, eyaw = truth.ego.x, truth.ego.y, truth.ego.yaw
    c, s = np.cos(-eyaw), np.sin(-eyaw)

    def to_px(xy: np.ndarray) -> np.ndarray:  # world -> image, ego at the centre facing up
        d = np.atleast_2d(xy) - (ex, ey)
        fwd, right = d[:, 0] * c - d[:, 1] * s, d[:, 0] * s + d[:, 1] * c
        return np.stack([size / 2 + right * ppm, size / 2 - fwd * ppm], -1)

    pts = truth.route.points
    near = np.hypot(*(pts - (ex, ey)).T) < TOP_M
    if near.any():
        cv2.polylines(img, [to_px(pts[near]).astype(np.int32)], False, COLORS["route"], 2, cv2.LINE_AA)
    view = truth.actor_view(include_ego=True)
    for k in np.flatnonzero(np.hypot(*(view.xy - (ex, ey)).T) < TOP_M * 0.75):
        length, width = view.size[k, 0], view.size[k, 1]
        ca, sa = np.cos(view.yaw[k]), np.sin(view.yaw[k])
        corners = np.array([[length / 2, width / 2], [length / 2, -width / 2], [-length / 2, -width / 2], [-length / 2, width / 2]])
        world_pts = view.xy[k] + corners @ np.array([[ca, sa], [-sa, ca]])
        kind = "ego" if k == 0 else ("pedestrian" if view.sem[k] in (Sem.PEDESTRIAN, Sem.RIDER) else "vehicle")
        cv2.fillPoly(img, [to_px(world_pts).astype(np.int32)], COLORS[kind], cv2.LINE_AA)
    lamps = truth.signal_lamps()
    if lamps:
        ids = [i for i, _, _ in lamps]
        xy = np.array([(x, y) for _, x, y in lamps])
        for k in np.flatnonzero(np.hypot(*(xy - (ex, ey)).T) < TOP_M * 0.75):
            u, v = to_px(xy[k])[0].astype(int)
            cv2.circle(img, (int(u), int(v)), max(2, size // 60), (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(img, (int(u), int(v)), max(1, size // 80), LAMP_COLORS.get(truth.signal_state(ids[k]), (128, 128, 128)),
                       -1, cv2.LINE_AA)
    return _label(_label(img, f"top view  t={truth.t:.1f} s"), light_ahead(truth), y=size - 6)


def panel(rgb: np.ndarray, thermal: np.ndarray | None, fused: np.ndarray | None, truth) -> np.ndarray:
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
                           top_view(truth, h)], axis=1)


def clip_name(agent: str, variant: str | None, route_id: str, seed: int) -> str:
    """The clips' file-name stem of one route: ``<variant or agent>_route<id>_seed<seed>``."""
    from harness.report.outputs import file_safe

    return file_safe(f"{variant or agent}_route{route_id}_seed{seed}")


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
        self._standing = 0.0  # [s] the ego's time standing still at the previous step
        self.lapse = deque(maxlen=int(STANDING_S * FPS / LAPSE_STEPS) + 1)  # a panel per second

    def add(self, frame, fused: np.ndarray | None, events, truth) -> None:
        """One 20 Hz step: the sensor frame, the image the policy got, the step's events."""
        hit = None  # the kind of the first new infraction of this step
        for c in events.collisions:
            seen = self._last_hit.get(c.other_id)
            self._last_hit[c.other_id] = self._n
            if hit is None and (seen is None or self._n - seen > SAME_ACTOR_S * FPS):
                hit = getattr(c, "kind", "collision")
        if hit is None and getattr(events, "red_lights", ()):
            hit = "red_light"
        standing = getattr(events, "blocked_s", 0.0)
        limit = STANDING_S - 0.5 / FPS  # half a step of slack: the world sums its 50 ms steps in floats
        stuck = standing >= limit > self._standing
        self._standing = standing
        if self._n % self.every == 0 or hit is not None or self._n % LAPSE_STEPS == 0 or stuck:
            thermal = frame.thermal if getattr(frame, "thermal", None) is not None and frame.thermal.size else None
            p = panel(frame.rgb, thermal, fused, truth)
            if self._n % LAPSE_STEPS == 0 or stuck:
                self.lapse.append(p)
            if self._n % self.every == 0 or hit is not None:
                if self._pending is not None:
                    self._pending[2].append(p)
                    self._pending = (*self._pending[:3], self._pending[3] - 1)
                    if self._pending[3] <= 0:
                        self._flush()
                self.before.append(p)
        if hit is not None and self._pending is None:
            self._pending = (events.frame, hit, list(self.before), self.after_frames)
        if stuck:  # the wait as a time-lapse, written at once
            self._write(events.frame, f"standing{STANDING_S:.0f}s", list(self.lapse), LAPSE_FPS)
        self._n += 1

    def _flush(self) -> None:
        frame, kind, frames, _ = self._pending
        self._pending = None
        self._write(frame, kind, frames, FPS / self.every)

    def _write(self, frame: int, kind: str, frames: list[np.ndarray], fps: float) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"{self.name}_f{frame}_{kind}"
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
