"""Route scoring against hand-worked routes, one rule at a time and combined.

Unless a test says otherwise the route is 100 m long and the ego advances 0.5 % (0.5 m) per 20 Hz
step, so step k is at t = k / 20 s, 0.5 k m along the route, and step 200 completes it.
"""

from __future__ import annotations

import dataclasses

import pytest

from harness.errors import ConfigError, WrongOrderError
from harness.metrics import RouteMonitor, score_route
from harness.metrics.route import blocked_by
from harness.metrics.records import Infraction, RouteScore
from harness.backends.records import Collision, RedLightRun, StepEvents

L = 100.0  # [m]


def step(k: int, rc: float | None = None, *, speed: float = 10.0, dist: float = 0.5, off: float = 0.0,
         outside: float = 0.0, blocked: float = 0.0, traffic: float | None = None, collisions=(), red=(),
         done: bool | None = None, standing_for: str | None = None) -> StepEvents:
    """Step ``k`` of the standard drive; ``rc`` [%] defaults to 0.5 k, ``done`` to rc >= 100."""
    rc = min(100.0, 0.5 * k) if rc is None else rc
    return StepEvents(k, k / 20, speed, dist, rc, off, outside, blocked, traffic, tuple(collisions),
                      tuple(red), rc >= 100.0 if done is None else done, standing_for)


def drive(n: int = 200, **at: dict) -> list[StepEvents]:
    """``n`` standard steps; ``at[k]`` (keyword ``s<k>``) overrides fields of step k."""
    evs = [step(k) for k in range(1, n + 1)]
    for name, changes in at.items():
        k = int(name[1:])
        evs[k - 1] = dataclasses.replace(evs[k - 1], **changes)
    return evs


def hit(other_id: int, kind: str, x: float, speed: float = 10.0) -> Collision:
    return Collision(other_id, kind, 0, x, 0.0, speed)


def kinds(score: RouteScore) -> list[str]:
    return [i.kind for i in score.infractions]


# -- completion -------------------------------------------------------------------------------------
def test_clean_route_is_perfect():
    s = score_route(drive(), L)
    assert (s.DS, s.RC, s.IS, s.status) == (100.0, 100.0, 1.0, "Perfect")
    assert s.duration_game_s == 10.0 and s.meters_driven == 100.0 and s.infractions == ()


def test_monitor_says_stop_on_the_completing_step_and_rejects_more_steps():
    mon = RouteMonitor(L)
    ends = [mon.update(ev) for ev in drive()]
    assert ends == [False] * 199 + [True]
    with pytest.raises(WrongOrderError, match="after the route ended"):
        mon.update(step(201))
    assert mon.finish().status == "Perfect"
    with pytest.raises(WrongOrderError, match="twice"):
        mon.finish()


def test_frames_must_increase():
    mon = RouteMonitor(L)
    mon.update(step(5))
    with pytest.raises(WrongOrderError, match="out of order"):
        mon.update(step(5))


def test_unfinished_route_rounds_rc_to_two_digits():
    evs = [step(k, rc=33.3333333 if k == 3 else 0.5 * k) for k in range(1, 4)]
    s = score_route(evs, L)
    assert (s.RC, s.DS, s.status) == (33.33, 33.33, "Failed")


# -- fixed penalties --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,key,factor", [
    ("pedestrian", "collisions_pedestrian", 0.50),
    ("vehicle", "collisions_vehicle", 0.60),
    ("static", "collisions_layout", 0.65),
])
def test_one_collision(kind, key, factor):
    s = score_route(drive(s50={"collisions": (hit(3, kind, 25.0),)}), L)
    assert kinds(s) == [key]
    assert (s.IS, s.DS, s.RC, s.status) == (factor, 100 * factor, 100.0, "Completed")
    assert s.infractions[0].frame == 50 and s.infractions[0].time == 2.5


def test_red_light():
    s = score_route(drive(s80={"red_lights": (RedLightRun(12, 40.0, 1.0),)}), L)
    assert kinds(s) == ["red_light"] and s.IS == 0.7 and s.DS == 70.0
    assert s.infractions[0].description == "Agent ran a red light 12 at (x=40.0, y=1.0, z=0.0)"


