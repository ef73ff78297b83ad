"""CARLA leaderboard route files (XML): read either format, write either format.

Leaderboard 1.0 puts the waypoints straight under ``<route>``::

    <routes>
      <route id="0" town="Town05">
        <weather cloudiness="0" sun_altitude_angle="70" .../>          (optional)
        <waypoint x="1.0" y="2.0" z="0.0" pitch="0.0" roll="0.0" yaw="90.0"/>
        ...
      </route>
    </routes>

Leaderboard 2.x groups them and adds weather key frames and the route's scenarios::

    <routes>
      <route id="0" town="Town12">
        <weathers><weather route_percentage="0" cloudiness="5.0" .../>...</weathers>
        <waypoints><position x="983.5" y="5382.2" z="371"/>...</waypoints>
        <scenarios>
          <scenario name="Accident_1" type="Accident">
            <trigger_point x="427.2" y="6086.8" z="359" yaw="144"/>
            <distance value="55"/>
            <source_dist_interval from="15" to="50"/>
          </scenario>
        </scenarios>
      </route>
    </routes>

The format is detected per route. Coordinates are CARLA's: metres, x forward, y right, z up, yaw in
degrees. Field paths in errors count waypoints and scenarios from 0 (``route[id=3].waypoint[5].x``).
"""

from __future__ import annotations

import math
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import RouteError

RouteFormat = Literal["2.x", "1.0"]
FORMATS: tuple[str, ...] = ("2.x", "1.0")
MIN_WAYPOINTS = 2


@dataclass(frozen=True)
class Waypoint:
    x: float  # [m] CARLA x (forward/east)
    y: float  # [m] CARLA y (right/south)
    z: float = 0.0  # [m] up
    yaw: float | None = None  # [deg] heading, None when the file gives none


@dataclass(frozen=True)
class RouteScenario:
    """A leaderboard 2.x ``<scenario>`` entry, kept as read so it round-trips.

    ``params`` flattens the scenario's child elements other than ``trigger_point``:
    ``<distance value="55"/>`` becomes ``{"distance": "55"}``; an element with other attributes,
    ``<source_dist_interval from="15" to="50"/>``, becomes ``{"source_dist_interval.from": "15",
    "source_dist_interval.to": "50"}``; a tag that repeats gets an index, ``other_actor[1].x``.
    """

    name: str
    type: str
    trigger: Waypoint
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteSpec:
    id: str
    town: str  # as written in the file, usually CARLA's spelling ("Town05")
    waypoints: tuple[Waypoint, ...]
    scenarios: tuple[RouteScenario, ...] = ()  # leaderboard 2.x only
    weathers: tuple[Mapping[str, str], ...] = ()  # <weather> attributes as read, e.g. route_percentage


# ---------------------------------------------------------------------------------------------- read


def read_routes(path: str | os.PathLike[str]) -> list[RouteSpec]:
    """Read a leaderboard 1.0 or 2.x route file.

    Raises:
        RouteError: the file is missing, is not well-formed XML, contains a DOCTYPE or entity
            declaration, or a route lacks an id, a town or at least two finite waypoints, or
            route ids repeat.
    """
    path = Path(path)
    root = _parse(path)
    if root.tag != "routes":
        raise RouteError(path, "root", f"expected a <routes> root element, got <{root.tag}>; "
                         "a leaderboard route file starts with <routes><route id=... town=...>")
    elements = root.findall("route")
    if not elements:
        raise RouteError(path, "routes", "no <route> element; add at least one "
                         '<route id="0" town="Town05"> with two or more waypoints')
    routes: list[RouteSpec] = []
    seen: set[str] = set()
    for index, element in enumerate(elements):
        route = _read_route(path, index, element)
        if route.id in seen:
            raise RouteError(path, f"route[id={route.id}].id",
                             f"route id {route.id!r} is used more than once; give each route a unique id")
        seen.add(route.id)
        routes.append(route)
    return routes


def _parse(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RouteError(path, "file", "not found; expected a CARLA leaderboard route XML file "
                         "(check the scenario's `routes:` path)") from None
    except OSError as err:
        raise RouteError(path, "file", f"cannot be read: {err}") from err
    # Entity declarations allow exponential expansion; route files never need them.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise RouteError(path, "xml", "DOCTYPE and ENTITY declarations are not accepted in route files; "
                         "remove them")
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        line, column = err.position
        detail = str(err).split(":")[0]  # ElementTree appends ": line L, column C" itself
        raise RouteError(path, "xml", f"not valid XML at line {line}, column {column + 1}: {detail}; "
                         "fix the file or regenerate it") from err


