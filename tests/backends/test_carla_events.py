"""The scenario's scripted events on the CARLA backend (``harness.backends.carla.events``), over the fake server:
placement as the embedded world's (same spots, same seed, same events), the crossing walker behind its van, the
braking lead car, the standing car with hazard lights, collisions with them, and nothing left after the episode."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

carla = pytest.importorskip("carla", reason="the carla client (pip install carla==0.9.16, Python 3.10-3.12) is not installed")

from harness.backends.carla import events as CE  # noqa: E402
from harness.backends.carla import towns  # noqa: E402
from harness.backends.carla.backend import DT, route_from_dense  # noqa: E402
from harness.backends.carla.routes import densify  # noqa: E402
from harness.backends.records import VehicleControl  # noqa: E402
from harness.scenario import load_scenario, write_routes  # noqa: E402
from harness.scenario.routes_xml import RouteSpec, Waypoint  # noqa: E402
from harness.scenario.schema import EventSpec, EventsSpec, TrafficSpec  # noqa: E402
from harness.semantics import Sem  # noqa: E402
from harness.world.events import FIRST_EVENT_M, JUNCTION_CLEARANCE_M, LAST_EVENT_GAP_M  # noqa: E402
from harness.world.routing import RoadOption, Route  # noqa: E402

from . import fake_carla  # noqa: E402
from .opendrive import LANE_W, RADIUS, crossing, stadium  # noqa: E402

TOP_Y = -(2 * RADIUS + LANE_W / 2)  # lane -1 of the stadium's top straight (driven westward)
# once round the stadium from the bottom straight, 367 m: the top straight is s = 158..258
LAP = (Waypoint(10.0, LANE_W / 2), Waypoint(60.0, LANE_W / 2), Waypoint(50.0, TOP_Y), Waypoint(10.0, TOP_Y),
       Waypoint(40.0, LANE_W / 2))
SHORT = (Waypoint(5.0, LANE_W / 2), Waypoint(95.0, LANE_W / 2))  # 90 m


@pytest.fixture
def scenario(tmp_path, monkeypatch):
    """fog_town05 on CARLA with the stadium as Town05: route "lap" (367 m) and route "short" (90 m); no traffic."""
    (tmp_path / "routes").mkdir()
    write_routes(tmp_path / "routes" / "Town05.xml", [RouteSpec(id="lap", town="Town05", waypoints=LAP),
                                                       RouteSpec(id="short", town="Town05", waypoints=SHORT)])
    (tmp_path / "carla_towns.yaml").write_text("town05: {town: Town05, routes: routes/Town05.xml}\n")
    monkeypatch.setattr(towns, "TABLE", tmp_path / "carla_towns.yaml")
    return replace(towns.on_carla(load_scenario("fog_town05")), traffic=TrafficSpec(vehicles=0, pedestrians=0))


def backend(scenario, *events: EventSpec, auto_per_km: float = 0.0, route: str = "lap", seed: int = 0):
    from harness.backends.carla.backend import CarlaBackend

    sc = replace(scenario, events=EventsSpec(auto_per_km=auto_per_km, explicit=tuple(events)))
    be = CarlaBackend(sc, client=fake_carla.Client(carla.Map("Town05", stadium())), carla_module=carla)
    be.configure(be.rig, privileged=False, thermal=False)
    be.load(route, seed)
    be.reset()
    return be


def ego_m(be) -> float:
    return float(be.route.s[be.progress.index])


def lateral(be, route_m: float, xy) -> tuple[float, float]:
    """(along, right) [m] of ``xy`` from the route's point at ``route_m``."""
    k = int(np.searchsorted(be.route.s, route_m))
    p, h = be.route.points[k], float(be.route.headings[k])
    d = np.asarray(xy, float) - p
    return float(d[0] * math.cos(h) + d[1] * math.sin(h)), float(-d[0] * math.sin(h) + d[1] * math.cos(h))