def test_same_red_light_twice_in_a_row_counts_once_another_light_counts():
    s = score_route(drive(s80={"red_lights": (RedLightRun(12, 40.0, 1.0),)},
                          s81={"red_lights": (RedLightRun(12, 40.0, 1.0),)},
                          s90={"red_lights": (RedLightRun(13, 45.0, 1.0),)}), L)
    assert kinds(s) == ["red_light", "red_light"]
    assert s.IS == pytest.approx(0.49)


@pytest.mark.parametrize("key,factor", [
    ("stop_infraction", 0.80), ("scenario_timeouts", 0.70), ("yield_emergency_vehicle_infractions", 0.70),
])
def test_recorded_infractions(key, factor):
    mon = RouteMonitor(L)
    for ev in drive():
        if ev.frame == 100:
            mon.record(key, ev.frame, ev.time, 50.0, 0.0, signal_id=4)
        mon.update(ev)
    s = mon.finish()
    assert kinds(s) == [key] and s.IS == factor and s.DS == pytest.approx(100 * factor)


def test_recorded_infraction_through_score_route_and_unknown_kind():
    ext = Infraction("stop_infraction", 100, 5.0, 50.0, 0.0, None, 0.8, "Agent ran a stop with id=4")
    assert score_route(drive(), L, external=[ext]).IS == 0.8
    with pytest.raises(ConfigError, match="stop_infraction"):
        RouteMonitor(L).record("collisions_vehicle", 1, 0.05)
    with pytest.raises(ConfigError, match="rules '1.0'"):
        RouteMonitor(L, rules="1.0").record("scenario_timeouts", 1, 0.05)


def test_penalties_multiply():
    # pedestrian 0.5 * vehicle 0.6 * red light 0.7 * 10 % of the route outside lanes (0.9)
    s = score_route(drive(s20={"collisions": (hit(1, "pedestrian", 10.0),)},
                          s100={"collisions": (hit(2, "vehicle", 50.0),)},
                          s150={"red_lights": (RedLightRun(5, 75.0, 0.0),)},
                          **{f"s{k}": {"outside_lanes_m": 0.5} for k in range(101, 121)}), L)
    assert sorted(kinds(s)) == ["collisions_pedestrian", "collisions_vehicle", "outside_route_lanes", "red_light"]
    assert s.IS == 0.189 and s.DS == 18.9 and s.status == "Completed"


# -- collisions: same actor once per 5 m / 5 s -------------------------------------------------------
def test_same_actor_within_5_s_counts_once_even_far_away():
    # t = 0.5 s and 3.0 s, 25 m apart
    s = score_route(drive(s10={"collisions": (hit(7, "vehicle", 5.0),)},
                          s60={"collisions": (hit(7, "vehicle", 30.0),)}), L)
    assert kinds(s) == ["collisions_vehicle"] and s.IS == 0.6


def test_same_actor_after_more_than_5_s_counts_again():
    s = score_route(drive(s10={"collisions": (hit(7, "vehicle", 5.0),)},
                          s111={"collisions": (hit(7, "vehicle", 55.5),)}), L)
    assert kinds(s) == ["collisions_vehicle"] * 2 and s.IS == 0.36


def test_same_actor_exactly_5_s_later_is_still_the_same_collision():
    s = score_route(drive(s10={"collisions": (hit(7, "vehicle", 5.0),)},
                          s110={"collisions": (hit(7, "vehicle", 55.0),)}), L)
    assert len(s.infractions) == 1


def test_any_actor_within_5_m_of_the_last_collision_is_ignored_then_counts():
    # vehicle at 5 m (step 10); pedestrian 2 m further (step 14): ignored; another 6 m on (step 22): counted
    s = score_route(drive(s10={"collisions": (hit(7, "vehicle", 5.0),)},
                          s14={"collisions": (hit(9, "pedestrian", 7.0),)},
                          s22={"collisions": (hit(11, "pedestrian", 11.0),)}), L)
    assert kinds(s) == ["collisions_vehicle", "collisions_pedestrian"]
    assert s.IS == pytest.approx(0.3)


def test_two_contacts_in_one_step_count_once():
    s = score_route(drive(s10={"collisions": (hit(7, "vehicle", 5.0), hit(9, "pedestrian", 5.0))}), L)
    assert kinds(s) == ["collisions_vehicle"]


