"""Aggregate route scores over a planned evaluation: leaderboard means, infractions per km, success
rate, bootstrap confidence intervals and paired differences between variants.

Global rules (``leaderboard/utils/statistics_manager.py``, ``compute_global_statistics``, 2.0):

- Means run over *all planned* (route, repetition) keys: the source sums the recorded routes'
  ``score_route``, ``score_penalty`` and ``score_composed`` and divides by the planned total
  (``_total_routes = routes * repetitions``), so a missing record counts 0 in DS, RC *and* IS.
- Infractions per km: ``count / max(sum(L_i / 1000 * RC_i / 100), 0.001)`` per infraction key over
  the recorded routes, except ``outside_route_lanes``, which the source reports as the km of route
  driven outside route lanes (summed, not divided by the km driven).

Not from the leaderboard (our design's additions): success rate (share of planned keys whose
status is Perfect or Completed), percentile bootstrap intervals of the mean (numpy Generator with a
fixed seed) and paired differences over matched keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError
from harness.metrics.records import RouteScore
from harness.metrics.rules import INFRACTION_KINDS, OUTSIDE_ROUTE_LANES

RouteKey = tuple[str, int]  # (route id, repetition)
METRICS = ("DS", "RC", "IS")
MIN_KM = 0.001  # [km] statistics_manager: km_driven = max(km_driven, 0.001)
_BLOCK = 1000  # bootstrap resamples drawn per block (bounds memory to _BLOCK * n indices)


def route_key(route_id, repetition) -> RouteKey:
    """Normalise a (route id, repetition) pair: ``("3", 0)`` from ``(3, 0)`` or ``("3", "0")``."""
    try:
        return str(route_id), int(repetition)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"a route key is (route_id, repetition) with an integer repetition, got "
                          f"{(route_id, repetition)!r}") from err


def sort_keys(keys) -> list[RouteKey]:
    """Keys in the leaderboard's order: numeric route ids by value, then repetition."""
    def order(k: RouteKey):
        rid, rep = k
        return (0, int(rid), "", rep) if rid.isdigit() else (1, 0, rid, rep)
    return sorted(keys, key=order)


def planned_keys(planned: Sequence) -> list[RouteKey]:
    keys = [route_key(*k) for k in planned]
    if not keys:
        raise ConfigError("planned must list at least one (route_id, repetition) key; got none")
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ConfigError(f"planned lists keys more than once: {dup}; each (route, repetition) runs once")
    return keys


def keyed_scores(scores: Mapping) -> dict[RouteKey, RouteScore]:
    return {route_key(*k): v for k, v in scores.items()}


def _values(scores: dict[RouteKey, RouteScore], keys: list[RouteKey], metric: str) -> np.ndarray:
    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    return np.array([getattr(scores[k], metric) if k in scores else 0.0 for k in keys], dtype=np.float64)


