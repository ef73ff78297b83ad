import math

import numpy as np
import pytest

from harness.errors import ConfigError, WrongOrderError
from harness.scenario.schema import EventSpec, EventsSpec, TrafficSpec
from harness.world.autopilot import RouteFollower
from harness.world.ego import EgoParams, EgoState, VehicleControl, step_ego
from harness.world.routing import generate_routes
from harness.world.signals import RED
from harness.world.world import World


def _world(town, seed=0, vehicles=30, pedestrians=40, events=EventsSpec()):
    route = generate_routes(town, 2, seed=4)[1]
    w = World(town, route, seed, TrafficSpec(vehicles, pedestrians), events)
    w.reset()
    return w


def _run(w, n):
    drive = RouteFollower(w)
    out = []
    for _ in range(n):
        out.append(w.step(drive()))
    return out


def test_same_seed_same_world_and_events(town05):
    a, b = _world(town05, 7), _world(town05, 7)
    ea, eb = _run(a, 300), _run(b, 300)
    assert ea == eb
    np.testing.assert_array_equal(a.vehicles.xy, b.vehicles.xy)
    np.testing.assert_array_equal(a.pedestrians.xy, b.pedestrians.xy)
    c = _world(town05, 8)
    _run(c, 300)
    assert not np.array_equal(a.vehicles.xy, c.vehicles.xy)


def test_step_before_reset_says_the_fix(town05):
    route = generate_routes(town05, 1, seed=0)[0]
    w = World(town05, route, 0)
    with pytest.raises(WrongOrderError, match="call reset"):
        w.step(VehicleControl())


def test_npc_vehicles_keep_apart_and_stop_at_red(town05):
    w = _world(town05, 1, vehicles=60, pedestrians=0)
    for _ in range(600):
        prev_lane, prev_s = w.vehicles.lane.copy(), w.vehicles.s.copy()
        w.step(VehicleControl(brake=1.0))
        v = w.vehicles
        d = np.hypot(v.xy[:, None, 0] - v.xy[None, :, 0], v.xy[:, None, 1] - v.xy[None, :, 1])
        np.fill_diagonal(d, np.inf)
        assert d.min() > 2.0, "two NPC vehicles overlap"
        stop_s = town05.lane_stop_s
        same = v.lane == prev_lane
        sl = stop_s[v.lane]
        sig = town05.lane_signal[v.lane]
        crossed = same & np.isfinite(sl) & (prev_s + v.length / 2 < sl) & (v.s + v.length / 2 >= sl + 0.5)
        red = np.where(sig >= 0, w.signal_states[np.maximum(sig, 0)] == RED, False)
        assert not (crossed & red).any(), "an NPC ran a red light"
    assert (w.vehicles.v > 1.0).any(), "traffic never moved"


def test_ego_bicycle_model_turns_right_for_positive_steer():
    p = EgoParams()
    s = EgoState(0.0, 0.0, 0.0, 8.0)
    for _ in range(40):
        s = step_ego(s, VehicleControl(throttle=0.3, steer=0.5), p, 0.05)
    assert s.y > 1.0 and s.yaw > 0.2  # CARLA frame: right is +y, yaw grows clockwise
    for _ in range(200):
        s = step_ego(s, VehicleControl(brake=1.0), p, 0.05)
    assert s.speed == 0.0


@pytest.mark.parametrize("bad", [dict(throttle=1.5), dict(steer=-2), dict(brake=float("nan"))])
def test_vehicle_control_rejects_out_of_range(bad):
    with pytest.raises(ConfigError, match="VehicleControl"):
        VehicleControl(**bad)


def test_driving_into_a_building_is_a_static_collision(town05):
    w = _world(town05, 0, vehicles=0, pedestrians=0, events=EventsSpec(auto_per_km=0))
    hits = []
    for _ in range(400):
        ev = w.step(VehicleControl(throttle=0.6, steer=0.6))
        hits += list(ev.collisions)
        if hits:
            break
    assert hits and hits[0].kind == "static"
    assert w.ego.speed == 0.0


def test_red_light_run_is_reported(town05):
    w = _world(town05, 2, vehicles=0, pedestrians=0, events=EventsSpec(auto_per_km=0))
    drive = RouteFollower(w)
    runs = []
    for _ in range(4000):
        c = drive()
        # ignore lights: never brake unless nearly at the route's end
        ev = w.step(VehicleControl.clipped(throttle=0.5 if abs(w.ego.speed) < 8 else 0.0, steer=c.steer))
        runs += list(ev.red_lights)
        if ev.route_done:
            break
    obeyed = _world(town05, 2, vehicles=0, pedestrians=0, events=EventsSpec(auto_per_km=0))
    obeyed_runs = sum(len(e.red_lights) for e in _run(obeyed, 1500))
    assert runs, "ran through every junction without a red light being reported"
    assert obeyed_runs == 0


