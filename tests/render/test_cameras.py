"""Rendered frames: determinism, and night/fog degrading RGB but not thermal (measured contrast of
pedestrians and vehicles against their surroundings versus distance)."""

import dataclasses

import cv2
import numpy as np
import pytest

from harness.backends.embedded import EmbeddedBackend
from harness.render.renderer import Renderer, SceneState
from harness.rig import Rig
from harness.semantics import Sem
from harness.sensors.thermal import ThermalCamera
from harness.weather import PRESETS
from harness.backends.truth import ActorView

DISTANCES = (10.0, 20.0, 35.0, 50.0)


def test_same_seed_gives_bit_identical_frames_and_events(gl_ok, small_scenario):
    runs = []
    for _ in range(2):
        be = EmbeddedBackend(small_scenario)
        be.load("0", 5)
        frames = [be.reset()]
        drive = __import__("harness.world.autopilot", fromlist=["RouteFollower"]).RouteFollower(be.world)
        events = []
        for _ in range(40):
            f, e = be.step(drive())
            frames.append(f)
            events.append(e)
        be.close()
        runs.append((frames, events))
    (fa, ea), (fb, eb) = runs
    assert ea == eb
    for a, b in zip(fa, fb):
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.thermal, b.thermal)
        np.testing.assert_array_equal(a.privileged.semantic, b.privileged.semantic)
    assert not np.array_equal(fa[0].rgb, fa[-1].rgb), "the camera did not move"
    assert fa[-1].privileged.clean_rgb.shape == fa[-1].rgb.shape


@pytest.fixture(scope="module")
def stage(town05):
    """A straight arterial lane; targets placed on it at known distances ahead of the ego."""
    lane = max((l for l in town05.lanes if not l.is_connector), key=lambda l: l.length)
    p0, p1 = lane.polyline[0], lane.polyline[-1]
    d = (p1 - p0) / np.linalg.norm(p1 - p0)
    return town05, p0 + d * 5.0, d


def _scene(stage, kind: str, dist: float) -> SceneState:
    town, ego, d = stage
    yaw = float(np.arctan2(d[1], d[0]))
    right = np.array([-d[1], d[0]])
    if kind == "pedestrian":
        xy, size, sem = ego + d * dist + right * 0.8, (0.5, 0.6, 1.75), Sem.PEDESTRIAN
    else:
        xy, size, sem = ego + d * dist, (4.6, 1.9, 1.5), Sem.CAR
    actors = ActorView(np.array([xy]), np.array([yaw + 1.2]), np.array([size]), np.array([int(sem)]), np.array([4242]),
                       np.array([[0.8, 0.78, 0.75]]), np.array([0]))  # light clothing / a silver car
    return SceneState((float(ego[0]), float(ego[1])), yaw, actors, np.zeros(len(town.signals), np.uint8), 11, 0.0)


def _contrast(image: np.ndarray, mask: np.ndarray) -> float:
    """|mean(target) - mean(ring around it)| in [0, 1] units of the 8-bit image."""
    if mask.sum() < 3:
        return 0.0
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~mask
    img = image.astype(np.float64) / 255.0
    if img.ndim == 3:
        img = img @ np.array([0.299, 0.587, 0.114])
    return float(abs(img[mask].mean() - img[ring].mean()))


@pytest.fixture(scope="module")
def contrasts(stage):
    rig = Rig()
    renderer = Renderer(stage[0], rig)
    out = {}
    try:
        for preset in ("clear_noon", "night", "fog"):
            weather = PRESETS[preset]
            for kind in ("pedestrian", "vehicle"):
                for dist in DISTANCES:
                    scene = _scene(stage, kind, dist)
                    views = renderer.render_rgb(scene, weather)
                    ids = renderer.render_ids(scene)
                    th = ThermalCamera(rig.thermal, seed=0)(ids.semantic, ids.instance, ids.depth, weather,
                                                           np.random.default_rng(0))
                    out[preset, kind, dist] = (_contrast(views.rgb, views.instance == 4242),
                                               _contrast(th.image, ids.instance == 4242))
    finally:
        renderer.close()
    return out


def _mean(c, preset, cam, dists=DISTANCES):
    return float(np.mean([c[preset, k, d][cam] for k in ("pedestrian", "vehicle") for d in dists]))


def test_targets_are_visible_in_clear_weather(contrasts):
    assert _mean(contrasts, "clear_noon", 0) > 0.08
    assert _mean(contrasts, "clear_noon", 1) > 0.08


