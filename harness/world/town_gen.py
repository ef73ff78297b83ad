"""Procedural town generator: a grid town from a :class:`~harness.world.town.TownSpec`, deterministic from its seed.

:func:`load_town` gives a named town (``harness.world.town.TOWN_SPECS``), generated once and cached.

A town is a grid of ``nx`` x ``ny`` junctions, ``spacing_m`` [m] apart on average (jittered by up to
``spacing_jitter_m``), joined by two-way roads. Arterials carry two lanes per direction, streets one;
lanes are ``lane_width_m`` wide. Every junction with three or more arms is signalised: one signal head
per approach on a pole at the far-right corner, a stop line ``STOP_LINE_BACK_M`` before the junction
box and a ``CROSSWALK_M`` crosswalk on every arm. Junction connectors are cubic Bezier curves.
Around each block runs a raised sidewalk (``sidewalk_m`` wide) with street lights and trees; the lot
inside holds buildings along its perimeter or, with probability ``park_fraction``, a small park.
Vehicles drive on the right. Everything is in CARLA's frame (x east, y south, z up, metres).

All randomness (junction spacing, trees, parks, buildings) comes from one
``numpy.random.default_rng(spec.seed)``, drawn in a fixed order: the same spec gives the same town.
"""

from __future__ import annotations

import numpy as np

from harness.errors import TownError
from harness.world.geometry import bezier, right_of
from harness.world.town import (
    ARM_VECTORS,
    CROSSWALK_M,
    STOP_LINE_BACK_M,
    Box,
    Junction,
    Lane,
    Road,
    SignalHead,
    TOWN_SPECS,
    Town,
    TownSpec,
)

JUNCTION_MARGIN_M = 2.0  # junction box extends this far beyond the crossing road's kerb

_CACHE: dict[str, Town] = {}


def load_town(name: str) -> Town:
    """The town ``name`` (one of ``TOWN_NAMES``, any case), generated deterministically and cached."""
    key = name.lower()
    if key not in TOWN_SPECS:
        raise TownError(f"unknown town {name!r}; known towns: {', '.join(sorted(TOWN_SPECS))}")
    if key not in _CACHE:
        _CACHE[key] = generate_town(TOWN_SPECS[key])
    return _CACHE[key]