def test_layout_has_no_actor_memory():
    # static layout (id 0) 1 s apart but 10 m apart: both count
    s = score_route(drive(s10={"collisions": (hit(0, "static", 5.0),)},
                          s30={"collisions": (hit(0, "static", 15.0),)}), L)
    assert kinds(s) == ["collisions_layout"] * 2 and s.IS == pytest.approx(0.65 ** 2)


def test_standing_ego_is_not_at_fault_under_2x_but_is_under_1_0():
    evs = drive(s10={"collisions": (hit(7, "vehicle", 5.0, speed=0.05),)})
    assert score_route(evs, L).infractions == ()
    assert kinds(score_route(evs, L, rules="1.0")) == ["collisions_vehicle"]


def test_1_0_ignores_only_within_3_m():
    # different actors 2 m apart: ignored by both; 4 m apart: 1.0 counts it, 2.x does not
    near = drive(s10={"collisions": (hit(7, "vehicle", 5.0),)}, s14={"collisions": (hit(9, "vehicle", 7.0),)})
    far = drive(s10={"collisions": (hit(7, "vehicle", 5.0),)}, s18={"collisions": (hit(9, "vehicle", 9.0),)})
    assert len(score_route(near, L, rules="1.0").infractions) == 1
    assert len(score_route(far, L, rules="1.0").infractions) == 2
    assert len(score_route(far, L).infractions) == 1


# -- route-ending failures ---------------------------------------------------------------------------
def test_route_deviation_ends_the_route_and_freezes_rc():
    evs = drive(s80={"off_route_m": 35.0})
    mon = RouteMonitor(L)
    ends = [mon.update(ev) for ev in evs[:80]]
    assert ends == [False] * 79 + [True]
    s = score_route(evs, L)  # the 120 steps after the deviation (to 100 %) do not count
    assert (s.RC, s.DS, s.IS) == (40.0, 40.0, 1.0)
    assert s.status == "Failed - Agent deviated from the route" and kinds(s) == ["route_dev"]
    assert s.duration_game_s == 4.0 and s.meters_driven == 40.0


def test_deviation_threshold_is_30_m():
    assert score_route(drive(s80={"off_route_m": 29.9}), L).status == "Perfect"
    assert score_route(drive(s80={"off_route_m": 30.0}), L).RC == 40.0


def test_driving_more_than_30_percent_of_the_route_15_to_30_m_off_it_is_a_deviation():
    # 20 m off from step 1: 0.5 m of route per step; 30.0 m after step 60 is not > 30 %, step 61 is
    s = score_route(drive(**{f"s{k}": {"off_route_m": 20.0} for k in range(1, 201)}), L)
    assert s.RC == 30.5 and s.status == "Failed - Agent deviated from the route"


def test_blocked_for_more_than_180_s():
    # drive to 30 % (step 60), then stand still: blocked_s = (k - 60) / 20
    evs = [step(k) for k in range(1, 61)]
    evs += [step(k, rc=30.0, speed=0.0, dist=0.0, blocked=(k - 60) / 20) for k in range(61, 3700)]
    mon = RouteMonitor(L)
    for ev in evs:
        if mon.update(ev):
            break
    assert ev.frame == 3661  # 180.0 s is not more than 180 s; 180.05 s is
    s = mon.finish()
    assert (s.RC, s.DS, s.IS) == (30.0, 30.0, 1.0)
    assert s.status == "Failed - Agent got blocked" and kinds(s) == ["vehicle_blocked"]
    assert s.standing_s == {} and s.blocked_by is None  # the events did not say what was ahead