def test_night_and_fog_degrade_rgb_far_more_than_thermal(contrasts):
    far = DISTANCES[2:]  # beyond the reach of low beams
    for preset in ("night", "fog"):
        rgb_ratio = _mean(contrasts, preset, 0, far) / _mean(contrasts, "clear_noon", 0, far)
        th_ratio = _mean(contrasts, preset, 1, far) / _mean(contrasts, "clear_noon", 1, far)
        assert rgb_ratio < 0.5, f"{preset}: RGB kept {rgb_ratio:.2f} of its clear-day contrast"
        assert th_ratio > 0.6, f"{preset}: thermal kept only {th_ratio:.2f} of its clear-day contrast"
        assert th_ratio > 2 * rgb_ratio


def test_fog_contrast_falls_with_distance_in_rgb(contrasts):
    near = np.mean([contrasts["fog", k, DISTANCES[0]][0] for k in ("pedestrian", "vehicle")])
    far = np.mean([contrasts["fog", k, DISTANCES[-1]][0] for k in ("pedestrian", "vehicle")])
    assert near > 2 * far


def test_no_state_leaks_between_frames(stage):
    """Every pixel of every output is rewritten each frame (sky included): A, B, A gives A twice."""
    renderer = Renderer(stage[0], Rig())
    try:
        a, b = _scene(stage, "pedestrian", 10.0), _scene(stage, "vehicle", 35.0)
        outs = []
        for scene, weather in ((a, PRESETS["clear_noon"]), (b, PRESETS["night_fog"]), (a, PRESETS["clear_noon"])):
            v, i = renderer.render_rgb(scene, weather), renderer.render_ids(scene)
            outs.append((v.rgb, v.clean, v.semantic, v.instance, v.depth, i.semantic, i.instance, i.depth))
        for first, again in zip(outs[0], outs[2]):
            np.testing.assert_array_equal(first, again)
        assert (outs[0][5] == Sem.SKY).any() and (outs[0][7][outs[0][5] == Sem.SKY] >= 1e4).all()
    finally:
        renderer.close()


@pytest.mark.parametrize("preset", ["clear_noon", "fog", "night_fog"])
@pytest.mark.parametrize("privileged", [False, True], ids=["lean", "privileged"])
def test_one_frame_of_both_cameras_equals_the_cameras_apart(stage, preset, privileged):
    """render() draws the ids first and runs ``overlap`` (the thermal model) while the RGB pass is
    rasterised: the same images as render_rgb() and render_ids() called one after the other."""
    renderer = Renderer(stage[0], Rig())
    try:
        scene = _scene(stage, "vehicle", 20.0)
        seen = []
        views, ids, extra = renderer.render(scene, PRESETS[preset], privileged=privileged,
                                            overlap=lambda i: seen.append(i) or "thermal")
        apart_v, apart_i = renderer.render_rgb(scene, PRESETS[preset], privileged), renderer.render_ids(scene)
        assert extra == "thermal" and seen[0] is ids
        for name in ("rgb", "clean", "semantic", "instance", "depth"):
            a, b = getattr(views, name), getattr(apart_v, name)
            assert (a is None) == (b is None) == (name != "rgb" and not privileged)
            if a is not None:
                np.testing.assert_array_equal(a, b)
        for name in ("semantic", "instance", "depth"):
            np.testing.assert_array_equal(getattr(ids, name), getattr(apart_i, name))
        assert renderer.render(scene, PRESETS[preset], privileged=privileged, ids=False)[1:] == (None, None)
    finally:
        renderer.close()


def test_back_face_culling_hides_nothing_that_should_show(stage):
    """Meshes are wound for culling; drawing without it must give (nearly) the same pictures."""
    import moderngl

    renderer = Renderer(stage[0], Rig())
    try:
        scene = _scene(stage, "vehicle", 20.0)
        culled = renderer.render_ids(scene).semantic
        enable = renderer.ctx.enable
        renderer.ctx.enable = lambda flag: None if flag == moderngl.CULL_FACE else enable(flag)
        renderer.ctx.disable(moderngl.CULL_FACE)
        unculled = renderer.render_ids(scene).semantic
        assert (culled != unculled).mean() < 1e-3
        assert (culled == Sem.CAR).sum() > 50
    finally:
        renderer.close()


