"""Infraction clips: the frames around a collision, a red-light run or a long stand-still, as a video
of RGB | thermal | fused | top view."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from harness.report.clips import STANDING_S, ClipRecorder, light_ahead, top_view
from harness.backends.records import Collision, RedLightRun


def _frame(i: int):
    return SimpleNamespace(rgb=np.full((160, 320, 3), i % 256, np.uint8), thermal=np.full((120, 160), 200, np.uint8))


def _events(i: int, hit: bool, red: bool = False, blocked_s: float = 0.0):
    col = (Collision(other_id=7, kind="pedestrian", sem=12, x=0.0, y=0.0, ego_speed=5.0),) if hit else ()
    runs = (RedLightRun(signal_id=3, x=0.0, y=0.0),) if red else ()
    return SimpleNamespace(frame=i, collisions=col, red_lights=runs, blocked_s=blocked_s)


def _frames(path) -> int:
    import cv2

    video, n = cv2.VideoCapture(str(path)), 0
    while video.read()[0]:
        n += 1
    return n


def test_a_collision_gives_one_clip_with_frames_before_and_after(tmp_path):
    import cv2

    rec = ClipRecorder(tmp_path, "rgb_route0_seed0", before_s=1.0, after_s=0.5, every=2)
    for i in range(100):  # contact at 50, again at 52 and 70 with the same actor: one collision
        rec.add(_frame(i), np.zeros((160, 320, 3), np.uint8), _events(i, i in (50, 52, 70)), None)
    rec.close()
    (path,) = rec.written
    assert path.name == "rgb_route0_seed0_f50_pedestrian.mp4"
    video = cv2.VideoCapture(str(path))
    n, size = 0, None
    while True:
        ok, frame = video.read()
        if not ok:
            break
        n, size = n + 1, frame.shape[:2]
    assert size == (160, 3 * 320 + 160)  # RGB, thermal, fused at the camera size; a square top view
    assert n == 10 + 5  # 1 s before and 0.5 s after, every 2nd frame at 20 Hz
    assert not list(tmp_path.glob(".*.tmp*"))


def test_a_route_ending_right_after_a_collision_still_writes_it(tmp_path):
    rec = ClipRecorder(tmp_path, "x", before_s=1.0, after_s=2.0)
    for i in range(12):
        rec.add(_frame(i), None, _events(i, i == 10), None)
    rec.close()
    assert len(rec.written) == 1


def test_top_view_draws_the_ego_at_the_centre(gl_ok, small_scenario):
    from harness.backends.embedded import EmbeddedBackend

    with EmbeddedBackend(small_scenario, privileged=False) as be:
        be.load(be.route_ids[0], 0)
        be.reset()
        img = top_view(be.world, 160)
    assert img.shape == (160, 160, 3)
    assert tuple(img[80, 80]) == (60, 220, 60)  # the ego's colour under the centre pixel


def test_red_light_runs_and_long_stand_stills_give_clips(tmp_path):
    rec = ClipRecorder(tmp_path, "x", before_s=1.0, after_s=0.5)
    standing = 0.0
    for i in range(4000):
        # a red light at step 100; standing from step 200 to 1700 (75 s), moving, standing again from 2000
        standing = standing + 0.05 if 200 <= i < 1700 or i >= 2000 else 0.0
        rec.add(_frame(i), None, _events(i, False, red=i == 100, blocked_s=standing), None)
    rec.close()
    names = sorted(p.name for p in rec.written)
    first = 200 + int(STANDING_S * 20)  # the step at which the stand-still reaches STANDING_S
    second = 2000 + int(STANDING_S * 20)
    assert names == sorted(["x_f100_red_light.mp4", f"x_f{first - 1}_standing60s.mp4", f"x_f{second - 1}_standing60s.mp4"])
    # a stand-still clip is a time-lapse of the whole wait: a panel per second, and the last one
    assert _frames(tmp_path / f"x_f{first - 1}_standing60s.mp4") == int(STANDING_S) + 1


def test_top_view_shows_signal_heads_in_their_state_and_names_the_light_ahead(gl_ok, small_scenario):
    from harness.backends.embedded import EmbeddedBackend

    with EmbeddedBackend(small_scenario, privileged=False) as be:
        be.load(be.route_ids[0], 0)
        be.reset()
        w = be.world
        assert light_ahead(w) == "no light ahead" or light_ahead(w).startswith("light ")
        head = w.town.signals[0].head
        w.ego.x, w.ego.y = head[0] + 8.0, head[1]
        for state, colour in ((2, (40, 230, 90)), (0, (255, 40, 40))):
            w.signal_states[:] = state
            img = top_view(w, 160)
            assert (img.reshape(-1, 3) == colour).all(axis=1).any(), f"no head drawn in state {state}"
