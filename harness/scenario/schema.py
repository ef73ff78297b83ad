"""Scenario files: the records the harness uses, the YAML schema, and the one conversion between them.

The pydantic models check structure and types (unknown keys are errors, numbers must be numbers);
the frozen dataclasses check value ranges in ``__post_init__``, so a record built in code is held to
the same rules as one read from a file. Every failure becomes one :class:`ScenarioError` line:
``<file>: <field path>: <reason>``. ``scenarios/SCHEMA.md`` documents each field.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import ConfigError, RouteError, ScenarioError
from harness.rig import Rig
from harness.scenario.routes_xml import RouteSpec, read_routes
from harness.weather import PRESETS, Weather, preset
from harness.world.towns import TOWN_NAMES

EventKind = Literal["pedestrian_crossing", "lead_vehicle_brake", "stopped_vehicle"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
EVENT_PARAMS: dict[str, tuple[str, ...]] = {  # the optional fields each kind reads
    "pedestrian_crossing": ("occluded", "side"),
    "lead_vehicle_brake": ("decel_mps2",),
    "stopped_vehicle": (),
}
MAX_VEHICLES = 400
MAX_PEDESTRIANS = 1000
MAX_DECEL_MPS2 = 12.0  # beyond what tyres on dry asphalt give (~10 m/s^2)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check(ok: bool, name: str, expected: str, got: object) -> None:
    if not ok:
        raise ConfigError(f"{name}: expected {expected}, got {got!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class TrafficSpec:
    vehicles: int = 40  # NPC vehicles spawned around the route
    pedestrians: int = 60  # NPC pedestrians on pavements and crossings

    def __post_init__(self) -> None:
        _check(_is_int(self.vehicles) and 0 <= self.vehicles <= MAX_VEHICLES, "vehicles",
               f"an integer within [0, {MAX_VEHICLES}]", self.vehicles)
        _check(_is_int(self.pedestrians) and 0 <= self.pedestrians <= MAX_PEDESTRIANS, "pedestrians",
               f"an integer within [0, {MAX_PEDESTRIANS}]", self.pedestrians)

    def to_dict(self) -> dict[str, int]:
        return {"vehicles": self.vehicles, "pedestrians": self.pedestrians}


@dataclass(frozen=True)
class EventSpec:
    """One perception-critical event at a fixed distance along every route of the scenario."""

    kind: str  # one of EVENT_KINDS
    route_m: float  # [m] distance along the route from its start where the event triggers
    occluded: bool = True  # pedestrian_crossing: steps out from behind a parked vehicle
    side: Literal["left", "right"] = "right"  # pedestrian_crossing: kerb the pedestrian starts from
    decel_mps2: float = 7.0  # [m/s^2] lead_vehicle_brake: the lead vehicle's deceleration

    def __post_init__(self) -> None:
        _check(self.kind in EVENT_KINDS, "kind", f"one of {list(EVENT_KINDS)}", self.kind)
        _check(math.isfinite(self.route_m) and self.route_m >= 0.0, "route_m", "a distance >= 0 m", self.route_m)
        _check(self.side in ("left", "right"), "side", "'left' or 'right'", self.side)
        _check(math.isfinite(self.decel_mps2) and 0.0 < self.decel_mps2 <= MAX_DECEL_MPS2, "decel_mps2",
               f"within (0, {MAX_DECEL_MPS2}] m/s^2", self.decel_mps2)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "route_m": self.route_m,
                **{name: getattr(self, name) for name in EVENT_PARAMS[self.kind]}}


@dataclass(frozen=True)
class EventsSpec:
    auto_per_km: float = 2.0  # [1/km] events placed along each route from the seed; 0 turns this off
    kinds: tuple[str, ...] = EVENT_KINDS  # kinds drawn for the automatic events
    min_spacing_m: float = 120.0  # [m] least distance between two automatic events
    explicit: tuple[EventSpec, ...] = ()  # events the file places by hand (the YAML key is `list`)

    def __post_init__(self) -> None:
        _check(math.isfinite(self.auto_per_km) and 0.0 <= self.auto_per_km <= 100.0, "auto_per_km",
               "within [0, 100] events per km", self.auto_per_km)
        _check(math.isfinite(self.min_spacing_m) and self.min_spacing_m >= 0.0, "min_spacing_m",
               "a distance >= 0 m", self.min_spacing_m)
        unknown = [k for k in self.kinds if k not in EVENT_KINDS]
        _check(not unknown, "kinds", f"kinds from {list(EVENT_KINDS)}", unknown)
        _check(len(set(self.kinds)) == len(self.kinds), "kinds", "each kind once", list(self.kinds))
        if self.auto_per_km > 0.0 and not self.kinds:
            raise ConfigError("kinds: is empty but auto_per_km > 0; list at least one kind or set auto_per_km: 0")

    def to_dict(self) -> dict[str, Any]:
        return {"auto_per_km": self.auto_per_km, "kinds": list(self.kinds), "min_spacing_m": self.min_spacing_m,
                "list": [event.to_dict() for event in self.explicit]}


@dataclass(frozen=True)
class Scenario:
    name: str  # `<preset>_<town>` by convention; the file stem unless the file says otherwise
    description: str
    town: str  # one of harness.world.towns.TOWN_NAMES
    routes_path: Path  # absolute path of the leaderboard route XML
    route_ids: tuple[str, ...] | None  # routes to run, None for all
    weather: Weather
    rig: Rig
    traffic: TrafficSpec
    events: EventsSpec
    seeds: tuple[int, ...]  # default seeds of evaluation runs
    max_steps: int | None  # hard cap per route in 20 Hz steps, None for the route's own timeout
    source: Path  # the YAML file this came from

    def __post_init__(self) -> None:
        _check(bool(NAME_PATTERN.match(self.name)), "name", "letters, digits, '_', '.', '-' (a file-name-safe "
               "word)", self.name)
        if self.town not in TOWN_NAMES:
            raise ConfigError(f"town: unknown town {self.town!r}{_did_you_mean(self.town, TOWN_NAMES)}; "
                              f"known towns: {list(TOWN_NAMES)}")
        if self.route_ids is not None:
            _check(len(self.route_ids) > 0, "route_ids", "at least one id (or null for every route)", [])
            _check(len(set(self.route_ids)) == len(self.route_ids), "route_ids", "each id once",
                   list(self.route_ids))
        _check(len(self.seeds) > 0, "seeds", "at least one integer seed, e.g. [0]", list(self.seeds))
        _check(all(_is_int(s) and s >= 0 for s in self.seeds), "seeds", "integers >= 0", list(self.seeds))
        _check(len(set(self.seeds)) == len(self.seeds), "seeds", "each seed once", list(self.seeds))
        _check(self.max_steps is None or (_is_int(self.max_steps) and self.max_steps >= 1), "max_steps",
               "null or an integer >= 1 (20 Hz steps)", self.max_steps)

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
                                    f"which has ids {_preview(present)}; fix route_ids or set it to null")
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


def _preview(items: list[str], limit: int = 12) -> str:
    return str(items[:limit])[:-1] + (f", ... ({len(items)} in all)]" if len(items) > limit else "]")


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------------------- YAML schema


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class _Partial(_Model):
    """All keys optional: only the keys a file gives replace the defaults (see ``model_fields_set``)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("null is not allowed here; give a value or leave the key out for the default")
        return value


