"""Leaderboard route XML: both formats read, round-trip, and every malformed input named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import RouteError, ScenarioError
from harness.scenario import RouteScenario, RouteSpec, Waypoint, read_routes, write_routes

LB10 = """<?xml version="1.0" encoding="UTF-8"?>
<routes>
   <route id="0" town="Town05">
      <waypoint pitch="0.0" roll="0.0" x="-50.85" y="65.75" yaw="90.0" z="0.0"/>
      <waypoint pitch="0.0" roll="0.0" x="-50.85" y="165.75" yaw="90.0" z="0.0"/>
      <waypoint pitch="0.0" roll="0.0" x="10.0" y="200.0" yaw="0.0" z="0.5"/>
   </route>
   <route id="1" town="Town05">
      <weather cloudiness="0" sun_altitude_angle="70"/>
      <waypoint x="1" y="2" z="0"/>
      <waypoint x="3" y="4"/>
   </route>
</routes>
"""

LB2X = """<routes>
   <route id="7" town="Town12">
      <weathers>
         <weather route_percentage="0" cloudiness="5.0" sun_altitude_angle="90.0" fog_density="2.0"/>
         <weather route_percentage="100" cloudiness="5.0" sun_altitude_angle="15.0" fog_density="2.0"/>
      </weathers>
      <waypoints>
         <position x="983.5" y="5382.2" z="371"/>
         <position x="824.2" y="5575.3" z="371"/>
      </waypoints>
      <scenarios>
         <scenario name="ParkingExit_1" type="ParkingExit">
            <trigger_point x="983.5" y="5382.2" z="371" yaw="90"/>
            <direction value="right"/>
            <front_vehicle_distance value="9"/>
         </scenario>
         <scenario name="SignalizedJunctionLeftTurn_1" type="SignalizedJunctionLeftTurn">
            <trigger_point x="571.1" y="5579.4" z="370" yaw="180"/>
            <flow_speed value="16.6"/>
            <source_dist_interval from="30" to="65"/>
         </scenario>
      </scenarios>
   </route>