def bootstrap_ci(values, n_boot: int = 10000, seed: int = 0, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (1-D): ``n_boot`` resamples with
    replacement drawn by ``numpy.random.default_rng(seed)``; the same inputs give the same interval."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.isfinite(v).all():
        raise ConfigError(f"bootstrap_ci needs a non-empty 1-D array of finite values, got shape {v.shape}")
    (means,) = _resampled_means([v], n_boot, seed, confidence)
    return _interval(means, confidence)


def _resampled_means(arrays: list[np.ndarray], n_boot: int, seed: int, confidence: float) -> list[np.ndarray]:
    """Means of ``n_boot`` resamples with replacement of the positions of ``arrays`` (equal length),
    the same positions for every array (so pairs stay pairs), drawn by ``default_rng(seed)``."""
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie in (0, 1), e.g. 0.95; got {confidence!r}")
    if n_boot < 1:
        raise ConfigError(f"n_boot must be >= 1 (10000 is usual), got {n_boot!r}")
    rng = np.random.default_rng(seed)
    n = arrays[0].size
    means = [np.empty(n_boot) for _ in arrays]
    for start in range(0, n_boot, _BLOCK):
        stop = min(n_boot, start + _BLOCK)
        idx = rng.integers(0, n, size=(stop - start, n))
        for a, m in zip(arrays, means):
            m[start:stop] = a[idx].mean(axis=1)
    return means


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def infractions_per_km(scores: Mapping) -> tuple[dict[str, float], float]:
    """``(per_km, km_driven)``: every infraction key's count per km driven (``outside_route_lanes``:
    km driven outside route lanes, as the leaderboard reports it) and the unfloored km driven."""
    sc = keyed_scores(scores)
    km = sum(s.route_length_m / 1000.0 * s.RC / 100.0 for s in sc.values())
    denom = max(km, MIN_KM)
    out = {}
    for kind in INFRACTION_KINDS:
        if kind == OUTSIDE_ROUTE_LANES:
            out[kind] = sum(s.outside_lanes_m for s in sc.values()) / 1000.0
        else:
            out[kind] = sum(s.counts()[kind] for s in sc.values()) / denom
    return out, km


_SUMMARY_KEYS = frozenset({
    "n_routes", "n_recorded", "missing", "DS", "DS_ci", "RC", "RC_ci", "IS", "IS_ci", "success_rate",
    "km_driven", "infraction_counts", "infractions_per_km", "confidence", "n_boot", "seed"})


@dataclass(frozen=True)
class Summary:
    """Aggregate over the planned keys of one variant. Means in the scores' units (DS, RC [%], IS)."""

    n_planned: int  # planned (route, repetition) keys
    n_recorded: int  # keys with a record
    missing: tuple[RouteKey, ...]  # planned keys without a record (counted as 0)
    DS: float  # [%] mean driving score
    DS_ci: tuple[float, float]  # [%] bootstrap interval of the mean
    RC: float  # [%]
    RC_ci: tuple[float, float]
    IS: float  # penalty, 0..1
    IS_ci: tuple[float, float]
    success_rate: float  # share of planned keys with status Perfect or Completed, 0..1
    km_driven: float  # [km] sum of L * RC over the records (before the 0.001 km floor)
    infraction_counts: dict[str, int]  # per leaderboard key, over the records
    infractions_per_km: dict[str, float]  # [1/km] per key; outside_route_lanes in [km]
    confidence: float  # level of the intervals, e.g. 0.95
    n_boot: int
    seed: int

    def to_dict(self) -> dict:
        return {
            "n_routes": self.n_planned, "n_recorded": self.n_recorded,
            "missing": [list(k) for k in self.missing],
            "DS": self.DS, "DS_ci": list(self.DS_ci), "RC": self.RC, "RC_ci": list(self.RC_ci),
            "IS": self.IS, "IS_ci": list(self.IS_ci), "success_rate": self.success_rate,
            "km_driven": self.km_driven, "infraction_counts": dict(self.infraction_counts),
            "infractions_per_km": dict(self.infractions_per_km),
            "confidence": self.confidence, "n_boot": self.n_boot, "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Summary:
        if set(d) != _SUMMARY_KEYS:
            raise ConfigError(f"Summary.from_dict: expected keys {sorted(_SUMMARY_KEYS)}, got {sorted(d)}; "
                              "write it with Summary.to_dict()")
        return cls(
            n_planned=int(d["n_routes"]), n_recorded=int(d["n_recorded"]),
            missing=tuple(route_key(*k) for k in d["missing"]),
            DS=float(d["DS"]), DS_ci=tuple(d["DS_ci"]), RC=float(d["RC"]), RC_ci=tuple(d["RC_ci"]),
            IS=float(d["IS"]), IS_ci=tuple(d["IS_ci"]), success_rate=float(d["success_rate"]),
            km_driven=float(d["km_driven"]), infraction_counts=dict(d["infraction_counts"]),
            infractions_per_km=dict(d["infractions_per_km"]), confidence=float(d["confidence"]),
            n_boot=int(d["n_boot"]), seed=int(d["seed"]))


def summarize(scores: Mapping, planned: Sequence, n_boot: int = 10000, seed: int = 0,
              confidence: float = 0.95) -> Summary:
    """Aggregate ``scores`` ({(route_id, repetition): RouteScore}) over ``planned`` keys."""
    keys = planned_keys(planned)
    sc = keyed_scores(scores)
    extra = sorted(set(sc) - set(keys))
    if extra:
        raise ConfigError(f"scores has keys that were not planned: {extra[:5]}; add them to planned or drop them")
    recorded = {k: sc[k] for k in keys if k in sc}
    per_km, km = infractions_per_km(recorded)
    counts = dict.fromkeys(INFRACTION_KINDS, 0)
    for s in recorded.values():
        for kind, n in s.counts().items():
            counts[kind] += n
    stats = {}
    for m in METRICS:
        v = _values(sc, keys, m)
        stats[m] = (float(v.mean()), bootstrap_ci(v, n_boot, seed, confidence))
    return Summary(
        n_planned=len(keys), n_recorded=len(recorded), missing=tuple(k for k in keys if k not in sc),
        DS=stats["DS"][0], DS_ci=stats["DS"][1], RC=stats["RC"][0], RC_ci=stats["RC"][1],
        IS=stats["IS"][0], IS_ci=stats["IS"][1],
        success_rate=sum(s.success for s in recorded.values()) / len(keys),
        km_driven=km, infraction_counts=counts, infractions_per_km=per_km,
        confidence=confidence, n_boot=n_boot, seed=seed)


@dataclass(frozen=True)
class PairedDifference:
    """``other - base`` of one metric over matched keys (same route, repetition, seed, traffic)."""

    metric: str  # "DS" | "RC" | "IS"
    n_pairs: int
    mean_diff: float  # mean over pairs of other - base (metric units)
    ci: tuple[float, float]  # bootstrap interval of mean_diff, resampling pairs
    confidence: float

    def to_dict(self) -> dict:
        return {"metric": self.metric, "n_pairs": self.n_pairs, "mean_diff": self.mean_diff,
                "ci": list(self.ci), "confidence": self.confidence}


def paired_difference(base: Mapping, other: Mapping, metric: str = "DS", planned: Sequence | None = None,
                      n_boot: int = 10000, seed: int = 0, confidence: float = 0.95) -> PairedDifference:
    """Mean of ``other - base`` over matched keys with a bootstrap interval over the pairs.

    With ``planned``, every planned key is a pair and a missing record counts 0 (as in the global
    mean); without, the pairs are the keys both variants recorded."""
    a, b = keyed_scores(base), keyed_scores(other)
    if planned is not None:
        keys = planned_keys(planned)
    else:
        keys = sort_keys(set(a) & set(b))
        if not keys:
            raise ConfigError("paired_difference: the two variants share no (route, repetition) key; "
                              "run them on the same routes and seeds, or pass planned")
    d = _values(b, keys, metric) - _values(a, keys, metric)
    return PairedDifference(metric, len(keys), float(d.mean()), bootstrap_ci(d, n_boot, seed, confidence),
                            confidence)


@dataclass(frozen=True)
class PairedRatio:
    """``mean(other) / mean(base)`` of one metric over matched keys, with a bootstrap interval that
    resamples the pairs (a criterion such as "DS(student) >= 0.95 DS(teacher)" reads off it)."""

    metric: str
    n_pairs: int
    ratio: float
    ci: tuple[float, float]
    confidence: float

    def to_dict(self) -> dict:
        return {"metric": self.metric, "n_pairs": self.n_pairs, "ratio": self.ratio, "ci": list(self.ci),
                "confidence": self.confidence}


def paired_ratio(base: Mapping, other: Mapping, metric: str = "DS", planned: Sequence | None = None,
                 n_boot: int = 10000, seed: int = 0, confidence: float = 0.95) -> PairedRatio:
    """``mean(other) / mean(base)`` over matched keys (as :func:`paired_difference` matches them), the
    interval from ``n_boot`` resamples of the pairs; resamples whose base mean is 0 are dropped."""
    a, b = keyed_scores(base), keyed_scores(other)
    keys = planned_keys(planned) if planned is not None else sort_keys(set(a) & set(b))
    if not keys:
        raise ConfigError("paired_ratio: the two variants share no (route, repetition) key; "
                          "run them on the same routes and seeds, or pass planned")
    x, y = _values(a, keys, metric), _values(b, keys, metric)
    if x.mean() <= 0:
        raise ConfigError(f"paired_ratio: the base's mean {metric} is {x.mean():g}; a ratio to it says nothing")
    den, num = _resampled_means([x, y], n_boot, seed, confidence)
    return PairedRatio(metric, len(keys), float(y.mean() / x.mean()), _interval(num[den > 0] / den[den > 0], confidence),
                       confidence)