def _read_route(path: Path, index: int, element: ET.Element) -> RouteSpec:
    route_id = element.get("id", "").strip()
    if not route_id:
        raise RouteError(path, f"route[{index}].id", 'missing id attribute; write <route id="0" town="...">')
    where = f"route[id={route_id}]"
    town = element.get("town", "").strip()
    if not town:
        hint = f" (found map={element.get('map')!r}; rename the attribute to town)" if element.get("map") else ""
        raise RouteError(path, f"{where}.town", f"missing town attribute{hint}; write town=\"Town05\"")

    grouped = element.find("waypoints")
    direct = element.findall("waypoint")
    if grouped is not None and direct:
        raise RouteError(path, f"{where}.waypoints", "mixes leaderboard 2.x <waypoints> with 1.0 <waypoint> "
                         "children; use one format per route")
    if grouped is not None:  # leaderboard 2.x
        points = grouped.findall("position")
        weathers_el = element.find("weathers")
        weathers = weathers_el.findall("weather") if weathers_el is not None else []
    else:  # leaderboard 1.0
        points = direct
        weathers = element.findall("weather")
    tag = "position" if grouped is not None else "waypoint"
    if len(points) < MIN_WAYPOINTS:
        raise RouteError(path, f"{where}.waypoints", f"expected at least {MIN_WAYPOINTS} <{tag}> elements, "
                         f"got {len(points)}; a route needs a start and an end")
    waypoints = tuple(_read_point(path, f"{where}.waypoint[{i}]", p) for i, p in enumerate(points))

    scenarios: list[RouteScenario] = []
    scenarios_el = element.find("scenarios")
    if scenarios_el is not None:
        for i, sc in enumerate(scenarios_el.findall("scenario")):
            scenarios.append(_read_scenario(path, f"{where}.scenario[{i}]", sc))
    return RouteSpec(id=route_id, town=town, waypoints=waypoints, scenarios=tuple(scenarios),
                     weathers=tuple(dict(w.attrib) for w in weathers))