def route_m_of(be, xy) -> float:
    return float(be.route.s[int(np.argmin(np.hypot(*(be.route.points - np.asarray(xy)).T)))])


def truth_row(be, actor, column: str) -> int:
    """``column`` (``flags``, ``sem``) of ``actor`` in the backend's ground-truth actor view."""
    view = be.ground_truth.actor_view()
    return int(getattr(view, column)[list(view.instance).index(actor.id)])


def xy(actor) -> tuple[float, float]:
    loc = actor.get_location()
    return loc.x, loc.y


def speed(actor) -> float:
    v = actor.get_velocity()
    return math.hypot(v.x, v.y)


def control(be, target: float) -> VehicleControl:
    """Pure pursuit along the route at ``target`` m/s (the fake ego: 3 m/s^2 per throttle, 8 per brake, 35 deg)."""
    truth = be.ground_truth
    e = truth.ego
    k = min(be.progress.index + 6, len(be.route.points) - 1)
    tx, ty = be.route.points[k]
    alpha = math.atan2(ty - e.y, tx - e.x) - e.yaw
    alpha = (alpha + math.pi) % (2 * math.pi) - math.pi
    steer = math.atan2(2 * 2.9 * math.sin(alpha), max(math.hypot(tx - e.x, ty - e.y), 1.0)) / math.radians(35.0)
    err = target - e.speed
    return VehicleControl(throttle=float(np.clip(err, 0, 1)), brake=float(np.clip(-err, 0, 1)) if target > 0 else 1.0,
                          steer=float(np.clip(steer, -1, 1)))


def drive(be, target: float, until=lambda: False, steps: int = 2000):
    """Drive at ``target`` until ``until()`` (checked before each step); the StepEvents of the steps."""
    out = []
    for _ in range(steps):
        if until():
            break
        out.append(be.step(control(be, target))[1])
    return out


def running(be, kind: str) -> CE.Running:
    (r,) = [r for r in be.events.events if r.kind == kind]
    return r


# -------------------------------------------------------------------------------------------- placement


def straight_route(length: float, junction: tuple[float, float] | None = None) -> tuple[Route, np.ndarray]:
    """A straight dense route (1 m points) and its junction mask (``junction``: from, to [m])."""
    n = int(length) + 1
    s = np.arange(n, dtype=np.float64)
    inj = np.zeros(n, bool) if junction is None else (s >= junction[0]) & (s <= junction[1])
    options = np.where(inj, int(RoadOption.STRAIGHT), int(RoadOption.LANEFOLLOW)).astype(np.int64)
    route = Route("r", "Town05", np.stack([s, np.zeros(n)], -1), np.zeros(n), np.full(n, -1, np.int64), options, s, ())
    return route, inj


def no_edges(route_m: float):
    return (1.75, -5.25)


def test_valid_spots_keep_clear_of_junctions_the_start_and_the_end():
    route, inj = straight_route(600.0, junction=(300.0, 320.0))
    valid = CE.valid_event_positions(route, inj)
    assert valid.min() > FIRST_EVENT_M and valid.max() < route.length - LAST_EVENT_GAP_M
    assert not ((valid > 300.0 - JUNCTION_CLEARANCE_M - 0.5) & (valid < 320.0 + JUNCTION_CLEARANCE_M + 0.5)).any()
    assert valid.min() == pytest.approx(81.0) and valid.max() == pytest.approx(559.0)
    assert (valid == 274.0).any() and (valid == 346.0).any() and not (valid == 275.0).any() and not (valid == 345.0).any()
    no_junction = CE.valid_event_positions(*straight_route(600.0))
    assert len(no_junction) == len(valid) + 71  # the 20 m junction and 25 m either side


