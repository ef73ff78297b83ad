"""Triangle meshes of the town (static, tiled for culling) and unit meshes of actors (instanced).

Vertex layout (13 floats): position xyz [m, CARLA frame], normal xyz, albedo rgb, semantic id,
aux vec3 = (material, p, q). Materials:
  0 plain; 1 junction asphalt; 11/12 road with procedural markings, p = lateral offset from the
  centre line [m], q = distance along the road [m], road length in the normal's slot is not used:
  the length goes in ``ROAD_LEN`` (w of aux2); 3 building facade with windows (p, q = facade
  coordinates [m]); 4 traffic-light lamp (p = signal id, q = 0 red, 1 yellow, 2 green);
  5 street-lamp bulb; 6 vehicle headlamp; 7 vehicle tail lamp; 8 skin.
"""

from __future__ import annotations

import math

import numpy as np

from harness.semantics import Sem
from harness.world.geometry import right_of
from harness.world.town import CROSSWALK_M, STOP_LINE_BACK_M, Town

FLOATS = 14  # xyz, normal xyz, rgb, sem, material, p, q, road length
TILE_M = 50.0

ASPHALT = (0.16, 0.16, 0.17)
SIDEWALK = (0.45, 0.44, 0.42)
GRASS = (0.18, 0.3, 0.12)
POLE = (0.35, 0.35, 0.37)
TRUNK = (0.3, 0.22, 0.15)
LEAVES = (0.15, 0.32, 0.1)
HOUSING = (0.08, 0.08, 0.08)
SIGNAL_LAMP_M = 0.28  # [m] lamp diameter (12-inch lenses, as on arterial signal heads)