def _read_point(path: Path, where: str, element: ET.Element, need_yaw: bool = False) -> Waypoint:
    def number(name: str) -> float | None:
        raw = element.get(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise RouteError(path, f"{where}.{name}", f"expected a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise RouteError(path, f"{where}.{name}", f"expected a finite number, got {raw!r}")
        return value

    x, y, z, yaw = number("x"), number("y"), number("z"), number("yaw")
    if x is None or y is None:
        missing = "x" if x is None else "y"
        raise RouteError(path, f"{where}.{missing}", f"missing attribute {missing}; expected a number in metres")
    if need_yaw and yaw is None:
        raise RouteError(path, f"{where}.yaw", "missing attribute yaw; expected a heading in degrees")
    return Waypoint(x=x, y=y, z=0.0 if z is None else z, yaw=yaw)


def _read_scenario(path: Path, where: str, element: ET.Element) -> RouteScenario:
    name, kind = element.get("name", ""), element.get("type", "")
    if not name or not kind:
        raise RouteError(path, where, 'expected name and type attributes, as in <scenario name="Accident_1" '
                         f'type="Accident">, got {dict(element.attrib)}')
    trigger_el = element.find("trigger_point")
    if trigger_el is None:
        raise RouteError(path, f"{where}.trigger_point", "missing <trigger_point x=.. y=.. z=.. yaw=../>")
    trigger = _read_point(path, f"{where}.trigger_point", trigger_el, need_yaw=True)
    children = [c for c in element if c.tag != "trigger_point"]
    counts: dict[str, int] = {}
    for child in children:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    seen: dict[str, int] = {}
    params: dict[str, str] = {}
    for child in children:
        key = child.tag
        if counts[key] > 1:
            key = f"{child.tag}[{seen.get(child.tag, 0)}]"
            seen[child.tag] = seen.get(child.tag, 0) + 1
        if set(child.attrib) == {"value"}:
            params[key] = child.attrib["value"]
        else:
            params.update({f"{key}.{attr}": value for attr, value in child.attrib.items()})
    return RouteScenario(name=name, type=kind, trigger=trigger, params=params)


# --------------------------------------------------------------------------------------------- write


def write_routes(path: str | os.PathLike[str], routes: Iterable[RouteSpec], fmt: RouteFormat = "2.x") -> None:
    """Write routes atomically (a temporary file in the same folder, then ``os.replace``).

    ``fmt="1.0"`` writes ``<waypoint>`` children with pitch and roll 0 and the weathers as plain
    ``<weather>`` children; leaderboard 1.0 keeps scenarios in a separate JSON file, so a route's
    ``scenarios`` are not written in that format.

    Raises:
        RouteError: ``fmt`` is unknown, or the routes would not read back (no routes, an empty or
            repeated id, a missing town, fewer than two waypoints, a non-finite coordinate).
    """
    path = Path(path)
    routes = list(routes)
    if fmt not in FORMATS:
        raise RouteError(path, "fmt", f"expected one of {list(FORMATS)}, got {fmt!r}")
    _check_writable(path, routes)
    root = ET.Element("routes")
    for route in routes:
        element = ET.SubElement(root, "route", id=route.id, town=route.town)
        if fmt == "2.x":
            _write_route_2x(element, route)
        else:
            _write_route_10(element, route)
    ET.indent(root, space="   ")
    text = ET.tostring(root, encoding="unicode") + "\n"
    _atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text)


def _check_writable(path: Path, routes: list[RouteSpec]) -> None:
    if not routes:
        raise RouteError(path, "routes", "nothing to write; pass at least one RouteSpec")
    seen: set[str] = set()
    for index, route in enumerate(routes):
        if not route.id.strip():
            raise RouteError(path, f"route[{index}].id", "is empty; give each route an id")
        where = f"route[id={route.id}]"
        if route.id in seen:
            raise RouteError(path, f"{where}.id", f"route id {route.id!r} is used more than once")
        seen.add(route.id)
        if not route.town.strip():
            raise RouteError(path, f"{where}.town", "is empty; give the CARLA town name, e.g. Town05")
        if len(route.waypoints) < MIN_WAYPOINTS:
            raise RouteError(path, f"{where}.waypoints",
                             f"expected at least {MIN_WAYPOINTS} waypoints, got {len(route.waypoints)}")
        for i, wp in enumerate(route.waypoints):
            for name in ("x", "y", "z", "yaw"):
                value = getattr(wp, name)
                if value is not None and not math.isfinite(value):
                    raise RouteError(path, f"{where}.waypoint[{i}].{name}", f"expected a finite number, got {value}")


def _fmt(value: float) -> str:
    return repr(float(value))  # shortest text that reads back to the same float


def _point_attrib(wp: Waypoint) -> dict[str, str]:
    attrib = {"x": _fmt(wp.x), "y": _fmt(wp.y), "z": _fmt(wp.z)}
    if wp.yaw is not None:
        attrib["yaw"] = _fmt(wp.yaw)
    return attrib


def _write_route_2x(element: ET.Element, route: RouteSpec) -> None:
    if route.weathers:
        weathers = ET.SubElement(element, "weathers")
        for weather in route.weathers:
            ET.SubElement(weathers, "weather", dict(weather))
    waypoints = ET.SubElement(element, "waypoints")
    for wp in route.waypoints:
        ET.SubElement(waypoints, "position", _point_attrib(wp))
    if route.scenarios:
        scenarios = ET.SubElement(element, "scenarios")
        for sc in route.scenarios:
            sc_el = ET.SubElement(scenarios, "scenario", name=sc.name, type=sc.type)
            trigger = _point_attrib(sc.trigger)
            trigger.setdefault("yaw", "0.0")
            ET.SubElement(sc_el, "trigger_point", trigger)
            for tag, attrib in _unflatten_params(sc.params):
                ET.SubElement(sc_el, tag, attrib)


def _write_route_10(element: ET.Element, route: RouteSpec) -> None:
    for weather in route.weathers:
        ET.SubElement(element, "weather", dict(weather))
    for wp in route.waypoints:
        attrib = {"x": _fmt(wp.x), "y": _fmt(wp.y), "z": _fmt(wp.z), "pitch": "0.0", "roll": "0.0"}
        if wp.yaw is not None:
            attrib["yaw"] = _fmt(wp.yaw)
        ET.SubElement(element, "waypoint", attrib)


def _unflatten_params(params: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Inverse of the flattening in :func:`_read_scenario`, keeping first-seen order."""
    elements: dict[str, dict[str, str]] = {}
    for key, value in params.items():
        head, dot, attr = key.partition(".")
        if dot:
            elements.setdefault(head, {})[attr] = str(value)
        else:
            elements.setdefault(head, {})["value"] = str(value)
    return [(head.split("[", 1)[0], attrib) for head, attrib in elements.items()]


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