def test_placement_is_a_pure_function_of_route_events_and_seed():
    route, inj = straight_route(1200.0, junction=(500.0, 530.0))
    spec = EventsSpec(auto_per_km=4.0, explicit=(EventSpec("stopped_vehicle", 490.0),))
    plans = {seed: CE.plan(spec, route, inj, seed, no_edges)[0] for seed in range(6)}
    again = CE.plan(spec, route, inj, 3, no_edges)[0]
    assert [p.spec for p in again] == [p.spec for p in plans[3]]
    assert [p.walker.speed for p in again if p.walker] == [p.walker.speed for p in plans[3] if p.walker]
    assert len({tuple(p.spec for p in v) for v in plans.values()}) > 3  # the seed decides
    valid = set(CE.valid_event_positions(route, inj).tolist())
    for placed in plans.values():
        assert len(placed) == 1 + round(4.0 * route.length / 1000.0)
        assert all(p.spec.route_m in valid for p in placed)
        # the explicit one, snapped forward past the junction's clearance
        assert any(p.spec.kind == "stopped_vehicle" and p.spec.route_m == 556.0 for p in placed)
        auto = sorted(p.spec.route_m for p in placed if p.spec.route_m != 556.0)
        assert all(b - a >= spec.min_spacing_m for a, b in zip(auto, auto[1:]))


def test_a_route_too_short_for_events_places_none():
    route, inj = straight_route(FIRST_EVENT_M + LAST_EVENT_GAP_M + 0.5)
    placed, skipped = CE.plan(EventsSpec(auto_per_km=100.0, explicit=(EventSpec("pedestrian_crossing", 10.0),)), route, inj, 0,
                              no_edges)
    assert placed == [] and [e.kind for e in skipped] == ["pedestrian_crossing"]


def test_the_same_spots_and_seed_give_the_embedded_worlds_events(monkeypatch):
    """With the embedded route's valid spots and kerbs, the CARLA plan is what the embedded world spawns."""
    from harness.world import events as WE
    from harness.world.routing import generate_routes
    from harness.world.town_gen import load_town
    from harness.world.world import World

    town = load_town("town01")
    spec = EventsSpec(auto_per_km=6.0, explicit=(EventSpec("pedestrian_crossing", 150.0, side="left"),))
    route = generate_routes(town, 1, seed=2)[0]
    valid = WE.valid_event_positions(route, town)
    monkeypatch.setattr(CE, "valid_event_positions", lambda r, inj: valid)

    def kerbs(route_m):
        _, _, lid = WE.route_pose(route, route_m)
        return WE.kerb_offset(town, lid, "right"), WE.kerb_offset(town, lid, "left")

    for seed in (0, 5):
        world = World(town, route, seed, TrafficSpec(0, 0), spec)
        world.reset()
        placed, _ = CE.plan(spec, route, np.zeros(len(route.s), bool), seed, kerbs)
        assert len(placed) >= 3
        assert [p.spec for p in placed] == [a.spec for a in world.active]
        for p, a in zip(placed, world.active):
            if p.walker is not None:
                assert p.walker.speed == a.pedestrian.speed and p.walker.distance == pytest.approx(a.pedestrian.distance)
                np.testing.assert_allclose(p.walker.start, a.pedestrian.start)


def test_junctions_and_road_edges_come_from_the_map():
    cmap = carla.Map("crossing", crossing())
    d = densify(cmap, [(-40.0, LANE_W / 2, 0.0), (8.0, LANE_W / 2, 0.0)], 1.0, carla)
    route = route_from_dense("0", "crossing", d)
    inj = CE.junction_mask(cmap, carla, route.points, d[:, 2])
    assert (inj == (route.points[:, 0] > -10.0 + 0.01)).all() and inj.any()  # the junction box starts at x = -10
    lap = carla.Map("Town05", stadium())
    wp = lap.get_waypoint(carla.Location(x=50.0, y=LANE_W / 2, z=0.0))
    assert CE.road_edges(wp, np.array([50.0, LANE_W / 2]), 0.0, carla) == pytest.approx((LANE_W / 2, -1.5 * LANE_W), abs=1e-3)
    back = lap.get_waypoint(carla.Location(x=50.0, y=-LANE_W / 2, z=0.0))  # lane 1, driven westward
    assert back.lane_id == 1
    edges = CE.road_edges(back, np.array([50.0, -LANE_W / 2]), math.pi, carla)
    assert edges == pytest.approx((LANE_W / 2, -1.5 * LANE_W), abs=1e-3)