class PoseModel(_Partial):
    x: float | None = None
    y: float | None = None
    z: float | None = None
    roll: float | None = None
    pitch: float | None = None
    yaw: float | None = None


class CameraModel(_Partial):
    width: Annotated[int, Field(gt=0)] | None = None
    height: Annotated[int, Field(gt=0)] | None = None
    fov: float | None = None
    pose: PoseModel | None = None


class ThermalModel(_Partial):
    camera: CameraModel | None = None
    netd_mk: float | None = None
    fpn_percent: float | None = None
    blur_sigma_px: float | None = None
    agc_low_pct: float | None = None
    agc_high_pct: float | None = None
    agc_smoothing: float | None = None
    agc_mode: Literal["plateau", "linear"] | None = None
    agc_plateau_pct: float | None = None


class RigModel(_Partial):
    rgb: CameraModel | None = None
    thermal: ThermalModel | None = None


class WeatherModel(_Partial):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"street_lights", "headlights"})  # null: automatic

    preset: str | None = None
    sun_altitude_deg: float | None = None
    sun_azimuth_deg: float | None = None
    fog_visibility_m: float | None = None
    cloudiness: float | None = None
    street_lights: bool | None = None
    headlights: bool | None = None
    air_temperature_k: float | None = None
    relative_humidity: float | None = None
    thermal_fog_ratio: float | None = None
    rgb_noise: float | None = None