class MeshBuilder:
    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def tri(self, pts: np.ndarray, normal, color, sem: int, aux=(0.0, 0.0, 0.0, 0.0)) -> None:
        """Triangles from ``pts`` (N*3, 3) with one normal/colour/class/aux each (or per vertex).

        ``normal`` says which side is the front. Each triangle is wound so that
        ``(b - a) x (c - a)`` points away from it: CARLA's frame is left-handed, so the view
        transform mirrors it and such triangles come out counter-clockwise on screen, GL's front
        face. The renderer culls back faces."""
        pts = np.asarray(pts, dtype=np.float32).reshape(-1, 3)
        v = np.zeros((len(pts), FLOATS), dtype=np.float32)
        v[:, 0:3] = pts
        v[:, 3:6] = normal
        v[:, 6:9] = color
        v[:, 9] = sem
        v[:, 10:14] = aux
        t = v.reshape(-1, 3, FLOATS)
        face = np.cross(t[:, 1, :3] - t[:, 0, :3], t[:, 2, :3] - t[:, 0, :3])
        flip = (face * t[:, 0, 3:6]).sum(1) > 0
        t[flip, 1], t[flip, 2] = t[flip, 2].copy(), t[flip, 1].copy()
        self.chunks.append(t.reshape(-1, FLOATS))

    def quad(self, a, b, c, d, color, sem: int, aux=(0.0, 0.0, 0.0, 0.0), normal=None) -> None:
        """Quad a-b-c-d in any winding; its front is ``normal`` (default: the upward-facing side)."""
        a, b, c, d = (np.asarray(p, dtype=np.float64) for p in (a, b, c, d))
        if normal is None:
            n = np.cross(b - a, d - a)
            n = n / (np.linalg.norm(n) + 1e-9)
            n = n if n[2] >= -1e-6 else -n
        else:
            n = normal
        aux = np.asarray(aux, dtype=np.float32)
        if aux.ndim == 2:  # per-corner aux
            aux = aux[[0, 1, 2, 0, 2, 3]]
        self.tri(np.array([a, b, c, a, c, d]), n, color, sem, aux)

    def box(self, cx: float, cy: float, z0: float, length: float, width: float, height: float, yaw: float,
            color, sem: int, facade: bool = False, top: bool = True, material_top: float = 0.0,
            bottom: bool = False) -> None:
        """Box standing at height ``z0``; ``facade`` gives side faces window coordinates. Elevated
        boxes seen from below (arms, lamp housings) need their ``bottom`` face: back faces are culled."""
        c, s = math.cos(yaw), math.sin(yaw)
        f, r = np.array([c, s, 0.0]), np.array([-s, c, 0.0])
        ctr = np.array([cx, cy, z0])
        hl, hw = length / 2, width / 2
        corners = [ctr + f * hl + r * hw, ctr + f * hl - r * hw, ctr - f * hl - r * hw, ctr - f * hl + r * hw]
        up = np.array([0.0, 0.0, height])
        for k in range(4):
            a, b = corners[k], corners[(k + 1) % 4]
            edge = b - a
            n = np.cross(edge, up)
            n = n / (np.linalg.norm(n) + 1e-9)
            mid_out = (a + b) / 2 - ctr
            if np.dot(n, mid_out) < 0:
                n = -n
            w = float(np.linalg.norm(edge))
            aux = np.array([[3, 0, 0, 0], [3, w, 0, 0], [3, w, height, 0], [3, 0, height, 0]], dtype=np.float32) if facade else (0, 0, 0, 0)
            self.quad(a, b, b + up, a + up, color, sem, aux, normal=n)
        if top:
            self.quad(*(p + up for p in corners), color, sem, (material_top, 0, 0, 0), normal=np.array([0, 0, 1.0]))
        if bottom:
            self.quad(*corners, color, sem, normal=np.array([0, 0, -1.0]))

    def array(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros((0, FLOATS), np.float32)


GROUND_TILE = (-1, 0, 0)  # layer -1: always drawn
LARGE, SMALL = 0, 1  # tile layers: roads, blocks, buildings | poles, lamps, signals, trees


def build_static(town: Town) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int, int], tuple[int, int]], np.ndarray]:
    """Static town mesh sorted by (layer, tile): vertices (N, FLOATS), triangle indices (M,) uint32,
    (layer, tx, ty) -> (first, count) into the indices, street-lamp positions (L, 3). Small props sit in their own layer so the renderer can
    stop drawing them at a shorter distance, where they would be under a pixel anyway."""
    per_tile: dict[tuple[int, int, int], MeshBuilder] = {}

    def mb(x: float, y: float, layer: int = LARGE) -> MeshBuilder:
        key = (layer, int(math.floor(x / TILE_M)), int(math.floor(y / TILE_M)))
        return per_tile.setdefault(key, MeshBuilder())

    spec = town.spec
    kerb = spec.kerb_m
    # ground around the town: a ring outside the outer roads (inside, roads and blocks cover it;
    # a full plane under them would only add overdraw)
    ix0 = town.xs[0] - town.junctions[0].half_x + 2.0
    iy0 = town.ys[0] - town.junctions[0].half_y + 2.0
    ix1 = town.xs[-1] + town.junctions[-1].half_x - 2.0
    iy1 = town.ys[-1] + town.junctions[-1].half_y - 2.0
    ox0, oy0, ox1, oy1 = town.bounds[0] - 400.0, town.bounds[1] - 400.0, town.bounds[2] + 400.0, town.bounds[3] + 400.0
    g = MeshBuilder()
    up = np.array([0, 0, 1.0])
    for (a, b, c, d) in (((ox0, oy0), (ox1, oy0), (ox1, iy0), (ox0, iy0)), ((ox0, iy1), (ox1, iy1), (ox1, oy1), (ox0, oy1)),
                         ((ox0, iy0), (ix0, iy0), (ix0, iy1), (ox0, iy1)), ((ix1, iy0), (ox1, iy0), (ox1, iy1), (ix1, iy1))):
        g.quad((*a, -0.02), (*b, -0.02), (*c, -0.02), (*d, -0.02), GRASS, Sem.TERRAIN, normal=up)
    ground = g.array()
    # roads, split along their length so tiles stay small
    for r in town.roads:
        d = np.asarray(r.direction)
        rt = right_of(d)
        n_seg = max(1, int(math.ceil(r.length / 25.0)))
        for k in range(n_seg):
            va, vb = r.length * k / n_seg, r.length * (k + 1) / n_seg
            pa, pb = np.asarray(r.p0) + d * va, np.asarray(r.p0) + d * vb
            hw = r.half_width
            corners = [pa - rt * hw, pb - rt * hw, pb + rt * hw, pa + rt * hw]
            aux = np.array([[10 + r.lanes_per_dir, -hw, va, r.length], [10 + r.lanes_per_dir, -hw, vb, r.length],
                            [10 + r.lanes_per_dir, hw, vb, r.length], [10 + r.lanes_per_dir, hw, va, r.length]], np.float32)
            m = (pa + pb) / 2
            mb(*m).quad(*(np.append(c, 0.0) for c in corners), ASPHALT, Sem.ROAD, aux, normal=np.array([0, 0, 1.0]))
    for j in town.junctions:
        cx, cy = j.center
        mb(cx, cy).quad((cx - j.half_x, cy - j.half_y, 0), (cx + j.half_x, cy - j.half_y, 0), (cx + j.half_x, cy + j.half_y, 0),
                        (cx - j.half_x, cy + j.half_y, 0), ASPHALT, Sem.ROAD, (1, 0, 0, 0), normal=np.array([0, 0, 1.0]))
    # blocks: sidewalk ring (top + kerb faces) and the lot
    sw = spec.sidewalk_m
    for (bx0, by0, bx1, by1) in town.blocks:
        m = mb((bx0 + bx1) / 2, (by0 + by1) / 2)
        ix0, iy0, ix1, iy1 = bx0 + sw, by0 + sw, bx1 - sw, by1 - sw
        for (a, b, c, d) in (((bx0, by0), (bx1, by0), (ix1, iy0), (ix0, iy0)), ((bx1, by0), (bx1, by1), (ix1, iy1), (ix1, iy0)),
                             ((bx1, by1), (bx0, by1), (ix0, iy1), (ix1, iy1)), ((bx0, by1), (bx0, by0), (ix0, iy0), (ix0, iy1))):
            m.quad((*a, kerb), (*b, kerb), (*c, kerb), (*d, kerb), SIDEWALK, Sem.SIDEWALK, normal=np.array([0, 0, 1.0]))
            out = np.array([(a[0] + b[0]) / 2 - (bx0 + bx1) / 2, (a[1] + b[1]) / 2 - (by0 + by1) / 2, 0.0])
            m.quad((*a, 0), (*b, 0), (*b, kerb), (*a, kerb), SIDEWALK, Sem.SIDEWALK, normal=out / np.linalg.norm(out))
        m.quad((ix0, iy0, kerb - 0.02), (ix1, iy0, kerb - 0.02), (ix1, iy1, kerb - 0.02), (ix0, iy1, kerb - 0.02), GRASS,
               Sem.TERRAIN, normal=np.array([0, 0, 1.0]))
    for b in town.buildings:
        mb(*b.center).box(b.center[0], b.center[1], kerb, b.size[0], b.size[1], b.size[2], math.radians(b.yaw_deg),
                          b.color, b.sem, facade=b.windows, top=False)  # roofs: never seen from the street
    for x, y, h in town.trees:
        m = mb(x, y, SMALL)
        m.box(x, y, kerb, 0.35, 0.35, h * 0.45, 0.0, TRUNK, Sem.VEGETATION, top=False)
        _crown(m, x, y, kerb + h * 0.4, h * 0.6, h * 0.28)
    lamp_xyz = []
    for px, py, lx, ly in town.lamps:
        m = mb(px, py, SMALL)
        m.box(px, py, kerb, 0.2, 0.2, 7.0, 0.0, POLE, Sem.POLE, top=False)
        arm_yaw = math.atan2(ly - py, lx - px)
        # tops of the arm and housing face the sky, away from every camera: left out
        m.box((px + lx) / 2, (py + ly) / 2, 6.9, math.hypot(lx - px, ly - py) + 0.2, 0.12, 0.12, arm_yaw, POLE, Sem.POLE,
              top=False, bottom=True)
        m.box(lx, ly, 6.75, 0.6, 0.3, 0.15, arm_yaw, (1.0, 0.95, 0.8), Sem.POLE, top=False)
        # the bulb faces down: a small emissive quad under the housing
        m.quad((lx - 0.25, ly - 0.12, 6.74), (lx + 0.25, ly - 0.12, 6.74), (lx + 0.25, ly + 0.12, 6.74), (lx - 0.25, ly + 0.12, 6.74),
               (1.0, 0.9, 0.7), Sem.POLE, (5, 0, 0, 0), normal=np.array([0, 0, -1.0]))
        lamp_xyz.append((lx, ly, 6.7))
    for sig in town.signals:
        _signal(mb(*sig.pole, SMALL), sig, kerb)
    # indexed: corners shared by a quad's two triangles are stored once, so the vertex shader runs
    # once for them (llvmpipe caches shaded vertices within an indexed draw)
    verts, indices = [], []
    tiles: dict[tuple[int, int, int], tuple[int, int]] = {}
    n_verts = n_idx = 0
    for key, a in [(GROUND_TILE, ground)] + [(k, per_tile[k].array()) for k in sorted(per_tile)]:
        uniq, inverse = np.unique(a, axis=0, return_inverse=True)
        verts.append(uniq)
        indices.append(inverse.ravel().astype(np.uint32) + n_verts)
        tiles[key] = (n_idx, len(a))
        n_verts += len(uniq)
        n_idx += len(a)
    return np.concatenate(verts), np.concatenate(indices), tiles, np.asarray(lamp_xyz, np.float32).reshape(-1, 3)


