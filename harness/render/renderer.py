"""Rasterises the embedded world with moderngl over headless EGL (Mesa llvmpipe on a CPU, the
NVIDIA driver on a GPU).

Two passes per step: the RGB camera (lit image, clean clear-noon image, semantic ids, instance ids,
depth, as five render targets of one draw) and the thermal camera at its own pose, resolution and
field of view (ids and depth only; :mod:`harness.sensors.thermal` turns those into a thermal image,
the same way a CARLA backend would from its semantic, instance and depth cameras).
:meth:`Renderer.render` draws both for one frame and runs the thermal model while llvmpipe's threads
rasterise the RGB pass (a glFlush hands a pass over without waiting for it).

Over 400 lines on purpose: one class owns one GL context and the order of its draws (culling,
instance upload, lamps, lighting uniforms, read-back); split, the pieces would pass the context and
its buffers back and forth. Shaders (:mod:`.shaders`), meshes (:mod:`.meshes`) and the camera maths
(:mod:`.camera`) are already their own modules.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, TypeVar

import numpy as np

from harness.errors import RenderError
from harness.render import shaders
from harness.render.camera import camera_world_pose, projection_matrix, view_matrix
from harness.render.meshes import (GROUND_TILE, ROAD_MARK, SMALL, TILE_M, build_static, signal_lamp_points,
                                   unit_pedestrian, unit_vehicle)
from harness.rig import CameraSpec, Rig
from harness.semantics import Sem
from harness.weather import Weather, preset
from harness.world.town import Town

DRAW_DISTANCE_M = 220.0
PROP_DISTANCE_M = 100.0  # poles, lamps, signal heads and trees: under a pixel or two beyond this
ACTOR_DISTANCE_M = 160.0
Out = TypeVar("Out")
VERTEX_FORMAT = "3f 3f 3f 1f 4f"
INSTANCE_FORMAT = "3f 3f 3f 3f/i"
INSTANCE_ATTRS = ("i_pose", "i_size", "i_color", "i_ids")
VERTEX_ATTRS = ("in_pos", "in_normal", "in_color", "in_sem", "in_aux")


@dataclass(frozen=True)
class RgbViews:
    rgb: np.ndarray  # (H, W, 3) uint8, weather and light applied, sensor noise included
    clean: np.ndarray | None  # (H, W, 3) uint8, same view at clear noon (privileged)
    semantic: np.ndarray | None  # (H, W) uint8 CARLA class ids (privileged)
    instance: np.ndarray | None  # (H, W) int32 (privileged)
    depth: np.ndarray | None  # (H, W) float32 [m] along the optical axis, 1e4 for sky (privileged)


@dataclass(frozen=True)
class IdViews:
    semantic: np.ndarray  # (H, W) uint8
    instance: np.ndarray  # (H, W) int32
    depth: np.ndarray  # (H, W) float32 [m]


@dataclass(frozen=True)
class _Prepared:
    """A pass's numpy half (:meth:`Renderer._prepare`)."""

    view: np.ndarray
    vp: np.ndarray
    static: np.ndarray  # uint32 indices of the static geometry in view
    vehicles: np.ndarray  # (n, 12) float32 instances
    pedestrians: np.ndarray
    lamps: np.ndarray  # uint32 indices of lit lamp points (RGB passes)


@dataclass(frozen=True)
class SceneState:
    """What moves: from ``World.actor_view`` plus ego pose, signals and a noise seed."""

    ego_xy: tuple[float, float]
    ego_yaw: float  # [rad]
    actors: object  # harness.backends.truth.ActorView
    signal_states: np.ndarray  # (n_signals,) uint8
    frame_seed: int
    time: float  # [s]


def create_context():
    try:
        import moderngl
    except ImportError as err:  # pragma: no cover - moderngl is a core dependency
        raise RenderError("moderngl is not installed; run `make setup`") from err
    # glcontext opens the unversioned libEGL.so/libGL.so, which only the -dev packages provide; machines with the
    # runtime libraries alone (a GPU image with the NVIDIA driver and glvnd, say) have libEGL.so.1/libGL.so.1
    first = None
    for libs in ({}, {"libegl": "libEGL.so.1", "libgl": "libGL.so.1"}):
        try:
            return moderngl.create_context(standalone=True, backend="egl", **libs)
        except Exception as err:
            first = first or err
    raise RenderError(
        "could not create a headless OpenGL context over EGL; install the Debian packages "
        "libegl1 libegl-mesa0 libgl1-mesa-dri (make setup does this) or, on a GPU machine, the NVIDIA EGL driver"
    ) from first