def test_a_route_too_short_places_nothing_on_the_server(scenario, capsys):
    be = backend(scenario, EventSpec("stopped_vehicle", 100.0), auto_per_km=50.0, route="short")
    try:
        err = capsys.readouterr().err.strip().splitlines()
        assert be.route.length < FIRST_EVENT_M + LAST_EVENT_GAP_M
        assert be.planned == [] and be.events.actors == []
        assert len(err) == 1 and err[0].startswith("warning: CARLA events: no place on route short for the stopped_vehicle")
        before = {a.id for a in be.world.get_actors()}
        drive(be, 6.0, steps=40)
        assert {a.id for a in be.world.get_actors()} == before
    finally:
        be.close()


# -------------------------------------------------------------------------------------------- pedestrian_crossing


@pytest.mark.parametrize("side", ["right", "left"])
def test_the_walker_waits_behind_its_van_and_crosses_when_the_ego_comes(scenario, side):
    be = backend(scenario, EventSpec("pedestrian_crossing", 200.0, occluded=True, side=side))
    try:
        r = running(be, "pedestrian_crossing")
        walker, van, ped, at = r.actor, r.van, r.plan.walker, r.plan.spec.route_m
        assert 200.0 <= at < 201.0  # snapped forward to the next route point
        assert walker.type_id.startswith("walker.pedestrian.") and van.type_id == "vehicle.mercedes.sprinter"
        assert not van.physics and walker.get_transform().location.z > 0.5
        sign = 1.0 if side == "right" else -1.0
        kerb = LANE_W / 2 if side == "right" else -1.5 * LANE_W
        along, right = lateral(be, at, xy(walker))
        assert along == pytest.approx(0.0, abs=0.1) and right == pytest.approx(kerb + sign * 1.6, abs=0.05)
        along, right = lateral(be, at, xy(van))
        assert right == pytest.approx(kerb + sign * 0.9, abs=0.05) and -3.5 < along < -2.5  # before the point, half on the kerb
        view = be.ground_truth.actor_view()
        assert walker.id in view.instance and van.id in view.instance
        assert truth_row(be, walker, "sem") == Sem.PEDESTRIAN
        start = xy(walker)

        # before the trigger (the embedded rule): the walker stands
        def lead():
            return max(10.0, be.ground_truth.ego.speed * ped.reach_m / ped.speed + 3.0)
        drive(be, 5.0, until=lambda: ego_m(be) >= at - lead())
        assert r.state == "pending" and xy(walker) == start and at - lead() <= ego_m(be) < at - lead() + 1.0
        assert lead() > 10.0 and ped.reach_m == pytest.approx(abs(kerb) + 1.6)
        # the trigger tick: it steps out, and crosses while the ego stands
        be.step(control(be, 5.0))
        assert r.state == "active" and walker.get_control().speed == pytest.approx(ped.speed)
        moved = np.hypot(*(np.subtract(xy(walker), start)))
        assert moved == pytest.approx(ped.speed * DT, rel=1e-3)
        drive(be, 0.0, until=lambda: r.state == "done", steps=400)
        end = xy(walker)
        assert lateral(be, at, end)[1] == pytest.approx(kerb + sign * 1.6 - sign * ped.distance, abs=ped.speed * DT + 1e-6)
        far = -1.5 * LANE_W if side == "right" else LANE_W / 2
        assert sign * (lateral(be, at, end)[1] - far) < -1.0  # beyond the far kerb
        drive(be, 0.0, steps=20)
        assert xy(walker) == end and walker.get_control().speed == 0.0  # and stands there
        assert ped.distance == pytest.approx(2 * LANE_W + 3.5)
    finally:
        be.close()


