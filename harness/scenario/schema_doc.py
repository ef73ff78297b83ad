"""The field tables of ``scenarios/SCHEMA.md``, generated from the field definitions.

``scenarios/SCHEMA.md`` is hand-written prose around blocks this module fills::

    <!-- generated: rig -->
    (the table, rewritten here)
    <!-- end generated -->

Usage::

    python -m harness.scenario.schema_doc           # print SCHEMA.md as it should read
    python -m harness.scenario.schema_doc --write   # rewrite scenarios/SCHEMA.md in place
    python -m harness.scenario.schema_doc --check   # exit 1 when scenarios/SCHEMA.md is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Union

from harness.errors import HarnessError
from harness.fields import NOT_SET
from harness.scenario.loader import scenarios_dir
from harness.scenario.schema import EVENT_KIND_DOCS, EVENT_PARAMS, YAML, EventSpec, Scenario
from harness.scenario.yaml_models import YamlKey
from harness.weather import PRESETS, Weather

FIX = "python -m harness.scenario.schema_doc --write"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)
COLUMNS = ("key", "type", "unit", "default", "valid", "meaning")


def schema_md_path() -> Path:
    return scenarios_dir() / "SCHEMA.md"


def tables() -> dict[str, str]:
    """Every generated block by name: ``top``, one per nested record (``weather``, ``rig``, ...), one per
    list of records (``events.list``), and ``weather presets`` and ``event kinds``."""
    out = {"top": _table([_row(k, k.key, {} if dataclasses.is_dataclass(k.type) else k.default)
                          for k in YAML.keys(Scenario)])}
    for k in YAML.keys(Scenario):
        if dataclasses.is_dataclass(k.type):
            out.update(_sections(k.key, k.type, k.type()))
    out["weather presets"] = _presets_table()
    out["event kinds"] = _kinds_table()
    return out


def render(text: str) -> str:
    """``text`` (SCHEMA.md) with each generated block rewritten.

    Raises:
        HarnessError: a block names no table, or a table has no block.
    """
    wanted = tables()
    found = [m.group("name") for m in BLOCK.finditer(text)]
    unknown = [name for name in found if name not in wanted]
    missing = [name for name in wanted if name not in found]
    if unknown or missing:
        raise HarnessError(
            f"{schema_md_path()}: generated blocks {unknown} name no table (known: {list(wanted)})" if unknown else
            f"{schema_md_path()}: no block for table(s) {missing}; add `<!-- generated: {missing[0]} -->` and "
            f"`<!-- end generated -->` where it belongs, then run `{FIX}`")
    return BLOCK.sub(lambda m: f"{m.group(1)}{wanted[m.group('name')]}\n{m.group(4)}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.scenario.schema_doc", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite scenarios/SCHEMA.md in place")
    mode.add_argument("--check", action="store_true", help="exit 1 when scenarios/SCHEMA.md is out of date")
    args = parser.parse_args(argv)
    path = schema_md_path()
    current = path.read_text(encoding="utf-8")
    try:
        updated = render(current)
    except HarnessError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.write:
        if updated != current:
            path.write_text(updated, encoding="utf-8")
        print(f"{path}: {'rewritten' if updated != current else 'up to date'}")
    elif args.check:
        if updated != current:
            print(f"{path} is out of date with the field definitions; run `{FIX}`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(updated)
    return 0


# ----------------------------------------------------------------------------------------- tables


def _sections(path: str, record: type, default: Any) -> dict[str, str]:
    """The table of ``record`` at ``path`` (nested records flattened into dotted keys), and one per list of
    records in it."""
    rows, lists = [], {}
    for key, k, value in _flatten(record, default, ""):
        rows.append(_row(k, key, value))
        item = typing.get_args(k.type)[0] if typing.get_origin(k.type) is tuple else None
        if dataclasses.is_dataclass(item):
            lists[f"{path}.{key}"] = _item_table(item)
    return {path: _table(rows), **lists}


def _flatten(record: type, default: Any, prefix: str) -> Iterator[tuple[str, YamlKey, Any]]:
    for k in YAML.keys(record):
        value = k.default if k.field is None else getattr(default, k.field)
        if dataclasses.is_dataclass(k.type):
            yield from _flatten(k.type, value, f"{prefix}{k.key}.")
        else:
            yield f"{prefix}{k.key}", k, value


def _item_table(record: type) -> str:
    """The keys of one entry of a list of records; a tagged record says which tag values read each key."""
    tagged = YAML.tagged(record) is not None
    rows = []
    for k in YAML.keys(record):
        row = _row(k, k.key, k.default)
        if tagged:
            row.insert(-1, "all" if not k.spec.only_for else ", ".join(f"`{v}`" for v in k.spec.only_for))
        rows.append(row)
    return _table(rows, (*COLUMNS[:-1], "kinds", COLUMNS[-1]) if tagged else COLUMNS)


def _presets_table() -> str:
    base = Weather()
    rows = [[f"`{name}`", ", ".join(f"`{f.name}: {_yaml(getattr(w, f.name))}`" for f in dataclasses.fields(w)
                                    if getattr(w, f.name) != getattr(base, f.name)) or "the defaults above"]
            for name, w in PRESETS.items()]
    return _table(rows, ("preset", "differs from the defaults"))


def _kinds_table() -> str:
    defaults = {f.name: f.default for f in dataclasses.fields(EventSpec)}
    rows = [[f"`{kind}`", ", ".join(f"`{p}` (`{_yaml(defaults[p])}`)" for p in EVENT_PARAMS[kind]) or "none", doc]
            for kind, doc in EVENT_KIND_DOCS.items()]
    return _table(rows, ("kind", "keys besides `kind` and `route_m` (default)", "meaning"))


def _row(k: YamlKey, key: str, default: Any) -> list[str]:
    each = "each " if typing.get_origin(k.type) is tuple and k.spec.bounds() else ""
    shown = "required" if default is NOT_SET else f"`{_yaml(default)}`"
    type_text = _type_text(k.type)
    if default is None and not type_text.endswith("`null`"):
        type_text += " or `null`"  # e.g. `name`, whose record type is str: null means "the file name"
    return [f"`{key}`", type_text, k.spec.unit, shown, each + k.spec.bounds(), k.spec.doc]


def _table(rows: list[list[str]], columns: tuple[str, ...] = COLUMNS) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _type_text(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_text(a) for a in args if a is not type(None)) + " or `null`"
    if origin is Literal:
        names = [f"`{a}`" for a in args]
        return " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
    if origin is tuple:
        item = _type_text(args[0])
        return "list of " + (item.removeprefix("one of ") if typing.get_origin(args[0]) is Literal else item + "s")
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return {int: "integer", float: "number", bool: "boolean", str: "string", Path: "string"}[tp]


def _yaml(value: Any) -> str:
    """``value`` as written in a scenario file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and not value:
        return '""'
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