class Renderer:
    def __init__(self, town: Town, rig: Rig) -> None:
        import moderngl

        self.town, self.rig = town, rig
        self.ctx = ctx = create_context()
        self.info = {k: ctx.info[k] for k in ("GL_RENDERER", "GL_VERSION")}
        # lit RGB programs per (light set, privileged outputs): see shaders.rgb_fragment
        lights = {"day": (False, False), "head": (False, True), "night": (True, True)}
        self.rgb_progs = {
            (name, priv): ctx.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.rgb_fragment(*lit, priv))
            for name, lit in lights.items() for priv in (False, True)
        }
        self.variant: tuple[str, bool] = ("day", True)
        self.prog_ids = ctx.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.IDS_FRAGMENT)
        self.prog_depth = ctx.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.DEPTH_FRAGMENT)
        self.sky_progs = {priv: ctx.program(vertex_shader=shaders.SKY_VERTEX, fragment_shader=shaders.sky_rgb_fragment(priv))
                          for priv in (False, True)}
        self.sky_ids = ctx.program(vertex_shader=shaders.SKY_VERTEX, fragment_shader=shaders.SKY_IDS_FRAGMENT)
        for p in (*self.rgb_progs.values(), self.prog_ids):
            _u(p, "lane_width", town.spec.lane_width_m)
            _u(p, "stop_back", ROAD_MARK["stop_back"])
            _u(p, "crosswalk", ROAD_MARK["crosswalk"])
            _u(p, "signal_tex", 0)
            _u(p, "noise_tex", 1)
        for sky in self.sky_progs.values():
            _u(sky, "noise_tex", 1)
        noise = np.random.default_rng(12345).standard_normal((256, 256, 3)).astype("f4")
        self.noise_tex = ctx.texture((256, 256), 3, noise.tobytes(), dtype="f4")
        self.noise_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        verts, self.static_indices, self.tiles, self.lamps = build_static(town)
        self.static_vbo = ctx.buffer(verts.astype("f4").tobytes())
        # per camera, the indices of the tiles in view are gathered into one buffer each frame: one draw call
        self.ibo = {cam: ctx.buffer(reserve=self.static_indices.nbytes, dynamic=True) for cam in ("rgb", "ids")}
        one = np.array([[0, 0, 0, 1, 1, 1, 1, 1, 1, -1, 0, 0]], dtype="f4")
        self.one_inst = ctx.buffer(one.tobytes())
        self.veh_mesh = ctx.buffer(unit_vehicle().astype("f4").tobytes())
        self.ped_mesh = ctx.buffer(unit_pedestrian().astype("f4").tobytes())
        self.n_veh_verts = len(unit_vehicle())
        self.n_ped_verts = len(unit_pedestrian())
        self.max_actors = 512
        # per camera, like the index buffers: the ids pass is still being rasterised while the RGB
        # pass uploads its actors (see render())
        self.veh_inst = {cam: ctx.buffer(reserve=self.max_actors * 12 * 4, dynamic=True) for cam in ("rgb", "ids")}
        self.ped_inst = {cam: ctx.buffer(reserve=self.max_actors * 12 * 4, dynamic=True) for cam in ("rgb", "ids")}
        # signal lamps also as one-pixel points, so a lamp smaller than a pixel still lights one
        self.lamp_points = signal_lamp_points(town)
        n_pts = max(1, len(self.lamp_points))
        self.lamp_vbo = ctx.buffer(np.resize(self.lamp_points, (n_pts, self.lamp_points.shape[1])).astype("f4").tobytes())
        self.lamp_ibo = ctx.buffer(reserve=n_pts * 4, dynamic=True)
        self.vaos = {}
        for name, prog in self.rgb_progs.items():
            self.vaos.setdefault(name, {})["lamps"] = self._vao(prog, self.lamp_vbo, self.one_inst, self.lamp_ibo)
        for name, prog in (*self.rgb_progs.items(), ("ids", self.prog_ids), ("depth", self.prog_depth)):
            cam = "ids" if name == "ids" else "rgb"
            self.vaos.setdefault(name, {}).update({
                "static": self._vao(prog, self.static_vbo, self.one_inst, self.ibo[cam]),
                "veh": self._vao(prog, self.veh_mesh, self.veh_inst[cam]),
                "ped": self._vao(prog, self.ped_mesh, self.ped_inst[cam]),
                "sky": ctx.vertex_array(self.sky_ids if name in ("ids", "depth") else self.sky_progs[name[1]], []),
            })
        n_sig = max(1, len(town.signals))
        self.signal_tex = ctx.texture((n_sig, 1), 1, dtype="u1")
        self.signal_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.fbo_rgb, self.depth_rgb, self.fbo_rgb_lean = self._fbo(rig.rgb, rgb=True)
        self.fbo_ids, self.depth_ids, _ = self._fbo(rig.thermal.camera, rgb=False)
        self.tile_keys = [k for k in self.tiles if k != GROUND_TILE]
        self.tile_layer = np.array([k[0] for k in self.tile_keys])
        self.tile_centres = np.array([((k[1] + 0.5) * TILE_M, (k[2] + 0.5) * TILE_M) for k in self.tile_keys]).reshape(-1, 2)

    def _vao(self, prog, vbo, inst, ibo=None):
        return self.ctx.vertex_array(prog, [(vbo, VERTEX_FORMAT, *VERTEX_ATTRS), (inst, INSTANCE_FORMAT, *INSTANCE_ATTRS)],
                                     index_buffer=ibo, index_element_size=4, skip_errors=True)

    def _fbo(self, cam: CameraSpec, rgb: bool):
        size = (cam.width, cam.height)
        ctx = self.ctx
        targets = []
        if rgb:
            targets += [ctx.renderbuffer(size, 4), ctx.renderbuffer(size, 4)]
        targets += [ctx.renderbuffer(size, 1, dtype="u1"), ctx.renderbuffer(size, 1, dtype="i4"), ctx.renderbuffer(size, 1, dtype="f4")]
        depth = ctx.depth_renderbuffer(size)
        # a depth-only framebuffer over the same depth buffer clears it and takes the pre-pass;
        # the lean one holds the lit image alone (no privileged outputs)
        lean = ctx.framebuffer(targets[:1], depth) if rgb else None
        return ctx.framebuffer(targets, depth), ctx.framebuffer([], depth), lean

    # -- drawing -------------------------------------------------------------------------------
    def _visible_ranges(self, cam_pos: np.ndarray, yaw: float, hfov: float, max_dist: float) -> list[tuple[int, int]]:
        """(first, count) index ranges of the tiles whose bounding circle meets the view wedge."""
        d = self.tile_centres - cam_pos[:2]
        dist = np.hypot(d[:, 0], d[:, 1])
        fwd = np.array([math.cos(yaw), math.sin(yaw)])
        radius = TILE_M / math.sqrt(2.0)
        ang = np.abs(np.arctan2(d[:, 0] * -fwd[1] + d[:, 1] * fwd[0], d @ fwd))
        slack = np.arcsin(np.clip(radius / np.maximum(dist, 1e-6), 0.0, 1.0))
        in_fov = (ang < math.radians(hfov) / 2 + slack) | (dist < radius)
        reach = np.where(self.tile_layer == SMALL, min(max_dist, PROP_DISTANCE_M), max_dist) + radius
        keep = np.flatnonzero((dist < reach) & in_fov)
        return sorted([self.tiles[GROUND_TILE]] + [self.tiles[self.tile_keys[k]] for k in keep])

    def _static_indices(self, ranges: list[tuple[int, int]]) -> np.ndarray:
        return np.concatenate([self.static_indices[a : a + n] for a, n in ranges])

    def _actor_instances(self, scene: SceneState, cam_pos: np.ndarray, yaw: float, hfov: float,
                         max_dist: float) -> tuple[np.ndarray, np.ndarray]:
        """Instance data (``INSTANCE_FORMAT``) of the vehicles and the pedestrians in view (not the ego)."""
        a = scene.actors
        keep = np.zeros(len(a.xy), bool)
        if len(a.xy):
            d = a.xy - cam_pos[:2]
            dist = np.hypot(d[:, 0], d[:, 1])
            fwd = np.array([math.cos(yaw), math.sin(yaw)])
            along = d @ fwd
            ang = np.abs(np.arctan2(d[:, 0] * -fwd[1] + d[:, 1] * fwd[0], along))
            # an actor up to 6 m long may poke into view from just outside the frustum
            in_view = (ang < math.radians(hfov) / 2 + 6.0 / np.maximum(dist, 6.0)) | (dist < 6.0)
            keep = (a.instance != 1) & (dist < min(ACTOR_DISTANCE_M, max_dist + 10.0)) & in_view
        is_ped = a.sem == Sem.PEDESTRIAN
        out = []
        for mask in (keep & ~is_ped, keep & is_ped):
            idx = np.flatnonzero(mask)[: self.max_actors]
            data = np.zeros((len(idx), 12), dtype="f4")
            if len(idx):
                data[:, 0:2] = a.xy[idx]
                data[:, 2] = a.yaw[idx]
                data[:, 3:6] = a.size[idx]
                data[:, 6:9] = a.color[idx]
                data[:, 9] = a.sem[idx]
                data[:, 10] = a.instance[idx]
                data[:, 11] = a.flags[idx]
            out.append(data)
        return out[0], out[1]

    def _prepare(self, kind: str, cam: CameraSpec, pos, yaw, pitch, roll, scene: SceneState, max_dist: float) -> _Prepared:
        """The numpy half of a pass (matrices, culling, instance data, lit lamps): no GL call, so it
        can run while the rasteriser threads draw the previous pass."""
        view = view_matrix(pos, yaw, pitch, roll)
        vp = projection_matrix(cam) @ view
        static = self._static_indices(self._visible_ranges(pos, yaw, cam.fov, max_dist))
        veh, ped = self._actor_instances(scene, pos, yaw, cam.fov, max_dist)
        lamps = self._lit_lamps(scene, pos, max_dist) if kind != "ids" else np.zeros(0, np.uint32)
        return _Prepared(view, vp, static, veh, ped, lamps)

    def _draw(self, kind: str, cam: CameraSpec, pos, yaw, pitch, roll, scene: SceneState, max_dist: float,
              prep: _Prepared | None = None) -> None:
        """Draw one camera's view into its framebuffer.

        With night lights the RGB pass first lays down depth with an empty fragment shader, then
        shades with a <= test, so every pixel runs the expensive lighting once instead of once per
        overlapping surface. Day shading and the ids pass are cheap enough to shade directly. The sky
        comes last at depth 1.0 and fills only what the scene left empty."""
        import moderngl

        prep = prep or self._prepare(kind, cam, pos, yaw, pitch, roll, scene, max_dist)
        view, vp = prep.view, prep.vp
        ctx = self.ctx
        ctx.enable(moderngl.CULL_FACE)  # meshes are wound front = counter-clockwise on screen
        ctx.enable(moderngl.DEPTH_TEST)
        which = "ids" if kind == "ids" else "rgb"
        self.ibo[which].write(prep.static.tobytes())
        n_static = len(prep.static)
        for buf, data in ((self.veh_inst[which], prep.vehicles), (self.ped_inst[which], prep.pedestrians)):
            if len(data):
                buf.write(data.tobytes())
        counts = (len(prep.vehicles), len(prep.pedestrians))
        fbo, depth_fbo = (self.fbo_ids, self.depth_ids) if kind == "ids" else (self.fbo_rgb, self.depth_rgb)
        depth_fbo.use()
        depth_fbo.clear(depth=1.0)
        ctx.depth_func = "<"
        prog = self.prog_ids if kind == "ids" else self.rgb_progs[self.variant]
        if kind == "ids":
            fbo.use()
            self._geometry("ids", prog, vp, view, n_static, counts)
            ctx.depth_func = "<="  # the sky sits exactly on the cleared depth 1.0
            self.vaos["ids"]["sky"].render(moderngl.TRIANGLES, vertices=3)
            ctx.depth_func = "<"
            return
        _w(self.sky_progs[self.variant[1]], "inv_view_proj", np.linalg.inv(vp).T.astype("f4").tobytes())
        if not self.variant[1]:
            fbo = self.fbo_rgb_lean
        n_lamps = len(prep.lamps)
        if n_lamps:
            self.lamp_ibo.write(prep.lamps.tobytes())
        if self.variant[0] == "day":  # cheap shading: a pre-pass would cost more than it saves
            fbo.use()
            self._geometry(self.variant, prog, vp, view, n_static, counts, n_lamps)
        else:
            self._geometry("depth", self.prog_depth, vp, view, n_static, counts)
            fbo.use()
            ctx.depth_func = "<="
            fbo.depth_mask = False
            self._geometry(self.variant, prog, vp, view, n_static, counts, n_lamps)
            fbo.depth_mask = True
        ctx.depth_func = "<="  # the sky sits exactly on the cleared depth 1.0
        self.vaos[self.variant]["sky"].render(moderngl.TRIANGLES, vertices=3)
        ctx.depth_func = "<"

    def _lit_lamps(self, scene: SceneState, cam_pos: np.ndarray, max_dist: float) -> np.ndarray:
        """Indices (uint32) of the lit signal lamps' points that face the camera within prop distance.
        The points sit 1 cm in front of the lamp quads, so the depth test hides them wherever the
        lamp is hidden."""
        if not len(self.lamp_points):
            return np.zeros(0, np.uint32)
        states = np.asarray(scene.signal_states, dtype=np.int64)
        sig = np.flatnonzero(states <= 2)
        lit = 3 * sig + states[sig]
        pts = self.lamp_points[lit]
        d = cam_pos[None, :3] - pts[:, :3]
        dist = np.linalg.norm(d, axis=1)
        facing = (d * pts[:, 3:6]).sum(1) > 0.05 * dist
        return lit[facing & (dist < min(max_dist, PROP_DISTANCE_M))].astype(np.uint32)

    def _geometry(self, variant: str, prog, vp: np.ndarray, view: np.ndarray, n_static: int, counts: tuple[int, int],
                  n_lamps: int = 0) -> None:
        import moderngl

        vaos = self.vaos[variant]
        _w(prog, "view_proj", vp.T.astype("f4").tobytes())
        _w(prog, "view", view.T.astype("f4").tobytes())
        _u(prog, "instanced", 0.0)
        vaos["static"].render(moderngl.TRIANGLES, vertices=n_static, instances=1)
        n_veh, n_ped = counts
        _u(prog, "instanced", 1.0)
        if n_veh:
            vaos["veh"].render(moderngl.TRIANGLES, vertices=self.n_veh_verts, instances=n_veh)
        if n_ped:
            vaos["ped"].render(moderngl.TRIANGLES, vertices=self.n_ped_verts, instances=n_ped)
        if n_lamps:
            _u(prog, "instanced", 0.0)
            self.ctx.point_size = 1.0
            vaos["lamps"].render(moderngl.POINTS, vertices=n_lamps, instances=1)

    def render(self, scene: SceneState, weather: Weather, privileged: bool = True, ids: bool = True,
               overlap: Callable[[IdViews], Out] | None = None) -> tuple[RgbViews, IdViews | None, Out | None]:
        """One frame of both cameras: the RGB view (as :meth:`render_rgb`), the thermal camera's ids
        (as :meth:`render_ids`, when ``ids``) and ``overlap(ids)``'s result.

        The ids pass is drawn and handed to llvmpipe's rasteriser threads first; meanwhile this
        thread prepares the RGB pass (culling, instances, lighting: numpy, no GL call), then reads
        the ids back, issues the RGB pass, hands it over too, and runs ``overlap`` (the thermal
        model) while those threads draw it. Images are the same as from two separate calls: only
        the order of the work changes."""
        id_views, extra = None, None
        if ids:
            self._draw_ids(scene, self.rig.thermal.camera)
            _flush()  # the ids pass is rasterised while the RGB pass is prepared
        cam = self.rig.rgb
        pos, yaw, pitch, roll = camera_world_pose(scene.ego_xy, scene.ego_yaw, cam)
        light = "night" if weather.street_lights_on else ("head" if weather.headlights_on else "day")
        w, h = cam.width, cam.height
        reach = self._draw_distance(weather)
        # ground truth sees through fog: the clean image, ids and depth go to the full draw distance;
        # the sensor image stops where fog leaves nothing to see (the same image with or without
        # ground truth). Without fog one pass makes both.
        first = DRAW_DISTANCE_M if privileged else reach
        lighting = self._lighting(scene, weather, pos, privileged)
        prep = self._prepare("rgb", cam, pos, yaw, pitch, roll, scene, first)
        if ids:  # no GL call for the RGB pass before this read: it would wait for that pass too
            id_views = self._read_ids(self.rig.thermal.camera)
        self.signal_tex.write(np.asarray(scene.signal_states, dtype="u1").tobytes())
        self.signal_tex.use(0)
        self.noise_tex.use(1)
        self.variant = (light, privileged)
        self._set_lighting(lighting)
        self._draw("rgb", cam, pos, yaw, pitch, roll, scene, first, prep)
        _flush()
        if ids and overlap is not None:
            extra = overlap(id_views)
        if not privileged:
            return RgbViews(_read(self.fbo_rgb_lean, 0, 4, "f1", h, w)[..., :3], None, None, None, None), id_views, extra
        gt = [_read(self.fbo_rgb, 1, 4, "f1", h, w)[..., :3], _read(self.fbo_rgb, 2, 1, "u1", h, w),
              _read(self.fbo_rgb, 3, 1, "i4", h, w), _read(self.fbo_rgb, 4, 1, "f4", h, w)]
        if reach >= DRAW_DISTANCE_M:  # no fog cut: the same pass made the sensor image
            return RgbViews(_read(self.fbo_rgb, 0, 4, "f1", h, w)[..., :3], *gt), id_views, extra
        self.variant = (light, False)
        self._set_lighting(self._lighting(scene, weather, pos, privileged=False))
        self._draw("rgb", cam, pos, yaw, pitch, roll, scene, reach)
        return RgbViews(_read(self.fbo_rgb_lean, 0, 4, "f1", h, w)[..., :3], *gt), id_views, extra

    def render_rgb(self, scene: SceneState, weather: Weather, privileged: bool = True) -> RgbViews:
        """The RGB camera's view; with ``privileged`` also the clean image, ids and depth (else those
        fields are None and the pass writes one render target instead of five).

        The sensor image is drawn to where fog leaves under 1 % contrast; the ground truth always to
        the full draw distance (in fog that costs a second pass), so the clean image and ids show
        what fog hides, and the sensor image is the same with and without ground truth."""
        return self.render(scene, weather, privileged, ids=False)[0]

    def render_ids(self, scene: SceneState, cam: CameraSpec | None = None) -> IdViews:
        cam = cam or self.rig.thermal.camera
        self._draw_ids(scene, cam)
        return self._read_ids(cam)

    def _draw_ids(self, scene: SceneState, cam: CameraSpec) -> None:
        pos, yaw, pitch, roll = camera_world_pose(scene.ego_xy, scene.ego_yaw, cam)
        self.fbo_ids.use()
        self._draw("ids", cam, pos, yaw, pitch, roll, scene, DRAW_DISTANCE_M)

    def _read_ids(self, cam: CameraSpec) -> IdViews:
        w, h = cam.width, cam.height
        return IdViews(_read(self.fbo_ids, 0, 1, "u1", h, w), _read(self.fbo_ids, 1, 1, "i4", h, w),
                       _read(self.fbo_ids, 2, 1, "f4", h, w))

    @staticmethod
    def _draw_distance(weather: Weather) -> float:
        # beyond 4.6 / beta the fog leaves < 1 % of an object's contrast: nothing to draw
        return float(min(DRAW_DISTANCE_M, max(40.0, 4.6 / weather.fog_extinction_per_m)))

    def _set_lighting(self, values: list[tuple[str, str, object]]) -> None:
        """Set the lit RGB and sky programs' uniforms (of ``self.variant``) from :meth:`_lighting`'s values."""
        progs = {"p": self.rgb_progs[self.variant], "sky": self.sky_progs[self.variant[1]]}
        for prog, name, value in values:
            if isinstance(value, bytes):
                _w(progs[prog], name, value)
            else:
                _u(progs[prog], name, value)

    def _lighting(self, scene: SceneState, weather: Weather, cam_pos: np.ndarray,
                  privileged: bool) -> list[tuple[str, str, object]]:
        """(program "p" or "sky", uniform, value) of a frame's lighting: numpy only, no GL call (bytes
        are written to arrays, other values set)."""
        out: list[tuple[str, str, object]] = []
        put = lambda prog, name, value: out.append((prog, name, value))  # noqa: E731
        lp = light_params(weather)
        for name in ("sun_dir", "sun", "ambient", "fog_color", "beta", "exposure", "noise_sigma"):
            put("p", name, lp[name])
        if privileged:  # the clean image: this view under clear noon, through the same camera
            for name in ("sun_dir", "sun", "ambient", "fog_color", "beta", "exposure"):
                put("p", "c_" + name, CLEAN_LIGHT[name])
            for name in ("sky_zenith", "sky_horizon", "fog_color", "fog_sky", "exposure"):
                put("sky", "c_" + name, CLEAN_LIGHT[name])
        street = weather.street_lights_on
        put("p", "cam_pos", tuple(cam_pos))
        put("p", "street_on", int(street))
        put("p", "blink", float(int(scene.time * 2.0) % 2))
        far = np.array([[1e6, 1e6, 10.0]])
        lamps = np.repeat(far, shaders.N_LAMPS, 0)
        if street and len(self.lamps):
            dd = np.hypot(*(self.lamps[:, :2] - cam_pos[:2]).T)
            near = self.lamps[np.argsort(dd)[: shaders.N_LAMPS]]
            lamps[: len(near)] = near
        put("p", "lamps", lamps.astype("f4").tobytes())
        rng = np.random.default_rng(scene.frame_seed)
        off = tuple(int(v) for v in rng.integers(0, 256, 2))
        put("p", "noise_offset", off)
        put("sky", "noise_offset", off)
        head = weather.headlights_on
        c, s = math.cos(scene.ego_yaw), math.sin(scene.ego_yaw)
        put("p", "head_on", int(head))
        put("p", "head_pos", (scene.ego_xy[0] + 2.4 * c, scene.ego_xy[1] + 2.4 * s, 0.75))
        head_dir = tuple(np.array([c, s, -0.06]) / math.hypot(1.0, 0.06))  # 3.4 deg down
        put("p", "head_dir", head_dir)
        put("p", "npc_lights_on", int(head))
        a = scene.actors
        npc_pos = np.repeat(far, shaders.N_NPC_LIGHTS, 0)
        npc_dir = np.tile([[0.0, 0.0, -1.0]], (shaders.N_NPC_LIGHTS, 1))
        if head and len(a.xy):
            veh = np.flatnonzero((a.sem != Sem.PEDESTRIAN) & (a.instance != 1) & (a.instance < 9000))
            if len(veh):
                dd = np.hypot(*(a.xy[veh] - cam_pos[:2]).T)
                pick = veh[np.argsort(dd)[: shaders.N_NPC_LIGHTS]]
                pick = pick[np.hypot(*(a.xy[pick] - cam_pos[:2]).T) < 80.0]
                n = len(pick)
                if n:
                    cy, sy = np.cos(a.yaw[pick]), np.sin(a.yaw[pick])
                    front = a.xy[pick] + np.stack([cy, sy], -1) * (a.size[pick, :1] / 2 + 0.1)
                    pos = np.concatenate([front, np.full((n, 1), 0.75)], 1)
                    dirs = np.stack([cy, sy, np.full(n, -0.06)], -1)
                    npc_pos[:n], npc_dir[:n] = pos, dirs
        put("p", "npc_pos", npc_pos.astype("f4").tobytes())
        put("p", "npc_dir", npc_dir.astype("f4").tobytes())
        for name in ("sky_zenith", "sky_horizon", "fog_color", "fog_sky", "exposure", "noise_sigma", "beta"):
            put("sky", name, lp[name])
        put("sky", "head_on", int(head))
        put("sky", "head_dir", head_dir)
        return out

    def close(self) -> None:
        self.ctx.release()


