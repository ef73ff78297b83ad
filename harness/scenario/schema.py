"""Scenario files: the records the harness uses, and the one conversion from parsed YAML to them.

Every field, here and in ``harness.rig`` and ``harness.weather``, is defined once with
:func:`harness.fields.spec`: type, default, unit, valid range and a one-line doc. From those definitions
come the YAML schema (pydantic models: :mod:`harness.scenario.yaml_models`) and the field tables of
``scenarios/SCHEMA.md`` (:mod:`harness.scenario.schema_doc`). The records check value ranges in
``__post_init__``, so a record built in code is held to the same rules as one read from a file. Every
failure becomes one :class:`ScenarioError` line: ``<file>: <field path>: <reason>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BeforeValidator, ValidationError

from harness.errors import ConfigError, RouteError, ScenarioError, did_you_mean
from harness.fields import FieldSpec, check_fields, field_spec, spec
from harness.rig import CameraSpec, Pose, Rig, ThermalSpec
from harness.scenario.messages import describe, locate, preview
from harness.scenario.routes_xml import RouteSpec, read_routes
from harness.scenario.yaml_models import YamlKey, YamlModel, YamlSchema
from harness.weather import PRESETS, Weather, preset
from harness.world.towns import TOWN_NAMES

EventKind = Literal["pedestrian_crossing", "lead_vehicle_brake", "stopped_vehicle"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
EVENT_KIND_DOCS: dict[str, str] = {  # for scenarios/SCHEMA.md
    "pedestrian_crossing": "a pedestrian crosses in front of the ego vehicle, from the given kerb; when occluded "
                           "it steps out from behind a parked vehicle",
    "lead_vehicle_brake": "the vehicle ahead brakes hard",
    "stopped_vehicle": "a vehicle stands still in the ego lane",
}
MAX_VEHICLES = 400
MAX_PEDESTRIANS = 1000
MAX_DECEL_MPS2 = 12.0  # beyond what tyres on dry asphalt give (~10 m/s^2)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _require(ok: bool, name: str, expected: str, got: object) -> None:
    if not ok:
        raise ConfigError(f"{name}: expected {expected}, got {got!r}")


def _text_id(value: Any) -> Any:
    # Route ids are XML attribute text; `route_ids: [0, 1]` means "0" and "1".
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


RouteId = Annotated[str, BeforeValidator(_text_id)]

# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class TrafficSpec:
    vehicles: int = spec(40, ge=0, le=MAX_VEHICLES, doc="NPC vehicles spawned around the route")
    pedestrians: int = spec(60, ge=0, le=MAX_PEDESTRIANS, doc="NPC pedestrians on pavements and crossings")

    def __post_init__(self) -> None:
        check_fields(self)

    def to_dict(self) -> dict[str, int]:
        return {"vehicles": self.vehicles, "pedestrians": self.pedestrians}


@dataclass(frozen=True)
class EventSpec:
    """One perception-critical event at a fixed distance along every route of the scenario."""

    kind: EventKind = spec(tag=True, doc="what happens; the kind decides which of the keys below apply")
    route_m: float = spec(unit="m", ge=0, doc="distance along the route from its start where the event triggers")
    occluded: bool = spec(True, only_for=("pedestrian_crossing",), doc="steps out from behind a parked vehicle")
    side: Literal["left", "right"] = spec("right", only_for=("pedestrian_crossing",),
                                          doc="kerb the pedestrian starts from")
    decel_mps2: float = spec(7.0, unit="m/s^2", gt=0, le=MAX_DECEL_MPS2, only_for=("lead_vehicle_brake",),
                             doc="the lead vehicle's deceleration")

    def __post_init__(self) -> None:
        check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "route_m": self.route_m,
                **{name: getattr(self, name) for name in EVENT_PARAMS[self.kind]}}


EVENT_PARAMS: dict[str, tuple[str, ...]] = {  # the optional fields each kind reads
    kind: tuple(f.name for f in fields(EventSpec) if kind in field_spec(f).only_for) for kind in EVENT_KINDS
}


@dataclass(frozen=True)
class EventsSpec:
    auto_per_km: float = spec(2.0, unit="1/km", ge=0, le=100,
                              doc="events placed along each route from the run's seed; 0 turns this off")
    kinds: tuple[EventKind, ...] = spec(EVENT_KINDS, doc="kinds drawn for the automatic events; each once; may be "
                                                         "empty only when `auto_per_km` is 0")
    min_spacing_m: float = spec(120.0, unit="m", ge=0, doc="least distance between two automatic events")
    explicit: tuple[EventSpec, ...] = spec((), key="list", doc="events placed by hand, below")

    def __post_init__(self) -> None:
        check_fields(self)
        _require(len(set(self.kinds)) == len(self.kinds), "EventsSpec.kinds", "each kind once", list(self.kinds))
        if self.auto_per_km > 0.0 and not self.kinds:
            raise ConfigError("EventsSpec.kinds: is empty but auto_per_km > 0; list at least one kind or set "
                              "auto_per_km: 0")

    def to_dict(self) -> dict[str, Any]:
        return {"auto_per_km": self.auto_per_km, "kinds": list(self.kinds), "min_spacing_m": self.min_spacing_m,
                "list": [event.to_dict() for event in self.explicit]}


@dataclass(frozen=True)
class Scenario:
    name: str = spec(yaml_default=None, doc="scenario name used in results: letters, digits, `_`, `.`, `-`; "
                                            "`null`: the file name without `.yaml` (by convention `<preset>_<town>`)")
    description: str = spec(yaml_default="", doc="free text")
    town: str = spec(doc=f"one of {', '.join(f'`{t}`' for t in TOWN_NAMES)} (`harness.world.towns`); case does "
                         "not matter, stored lower-case")
    routes_path: Path = spec(key="routes", doc="the leaderboard route XML file, relative to the scenario file's "
                                               "folder or absolute; must exist")
    route_ids: tuple[str, ...] | None = spec(yaml_default=None, yaml_type=list[RouteId] | None,
                                             doc="ids of the routes to run (integers are read as text), each once, "
                                                 "in file order; `null`: every route")
    weather: Weather = spec(doc="a preset plus overrides; see *weather*")
    rig: Rig = spec(doc="the two cameras; see *rig*")
    traffic: TrafficSpec = spec(doc="see *traffic*")
    events: EventsSpec = spec(doc="see *events*")
    seeds: tuple[int, ...] = spec(yaml_default=(0,), ge=0, doc="default seeds of evaluation runs; at least one, "
                                                               "none twice")
    max_steps: int | None = spec(yaml_default=None, ge=1, doc="hard cap on 20 Hz steps per route (1200 = 60 s); "
                                                             "`null`: the route's own timeout")
    source: Path = spec(in_yaml=False, doc="the YAML file this came from")

    def __post_init__(self) -> None:
        check_fields(self)
        _require(bool(NAME_PATTERN.match(self.name)), "Scenario.name", "letters, digits, '_', '.', '-' (a "
                 "file-name-safe word)", self.name)
        if self.town not in TOWN_NAMES:
            raise ConfigError(f"Scenario.town: unknown town {self.town!r}{did_you_mean(self.town, TOWN_NAMES)}; "
                              f"known towns: {list(TOWN_NAMES)}")
        if self.route_ids is not None:
            _require(len(self.route_ids) > 0, "Scenario.route_ids", "at least one id (or null for every route)", [])
            _require(len(set(self.route_ids)) == len(self.route_ids), "Scenario.route_ids", "each id once",
                     list(self.route_ids))
        _require(len(self.seeds) > 0, "Scenario.seeds", "at least one integer seed, e.g. [0]", list(self.seeds))
        _require(len(set(self.seeds)) == len(self.seeds), "Scenario.seeds", "each seed once", list(self.seeds))

    def load_routes(self) -> list[RouteSpec]:
        """The routes this scenario runs, in file order.

        Raises:
            RouteError: the route file is invalid, or a kept route is in another town.
            ScenarioError: an id in ``route_ids`` is not in the route file.
        """
        routes = read_routes(self.routes_path)
        if self.route_ids is not None:
            present = [r.id for r in routes]
            missing = [i for i in self.route_ids if i not in present]
            if missing:
                raise ScenarioError(self.source, "route_ids", f"id(s) {missing} not in {self.routes_path}, "
                                    f"which has ids {preview(present)}; fix route_ids or set it to null")
            routes = [r for r in routes if r.id in self.route_ids]
        for route in routes:
            if route.town.lower() != self.town.lower():
                raise RouteError(self.routes_path, f"route[id={route.id}].town",
                                 f"is {route.town!r} but scenario {self.source} is in {self.town!r}; point "
                                 f"`routes:` at a {self.town} route file or change the scenario's town")
        return routes

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the YAML schema (plus ``source``); :meth:`from_dict` reads it back."""
        return {
            "name": self.name, "description": self.description, "town": self.town,
            "routes": str(self.routes_path),
            "route_ids": None if self.route_ids is None else list(self.route_ids),
            "weather": self.weather.to_dict(), "rig": self.rig.to_dict(),
            "traffic": self.traffic.to_dict(), "events": self.events.to_dict(),
            "seeds": list(self.seeds), "max_steps": self.max_steps, "source": str(self.source),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Scenario":
        body = dict(data)
        source = Path(body.pop("source", "<dict>"))
        return scenario_from_data(body, source)


# --------------------------------------------------------------------------------------- YAML schema

PRESET_KEY = YamlKey("preset", None, str, FieldSpec(
    doc=f"the values the other keys override: one of {', '.join(f'`{p}`' for p in PRESETS)}"), "clear")
YAML = YamlSchema(extra={Weather: (PRESET_KEY,)})

ScenarioModel = YAML.model(Scenario, partial=False)
WeatherModel = YAML.model(Weather, partial=True)
RigModel = YAML.model(Rig, partial=True)
CameraModel = YAML.model(CameraSpec, partial=True)
ThermalModel = YAML.model(ThermalSpec, partial=True)
PoseModel = YAML.model(Pose, partial=True)
TrafficModel = YAML.model(TrafficSpec, partial=True)
EventsModel = YAML.model(EventsSpec, partial=True)
EVENT_MODELS: dict[str, type[YamlModel]] = YAML.tagged(EventSpec)[1]  # type: ignore[index]

# --------------------------------------------------------------------------------------- conversion

T = TypeVar("T")


def scenario_from_data(data: Mapping[str, Any], source: Path) -> Scenario:
    """Validate parsed YAML (a mapping) and build the :class:`Scenario`: the one place config becomes objects.

    Raises:
        ScenarioError: on the first problem, as ``<file>: <field>: <reason>``.
    """
    try:
        model = ScenarioModel.model_validate(data)
    except ValidationError as err:
        where, reason = describe(err, ScenarioModel)
        raise ScenarioError(source, where, reason) from err

    if not model.routes.strip():
        raise ScenarioError(source, "routes", "is empty; expected the path of a leaderboard route XML file")
    routes_path = Path(model.routes).expanduser()
    if not routes_path.is_absolute():
        routes_path = source.parent / routes_path
    routes_path = routes_path.resolve()
    if not routes_path.is_file():
        raise ScenarioError(source, "routes", f"route file {routes_path} not found; give a leaderboard XML path "
                            f"relative to {source.parent} or an absolute one")

    preset_name = PRESET_KEY.default if model.weather.preset is None else model.weather.preset
    if preset_name not in PRESETS:
        raise ScenarioError(source, "weather.preset", f"unknown preset {preset_name!r}"
                            f"{did_you_mean(preset_name, PRESETS)}; known presets: {sorted(PRESETS)}")

    return _build(source, "", Scenario, lambda: Scenario(
        name=source.stem if model.name is None else model.name,
        description=model.description,
        town=model.town.lower(),
        routes_path=routes_path,
        route_ids=None if model.route_ids is None else tuple(model.route_ids),
        weather=_merge(source, "weather", preset(preset_name), model.weather),
        rig=_merge(source, "rig", Rig(), model.rig),
        traffic=_merge(source, "traffic", TrafficSpec(), model.traffic),
        events=_merge(source, "events", EventsSpec(), model.events),
        seeds=tuple(model.seeds),
        max_steps=model.max_steps,
        source=source,
    ))


def _merge(source: Path, where: str, default: T, model: YamlModel) -> T:
    """``default`` with the keys the file gave replaced; a nested mapping merges into the nested default."""
    changes = {}
    for key in model.model_fields_set & model.KEYS.keys():  # not the file-only keys (weather.preset)
        name = model.KEYS[key]
        changes[name] = _value(source, f"{where}.{key}", getattr(default, name), getattr(model, key))
    return _build(source, where, type(default), lambda: replace(default, **changes))  # type: ignore[type-var]


def _value(source: Path, where: str, default: Any, value: Any) -> Any:
    if isinstance(value, YamlModel):
        return _merge(source, where, default, value)
    if isinstance(value, list):  # a list in the file is a tuple in the record; whole records are built
        return tuple(_record(source, f"{where}[{i}]", item) if isinstance(item, YamlModel) else item
                     for i, item in enumerate(value))
    return value


def _record(source: Path, where: str, model: YamlModel) -> Any:
    """The record a whole model (an entry of ``events.list``) stands for; its keys all have values."""
    values = {model.KEYS[key]: getattr(model, key) for key in model.KEYS}
    return _build(source, where, model.RECORD, lambda: model.RECORD(**values))


def _build(source: Path, where: str, record: type, make: Callable[[], T]) -> T:
    """Run ``make``; a ConfigError from a record's ``__post_init__`` becomes a ScenarioError naming the field."""
    try:
        return make()
    except ScenarioError:
        raise  # already located by a nested _build
    except ConfigError as err:
        field_path, reason = locate(where, str(err), {f.name: field_spec(f).key or f.name for f in fields(record)})
        raise ScenarioError(source, field_path, reason) from err