def test_hitting_the_scripted_walker_is_a_pedestrian_collision(scenario):
    be = backend(scenario, EventSpec("pedestrian_crossing", 200.0))
    try:
        r = running(be, "pedestrian_crossing")
        walker = r.actor
        hits = [c for ev in drive(be, 6.0, until=lambda: ego_m(be) > 215.0) for c in ev.collisions]
        assert [(c.kind, c.other_id, c.sem) for c in hits] == [("pedestrian", walker.id, int(Sem.PEDESTRIAN))]
        assert r.hit and r.state == "done"
        stood = xy(walker)
        drive(be, 6.0, steps=10)
        assert xy(walker) == stood  # it stops walking
        assert truth_row(be, walker, "flags") & 4  # knocked down, as the embedded flag says
    finally:
        be.close()


# -------------------------------------------------------------------------------------------- lead_vehicle_brake


def test_the_lead_vehicle_appears_ahead_brakes_at_the_point_waits_and_drives_on(scenario):
    be = backend(scenario, EventSpec("lead_vehicle_brake", 240.0, decel_mps2=6.0))
    try:
        r = running(be, "lead_vehicle_brake")
        at = r.plan.spec.route_m
        assert r.actor is None and be.events.actors == []  # not before the ego comes
        drive(be, 5.0, until=lambda: r.actor is not None)
        assert at - 90.0 <= ego_m(be) < at - 89.0
        car = r.actor  # spawned before the last tick, which moved it 0.4 m
        assert route_m_of(be, xy(car)) == pytest.approx(at - 50.0, abs=1.0)
        assert lateral(be, at - 50.0, xy(car))[1] == pytest.approx(0, abs=0.1)
        tm = be.client.get_trafficmanager(be.ports.traffic_manager)
        assert car.autopilot and car.tm_speed == pytest.approx(8.0) and tm.lane_changes[car.id] is False
        assert len(tm.paths[car.id]) > 3 and speed(car) == pytest.approx(8.0)
        drive(be, 3.0, until=lambda: r.braked_at is not None)
        # where it reached the point (the ego's route distance plus the gap, as embedded), give or take a tick and a point
        assert route_m_of(be, xy(car)) == pytest.approx(at, abs=1.0) and not car.autopilot
        t_brake = be.t
        v0 = speed(car)
        samples = []
        while be.t - t_brake < 1.0:
            be.step(control(be, 3.0))
            samples.append((be.t - t_brake, speed(car)))
            assert truth_row(be, car, "flags") & 1  # brake lights
        t1, v1 = samples[-1]
        assert (v0 - v1) / t1 == pytest.approx(6.0, rel=0.1)  # the event's deceleration
        drive(be, 3.0, until=lambda: speed(car) < 0.05, steps=40)
        stop = xy(car)
        drive(be, 3.0, until=lambda: speed(car) > 0.05, steps=200)
        assert be.t - t_brake == pytest.approx(4.0 + DT, abs=2 * DT)  # held 4 s from the start of braking
        assert r.state == "done" and car.autopilot and car.tm_speed is None  # back at the traffic manager's speed
        drive(be, 3.0, steps=40)
        assert route_m_of(be, xy(car)) > route_m_of(be, stop) + 5.0
        assert not truth_row(be, car, "flags") & 1
    finally:
        be.close()


# -------------------------------------------------------------------------------------------- stopped_vehicle