def test_standing_time_by_what_was_ahead_and_what_blocked():
    """20 s at a red light, drive on, then 150 s with nothing ahead and 31 s behind an actor: the
    route is blocked by "nothing" (free for over 5 s of the final stand-still), and the red-light wait
    before the ego moved again does not count towards it."""
    evs = [step(k) for k in range(1, 41)]  # to 20 %
    k = 40
    for n in range(400):
        k += 1
        evs.append(step(k, rc=20.0, speed=0.0, dist=0.0, blocked=(n + 1) / 20, standing_for="red_light"))
    for _ in range(20):
        k += 1
        evs.append(step(k, rc=evs[-1].route_completion + 0.5))
    start = k
    for n in range(3700):
        k += 1
        evs.append(step(k, rc=30.0, speed=0.0, dist=0.0, blocked=(k - start) / 20,
                        standing_for="nothing" if n < 3000 else "actor"))
    s = score_route(evs, L)
    assert s.status == "Failed - Agent got blocked"
    assert s.standing_s == pytest.approx({"red_light": 20.0, "nothing": 150.0, "actor": 30.05})
    assert s.blocked_by == "nothing"
    assert RouteScore.from_dict(s.to_dict()) == s
    # 180 s at a stop line of a 57-s signal cycle: red most of it, but it stood through greens
    assert blocked_by({"red_light": 120.0, "nothing": 60.05}) == "nothing"
    assert blocked_by({"actor": 176.0, "nothing": 4.05}) == "actor"  # moving off takes a moment
    assert blocked_by({"actor": 60.0, "red_light": 120.05}) == "red_light" and blocked_by({}) is None
    old = {k: v for k, v in s.to_dict().items() if k not in ("standing_s", "blocked_by")}  # a record from before
    assert RouteScore.from_dict(old).standing_s == {} and RouteScore.from_dict(old).blocked_by is None


def _crawl(rc_stop: float, n: int, length: float = L) -> list[StepEvents]:
    """Advance 0.5 m per step to ``rc_stop`` %, then creep (0.2 m/s) without route progress."""
    out = []
    for k in range(1, n + 1):
        rc = min(rc_stop, 0.5 * k * 100.0 / length)
        out.append(step(k, rc=rc, speed=10.0 if rc < rc_stop else 0.2, dist=0.5 if rc < rc_stop else 0.01))
    return out


def test_2x_timeout_grows_with_progress():
    # 300 s + 20 m advanced / (10 % of 10 m/s) = 320 s; times out at the first step after 320 s
    s = score_route(_crawl(20.0, 7000), L, speed_limit_mps=10.0)
    assert s.duration_game_s == 320.05 and s.RC == 20.0
    assert s.status == "Failed - Agent timed out" and kinds(s) == ["route_timeout"]
    assert s.infractions[0].description == "Route timeout."


def test_2x_timeout_at_the_town_speed_limit():
    mon = RouteMonitor(L)
    assert mon.timeout_s == 300.0
    for ev in drive(40):
        mon.update(ev)
    assert mon.timeout_s == pytest.approx(300.0 + 20.0 / (0.1 * 30 / 3.6))  # 324 s


def test_1_0_timeout_is_fixed_from_the_route_length():
    # int(0.8 * 100 + 5) = 85 s
    assert RouteMonitor(L, rules="1.0").timeout_s == 85.0
    s = score_route(_crawl(20.0, 3000), L, rules="1.0")
    assert s.duration_game_s == 85.05 and s.status == "Failed - Agent timed out"
    assert RouteMonitor(1000.0, rules="1.0").timeout_s == 805.0


def test_timeout_override():
    s = score_route(_crawl(20.0, 3000), L, timeout_s=10.0)
    assert s.duration_game_s == 10.05 and s.RC == 20.0 and s.status == "Failed - Agent timed out"


# -- percentage penalties ----------------------------------------------------------------------------
def test_min_speed_per_checkpoint():
    # checkpoints close at steps 51, 102, 153 (route driven since the last close > 25 m) and at the end.
    # ego/traffic: 10/10 -> 100 %; 8/10 -> 80 % (penalty 0.94); 12/10 -> 120 %; no traffic -> 100 %
    def speed(k):
        return 10.0 if k <= 50 else 8.0 if k <= 101 else 12.0
    evs = [dataclasses.replace(step(k), speed=speed(k), traffic_speed=10.0 if k <= 152 else None)
           for k in range(1, 201)]
    s = score_route(evs, L)
    assert kinds(s) == ["min_speed_infractions"]
    inf = s.infractions[0]
    assert inf.value == 80.0 and inf.frame == 102 and inf.penalty == pytest.approx(0.94)
    assert inf.description == "Average speed is 80.0% of the surrounding traffic's one"
    assert s.IS == 0.94 and s.DS == 94.0 and s.status == "Completed"


