"""Pedestrians: walk the sidewalks around blocks and cross at junction crosswalks during the
scramble phase. All advanced together with numpy; decisions at segment ends in a short loop."""

from __future__ import annotations

import numpy as np

from harness.world.geometry import PolylineSet, right_of
from harness.world.signals import SignalController
from harness.world.town import Town

LINK_M = 4.5  # [m] segment ends closer than this are connected
CROSS_PROBABILITY = 0.35
SIZE = (0.5, 0.6, 1.75)  # [m] length, width, height


class Pedestrians:
    def __init__(self, town: Town, rng: np.random.Generator, count: int, first_instance: int,
                 near: np.ndarray | None = None) -> None:
        self.town = town
        self.rng = rng
        segs, kinds, junction = [], [], []
        for loop in town.sidewalk_loops:
            for k in range(len(loop) - 1):
                segs.append(loop[k : k + 2])
                kinds.append(0)
                junction.append(-1)
        for (jid, _arm, ends) in town.crosswalks:
            segs.append(ends)
            kinds.append(1)
            junction.append(jid)
        self.segs = PolylineSet(segs)
        self.seg_kind = np.array(kinds)
        self.seg_junction = np.array(junction)
        ends = np.array([[s[0], s[-1]] for s in segs])  # (S, 2 ends, 2)
        self._links: list[list[tuple[int, int]]] = []  # per (seg*2 + end): [(seg, end)]
        flat = ends.reshape(-1, 2)
        dist = np.hypot(flat[:, None, 0] - flat[None, :, 0], flat[:, None, 1] - flat[None, :, 1])
        for a in range(len(flat)):
            near_ends = np.flatnonzero((dist[a] < LINK_M) & (np.arange(len(flat)) // 2 != a // 2))
            self._links.append([(int(b // 2), int(b % 2)) for b in near_ends])
        sides = np.flatnonzero(self.seg_kind == 0)
        if near is not None and len(near) and len(sides):
            mids = np.array([segs[i].mean(0) for i in sides])
            d = np.min(np.hypot(mids[:, None, 0] - near[None, ::10, 0], mids[:, None, 1] - near[None, ::10, 1]), axis=1)
            if (d < 150).sum() >= 4:
                sides = sides[d < 150]
        self.n = count if len(sides) else 0
        n = self.n
        self.seg = rng.choice(sides, n) if n else np.zeros(0, dtype=np.int64)
        self.s = rng.uniform(0, 1, n) * self.segs.lengths[self.seg] if n else np.zeros(0)
        self.dir = rng.choice([-1.0, 1.0], n)
        self.speed = rng.uniform(1.1, 1.6, n)
        self.lateral = rng.uniform(-0.7, 0.7, n)  # [m] offset from the sidewalk centre line
        self.waiting = np.zeros(n, dtype=bool)
        self.hit = np.zeros(n, dtype=bool)  # knocked down: stays where it is
        self.instance = first_instance + np.arange(n, dtype=np.int64)
        self.color = rng.uniform(0.1, 0.8, (n, 3))
        self.xy = np.zeros((n, 2))
        self.yaw = np.zeros(n)
        self.v = np.zeros(n)
        self._update_pose()

    def _update_pose(self) -> None:
        if not self.n:
            return
        xy, h = self.segs.lookup(self.seg, self.s)
        lat = np.where(self.seg_kind[self.seg] == 0, self.lateral, self.lateral * 0.5)
        self.xy = xy + right_of(np.stack([np.cos(h), np.sin(h)], -1)) * lat[:, None]
        self.yaw = np.where(self.dir > 0, h, h + np.pi)

    def step(self, dt: float, t: float, signals: SignalController) -> None:
        if not self.n:
            return
        moving = ~self.waiting & ~self.hit
        self.v = np.where(moving, self.speed, 0.0)
        self.s = self.s + self.dir * self.v * dt
        length = self.segs.lengths[self.seg]
        done = np.flatnonzero(moving & ((self.s > length) | (self.s < 0)))
        for i in done:
            self._choose_next(i)
        for i in np.flatnonzero(self.waiting & ~self.hit):
            jid = self.seg_junction[self.seg[i]]
            need = self.segs.lengths[self.seg[i]] / self.speed[i]
            if signals.walk_remaining(int(jid), t) > need * 0.7:
                self.waiting[i] = False
        self._update_pose()

    def _choose_next(self, i: int) -> None:
        seg = int(self.seg[i])
        end = 1 if self.dir[i] > 0 else 0
        options = self._links[seg * 2 + end]
        if not options:  # dead end: turn round
            self.dir[i] *= -1
            self.s[i] = np.clip(self.s[i], 0, self.segs.lengths[seg])
            return
        cross = [o for o in options if self.seg_kind[o[0]] == 1]
        walk = [o for o in options if self.seg_kind[o[0]] == 0]
        was_crossing = self.seg_kind[seg] == 1
        if cross and not was_crossing and (not walk or self.rng.random() < CROSS_PROBABILITY):
            nseg, nend = cross[self.rng.integers(len(cross))]
            self.waiting[i] = True
        else:
            pool = walk or options
            nseg, nend = pool[self.rng.integers(len(pool))]
        self.seg[i] = nseg
        # enter the new segment at the end that touches where we are, walking away from it
        self.dir[i] = 1.0 if nend == 0 else -1.0
        self.s[i] = 0.0 if nend == 0 else self.segs.lengths[nseg]

    def velocities(self) -> np.ndarray:
        return np.stack([np.cos(self.yaw), np.sin(self.yaw)], -1) * self.v[:, None]