class TrafficModel(_Partial):
    vehicles: int | None = None
    pedestrians: int | None = None


class PedestrianCrossingModel(_Model):
    kind: Literal["pedestrian_crossing"]
    route_m: float
    occluded: bool = True
    side: Literal["left", "right"] = "right"


class LeadVehicleBrakeModel(_Model):
    kind: Literal["lead_vehicle_brake"]
    route_m: float
    decel_mps2: float = 7.0


class StoppedVehicleModel(_Model):
    kind: Literal["stopped_vehicle"]
    route_m: float


EventModel = Annotated[
    Union[PedestrianCrossingModel, LeadVehicleBrakeModel, StoppedVehicleModel], Field(discriminator="kind")
]
EVENT_MODELS: dict[str, type[_Model]] = {
    "pedestrian_crossing": PedestrianCrossingModel,
    "lead_vehicle_brake": LeadVehicleBrakeModel,
    "stopped_vehicle": StoppedVehicleModel,
}


class EventsModel(_Partial):
    auto_per_km: float | None = None
    kinds: list[EventKind] | None = None
    min_spacing_m: float | None = None
    explicit: list[EventModel] | None = Field(default=None, alias="list")


class ScenarioModel(_Model):
    name: str | None = None
    description: str = ""
    town: str
    routes: str
    route_ids: list[str] | None = None
    weather: WeatherModel = WeatherModel()
    rig: RigModel = RigModel()
    traffic: TrafficModel = TrafficModel()
    events: EventsModel = EventsModel()
    seeds: list[int] = [0]
    max_steps: int | None = None

    @field_validator("route_ids", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # Route ids are XML attribute text; `route_ids: [0, 1]` means "0" and "1".
        if isinstance(value, list):
            return [str(v) if _is_int(v) else v for v in value]
        return value


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
        where, reason = _describe(err)
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

    preset_name = "clear" if model.weather.preset is None else model.weather.preset
    if preset_name not in PRESETS:
        raise ScenarioError(source, "weather.preset", f"unknown preset {preset_name!r}"
                            f"{_did_you_mean(preset_name, PRESETS)}; known presets: {sorted(PRESETS)}")
    overrides = {name: getattr(model.weather, name) for name in model.weather.model_fields_set - {"preset"}}
    weather = _build(source, "weather", Weather, lambda: preset(preset_name).with_overrides(**overrides))

    events_model = model.events
    explicit = tuple(
        _build(source, f"events.list[{i}]", EventSpec, lambda e=e: EventSpec(**e.model_dump()))
        for i, e in enumerate(events_model.explicit or [])
    )
    events_changes = {n: getattr(events_model, n) for n in events_model.model_fields_set - {"explicit"}}
    if "kinds" in events_changes:
        events_changes["kinds"] = tuple(events_changes["kinds"])
    events = _build(source, "events", EventsSpec, lambda: EventsSpec(**events_changes, explicit=explicit))

    return _build(source, "", Scenario, lambda: Scenario(
        name=source.stem if model.name is None else model.name,
        description=model.description,
        town=model.town.lower(),
        routes_path=routes_path,
        route_ids=None if model.route_ids is None else tuple(model.route_ids),
        weather=weather,
        rig=_merge(source, "rig", Rig(), model.rig),
        traffic=_merge(source, "traffic", TrafficSpec(), model.traffic),
        events=events,
        seeds=tuple(model.seeds),
        max_steps=model.max_steps,
        source=source,
    ))


def _merge(source: Path, where: str, default: T, model: BaseModel) -> T:
    """``default`` with the keys the file gave replaced, nested models merged into nested defaults."""
    changes: dict[str, Any] = {}
    for name in model.model_fields_set:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            value = _merge(source, f"{where}.{name}", getattr(default, name), value)
        changes[name] = value
    return _build(source, where, type(default), lambda: replace(default, **changes))  # type: ignore[type-var]


def _build(source: Path, where: str, record: type, make: Callable[[], T]) -> T:
    """Run ``make``; a ConfigError from a record's ``__post_init__`` becomes a ScenarioError naming the field."""
    try:
        return make()
    except ScenarioError:
        raise  # already located by a nested _build
    except ConfigError as err:
        field_path, reason = _locate(where, str(err), [f.name for f in fields(record)])
        raise ScenarioError(source, field_path, reason) from err


def _locate(where: str, message: str, names: list[str]) -> tuple[str, str]:
    """Find the field a ConfigError message is about: its ``name: reason`` prefix, or the one field it names."""
    head, sep, rest = message.partition(": ")
    leaf: str | None = None
    if sep and " " not in head:  # e.g. "weather.fog_visibility_m: expected >= 1 m, got -5.0"
        leaf, message = head.rsplit(".", 1)[-1], rest
    else:  # e.g. "thermal netd_mk must be within [0, 2000] mK, got -1"
        named = [n for n in names if re.search(rf"\b{re.escape(n)}\b", message)]
        leaf = named[0] if len(named) == 1 else None
    if leaf not in names:
        return where or "(top level)", message
    return (f"{where}.{leaf}" if where else leaf), message


def _describe(err: ValidationError) -> tuple[str, str]:
    """The first pydantic error as (field path, reason), with "(+N more)" when there are others."""
    errors = err.errors()
    first = errors[0]
    loc = [part for i, part in enumerate(first["loc"])  # drop the union tag pydantic puts after list indexes
           if not (part in EVENT_MODELS and i > 0 and isinstance(first["loc"][i - 1], int))]
    kind, got = first["type"], first.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _keys_at(first["loc"][:-1])
        reason = f"unknown key {key!r}{_did_you_mean(key, valid)}; valid keys here: {valid}"
    elif kind == "missing":
        reason = f"required key is missing; add `{loc[-1]}:` (see scenarios/SCHEMA.md)"
    elif kind == "union_tag_invalid":
        loc.append("kind")
        reason = f"expected an event kind from {list(EVENT_KINDS)}, got {_short(got.get('kind'))}"
    elif kind == "union_tag_not_found":
        loc.append("kind")
        reason = f"required key is missing; add `kind:` with one of {list(EVENT_KINDS)}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        reason = f"expected a mapping of keys, got {_short(got)}"
    else:
        text = first["msg"].removeprefix("Value error, ")
        text = re.sub(r"^Input should be ", "expected ", text)
        text = re.sub(r"^expected (greater|less) than", r"expected a value \1 than", text)
        reason = text if text.startswith("null is not allowed") else f"{text}, got {_short(got)}"
    if len(errors) > 1:
        reason += f" (+{len(errors) - 1} more)"
    return _loc_text(loc), reason


def _loc_text(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema accepts at a location (aliases as written in YAML)."""
    model: type[BaseModel] = ScenarioModel
    for part in loc:
        if isinstance(part, int):
            continue
        if part in EVENT_MODELS:  # the union tag pydantic adds after an events.list index
            model = EVENT_MODELS[part]
            continue
        by_key = {(f.alias or name): f for name, f in model.model_fields.items()}
        inner = _inner_model(by_key[part].annotation) if part in by_key else None
        if inner is None:
            return []
        model = inner
    return [f.alias or name for name, f in model.model_fields.items()]


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):  # through Optional, list[...], Annotated[...] and unions
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    if isinstance(value, bool) or value is None:
        return text
    return text if len(text) <= limit else text[: limit - 3] + "..."
