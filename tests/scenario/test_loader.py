"""Scenario YAML: defaults, overrides, the shipped files, and one precise line for every bad file."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from harness.errors import ConfigError, RouteError, ScenarioError
from harness.rig import CameraSpec, Pose, Rig, ThermalSpec
from harness.scenario import (
    EventSpec,
    EventsSpec,
    RouteSpec,
    Scenario,
    TrafficSpec,
    Waypoint,
    list_scenarios,
    load_scenario,
    resolve_scenario_path,
    scenarios_dir,
    write_routes,
)
from harness.scenario import schema
from harness.weather import PRESETS, Weather

PRESET_NAMES = ("clear", "night", "fog", "night_fog")
SHIPPED = [f"{p}_{t}" for t in ("town05", "town01") for p in PRESET_NAMES] + ["clear_noon_town05"]  # the light of the clean image
MINIMAL = "town: town05\nroutes: routes.xml\n"


def _routes(path: Path, ids: tuple[str, ...] = ("0", "1", "2"), town: str = "Town05") -> Path:
    waypoints = (Waypoint(0.0, 0.0), Waypoint(50.0, 0.0), Waypoint(50.0, 80.0))
    write_routes(path, [RouteSpec(id=i, town=town, waypoints=waypoints) for i in ids])
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _routes(tmp_path / "routes.xml")
    return tmp_path


def _scenario_file(folder: Path, text: str, name: str = "test_town05.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ good files


def test_minimal_file_takes_every_default(folder: Path) -> None:
    sc = load_scenario(_scenario_file(folder, MINIMAL))
    assert sc.name == "test_town05"
    assert sc.description == ""
    assert sc.town == "town05"
    assert sc.routes_path == (folder / "routes.xml").resolve()
    assert sc.route_ids is None
    assert sc.weather == PRESETS["clear"]
    assert sc.rig == Rig()
    assert sc.traffic == TrafficSpec()
    assert sc.events == EventsSpec()
    assert sc.seeds == (0,)
    assert sc.max_steps is None
    assert sc.source == (folder / "test_town05.yaml").resolve()


def test_partial_overrides_keep_the_other_defaults(folder: Path) -> None:
    text = MINIMAL + """
name: custom
description: "two cameras moved"
weather: {preset: fog, fog_visibility_m: 60, street_lights: true, headlights: null}
rig:
  rgb: {width: 640, pose: {x: 2}}
  thermal: {netd_mk: 80, camera: {fov: 60, pose: {yaw: 1.5}}}
traffic: {pedestrians: 0}
events:
  auto_per_km: 0
  kinds: []
  list:
    - {kind: pedestrian_crossing, route_m: 300, occluded: false, side: left}
    - {kind: lead_vehicle_brake, route_m: 400.5, decel_mps2: 5}
    - {kind: stopped_vehicle, route_m: 600}