@lru_cache(maxsize=32)
def light_params(weather: Weather) -> dict[str, float | tuple[float, ...]]:
    """Sun, sky ambient, fog, sky colours and the camera's auto-exposure and noise for ``weather``:
    the uniforms of the lit RGB and sky shaders (cached: weather is fixed for an episode, and this
    runs once or twice a frame; callers must not change the dict)."""
    d = weather.daylight
    alt, az = math.radians(weather.sun_altitude_deg), math.radians(weather.sun_azimuth_deg)
    sun_dir = (math.cos(az) * math.cos(alt), math.sin(az) * math.cos(alt), math.sin(alt))
    beta = weather.fog_extinction_per_m
    sun = 2.2 * d * (1.0 - 0.75 * weather.cloudiness) if alt > 0 else 0.0
    sun_through_fog = math.exp(-beta * 150.0)
    ambient = 0.35 * d * (0.6 + 0.4 * weather.cloudiness) + 0.004 + sun * (1 - sun_through_fog) * 0.35
    sun *= sun_through_fog
    fog = np.array([0.85, 0.87, 0.9]) * (ambient * 1.1) + (np.array([0.006, 0.005, 0.003]) if weather.street_lights_on else 0.0)
    exposure = 0.55 / max(ambient + 0.45 * sun, 0.09)  # the camera's gain is capped at night
    gain = exposure / (0.55 / 0.8)  # 1 at bright day, ~9 at the night cap
    noise = weather.rgb_noise * (0.008 + 0.012 * math.sqrt(gain))
    zen = np.array([0.25, 0.45, 0.9]) * (0.9 * d) + 0.0015
    hor = np.array([0.7, 0.8, 0.95]) * (1.1 * d) + 0.003
    if -6 < weather.sun_altitude_deg < 10:
        hor = hor + np.array([0.35, 0.15, 0.02]) * d
    cloud = weather.cloudiness
    grey = np.array([0.75, 0.77, 0.8]) * (0.9 * d + 0.002)
    zen, hor = zen * (1 - cloud) + grey * cloud, hor * (1 - cloud) + grey * cloud
    return {"sun_dir": sun_dir, "sun": sun, "ambient": ambient, "fog_color": tuple(fog), "beta": beta,
            "exposure": exposure, "noise_sigma": noise, "sky_zenith": tuple(zen), "sky_horizon": tuple(hor),
            "fog_sky": float(1.0 - math.exp(-beta * 600.0))}