def generate_town(spec: TownSpec) -> Town:
    """The town ``spec`` describes; raises TownError for fewer than 2x2 junctions."""
    if spec.nx < 2 or spec.ny < 2:
        raise TownError(f"town {spec.name}: needs at least 2x2 junctions, got {spec.nx}x{spec.ny}")
    rng = np.random.default_rng(spec.seed)
    W = spec.lane_width_m
    gaps_x = spec.spacing_m + rng.uniform(-spec.spacing_jitter_m, spec.spacing_jitter_m, spec.nx - 1)
    gaps_y = spec.spacing_m + rng.uniform(-spec.spacing_jitter_m, spec.spacing_jitter_m, spec.ny - 1)
    xs = np.concatenate([[0.0], np.cumsum(gaps_x)])
    ys = np.concatenate([[0.0], np.cumsum(gaps_y)])
    col_lanes = [2 if i in spec.arterial_cols else 1 for i in range(spec.nx)]
    row_lanes = [2 if j in spec.arterial_rows else 1 for j in range(spec.ny)]

    def node_id(i: int, j: int) -> int:
        return j * spec.nx + i

    junctions: list[Junction] = []
    for j in range(spec.ny):
        for i in range(spec.nx):
            arms = tuple(a for a, ok in enumerate([i < spec.nx - 1, j < spec.ny - 1, i > 0, j > 0]) if ok)
            junctions.append(Junction(
                id=node_id(i, j), center=(xs[i], ys[j]),
                half_x=col_lanes[i] * W + JUNCTION_MARGIN_M, half_y=row_lanes[j] * W + JUNCTION_MARGIN_M,
                arms=arms, signalised=len(arms) >= 3,
            ))

    roads: list[Road] = []
    for j in range(spec.ny):
        for i in range(spec.nx - 1):
            a, b = junctions[node_id(i, j)], junctions[node_id(i + 1, j)]
            roads.append(Road(len(roads), a.id, b.id, row_lanes[j], (xs[i] + a.half_x, ys[j]),
                              (xs[i + 1] - b.half_x, ys[j]), row_lanes[j] * W))
    for i in range(spec.nx):
        for j in range(spec.ny - 1):
            a, b = junctions[node_id(i, j)], junctions[node_id(i, j + 1)]
            roads.append(Road(len(roads), a.id, b.id, col_lanes[i], (xs[i], ys[j] + a.half_y),
                              (xs[i], ys[j + 1] - b.half_y), col_lanes[i] * W))

    lanes: list[Lane] = []
    # incoming[(node, arm)] -> lane ids by index; outgoing likewise
    incoming: dict[tuple[int, int], list[int]] = {}
    outgoing: dict[tuple[int, int], list[int]] = {}
    for r in roads:
        d = r.direction
        limit = spec.arterial_speed_limit_mps if r.lanes_per_dir > 1 else spec.speed_limit_mps
        arm_at_a = _arm_of(d)
        arm_at_b = _arm_of(-d)
        for direction, (start, end, frm, to) in ((+1, (r.p0, r.p1, r.a, r.b)), (-1, (r.p1, r.p0, r.b, r.a))):
            dd = d * direction
            ids = []
            for k in range(r.lanes_per_dir):
                off = right_of(dd) * (k + 0.5) * W
                poly = np.array([np.add(start, off), np.add(end, off)])
                lane = Lane(id=len(lanes), polyline=poly, width=W, speed_limit=limit, road=r.id,
                            direction=direction, index=k, from_node=frm, to_node=to)
                lanes.append(lane)
                ids.append(lane.id)
            for k, lid in enumerate(ids):
                lanes[lid].left = ids[k - 1] if k > 0 else -1
                lanes[lid].right = ids[k + 1] if k + 1 < len(ids) else -1
            in_arm = arm_at_b if direction == +1 else arm_at_a
            out_arm = arm_at_a if direction == +1 else arm_at_b
            incoming[(to, in_arm)] = ids
            outgoing[(frm, out_arm)] = ids

    signals: list[SignalHead] = []
    for jn in junctions:
        for a in jn.arms:
            ins = incoming[(jn.id, a)]
            d_in = -ARM_VECTORS[a]
            if jn.signalised:
                far = _half_extent(jn, d_in) + 1.5
                lanes_out = len(ins)
                pole = np.asarray(jn.center) + d_in * far + right_of(d_in) * (lanes_out * W + spec.sidewalk_m * 0.5)
                head = pole - right_of(d_in) * (lanes_out * W * 0.5 + spec.sidewalk_m * 0.5)
                sig = SignalHead(len(signals), jn.id, a, tuple(pole), (head[0], head[1], 5.2),
                                 float(np.degrees(np.arctan2(-d_in[1], -d_in[0]))))
                signals.append(sig)
                for lid in ins:
                    lanes[lid].stop_s = lanes[lid].length - STOP_LINE_BACK_M
                    lanes[lid].signal = sig.id
                    lanes[lid].approach = a
            for b in jn.arms:
                if b == a:
                    continue
                turn = _turn(a, b)
                outs = outgoing[(jn.id, b)]
                if turn == "straight":
                    pairs = list(zip(ins, outs))
                elif turn == "left":
                    pairs = [(ins[0], outs[0])]
                else:
                    pairs = [(ins[-1], outs[-1])]
                for li, lo in pairs:
                    p0, p3 = lanes[li].polyline[-1], lanes[lo].polyline[0]
                    d0, d3 = -ARM_VECTORS[a], ARM_VECTORS[b]
                    k = np.hypot(*(p3 - p0)) * (0.33 if turn == "straight" else 0.39)
                    poly = bezier(p0, p0 + d0 * k, p3 - d3 * k, p3)
                    conn = Lane(id=len(lanes), polyline=poly, width=W,
                                speed_limit=min(lanes[li].speed_limit, 6.0 if turn != "straight" else 99.0),
                                junction=jn.id, turn=turn, approach=a, from_node=jn.id, to_node=jn.id,
                                predecessors=[li], successors=[lo])
                    lanes.append(conn)
                    lanes[li].successors.append(conn.id)
                    lanes[lo].predecessors.append(conn.id)

    blocks = []
    for j in range(spec.ny - 1):
        for i in range(spec.nx - 1):
            blocks.append((xs[i] + col_lanes[i] * W, ys[j] + row_lanes[j] * W,
                           xs[i + 1] - col_lanes[i + 1] * W, ys[j + 1] - row_lanes[j + 1] * W))
    buildings, trees, lamps, loops = _dress_blocks(spec, blocks, rng)
    crosswalks = []
    for jn in junctions:
        if not jn.signalised:
            continue
        for a in jn.arms:
            d = ARM_VECTORS[a]
            c = np.asarray(jn.center) + d * (_half_extent(jn, d) + CROSSWALK_M / 2)
            hw = (row_lanes if a in (0, 2) else col_lanes)[(jn.id // spec.nx) if a in (0, 2) else (jn.id % spec.nx)] * W
            r = right_of(d)
            ends = np.array([c - r * (hw + spec.sidewalk_m / 2), c + r * (hw + spec.sidewalk_m / 2)])
            crosswalks.append((jn.id, a, ends))
    return Town(spec, xs, ys, roads, lanes, junctions, signals, blocks, buildings, trees, lamps, loops, crosswalks)


def _arm_of(d: np.ndarray) -> int:
    return int(np.argmax(ARM_VECTORS @ d))


def _half_extent(jn: Junction, d: np.ndarray) -> float:
    return jn.half_x if abs(d[0]) > 0.5 else jn.half_y


def _turn(a: int, b: int) -> str:
    """Movement from arm ``a`` (coming in) to arm ``b`` (going out), from the change of heading."""
    h_in = np.degrees(np.arctan2(*(-ARM_VECTORS[a])[::-1]))
    h_out = np.degrees(np.arctan2(*ARM_VECTORS[b][::-1]))
    delta = (h_out - h_in + 180.0) % 360.0 - 180.0
    if abs(delta) < 1.0:
        return "straight"
    return "right" if delta > 0 else "left"  # yaw grows towards +y: clockwise from above = right


def _dress_blocks(spec: TownSpec, blocks, rng: np.random.Generator):
    """Buildings, trees, street lights and sidewalk walking loops for every block."""
    sw = spec.sidewalk_m
    buildings: list[Box] = []
    trees, lamps, loops = [], [], []
    palette = np.array([[0.55, 0.5, 0.45], [0.6, 0.58, 0.55], [0.45, 0.35, 0.3], [0.7, 0.68, 0.6],
                        [0.4, 0.42, 0.45], [0.62, 0.5, 0.38], [0.35, 0.33, 0.32]])
    for (x0, y0, x1, y1) in blocks:
        # sidewalk centre loop, clockwise in CARLA frame (E along top edge, then S, W, N)
        c = sw / 2
        loops.append(np.array([[x0 + c, y0 + c], [x1 - c, y0 + c], [x1 - c, y1 - c], [x0 + c, y1 - c], [x0 + c, y0 + c]]))
        # street furniture along each kerb, 0.6 m inside the kerb
        edges = [((x0, y0 + 0.6), (x1, y0 + 0.6), (0, 1)), ((x1 - 0.6, y0), (x1 - 0.6, y1), (-1, 0)),
                 ((x1, y1 - 0.6), (x0, y1 - 0.6), (0, -1)), ((x0 + 0.6, y1), (x0 + 0.6, y0), (1, 0))]
        for (a, b, inward) in edges:
            a, b, inward = np.asarray(a), np.asarray(b), np.asarray(inward, dtype=float)
            length = np.hypot(*(b - a))
            d = (b - a) / length
            for s in np.arange(10.0, length - 8.0, spec.lamp_spacing_m):
                p = a + d * s
                lamps.append([p[0], p[1], p[0] - inward[0] * 1.6, p[1] - inward[1] * 1.6])
            for s in np.arange(spec.tree_spacing_m / 2 + 5.0, length - 8.0, spec.tree_spacing_m):
                p = a + d * (s + rng.uniform(-2, 2)) + inward * (sw - 1.0)
                trees.append([p[0], p[1], rng.uniform(5.0, 9.0)])
        # lot: buildings along the perimeter or a park
        lx0, ly0, lx1, ly1 = x0 + sw + 1.0, y0 + sw + 1.0, x1 - sw - 1.0, y1 - sw - 1.0
        if lx1 - lx0 < 10 or ly1 - ly0 < 10:
            continue
        if rng.random() < spec.park_fraction:
            for _ in range(int((lx1 - lx0) * (ly1 - ly0) / 250)):
                trees.append([rng.uniform(lx0 + 2, lx1 - 2), rng.uniform(ly0 + 2, ly1 - 2), rng.uniform(6.0, 12.0)])
            continue
        depth = min(18.0, (ly1 - ly0) / 2, (lx1 - lx0) / 2)
        h_lo, h_hi = spec.building_height_m
        for side in range(4):
            if side in (0, 2):
                span0, span1 = lx0, lx1
                yy = ly0 + depth / 2 if side == 0 else ly1 - depth / 2
            else:
                span0, span1 = ly0 + depth, ly1 - depth
                xx = lx1 - depth / 2 if side == 1 else lx0 + depth / 2
            pos = span0
            while span1 - pos > 6.0:
                w = min(rng.uniform(12.0, 28.0), span1 - pos)
                if w < 6.0:
                    break
                mid = pos + w / 2
                ctr = (mid, yy) if side in (0, 2) else (xx, mid)
                size = (w - 1.0, depth, rng.uniform(h_lo, h_hi))
                yaw = 0.0 if side in (0, 2) else 90.0
                buildings.append(Box(ctr, size, yaw, tuple(palette[rng.integers(len(palette))] * rng.uniform(0.85, 1.1)), 3, True))
                pos += w
    return buildings, np.asarray(trees, dtype=np.float64).reshape(-1, 3), np.asarray(lamps).reshape(-1, 4), loops