@pytest.mark.parametrize("preset", ["clear_noon", "night", "fog"])
def test_lean_pass_gives_the_same_image_without_ground_truth(stage, preset):
    renderer = Renderer(stage[0], Rig())
    try:
        scene = _scene(stage, "pedestrian", 20.0)
        full = renderer.render_rgb(scene, PRESETS[preset], privileged=True)
        lean = renderer.render_rgb(scene, PRESETS[preset], privileged=False)
        np.testing.assert_array_equal(full.rgb, lean.rgb)
        assert lean.clean is None and lean.semantic is None and full.semantic is not None
    finally:
        renderer.close()


def test_a_lit_signal_lamp_never_vanishes_below_a_pixel(stage):
    """A 0.28 m lamp is under a pixel beyond ~45 m at 320x160 / 90 deg. Sampled at pixel centres it
    would light a pixel only in some frames; the renderer draws lit lamps as at least one pixel, so
    red shows red and green shows green at every distance and sub-pixel offset."""
    from harness.render.camera import camera_world_pose, project_points
    from harness.render.meshes import signal_lamp_points

    town = stage[0]
    rig = Rig()
    sig = max(town.signals, key=lambda s: s.head[0])  # any head: the scene is empty around it
    face = np.radians(sig.facing_deg)
    f = np.array([np.cos(face), np.sin(face)])
    lamps = signal_lamp_points(town)[3 * sig.id : 3 * sig.id + 3, :3]
    renderer = Renderer(town, rig)
    seen = []
    try:
        for dist in np.linspace(30.0, 75.0, 10):  # steps of 5 m: the lamp lands at varied sub-pixel offsets
            ego = np.asarray(sig.head[:2]) + f * dist
            yaw = float(face + np.pi)
            pos, cyaw, pitch, roll = camera_world_pose(tuple(ego), yaw, rig.rgb)
            uv, _ = project_points(lamps, pos, cyaw, pitch, roll, rig.rgb)
            images = {}
            for state in (0, 2):  # all red, all green
                none = ActorView(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), np.zeros(0, int), np.zeros(0, int),
                                 np.zeros((0, 3)), np.zeros(0, int))
                scene = SceneState(tuple(ego), yaw, none, np.full(len(town.signals), state, np.uint8), 3, 0.0)
                images[state] = renderer.render_rgb(scene, PRESETS["clear_noon"], privileged=False).rgb.astype(int)
            for state, (col, other) in ((0, (0, 1)), (2, (1, 0))):
                u, v = uv[state]
                win = images[state][int(v) - 2 : int(v) + 3, int(u) - 2 : int(u) + 3]
                assert win.size, f"lamp projected outside the image at {dist:.0f} m"
                seen.append((win[..., col] - win[..., other]).max())
                assert seen[-1] > 30, f"{'red' if state == 0 else 'green'} lamp not visible at {dist:.0f} m"
    finally:
        renderer.close()


def test_ground_truth_sees_through_fog_the_sensor_image_does_not(stage):
    """In night fog (40 m visibility) a car 70 m ahead is beyond what the sensor image draws; the
    clean image and the ids still show it (oracle_clean must be a real upper bound)."""
    renderer = Renderer(stage[0], Rig())
    try:
        scene = _scene(stage, "vehicle", 70.0)
        views = renderer.render_rgb(scene, PRESETS["night_fog"], privileged=True)
        lean = renderer.render_rgb(scene, PRESETS["night_fog"], privileged=False)
        car = views.instance == 4242
        assert car.sum() > 20
        assert _contrast(views.clean, car) > 0.05
        np.testing.assert_array_equal(views.rgb, lean.rgb)
        a = scene.actors
        empty = ActorView(a.xy[:0], a.yaw[:0], a.size[:0], a.sem[:0], a.instance[:0], a.color[:0], a.flags[:0])
        no_car = renderer.render_rgb(dataclasses.replace(scene, actors=empty), PRESETS["night_fog"], privileged=False)
        np.testing.assert_array_equal(no_car.rgb, lean.rgb)  # the fog hides it completely
    finally:
        renderer.close()