def _crown(m: MeshBuilder, x: float, y: float, z0: float, h: float, r: float) -> None:
    """An octahedron-like crown: 8 triangles."""
    top, bot = np.array([x, y, z0 + h]), np.array([x, y, z0])
    mid = z0 + h * 0.45
    ring = [np.array([x + r * math.cos(a), y + r * math.sin(a), mid]) for a in np.arange(4) * math.pi / 2 + math.pi / 4]
    for k in range(4):
        a, b = ring[k], ring[(k + 1) % 4]
        for apex in (top, bot):
            n = np.cross(b - a, apex - a)
            n = n / (np.linalg.norm(n) + 1e-9)
            if np.dot(n, (a + b) / 2 - np.array([x, y, mid])) < 0:
                n = -n
            m.tri(np.array([a, b, apex]), n, LEAVES, Sem.VEGETATION)


def _signal(m: MeshBuilder, sig, kerb: float) -> None:
    px, py = sig.pole
    hx, hy, hz = sig.head
    m.box(px, py, kerb, 0.25, 0.25, hz + 0.6, 0.0, POLE, Sem.POLE, top=False)
    arm_yaw = math.atan2(hy - py, hx - px)
    m.box((px + hx) / 2, (py + hy) / 2, hz + 0.5, math.hypot(hx - px, hy - py), 0.15, 0.15, arm_yaw, POLE, Sem.POLE,
          top=False, bottom=True)
    face = math.radians(sig.facing_deg)
    m.box(hx, hy, hz - 0.55, 0.35, 0.45, 1.1, face, HOUSING, Sem.TRAFFIC_LIGHT, bottom=True)
    f = np.array([math.cos(face), math.sin(face), 0.0])
    r = np.array([-math.sin(face), math.cos(face), 0.0])
    for k, c in enumerate(_lamp_centres(sig)):  # red top, yellow, green bottom
        s = SIGNAL_LAMP_M / 2
        m.quad(c - r * s - [0, 0, s], c + r * s - [0, 0, s], c + r * s + [0, 0, s], c - r * s + [0, 0, s], (0.1, 0.1, 0.1),
               Sem.TRAFFIC_LIGHT, (4, sig.id, k, 0), normal=f)