# The privileged clean image is the same camera at the clear_noon preset without sensor noise: what
# the frozen RGB policy was trained on, so feeding it back is a true upper bound for fusion.
CLEAN_LIGHT = light_params(preset("clear_noon"))


def _u(prog, name: str, value) -> None:
    """Set a uniform; the GLSL compiler drops unused ones, which is fine."""
    member = prog.get(name, None)  # a dict lookup (``name in prog`` walks every member)
    if member is not None:
        member.value = value


def _w(prog, name: str, data: bytes) -> None:
    member = prog.get(name, None)
    if member is not None:
        member.write(data)


@lru_cache(maxsize=1)
def _gl_flush() -> Callable[[], None]:
    """glFlush from the GL dispatch library (moderngl has no flush of its own); a no-op where there
    is none (the passes then only start at the first read-back: slower, the same images)."""
    for lib in ("libOpenGL.so.0", "libGL.so.1"):
        try:
            fn = ctypes.CDLL(lib).glFlush
        except (OSError, AttributeError):
            continue
        fn.restype, fn.argtypes = None, []
        return fn
    return lambda: None


def _flush() -> None:
    """Hand what was drawn to the rasteriser threads now (llvmpipe starts a pass at a flush or at
    the first read-back) and return at once."""
    _gl_flush()()


def _read(fbo, attachment: int, components: int, dtype: str, h: int, w: int) -> np.ndarray:
    raw = fbo.read(components=components, attachment=attachment, dtype=dtype)
    np_dtype = {"f1": np.uint8, "u1": np.uint8, "i4": np.int32, "f4": np.float32}[dtype]
    arr = np.frombuffer(raw, dtype=np_dtype).reshape(h, w, components)[::-1]  # GL rows go bottom-up
    return np.ascontiguousarray(arr[..., 0] if components == 1 else arr)
