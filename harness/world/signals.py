"""Traffic-light controllers: one per signalised junction, protected phases, one approach at a time.

Each approach gets green, then yellow, then an all-red clearance; after the last approach comes a
pedestrian scramble phase (all vehicle heads red, every crosswalk of the junction walks). Protected
phasing means no two green movements of one junction cross, so NPC traffic needs no gap acceptance
inside junctions. Junction offsets are drawn from the world's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.world.town import Town

RED, YELLOW, GREEN = 0, 1, 2
STATE_NAMES = ("red", "yellow", "green")


@dataclass(frozen=True)
class SignalTiming:
    green_s: float = 9.0
    yellow_s: float = 2.5
    all_red_s: float = 1.0
    walk_s: float = 7.0


class SignalController:
    """States of every signal head as a pure function of simulation time."""

    def __init__(self, town: Town, rng: np.random.Generator, timing: SignalTiming = SignalTiming()) -> None:
        self.town = town
        self.timing = timing
        per_phase = timing.green_s + timing.yellow_s + timing.all_red_s
        n = len(town.signals)
        self._junction = np.array([s.junction for s in town.signals], dtype=np.int64)
        # order of this head's approach among its junction's signalised arms
        self._slot = np.zeros(n, dtype=np.float64)
        self._cycle = np.zeros(n, dtype=np.float64)
        self._offset = np.zeros(n, dtype=np.float64)
        offsets = {j.id: rng.uniform(0.0, 60.0) for j in town.junctions if j.signalised}
        for s in town.signals:
            arms = town.junctions[s.junction].arms
            self._slot[s.id] = arms.index(s.approach)
            self._cycle[s.id] = len(arms) * per_phase + timing.walk_s
            self._offset[s.id] = offsets[s.junction]
        self._per_phase = per_phase
        self._junction_cycle = {j: float(self._cycle[self._junction == j][0]) for j in offsets}
        self._junction_offset = offsets

    def states(self, t: float) -> np.ndarray:
        """(n_signals,) uint8 with RED / YELLOW / GREEN at time ``t`` [s]."""
        tt = self.timing
        local = (t + self._offset) % self._cycle - self._slot * self._per_phase
        out = np.full(len(self._slot), RED, dtype=np.uint8)
        out[(local >= 0) & (local < tt.green_s)] = GREEN
        out[(local >= tt.green_s) & (local < tt.green_s + tt.yellow_s)] = YELLOW
        return out

    def walk(self, junction: int, t: float) -> bool:
        """True while the junction's pedestrian scramble phase runs."""
        cycle = self._junction_cycle.get(junction)
        if cycle is None:
            return False
        local = (t + self._junction_offset[junction]) % cycle
        return local >= cycle - self.timing.walk_s

    def walk_remaining(self, junction: int, t: float) -> float:
        """Seconds left in the scramble phase (0 when not walking)."""
        cycle = self._junction_cycle.get(junction)
        if cycle is None:
            return 0.0
        local = (t + self._junction_offset[junction]) % cycle
        return max(0.0, cycle - local) if local >= cycle - self.timing.walk_s else 0.0