</routes>
"""


def _write(tmp_path: Path, text: str, name: str = "routes.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _route(route_id: str = "0", town: str = "Town05", n: int = 3, **kwargs: object) -> RouteSpec:
    waypoints = tuple(Waypoint(x=10.0 * i + 0.1, y=-3.25 * i, z=0.5, yaw=float(i)) for i in range(n))
    return RouteSpec(id=route_id, town=town, waypoints=waypoints, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- reading


def test_reads_leaderboard_10(tmp_path: Path) -> None:
    routes = read_routes(_write(tmp_path, LB10))
    assert [r.id for r in routes] == ["0", "1"]
    first = routes[0]
    assert first.town == "Town05"
    assert first.waypoints[0] == Waypoint(x=-50.85, y=65.75, z=0.0, yaw=90.0)
    assert first.waypoints[2].z == 0.5
    assert first.scenarios == ()
    second = routes[1]
    assert second.waypoints[1] == Waypoint(x=3.0, y=4.0, z=0.0, yaw=None)  # z defaults to 0, yaw absent
    assert second.weathers == ({"cloudiness": "0", "sun_altitude_angle": "70"},)


def test_reads_leaderboard_2x(tmp_path: Path) -> None:
    (route,) = read_routes(_write(tmp_path, LB2X))
    assert (route.id, route.town, len(route.waypoints)) == ("7", "Town12", 2)
    assert route.waypoints[1] == Waypoint(x=824.2, y=5575.3, z=371.0)
    assert [w["route_percentage"] for w in route.weathers] == ["0", "100"]
    exit_, turn = route.scenarios
    assert (exit_.name, exit_.type) == ("ParkingExit_1", "ParkingExit")
    assert exit_.trigger == Waypoint(x=983.5, y=5382.2, z=371.0, yaw=90.0)
    assert dict(exit_.params) == {"direction": "right", "front_vehicle_distance": "9"}
    assert dict(turn.params) == {"flow_speed": "16.6", "source_dist_interval.from": "30",
                                 "source_dist_interval.to": "65"}


def test_route_error_is_a_one_line_scenario_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "<routes/>")
    with pytest.raises(RouteError) as info:
        read_routes(path)
    err = info.value
    assert isinstance(err, ScenarioError)
    assert (err.path, err.field) == (str(path), "routes")
    assert str(err).startswith(f"{path}: routes: ")
    assert "\n" not in str(err)


BAD_FILES = [
    # (name, file text, expected field, fragment of the reason)
    ("not XML", "<routes>\n<route id='0' town='T'>\n<waypoint x='1' y='2'>\n</routes>", "xml", "line 4"),
    ("empty file", "", "xml", "line 1"),
    ("doctype", '<!DOCTYPE r [<!ENTITY a "x">]><routes/>', "xml", "DOCTYPE"),
    ("root not routes", '<route id="0" town="Town05"/>', "root", "<routes>"),
    ("no routes", "<routes></routes>", "routes", "no <route>"),
    ("route without id", '<routes><route town="Town05"><waypoint x="0" y="0"/><waypoint x="1" y="0"/>'
     "</route></routes>", "route[0].id", "missing id"),
    ("empty id", '<routes><route id=" " town="Town05"/></routes>', "route[0].id", "missing id"),
    ("duplicate ids",
     '<routes><route id="3" town="T"><waypoint x="0" y="0"/><waypoint x="1" y="0"/></route>'
     '<route id="3" town="T"><waypoint x="0" y="0"/><waypoint x="1" y="0"/></route></routes>',
     "route[id=3].id", "more than once"),
    ("missing town", '<routes><route id="3"><waypoint x="0" y="0"/><waypoint x="1" y="0"/></route></routes>',
     "route[id=3].town", "missing town"),
    ("old map attribute", '<routes><route id="3" map="Town01"><waypoint x="0" y="0"/><waypoint x="1" y="0"/>'
     "</route></routes>", "route[id=3].town", "map='Town01'"),
    ("no waypoints", '<routes><route id="3" town="T"></route></routes>', "route[id=3].waypoints", "got 0"),
    ("one waypoint", '<routes><route id="3" town="T"><waypoint x="0" y="0"/></route></routes>',
     "route[id=3].waypoints", "at least 2"),
    ("one 2.x position", '<routes><route id="3" town="T"><waypoints><position x="0" y="0" z="0"/>'
     "</waypoints></route></routes>", "route[id=3].waypoints", "got 1"),
    ("non-numeric", '<routes><route id="3" town="T"><waypoint x="0" y="0"/><waypoint x="1" y="0"/>'
     '<waypoint x="2" y="0"/><waypoint x="3" y="0"/><waypoint x="4" y="0"/><waypoint x="five" y="0"/>'
     "</route></routes>", "route[id=3].waypoint[5].x", "'five'"),
    ("NaN", '<routes><route id="3" town="T"><waypoint x="0" y="nan"/><waypoint x="1" y="0"/></route></routes>',
     "route[id=3].waypoint[0].y", "finite"),
    ("inf", '<routes><route id="3" town="T"><waypoint x="0" y="0"/><waypoint x="1" y="0" z="-inf"/>'
     "</route></routes>", "route[id=3].waypoint[1].z", "finite"),
    ("missing coordinate", '<routes><route id="3" town="T"><waypoint x="0"/><waypoint x="1" y="0"/>'
     "</route></routes>", "route[id=3].waypoint[0].y", "missing attribute y"),
    ("mixed formats", '<routes><route id="3" town="T"><waypoints><position x="0" y="0"/><position x="1" y="0"/>'
     '</waypoints><waypoint x="0" y="0"/></route></routes>', "route[id=3].waypoints", "one format"),
    ("scenario without trigger", '<routes><route id="3" town="T"><waypoints><position x="0" y="0"/>'
     '<position x="1" y="0"/></waypoints><scenarios><scenario name="A_1" type="A"/></scenarios></route></routes>',
     "route[id=3].scenario[0].trigger_point", "missing"),
    ("trigger without yaw", '<routes><route id="3" town="T"><waypoints><position x="0" y="0"/>'
     '<position x="1" y="0"/></waypoints><scenarios><scenario name="A_1" type="A"><trigger_point x="0" y="0"/>'
     "</scenario></scenarios></route></routes>", "route[id=3].scenario[0].trigger_point.yaw", "yaw"),
    ("scenario without type", '<routes><route id="3" town="T"><waypoints><position x="0" y="0"/>'
     '<position x="1" y="0"/></waypoints><scenarios><scenario name="A_1"/></scenarios></route></routes>',
     "route[id=3].scenario[0]", "name and type"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_bad_route_files_name_file_field_and_reason(tmp_path: Path, text: str, field: str, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RouteError) as info:
        read_routes(path)
    message = str(info.value)
    assert info.value.field == field
    assert message.startswith(f"{path}: {field}: ")
    assert fragment in message
    assert "\n" not in message


def test_parse_error_is_chained(tmp_path: Path) -> None:
    with pytest.raises(RouteError) as info:
        read_routes(_write(tmp_path, "<routes><route>"))
    assert info.value.__cause__ is not None


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.xml"
    with pytest.raises(RouteError, match=r"nope\.xml: file: not found"):
        read_routes(path)


# ------------------------------------------------------------------------------------------- writing


def test_round_trip_2x_keeps_everything(tmp_path: Path) -> None:
    scenario = RouteScenario(
        name="Crowd_1", type="DynamicObjectCrossing", trigger=Waypoint(1.5, -2.0, 0.25, yaw=-90.5),
        params={"distance": "40", "source_dist_interval.from": "15", "source_dist_interval.to": "50",
                "other_actor[0].x": "1.0", "other_actor[0].model": "walker", "other_actor[1].x": "2.0"},
    )
    routes = [
        _route("0", weathers=({"route_percentage": "0", "fog_density": "2.0"},), scenarios=(scenario,)),
        _route("route-b", town="Town01", n=2),
    ]
    path = tmp_path / "out.xml"
    write_routes(path, routes)
    assert read_routes(path) == routes
    assert "<waypoints>" in path.read_text()


def test_round_trip_2x_of_a_leaderboard_file(tmp_path: Path) -> None:
    original = read_routes(_write(tmp_path, LB2X))
    write_routes(tmp_path / "again.xml", original)
    assert read_routes(tmp_path / "again.xml") == original


def test_round_trip_10_keeps_waypoints_and_weather_drops_scenarios(tmp_path: Path) -> None:
    scenario = RouteScenario(name="A_1", type="A", trigger=Waypoint(0.0, 0.0, yaw=0.0), params={})
    route = _route("0", weathers=({"cloudiness": "0"},), scenarios=(scenario,))
    path = tmp_path / "out.xml"
    write_routes(path, [route], fmt="1.0")
    text = path.read_text()
    assert "<waypoint " in text and "<waypoints>" not in text and "<scenario" not in text
    (back,) = read_routes(path)
    assert back.waypoints == route.waypoints
    assert back.weathers == route.weathers
    assert back.scenarios == ()


def test_convert_10_to_2x(tmp_path: Path) -> None:
    routes = read_routes(_write(tmp_path, LB10))
    write_routes(tmp_path / "new.xml", routes, fmt="2.x")
    assert read_routes(tmp_path / "new.xml") == routes


def test_write_is_atomic_and_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "routes.xml"
    write_routes(path, [_route("0")])
    write_routes(path, [_route("1")])
    assert [r.id for r in read_routes(path)] == ["1"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["routes.xml"]  # no temporary left behind


@pytest.mark.parametrize(
    ("routes", "fmt", "field"),
    [
        ([], "2.x", "routes"),
        ([_route("0"), _route("0")], "2.x", "route[id=0].id"),
        ([_route("0", n=1)], "2.x", "route[id=0].waypoints"),
        ([RouteSpec("0", "Town05", (Waypoint(0.0, 0.0), Waypoint(float("nan"), 0.0)))], "1.0",
         "route[id=0].waypoint[1].x"),
        ([_route("0", town="")], "2.x", "route[id=0].town"),
        ([_route("0")], "3.0", "fmt"),
    ],
    ids=["empty", "duplicate id", "one waypoint", "nan", "no town", "unknown format"],
)
def test_write_refuses_what_would_not_read_back(tmp_path: Path, routes: list[RouteSpec], fmt: str,
                                                field: str) -> None:
    path = tmp_path / "out.xml"
    path.write_text("keep me")
    with pytest.raises(RouteError) as info:
        write_routes(path, routes, fmt=fmt)  # type: ignore[arg-type]
    assert info.value.field == field
    assert path.read_text() == "keep me"