def test_pedestrian_crossing_event_triggers_and_can_be_hit(town05):
    ev = EventsSpec(auto_per_km=0, explicit=(EventSpec("pedestrian_crossing", 150.0, occluded=True),))
    w = _world(town05, 0, vehicles=0, pedestrians=0, events=ev)
    assert w.props, "an occluded crossing parks a van"
    hit = []
    for _ in range(1200):
        # drive blind: hold 8 m/s along the route
        e = w.step(VehicleControl.clipped(throttle=0.5 if w.ego.speed < 8 else 0.0, steer=RouteFollower(w)().steer))
        hit += [c for c in e.collisions if c.kind == "pedestrian"]
        if hit:
            break
    assert hit, "a blind ego at 8 m/s should hit the crossing pedestrian"
    # the privileged follower stops for it
    w2 = _world(town05, 0, vehicles=0, pedestrians=0, events=ev)
    assert not any(c.kind == "pedestrian" for e in _run(w2, 1200) for c in e.collisions)


def test_scripted_vehicle_events_happen(town05):
    ev = EventsSpec(auto_per_km=0, explicit=(EventSpec("stopped_vehicle", 200.0), EventSpec("lead_vehicle_brake", 330.0)))
    w = _world(town05, 0, vehicles=0, pedestrians=0, events=ev)
    events = _run(w, 2500)
    states = {a.spec.kind: a.state for a in w.active}
    assert states["stopped_vehicle"] == "done"
    assert states["lead_vehicle_brake"] in ("active", "done")
    assert not any(c.kind == "vehicle" for e in events for c in e.collisions)
    assert math.isfinite(events[-1].route_completion)


def test_vehicles_block_their_own_lane_only(town05):
    """NPCs see vehicles (the ego included) as three discs of half-width along their length, so a
    bus or the ego beside a car in the next lane (3.5 m over) is not in the car's corridor."""
    w = _world(town05, 3)
    w.vehicles.length[0] = 12.0  # a bus
    xy, _, r, ids = w._obstacles()
    v = w.vehicles
    for k, inst in ((0, v.instance[0]), (None, 1)):  # the bus, the ego
        discs = np.flatnonzero(ids == inst)
        assert len(discs) == 3
        half_w = (v.width[k] if k is not None else w.ego_params.width) / 2
        assert np.allclose(r[discs], half_w)
        centre = v.xy[k] if k is not None else np.array([w.ego.x, w.ego.y])
        length = v.length[k] if k is not None else w.ego_params.length
        along = np.hypot(*(xy[discs] - centre).T)
        assert along.max() == pytest.approx(length / 2 - half_w)  # the discs end flush with the bumpers
        # the corridor test of a car in the next lane: its half-width + 0.4 m + the disc radius
        assert 1.9 / 2 + 0.4 + r[discs].max() < 3.5


def _brake(w, n):
    return [w.step(VehicleControl.clipped(brake=1.0)) for _ in range(n)]


def test_standing_still_says_what_the_ground_truth_has_ahead(town05):
    """Standing at the start of a clear road is "nothing"; a stopped car 6 m ahead in the route's lane
    makes it "actor", one 30 m ahead does not; moving is None."""
    w = _world(town05, 0, vehicles=0, pedestrians=0, events=EventsSpec(auto_per_km=0))
    assert w.next_stop_line()[0] > 40.0, "the test needs a route with no stop line near its start"
    assert {e.standing_for for e in _brake(w, 5)} == {"nothing"}
    front = w.ego_params.length / 2
    far = w._spawn_on_route(front + 30.0 + 2.3, 0.0, frozen=True)  # its rear 30 m ahead of the front bumper
    assert _brake(w, 1)[0].standing_for == "nothing"
    w.vehicles.s[far] -= 24.0  # now 6 m ahead
    w.vehicles._update_pose()
    assert _brake(w, 1)[0].standing_for == "actor"
    ev = w.step(VehicleControl.clipped(throttle=1.0))
    assert ev.speed >= 0.1 and ev.standing_for is None


def test_the_privileged_follower_stands_only_for_reasons(town05):
    """The privileged follower waits at red lights and behind traffic, and never stands for "nothing"
    longer than the ticks it takes to move off: the 12 m reach explains every wait of its IDM gap."""
    for vehicles, must in ((0, ("red_light",)), (30, ("red_light", "actor"))):
        w = _world(town05, 2, vehicles=vehicles, pedestrians=0 if not vehicles else 40)
        stood = {}
        for e in _run(w, 2500)[5:]:  # the first ticks stand at the start
            if e.standing_for is not None:
                stood[e.standing_for] = stood.get(e.standing_for, 0) + 1
        assert all(stood.get(k, 0) >= 40 for k in must), f"waits expected for {must}: {stood}"
        assert stood.get("nothing", 0) <= 5, stood