def test_the_stopped_vehicle_stands_with_hazards_and_leaves_after_the_ego_waited(scenario):
    be = backend(scenario, EventSpec("stopped_vehicle", 200.0))
    try:
        r = running(be, "stopped_vehicle")
        car = r.actor
        assert car is not None and car in be.events.actors  # there from the start
        along, right = lateral(be, 200.0, xy(car))
        assert abs(along) < 0.6 and right == pytest.approx(0.0, abs=0.05)
        L = carla.VehicleLightState
        lights = int(car.get_light_state())
        assert lights & int(L.LeftBlinker) and lights & int(L.RightBlinker)
        assert car.get_control().hand_brake
        assert truth_row(be, car, "flags") & 2  # hazards in the ground truth
        here = xy(car)

        def gap():
            e = be.ground_truth.ego
            return math.hypot(here[0] - e.x, here[1] - e.y)
        drive(be, 6.0, until=lambda: gap() < 14.0)
        assert xy(car) == here
        waited = 0.0
        while r.state != "done":
            be.step(control(be, 0.0))
            waited += DT if be.ground_truth.ego.speed < 0.5 else 0.0
            assert waited < 3.5, "the standing car never left"
            assert r.state == "done" or xy(car) == here
        assert waited == pytest.approx(3.0, abs=2 * DT) and gap() < 30.0
        assert car.autopilot and not int(car.get_light_state()) & int(L.LeftBlinker)
        drive(be, 0.0, steps=40)
        assert route_m_of(be, xy(car)) > 205.0  # drives on along the route
        assert not truth_row(be, car, "flags") & 2
    finally:
        be.close()


# -------------------------------------------------------------------------------------------- the episode


def test_events_are_spawned_at_reset_and_destroyed_at_episode_end(scenario):
    be = backend(scenario, EventSpec("pedestrian_crossing", 100.0), EventSpec("lead_vehicle_brake", 220.0),
                 EventSpec("stopped_vehicle", 300.0))
    try:
        spawned = list(be.events.actors)
        assert sorted(a.type_id.split(".")[0] for a in spawned) == ["vehicle", "vehicle", "walker"]
        drive(be, 6.0, until=lambda: ego_m(be) > 140.0)  # the lead car appears at 130 m
        assert len(be.events.actors) == 4
        everything = list(be.events.actors)
        be.reset()  # a new episode: the old actors are gone, new ones placed
        assert not any(a.alive for a in everything) and len(be.events.actors) == 3
        assert not {a.id for a in everything} & {a.id for a in be.world.get_actors()}
        last = list(be.events.actors)
    finally:
        be.close()
    assert not any(a.alive for a in last)
    left = be.client.get_world().get_actors()
    assert not left.filter("vehicle.*") and not left.filter("walker.*")


def test_an_event_without_room_is_skipped_with_one_warning(scenario, monkeypatch, capsys):
    real = fake_carla.World.try_spawn_actor
    def no_cars(self, bp, tf, attach_to=None):  # no room for a car anywhere; everything else spawns
        return None if bp.id == "vehicle.tesla.model3" else real(self, bp, tf, attach_to)

    monkeypatch.setattr(fake_carla.World, "try_spawn_actor", no_cars)
    be = backend(scenario, EventSpec("stopped_vehicle", 120.0), EventSpec("pedestrian_crossing", 250.0))
    try:
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["warning: CARLA events: no room for the standing car near 120 m on route lap; that event is skipped"]
        assert running(be, "stopped_vehicle").state == "done" and running(be, "pedestrian_crossing").actor is not None
        drive(be, 6.0, steps=100)
    finally:
        be.close()


def test_night_lights_stay_on_under_the_hazards(scenario):
    from harness.weather import preset

    be = backend(replace(scenario, weather=preset("night")), EventSpec("stopped_vehicle", 200.0))
    try:
        lights = int(running(be, "stopped_vehicle").actor.get_light_state())
        L = carla.VehicleLightState
        assert lights & int(L.LowBeam) and lights & int(L.LeftBlinker) and lights & int(L.RightBlinker)
    finally:
        be.close()