route_ids: [0, "2"]
seeds: [3, 1]
max_steps: 1200
"""
    sc = load_scenario(_scenario_file(folder, text))
    assert sc.name == "custom" and sc.description == "two cameras moved"
    assert sc.weather == dataclasses.replace(PRESETS["fog"], fog_visibility_m=60.0, street_lights=True)
    default = Rig()
    assert sc.rig.rgb == CameraSpec(width=640, height=160, fov=90.0, pose=Pose(x=2.0, y=0.0, z=2.3))
    assert sc.rig.thermal.netd_mk == 80.0
    assert sc.rig.thermal.camera.fov == 60.0
    assert sc.rig.thermal.camera.pose == dataclasses.replace(default.thermal.camera.pose, yaw=1.5)
    assert sc.rig.thermal.blur_sigma_px == default.thermal.blur_sigma_px
    assert sc.traffic == TrafficSpec(vehicles=40, pedestrians=0)
    assert sc.events == EventsSpec(auto_per_km=0.0, kinds=(), min_spacing_m=120.0, explicit=(
        EventSpec("pedestrian_crossing", 300.0, occluded=False, side="left"),
        EventSpec("lead_vehicle_brake", 400.5, decel_mps2=5.0),
        EventSpec("stopped_vehicle", 600.0),
    ))
    assert sc.route_ids == ("0", "2")
    assert sc.seeds == (3, 1)
    assert sc.max_steps == 1200
    assert [r.id for r in sc.load_routes()] == ["0", "2"]


def test_town_and_absolute_routes_path(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    path = _scenario_file(elsewhere, f"town: Town05\nroutes: {folder / 'routes.xml'}\n", name="x.yml")
    sc = load_scenario(str(path))
    assert sc.town == "town05"
    assert sc.routes_path == (folder / "routes.xml").resolve()
    assert len(sc.load_routes()) == 3  # route town "Town05" matches scenario town "town05"


def test_to_dict_is_plain_data_and_reads_back(folder: Path) -> None:
    text = MINIMAL + "weather: {preset: night_fog}\nevents: {list: [{kind: lead_vehicle_brake, route_m: 4}]}\n"
    sc = load_scenario(_scenario_file(folder, text))
    data = sc.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["events"]["list"] == [{"kind": "lead_vehicle_brake", "route_m": 4.0, "decel_mps2": 7.0}]
    assert Scenario.from_dict(data) == sc


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load(name: str, tmp_path: Path) -> None:
    # The shipped files point at routes/<town>.xml; give them a stand-in holding every id they name.
    town = name.rsplit("_", 1)[1]
    shutil.copy(scenarios_dir() / f"{name}.yaml", tmp_path / f"{name}.yaml")
    named = load_scenario(scenarios_dir() / f"{name}.yaml").route_ids
    _routes(tmp_path / "routes" / f"{town}.xml", ids=named or ("0", "1", "2"), town=town.capitalize())
    sc = load_scenario(tmp_path / f"{name}.yaml")
    assert sc.name == name
    assert sc.town == town
    assert sc.weather == PRESETS[name.rsplit("_", 1)[0]]
    assert sc.description
    assert sc.load_routes()
    if town == "town05":  # evaluation runs only the routes the RGB policy never trained or validated on
        assert set(sc.route_ids) == {str(i) for i in (*range(5), *range(10, 15))}


def test_shipped_scenarios_are_listed_and_resolve_by_name() -> None:
    assert set(SHIPPED) <= set(list_scenarios())
    assert list_scenarios() == sorted(list_scenarios())
    assert resolve_scenario_path("fog_town05") == scenarios_dir() / "fog_town05.yaml"
    assert scenarios_dir() == Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.skipif(not (scenarios_dir() / "routes" / "town05.xml").is_file(),
                    reason="scenarios/routes/town05.xml is generated separately and is not there yet")
def test_shipped_scenario_loads_by_name() -> None:
    sc = load_scenario("fog_town05")
    assert sc.town == "town05" and sc.load_routes()


# ------------------------------------------------------------------------------------- bad files

BAD = [
    # (id, file text, field, fragment of the reason)
    ("yaml syntax", MINIMAL + "weather: {preset: fog\nseeds: [0]\n", "yaml", "line 3, column 10"),
    ("yaml tab", MINIMAL + "traffic:\n\tvehicles: 3\n", "yaml", "line 4"),
    ("duplicate key", MINIMAL + "town: town01\n", "yaml", "duplicate key 'town'"),
    ("empty file", "", "(top level)", "empty"),
    ("only a comment", "# nothing\n", "(top level)", "empty"),
    ("top level a list", "- town05\n- routes.xml\n", "(top level)", "got a YAML list"),
    ("top level a string", "town05\n", "(top level)", "got a YAML str"),
    ("unknown top-level key", MINIMAL + "wether: {preset: fog}\n", "wether", "did you mean 'weather'"),
    ("unknown nested key", MINIMAL + "rig: {rgb: {widht: 640}}\n", "rig.rgb.widht", "did you mean 'width'"),
    ("unknown event key", MINIMAL + "events: {list: [{kind: stopped_vehicle, route_m: 5, decel_mps2: 3}]}\n",
     "events.list[0].decel_mps2", "valid keys here: ['kind', 'route_m']"),
    ("missing town", "routes: routes.xml\n", "town", "required key is missing"),
    ("missing routes", "town: town05\n", "routes", "required key is missing"),
    ("wrong type", MINIMAL + "traffic: {vehicles: many}\n", "traffic.vehicles", "expected a valid integer, got 'many'"),
    ("float for int", MINIMAL + "rig: {rgb: {height: 160.0}}\n", "rig.rgb.height", "integer"),
    ("string for number", MINIMAL + "weather: {cloudiness: '0.5'}\n", "weather.cloudiness", "valid number"),
    ("mapping expected", MINIMAL + "rig: 5\n", "rig", "expected a mapping"),
    ("null not allowed", MINIMAL + "weather: {fog_visibility_m: null}\n", "weather.fog_visibility_m", "null"),
    ("nan", MINIMAL + "weather: {fog_visibility_m: .nan}\n", "weather.fog_visibility_m", "finite"),
    ("unknown town", "town: town5\nroutes: routes.xml\n", "town", "did you mean 'town05'?); known towns: "),
    ("unknown weather preset", MINIMAL + "weather: {preset: foggy}\n", "weather.preset", "known presets"),
    ("weather out of range", MINIMAL + "weather: {preset: fog, fog_visibility_m: -5}\n",
     "weather.fog_visibility_m", "expected >= 1 m, got -5.0"),
    ("humidity out of range", MINIMAL + "weather: {relative_humidity: 2}\n", "weather.relative_humidity", "[0, 1]"),
    ("negative camera width", MINIMAL + "rig: {rgb: {width: -320}}\n", "rig.rgb.width", "[8, 4096] px, got -320"),
    ("camera too small", MINIMAL + "rig: {rgb: {width: 4}}\n", "rig.rgb.width", "[8, 4096]"),
    ("camera too tall", MINIMAL + "rig: {thermal: {camera: {height: 5000}}}\n", "rig.thermal.camera.height",
     "[8, 4096]"),
    ("camera fov", MINIMAL + "rig: {thermal: {camera: {fov: 200}}}\n", "rig.thermal.camera.fov", "[5, 170]"),
    ("thermal netd", MINIMAL + "rig: {thermal: {netd_mk: -1}}\n", "rig.thermal.netd_mk", "[0, 2000]"),
    ("thermal agc order", MINIMAL + "rig: {thermal: {agc_low_pct: 99, agc_high_pct: 50}}\n", "rig.thermal",
     "low < high"),
    ("bad event kind", MINIMAL + "events: {list: [{kind: stopped_vehicle, route_m: 1}, {kind: deer, route_m: 3}]}\n",
     "events.list[1].kind", "got 'deer'"),
    ("event without kind", MINIMAL + "events: {list: [{route_m: 3}]}\n", "events.list[0].kind", "add `kind:`"),
    ("event negative distance", MINIMAL + "events: {list: [{kind: stopped_vehicle, route_m: -1}]}\n",
     "events.list[0].route_m", ">= 0 m"),
    ("event bad side", MINIMAL + "events: {list: [{kind: pedestrian_crossing, route_m: 1, side: up}]}\n",
     "events.list[0].side", "'left' or 'right'"),
    ("event decel", MINIMAL + "events: {list: [{kind: lead_vehicle_brake, route_m: 1, decel_mps2: 30}]}\n",
     "events.list[0].decel_mps2", "(0, 12.0]"),
    ("bad auto kind", MINIMAL + "events: {kinds: [pedestrian_crossing, deer]}\n", "events.kinds[1]", "got 'deer'"),
    ("no kinds with auto events", MINIMAL + "events: {kinds: []}\n", "events.kinds", "auto_per_km"),
    ("negative auto rate", MINIMAL + "events: {auto_per_km: -1}\n", "events.auto_per_km", "[0, 100]"),
    ("negative traffic", MINIMAL + "traffic: {vehicles: -3}\n", "traffic.vehicles", "[0, 400], got -3"),
    ("too many pedestrians", MINIMAL + "traffic: {pedestrians: 5000}\n", "traffic.pedestrians", "[0, 1000]"),
    ("empty seeds", MINIMAL + "seeds: []\n", "seeds", "at least one"),
    ("non-integer seed", MINIMAL + "seeds: [0, 1.5]\n", "seeds[1]", "valid integer, got 1.5"),
    ("boolean seed", MINIMAL + "seeds: [true]\n", "seeds[0]", "valid integer"),
    ("negative seed", MINIMAL + "seeds: [-1]\n", "seeds", ">= 0"),
    ("repeated seed", MINIMAL + "seeds: [1, 1]\n", "seeds", "each seed once"),
    ("max_steps zero", MINIMAL + "max_steps: 0\n", "max_steps", ">= 1"),
    ("empty route_ids", MINIMAL + "route_ids: []\n", "route_ids", "at least one id"),
    ("bad name", MINIMAL + "name: 'my scenario'\n", "name", "file-name-safe"),
    ("routes file missing", "town: town05\nroutes: nope/town05.xml\n", "routes", "not found"),
    ("several errors", MINIMAL + "foo: 1\nbar: 2\n", "foo", "(+1 more)"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_file_gives_one_line_naming_file_field_and_reason(folder: Path, text: str, field: str,
                                                              fragment: str) -> None:
    path = _scenario_file(folder, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert info.value.field == field, message
    assert message.startswith(f"{path.resolve()}: {field}: "), message
    assert fragment in message, message
    assert "\n" not in message


@pytest.mark.parametrize("text", [
    MINIMAL + "weather: {preset: fog\n",  # YAML error
    MINIMAL + "wether: {}\n",  # pydantic error
    MINIMAL + "rig: {thermal: {netd_mk: -1}}\n",  # ConfigError from a dataclass
    MINIMAL + "traffic: {vehicles: -3}\n",  # ConfigError from our own record
])
def test_wrapped_errors_keep_their_cause(folder: Path, text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario_file(folder, text))
    assert info.value.__cause__ is not None


def test_route_ids_not_in_file(folder: Path) -> None:
    path = _scenario_file(folder, MINIMAL + "route_ids: [1, 9]\n")
    sc = load_scenario(path)
    with pytest.raises(ScenarioError) as info:
        sc.load_routes()
    message = str(info.value)
    assert message.startswith(f"{path.resolve()}: route_ids: ")
    assert "['9']" in message and "'0', '1', '2'" in message


def test_town_mismatch_between_scenario_and_routes(folder: Path) -> None:
    _routes(folder / "town01.xml", town="Town01")
    sc = load_scenario(_scenario_file(folder, "town: town05\nroutes: town01.xml\n"))
    with pytest.raises(RouteError) as info:
        sc.load_routes()
    message = str(info.value)
    assert message.startswith(f"{(folder / 'town01.xml').resolve()}: route[id=0].town: ")
    assert "'Town01'" in message and "'town05'" in message


def test_invalid_route_file_surfaces_on_load_routes(folder: Path) -> None:
    (folder / "broken.xml").write_text("<routes><route id='0' town='Town05'>")
    sc = load_scenario(_scenario_file(folder, "town: town05\nroutes: broken.xml\n"))
    with pytest.raises(RouteError, match=r"broken\.xml: xml: not valid XML at line 1"):
        sc.load_routes()


# ------------------------------------------------------------------------------------ name lookup


def test_unknown_name_lists_close_matches_and_available() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("fog_twn05")
    message = str(info.value)
    assert info.value.field == "scenario"
    assert "did you mean fog_town05" in message
    assert "available: [" in message and "clear_town01" in message


@pytest.mark.parametrize(("arg", "fragment"), [
    ("missing.yaml", "not found"),
    ("some/dir/missing.yml", "not found"),
    ("routes.xml", "ending in .yaml or .yml"),
])
def test_bad_paths(folder: Path, monkeypatch: pytest.MonkeyPatch, arg: str, fragment: str) -> None:
    monkeypatch.chdir(folder)
    with pytest.raises(ScenarioError) as info:
        load_scenario(arg)
    assert info.value.field == "file"
    assert fragment in str(info.value)


def test_relative_path_is_taken_from_the_working_directory(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scenario_file(folder, MINIMAL, name="here.yaml")
    monkeypatch.chdir(folder)
    assert load_scenario("here.yaml").name == "here"


def test_bare_file_name_falls_back_to_the_scenarios_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario_path("fog_town05.yaml") == scenarios_dir() / "fog_town05.yaml"


# ------------------------------------------------------------------------------------ records


def test_records_validate_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match="vehicles"):
        TrafficSpec(vehicles=401)
    with pytest.raises(ConfigError):
        EventSpec(kind="meteor", route_m=1.0)
    with pytest.raises(ConfigError):
        EventsSpec(kinds=("stopped_vehicle", "stopped_vehicle"))


@pytest.mark.parametrize(("model", "record"), [
    (schema.WeatherModel, Weather),
    (schema.RigModel, Rig),
    (schema.CameraModel, CameraSpec),
    (schema.ThermalModel, ThermalSpec),
    (schema.PoseModel, Pose),
    (schema.TrafficModel, TrafficSpec),
])
def test_schema_covers_every_record_field(model: type, record: type) -> None:
    # A field added to a record must be settable from YAML (and documented in SCHEMA.md).
    keys = set(model.model_fields) - {"preset"}
    assert keys == {f.name for f in dataclasses.fields(record)}


def test_schema_md_documents_every_key() -> None:
    doc = (scenarios_dir() / "SCHEMA.md").read_text(encoding="utf-8")
    # Nested keys are written as dotted paths (`thermal.camera.pose.x`): every segment counts.
    documented = {part for path in re.findall(r"`([a-z0-9_.]+)`", doc) for part in path.split(".")}
    models = [schema.ScenarioModel, schema.WeatherModel, schema.RigModel, schema.CameraModel, schema.ThermalModel,
              schema.PoseModel, schema.TrafficModel, schema.EventsModel, *schema.EVENT_MODELS.values()]
    keys = {f.alias or name for m in models for name, f in m.model_fields.items()}
    assert keys - documented == set()