@pytest.mark.parametrize("preset", ["night_fog", "clear_sunset"])
def test_clean_image_is_the_clear_noon_sensor_image_without_noise(stage, preset):
    """oracle_clean feeds the policy the clean image: it must be what the camera gives at clear noon
    (same exposure, tone curve, sky and brake lights), not a differently lit picture, or the policy
    sees images it was never trained on. A braking car shows its lamps in both."""
    renderer = Renderer(stage[0], Rig())
    try:
        scene = _scene(stage, "vehicle", 20.0)
        a = scene.actors
        scene = dataclasses.replace(scene, actors=dataclasses.replace(a, flags=np.array([1])))  # braking
        noon = renderer.render_rgb(scene, dataclasses.replace(PRESETS["clear_noon"], rgb_noise=0.0), privileged=False)
        other = renderer.render_rgb(scene, PRESETS[preset], privileged=True)
        diff = np.abs(other.clean.astype(int) - noon.rgb.astype(int))
        assert diff.max() <= 1, f"clean image differs from the clear-noon sensor image by up to {diff.max()}"
        assert np.abs(other.rgb.astype(int) - noon.rgb.astype(int)).mean() > 10  # the weather did change the sensor image
    finally:
        renderer.close()


@pytest.mark.parametrize("preset", ["night_fog", "fog"])
def test_fog_hides_the_horizon(stage, preset):
    """Through fog the sky and the far ground meet without an edge: both are all fog. At night the
    headlights' veil lies over both (it used to stop at geometry: a bright road under a dark sky, a
    hard horizon and far silhouettes that 40 m of visibility should hide)."""
    renderer = Renderer(stage[0], Rig())
    try:
        weather = dataclasses.replace(PRESETS[preset], rgb_noise=0.0)
        views = renderer.render_rgb(_scene(stage, "vehicle", 70.0), weather, privileged=True)
        sky = views.depth >= 1e3
        grey = views.rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        jumps = []
        for col in range(grey.shape[1]):
            rows = np.flatnonzero(sky[:, col])
            r = rows[-1] if len(rows) else -1
            if r >= 1 and r + 3 < grey.shape[0] and views.depth[r + 3, col] > 100.0:  # open sky over far ground
                jumps.append(abs(grey[r - 1, col] - grey[r + 3, col]))
        assert len(jumps) > grey.shape[1] // 4
        assert float(np.median(jumps)) < 4.0, f"an edge of {np.median(jumps):.1f} levels where fog should hide the horizon"
    finally:
        renderer.close()


def test_ground_truth_without_the_thermal_camera_draws_no_thermal_ids(gl_ok, small_scenario):
    """oracle_clean's case: privileged outputs but no thermal camera. The thermal ids pass is
    skipped (its fields are None) and every other image is the one drawn with the thermal camera on."""
    from harness.backends.records import VehicleControl

    frames = []
    for thermal in (True, False):
        with EmbeddedBackend(small_scenario, privileged=True) as be:
            be.configure(be.scenario.rig, privileged=True, thermal=thermal)
            be.load("0", 2)
            frame = be.reset()
            for _ in range(5):
                frame, _ = be.step(VehicleControl(throttle=0.5))
            frames.append(frame)
    on, off = frames
    assert on.privileged.thermal_semantic is not None and on.thermal.size > 0
    assert off.privileged.thermal_semantic is None and off.privileged.thermal_depth is None and off.thermal.shape == (0, 0)
    np.testing.assert_array_equal(on.rgb, off.rgb)
    np.testing.assert_array_equal(on.privileged.clean_rgb, off.privileged.clean_rgb)
    np.testing.assert_array_equal(on.privileged.semantic, off.privileged.semantic)


def test_the_context_falls_back_to_the_versioned_gl_libraries(monkeypatch):
    """A machine with the runtime libraries alone has libEGL.so.1 but no libEGL.so; the context is opened through
    the versioned names then, and when neither opens, the error names the packages and keeps the first cause."""
    import moderngl

    from harness.errors import RenderError
    from harness.render.renderer import create_context

    calls = []

    def fake(**kw):
        calls.append(kw)
        if "libegl" not in kw:
            raise OSError("libEGL.so: cannot open shared object file")
        return "context"

    monkeypatch.setattr(moderngl, "create_context", fake)
    assert create_context() == "context"
    assert calls[1] == {"standalone": True, "backend": "egl", "libegl": "libEGL.so.1", "libgl": "libGL.so.1"}

    def broken(**kw):
        raise OSError(f"cannot open {kw.get('libegl', 'libEGL.so')}")

    monkeypatch.setattr(moderngl, "create_context", broken)
    with pytest.raises(RenderError, match="libegl1 libegl-mesa0") as info:
        create_context()
    assert "libEGL.so:" not in str(info.value) and str(info.value.__cause__) == "cannot open libEGL.so"
