"""NPC vehicles: lane following with the Intelligent Driver Model, traffic lights, random turns.

All vehicles are advanced together with numpy. Each looks along its own future path (the next
lanes it will take) and treats the nearest actor inside that corridor, or a red/yellow stop line, as
its leader. That one rule yields car following, queueing at lights and yielding to pedestrians or
the ego when they stand in the way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from harness.semantics import Sem
from harness.world.signals import GREEN, YELLOW
from harness.world.town import Town

HORIZON_LANES = 4
SAMPLES = np.arange(0.0, 50.0, 3.0)  # [m] corridor samples ahead of the front bumper


@dataclass(frozen=True)
class IDMParams:
    accel: float = 1.5  # [m/s^2]
    comfort_decel: float = 2.5  # [m/s^2]
    max_decel: float = 8.0  # [m/s^2]
    headway_s: float = 1.3  # [s]
    min_gap_m: float = 2.5  # [m]
    delta: float = 4.0


# kind -> (semantic id, length, width, height) [m]
VEHICLE_KINDS = {
    "car": (Sem.CAR, 4.6, 1.9, 1.5),
    "van": (Sem.CAR, 5.2, 2.0, 2.1),
    "truck": (Sem.TRUCK, 7.5, 2.4, 3.0),
    "bus": (Sem.BUS, 11.0, 2.6, 3.1),
}
KIND_NAMES = tuple(VEHICLE_KINDS)
KIND_WEIGHTS = np.array([0.7, 0.15, 0.1, 0.05])


class Vehicles:
    """State of every NPC vehicle (structure of arrays)."""

    def __init__(self, town: Town, rng: np.random.Generator, count: int, avoid: np.ndarray | None,
                 first_instance: int, near: np.ndarray | None = None, params: IDMParams = IDMParams()) -> None:
        self.town = town
        self.params = params
        self.rng = rng
        road_lanes = np.array([l.id for l in town.lanes if not l.is_connector and l.length > 20.0])
        if near is not None and len(near):
            mids = np.array([town.lanes[l].polyline.mean(0) for l in road_lanes])
            d = np.min(np.hypot(mids[:, None, 0] - near[None, ::10, 0], mids[:, None, 1] - near[None, ::10, 1]), axis=1)
            close = road_lanes[d < 180.0]
            if len(close) >= 4:
                road_lanes = close
        lanes, ss = [], []
        taken: dict[int, list[float]] = {}
        tries = 0
        while len(lanes) < count and tries < count * 50:
            tries += 1
            lid = int(rng.choice(road_lanes))
            s = float(rng.uniform(2.0, town.lanes[lid].length - 8.0))
            if any(abs(s - o) < 12.0 for o in taken.get(lid, [])):
                continue
            if avoid is not None:
                p, _ = town.lane_set.lookup(np.array([lid]), np.array([s]))
                if np.hypot(*(p[0] - avoid)) < 30.0:
                    continue
            taken.setdefault(lid, []).append(s)
            lanes.append(lid)
            ss.append(s)
        n = len(lanes)
        self.n = n
        self.lane = np.array(lanes, dtype=np.int64)
        self.s = np.array(ss, dtype=np.float64)
        self.kind = rng.choice(len(KIND_NAMES), size=n, p=KIND_WEIGHTS)
        dims = np.array([VEHICLE_KINDS[k][1:] for k in KIND_NAMES])[self.kind] if n else np.zeros((0, 3))
        self.length, self.width, self.height = dims[:, 0], dims[:, 1], dims[:, 2]
        self.sem = np.array([int(VEHICLE_KINDS[KIND_NAMES[k]][0]) for k in self.kind], dtype=np.int64)
        self.desire = rng.uniform(0.85, 1.1, n)  # fraction of the speed limit this driver wants
        self.v = self.desire * town.lane_speed_limit[self.lane] * 0.5
        self.color = rng.uniform(0.05, 0.9, (n, 3)) * rng.choice([0.3, 1.0], (n, 1))
        self.instance = first_instance + np.arange(n, dtype=np.int64)
        self.braking = np.zeros(n, dtype=bool)
        self.frozen = np.zeros(n, dtype=bool)  # scripted: hold still (events)
        self.speed_cap = np.full(n, np.inf)  # scripted: max speed [m/s]
        self.forced_decel = np.zeros(n)  # scripted: brake at this rate [m/s^2] when > 0
        self.paths: list[list[int]] = [[l] for l in lanes]
        for i in range(n):
            self._extend(i)
        self.xy = np.zeros((n, 2))
        self.yaw = np.zeros(n)
        self._update_pose()

    # -- path bookkeeping -------------------------------------------------------------------
    def _extend(self, i: int) -> None:
        path = self.paths[i]
        while len(path) < HORIZON_LANES:
            succ = self.town.lanes[path[-1]].successors
            path.append(int(succ[self.rng.integers(len(succ))]) if len(succ) > 1 else int(succ[0]))

    def set_path(self, i: int, lanes: list[int]) -> None:
        """Make vehicle ``i`` follow ``lanes`` (first = its current lane) before turning randomly."""
        self.paths[i] = list(lanes)
        self._extend(i)

    def _update_pose(self) -> None:
        if self.n:
            self.xy, self.yaw = self.town.lane_set.lookup(self.lane, self.s)

    def _horizon(self) -> tuple[np.ndarray, np.ndarray]:
        """Lane ids (n, H) of each path and the path distance at which each lane starts."""
        lanes = np.array([p[:HORIZON_LANES] for p in self.paths], dtype=np.int64).reshape(self.n, HORIZON_LANES)
        lengths = self.town.lane_lengths[lanes]
        start = np.concatenate([np.zeros((self.n, 1)), np.cumsum(lengths[:, :-1], axis=1)], axis=1) - self.s[:, None]
        return lanes, start

    # -- simulation -------------------------------------------------------------------------
    def step(self, dt: float, signal_states: np.ndarray, obstacles_xy: np.ndarray, obstacles_v: np.ndarray,
             obstacles_r: np.ndarray, obstacles_id: np.ndarray) -> None:
        """Advance all vehicles by ``dt``. Obstacles: positions (M, 2), velocities (M, 2), radii (M,)
        and instance ids (M,) of everything that can block a path (NPCs included)."""
        if not self.n:
            return
        p = self.params
        lanes, start = self._horizon()
        front = self.length / 2 + 0.5
        d = front[:, None] + SAMPLES[None, :]  # (n, K) path distance of each sample from the car centre
        k_lane = np.clip((d[:, :, None] >= start[:, None, :]).sum(-1) - 1, 0, HORIZON_LANES - 1)
        lid = np.take_along_axis(lanes, k_lane, 1)
        s_in = d - np.take_along_axis(start, k_lane, 1)
        pts, hd = self.town.lane_set.lookup(lid.ravel(), s_in.ravel())
        pts = pts.reshape(self.n, len(SAMPLES), 2)

        gap = np.full(self.n, np.inf)
        lead_v = np.zeros(self.n)
        if len(obstacles_xy):
            # nearest obstacles of every corridor sample (a k-d tree keeps this O(n K log M))
            kq = min(4, len(obstacles_xy))
            r_max = float(self.width.max() / 2 + 0.4 + obstacles_r.max())
            dist, idx = cKDTree(obstacles_xy).query(pts.reshape(-1, 2), k=kq, distance_upper_bound=r_max)
            dist, idx = dist.reshape(self.n, len(SAMPLES), kq), idx.reshape(self.n, len(SAMPLES), kq)
            valid = idx < len(obstacles_xy)
            idx_c = np.where(valid, idx, 0)
            hit = valid & (dist < self.width[:, None, None] / 2 + 0.4 + obstacles_r[idx_c])
            hit &= obstacles_id[idx_c] != self.instance[:, None, None]
            any_k = hit.any(axis=2)  # (n, K)
            has = any_k.any(axis=1)
            if has.any():
                rows = np.flatnonzero(has)
                k_first = np.argmax(any_k[rows], axis=1)
                m_first = idx_c[rows, k_first, np.argmax(hit[rows, k_first], axis=1)]
                gap[rows] = SAMPLES[k_first] - obstacles_r[m_first] + 0.5
                h = hd.reshape(self.n, len(SAMPLES))[rows, k_first]
                lead_v[rows] = np.maximum(0.0, obstacles_v[m_first, 0] * np.cos(h) + obstacles_v[m_first, 1] * np.sin(h))

        # stop lines: the first red/yellow stop line within the horizon
        stop_gap = self._stop_gap(lanes, start, front, signal_states)
        use_stop = stop_gap < gap
        gap = np.where(use_stop, stop_gap, gap)
        lead_v = np.where(use_stop, 0.0, lead_v)

        v0 = np.minimum(self.desire * self.town.lane_speed_limit[lanes[:, 0]], self.speed_cap)
        # slow before a turn connector
        nxt_turn = self.town.lane_is_turn[lanes[:, 1]]
        dist_to_next = start[:, 1]
        v0 = np.where(nxt_turn & (dist_to_next < 30.0), np.minimum(v0, 6.0 + dist_to_next * 0.25), v0)
        v = self.v
        s_star = p.min_gap_m + v * p.headway_s + v * (v - lead_v) / (2 * np.sqrt(p.accel * p.comfort_decel))
        s_star = np.maximum(s_star, p.min_gap_m)
        with np.errstate(divide="ignore", invalid="ignore"):
            interaction = np.where(np.isfinite(gap), (s_star / np.maximum(gap, 0.1)) ** 2, 0.0)
        a = p.accel * (1.0 - (v / np.maximum(v0, 0.1)) ** p.delta - interaction)
        a = np.clip(a, -p.max_decel, p.accel)
        a = np.where(self.forced_decel > 0, -self.forced_decel, a)
        a = np.where(self.frozen, -p.max_decel, a)
        self.braking = a < -0.5
        self.v = np.maximum(0.0, v + a * dt)
        self.s = self.s + self.v * dt
        # hand over to the next lane where a vehicle ran off the end of its lane
        over = np.flatnonzero(self.s > self.town.lane_lengths[self.lane])
        for i in over:
            while self.s[i] > self.town.lane_lengths[self.lane[i]]:
                self.s[i] -= self.town.lane_lengths[self.lane[i]]
                self.paths[i].pop(0)
                self._extend(i)
                self.lane[i] = self.paths[i][0]
        self._update_pose()

    def _stop_gap(self, lanes: np.ndarray, start: np.ndarray, front: np.ndarray, states: np.ndarray) -> np.ndarray:
        stop_s = self.town.lane_stop_s[lanes]  # (n, H)
        sig = self.town.lane_signal[lanes]
        state = np.where(sig >= 0, states[np.maximum(sig, 0)], GREEN)
        dist = start + stop_s - front[:, None]  # from front bumper to the stop line
        # a yellow is only obeyed where the car can still stop comfortably
        can_stop = dist > (self.v[:, None] ** 2) / (2 * self.params.comfort_decel)
        blocking = np.isfinite(dist) & (dist > -0.5) & ((state != GREEN) & ((state != YELLOW) | can_stop))
        dist = np.where(blocking, dist, np.inf)
        return dist.min(axis=1)

    def velocities(self) -> np.ndarray:
        return np.stack([np.cos(self.yaw), np.sin(self.yaw)], -1) * self.v[:, None]