def _lamp_centres(sig) -> list[np.ndarray]:
    """World centres of a signal head's red, yellow and green lamps (on the housing's face)."""
    hx, hy, hz = sig.head
    face = math.radians(sig.facing_deg)
    centre = np.array([hx, hy, 0.0]) + np.array([math.cos(face), math.sin(face), 0.0]) * 0.18
    return [centre + np.array([0.0, 0.0, z]) for z in (hz + 0.3, hz, hz - 0.3)]


def signal_lamp_points(town: Town) -> np.ndarray:
    """One vertex per signal lamp at its centre, in the static vertex layout: (3 * signals, FLOATS),
    row ``3 * signal id + k`` for lamp k (0 red, 1 yellow, 2 green).

    The renderer draws the lit ones as one-pixel points on top of their quads. Rasterisation samples
    a pixel at its centre, so a lamp smaller than a pixel (a 0.28 m lamp is under a pixel beyond
    about 45 m on a 320-px wide 90 deg camera, beyond 180 m on a 1280-px one) is hit only when it
    happens to cover a pixel centre and flickers in and out frame by frame; a real sensor integrates
    the light over the pixel area, and a lamp this bright saturates the pixel it falls in."""
    rows = []
    for sig in town.signals:
        face = math.radians(sig.facing_deg)
        f = (math.cos(face), math.sin(face), 0.0)
        for k, c in enumerate(_lamp_centres(sig)):
            rows.append([*(c + np.array(f) * 0.01), *f, 0.1, 0.1, 0.1, Sem.TRAFFIC_LIGHT, 4, sig.id, k, 0])
    return np.asarray(rows, np.float32).reshape(-1, FLOATS)