def test_min_speed_all_checkpoints_slow():
    evs = [dataclasses.replace(step(k), speed=5.0, traffic_speed=10.0) for k in range(1, 201)]
    s = score_route(evs, L)
    assert kinds(s) == ["min_speed_infractions"] * 4
    assert s.IS == pytest.approx(0.85 ** 4) and s.DS == pytest.approx(52.200625)


def test_min_speed_without_traffic_or_under_1_0_is_no_infraction():
    assert score_route([dataclasses.replace(step(k), speed=1.0) for k in range(1, 201)], L).status == "Perfect"
    slow = [dataclasses.replace(step(k), speed=5.0, traffic_speed=10.0) for k in range(1, 201)]
    assert score_route(slow, L, rules="1.0").IS == 1.0


def test_min_speed_last_checkpoint_only_past_95_percent():
    # the route ends at 40 % (deviation): one checkpoint closed at step 51, the open one is dropped
    evs = [dataclasses.replace(step(k), speed=5.0, traffic_speed=10.0) for k in range(1, 81)]
    evs[-1] = dataclasses.replace(evs[-1], off_route_m=40.0)
    s = score_route(evs, L)
    assert kinds(s) == ["min_speed_infractions", "route_dev"] and s.IS == 0.85 and s.DS == 34.0


def test_outside_route_lanes_percentage():
    # 15 m of the 100 m route outside lanes -> 15 %
    s = score_route(drive(**{f"s{k}": {"outside_lanes_m": 0.5} for k in range(1, 31)}), L)
    assert kinds(s) == ["outside_route_lanes"]
    assert s.IS == 0.85 and s.DS == 85.0 and s.outside_lanes_m == 15.0
    assert s.infractions[0].description == \
        "Agent went outside its route lanes for about 15.0 meters (15.0% of the completed route)"


def test_outside_lanes_share_of_a_step_and_of_the_driven_route_only():
    # half of each of 20 steps outside: 5 m; the route ends at 40 %: 5 / 40 = 12.5 %
    evs = drive(80, **{f"s{k}": {"outside_lanes_m": 0.25} for k in range(1, 21)})
    evs[-1] = dataclasses.replace(evs[-1], off_route_m=31.0)
    s = score_route(evs, L)
    assert kinds(s) == ["route_dev", "outside_route_lanes"]
    assert s.infractions[1].value == pytest.approx(12.5)
    assert s.IS == 0.875 and s.DS == 35.0


# -- external failures -------------------------------------------------------------------------------
def test_status_override_and_its_precedence():
    evs = drive(80)
    mon = RouteMonitor(L)
    for ev in evs:
        mon.update(ev)
    s = mon.finish("Simulation crashed")
    assert s.status == "Failed - Simulation crashed" and s.RC == 40.0 and s.DS == 40.0
    # a deviation is the reason even when the run also crashed
    mon = RouteMonitor(L)
    for ev in drive(80, s80={"off_route_m": 50.0}):
        mon.update(ev)
    assert mon.finish("Failed - Agent crashed").status == "Failed - Agent deviated from the route"
    with pytest.raises(ConfigError, match="Simulation crashed"):
        RouteMonitor(L).finish("Agent deviated from the route")


def test_nothing_observed_scores_zero():
    s = RouteMonitor(L).finish("Agent couldn't be set up")
    assert (s.DS, s.RC, s.IS, s.status) == (0.0, 0.0, 1.0, "Failed - Agent couldn't be set up")


def test_1_0_says_completed_not_perfect():
    assert score_route(drive(), L, rules="1.0").status == "Completed"


def test_bad_inputs_are_config_errors():
    with pytest.raises(ConfigError, match="route_length_m"):
        RouteMonitor(0.0)
    with pytest.raises(ConfigError, match="rules"):
        RouteMonitor(L, rules="3.0")
    with pytest.raises(ConfigError, match="percentage"):
        RouteMonitor(L).update(step(1, rc=120.0))


def test_route_score_dict_round_trip():
    s = score_route(drive(s20={"collisions": (hit(1, "pedestrian", 10.0),)}), L)
    assert RouteScore.from_dict(s.to_dict()) == s
    with pytest.raises(ConfigError, match="unknown"):
        RouteScore.from_dict({**s.to_dict(), "extra": 1})
