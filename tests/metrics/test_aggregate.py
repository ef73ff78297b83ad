"""Global aggregation over planned keys, infractions per km, bootstrap intervals, paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.metrics import Summary, bootstrap_ci, infractions_per_km, paired_difference, summarize
from harness.metrics.records import Infraction, RouteScore


def score(ds: float, rc: float, is_: float, status: str, length: float = 1000.0, kinds=(),
          outside_m: float = 0.0) -> RouteScore:
    infs = tuple(Infraction(k, 1, 0.05, None, None, None, 1.0, k) for k in kinds)
    return RouteScore(ds, rc, is_, status, 60.0, 1.0, length, rc / 100 * length, outside_m, infs)


PLANNED = [("0", 0), ("0", 1), ("1", 0), ("1", 1)]
SCORES = {
    ("0", 0): score(100.0, 100.0, 1.0, "Perfect"),
    ("0", 1): score(50.0, 100.0, 0.5, "Completed", kinds=("collisions_pedestrian",)),
    ("1", 0): score(30.0, 60.0, 0.5, "Failed - Agent deviated from the route",
                    kinds=("collisions_pedestrian", "route_dev"), outside_m=150.0),
}  # ("1", 1) never ran


def test_means_over_all_planned_keys_count_a_missing_record_as_zero():
    s = summarize(SCORES, PLANNED, n_boot=200)
    assert (s.DS, s.RC, s.IS) == (45.0, 65.0, 0.5)  # 180/4, 260/4, 2/4
    assert s.n_planned == 4 and s.n_recorded == 3 and s.missing == (("1", 1),)
    assert s.success_rate == 0.5


def test_infractions_per_km():
    # km driven: 1 * 1.0 + 1 * 1.0 + 1 * 0.6 = 2.6
    s = summarize(SCORES, PLANNED, n_boot=200)
    assert s.km_driven == pytest.approx(2.6)
    assert s.infraction_counts["collisions_pedestrian"] == 2 and s.infraction_counts["route_dev"] == 1
    assert s.infractions_per_km["collisions_pedestrian"] == pytest.approx(2 / 2.6)
    assert s.infractions_per_km["route_dev"] == pytest.approx(1 / 2.6)
    assert s.infractions_per_km["red_light"] == 0.0
    assert s.infractions_per_km["outside_route_lanes"] == pytest.approx(0.15)  # km outside, as the leaderboard


def test_infractions_per_km_floor_of_one_metre():
    per_km, km = infractions_per_km({("0", 0): score(0.0, 0.0, 1.0, "Failed - Agent got blocked",
                                                      kinds=("vehicle_blocked",))})
    assert km == 0.0 and per_km["vehicle_blocked"] == pytest.approx(1000.0)


def test_bootstrap_ci_contains_the_mean_and_is_deterministic():
    v = np.random.default_rng(5).uniform(0, 100, 40)
    a = bootstrap_ci(v, n_boot=2000, seed=1)
    assert a == bootstrap_ci(v, n_boot=2000, seed=1)
    assert a != bootstrap_ci(v, n_boot=2000, seed=2)
    assert a[0] < v.mean() < a[1]
    assert a[1] - a[0] < 2 * 1.96 * v.std(ddof=1) / np.sqrt(v.size)  # narrower than 2 normal widths


def test_bootstrap_ci_hand_cases():
    assert bootstrap_ci([42.0, 42.0, 42.0]) == (42.0, 42.0)
    # resample means of {0, 100} are 0, 50, 100 with odds 1:2:1, so the 2.5 / 97.5 % points are 0 and 100
    assert bootstrap_ci([0.0, 100.0], n_boot=10000, seed=0) == (0.0, 100.0)
    with pytest.raises(ConfigError, match="non-empty"):
        bootstrap_ci([])


def test_summary_intervals_and_dict_round_trip():
    s = summarize(SCORES, PLANNED, n_boot=500, seed=3)
    for m in ("DS", "RC", "IS"):
        lo, hi = getattr(s, f"{m}_ci")
        assert lo <= getattr(s, m) <= hi
    d = s.to_dict()
    assert d["n_routes"] == 4 and d["DS_ci"] == list(s.DS_ci)
    assert Summary.from_dict(d) == s
    with pytest.raises(ConfigError, match="expected keys"):
        Summary.from_dict({**d, "bogus": 1})


def test_summarize_rejects_unplanned_and_duplicate_keys():
    with pytest.raises(ConfigError, match="not planned"):
        summarize(SCORES, PLANNED[:2])
    with pytest.raises(ConfigError, match="more than once"):
        summarize(SCORES, PLANNED + [("0", 0)])


def test_paired_difference_over_matched_keys():
    base = {("0", 0): score(50, 100, .5, "Completed"), ("1", 0): score(60, 100, .6, "Completed"),
            ("2", 0): score(70, 100, .7, "Completed")}
    other = {("0", 0): score(60, 100, .6, "Completed"), ("1", 0): score(60, 100, .6, "Completed"),
             ("2", 0): score(90, 100, .9, "Completed"), ("3", 0): score(100, 100, 1, "Perfect")}
    d = paired_difference(base, other, "DS", n_boot=2000, seed=0)  # pairs: routes 0..2, diffs 10, 0, 20
    assert d.n_pairs == 3 and d.mean_diff == pytest.approx(10.0)
    assert 0.0 <= d.ci[0] <= 10.0 <= d.ci[1] <= 20.0
    assert d == paired_difference(base, other, "DS", n_boot=2000, seed=0)
    # with the plan, route 3 is a pair too and base's missing record counts 0: diffs 10, 0, 20, 100
    p = paired_difference(base, other, "DS", planned=[(str(i), 0) for i in range(4)], n_boot=500)
    assert p.n_pairs == 4 and p.mean_diff == pytest.approx(32.5)
    with pytest.raises(ConfigError, match="share no"):
        paired_difference(base, {("9", 0): score(1, 1, 1, "Failed")})
    with pytest.raises(ConfigError, match="metric"):
        paired_difference(base, other, "XX")


def test_paired_ratio_of_means_with_a_pair_bootstrap():
    from harness.metrics import paired_ratio

    base = {(str(i), 0): score(ds, 100.0, ds / 100, "Completed") for i, ds in enumerate([40.0, 60.0, 80.0, 20.0])}
    half = {k: score(s.DS / 2, 100.0, s.DS / 200, "Completed") for k, s in base.items()}
    r = paired_ratio(base, half, "DS", n_boot=2000)
    assert r.n_pairs == 4 and r.ratio == pytest.approx(0.5) and r.ci == pytest.approx((0.5, 0.5))  # every resample: 0.5
    same = paired_ratio(base, base, n_boot=500)
    assert same.ratio == 1.0 and same.ci == pytest.approx((1.0, 1.0))
    mixed = {k: score(d, 100.0, d / 100, "Completed") for k, d in zip(base, [60.0, 30.0, 80.0, 40.0])}
    m = paired_ratio(base, mixed, n_boot=2000, seed=1)
    assert m.ratio == pytest.approx(210 / 200) and m.ci[0] < m.ratio < m.ci[1]
    assert m == paired_ratio(base, mixed, n_boot=2000, seed=1)  # deterministic
    # planned: a key the other did not record counts 0
    p = paired_ratio(base, {k: v for k, v in base.items() if k != ("3", 0)}, planned=list(base), n_boot=200)
    assert p.ratio == pytest.approx(180 / 200)


def test_paired_ratio_refuses_what_it_cannot_say():
    from harness.metrics import paired_ratio

    zero = {("0", 0): score(0.0, 0.0, 1.0, "Failed - Agent got blocked")}
    with pytest.raises(ConfigError, match="says nothing"):
        paired_ratio(zero, zero)
    with pytest.raises(ConfigError, match="share no"):
        paired_ratio({("1", 0): score(50.0, 100.0, 0.5, "Completed")}, zero)