def unit_vehicle() -> np.ndarray:
    """Vehicle in unit size (length, width, height = 1), centred at the origin, on the ground."""
    m = MeshBuilder()
    m.box(0.0, 0.0, 0.12, 1.0, 1.0, 0.45, 0.0, (1, 1, 1), Sem.CAR)  # body, instance colour (white = tint)
    m.box(-0.08, 0.0, 0.57, 0.55, 0.9, 0.43, 0.0, (0.12, 0.13, 0.15), Sem.CAR)  # cabin, glass
    m.box(0.0, 0.0, 0.0, 0.85, 0.95, 0.12, 0.0, (0.05, 0.05, 0.05), Sem.CAR, top=False)  # wheels/underbody
    for sy in (-0.35, 0.35):
        m.quad((0.501, sy - 0.1, 0.35), (0.501, sy + 0.1, 0.35), (0.501, sy + 0.1, 0.45), (0.501, sy - 0.1, 0.45),
               (1, 1, 0.9), Sem.CAR, (6, 0, 0, 0), normal=np.array([1.0, 0, 0]))
        m.quad((-0.501, sy - 0.1, 0.4), (-0.501, sy + 0.1, 0.4), (-0.501, sy + 0.1, 0.5), (-0.501, sy - 0.1, 0.5),
               (0.6, 0.05, 0.05), Sem.CAR, (7, 0, 0, 0), normal=np.array([-1.0, 0, 0]))
    return m.array()


def unit_pedestrian() -> np.ndarray:
    """Pedestrian in unit size, origin at the feet; legs, torso (instance colour), head (skin)."""
    m = MeshBuilder()
    m.box(0.0, -0.22, 0.0, 0.5, 0.35, 0.47, 0.0, (0.15, 0.15, 0.2), Sem.PEDESTRIAN)
    m.box(0.0, 0.22, 0.0, 0.5, 0.35, 0.47, 0.0, (0.15, 0.15, 0.2), Sem.PEDESTRIAN)
    m.box(0.0, 0.0, 0.47, 0.6, 1.0, 0.38, 0.0, (1, 1, 1), Sem.PEDESTRIAN)
    m.box(0.0, 0.0, 0.86, 0.45, 0.4, 0.14, 0.0, (0.8, 0.6, 0.5), Sem.PEDESTRIAN)
    v = m.array()
    v[-30:, 10] = np.where(v[-30:, 10] == 0, 8, v[-30:, 10])  # head: skin
    return v


ROAD_MARK = dict(stop_back=STOP_LINE_BACK_M, crosswalk=CROSSWALK_M)
