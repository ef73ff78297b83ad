"""The one way a record field is defined: :func:`spec`.

The dataclass gives a field's name, type and default; the field's metadata (:class:`FieldSpec`) its
unit, valid range and one-line doc. Records check themselves against it (:func:`check_fields` in
``__post_init__``), ``harness.scenario`` derives the YAML schema from it, and ``scenarios/SCHEMA.md``
is generated from it (``python -m harness.scenario.schema_doc``). Depends on nothing but the errors
module, so every record module (rig, weather, scenario) can import it first.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Literal, NamedTuple

from harness.errors import ConfigError


class _NotSet:
    def __repr__(self) -> str:
        return "NOT_SET"


NOT_SET: Any = _NotSet()  # "no value", where None is a value (FieldSpec.yaml_default)


@dataclass(frozen=True)
class FieldSpec:
    """What a record field means, beyond the name, type and default the dataclass gives it. Used by
    harness.rig, harness.weather and harness.scenario; this module imports none of them."""

    doc: str  # one line, for scenarios/SCHEMA.md
    unit: str = ""  # e.g. "m", "deg", "px"; "" for a plain number or none
    ge: float | None = None  # valid range: value >= ge ...
    gt: float | None = None  # ... > gt
    le: float | None = None  # ... <= le
    lt: float | None = None  # ... < lt (for a tuple, every item)
    key: str = ""  # the YAML key, when it is not the field name
    in_yaml: bool = True  # False: the loader sets it, a file cannot (Scenario.source)
    yaml_default: Any = NOT_SET  # what a file that leaves the key out gets, for a field with no default
    yaml_type: Any = None  # the YAML type, when it is not derived from the field's type
    only_for: tuple[str, ...] = ()  # in a tagged record: the tag values that read this field; () for all
    tag: bool = False  # this field's value picks which of the record's fields apply (EventSpec.kind)

    def bounds(self) -> str:
        """The valid range as written in messages and SCHEMA.md: ``[0, 1]``, ``(0, 12.0]``, ``>= 1``, or ""."""
        low, high = (self.ge if self.gt is None else self.gt), (self.le if self.lt is None else self.lt)
        if low is not None and high is not None:
            return f"{'(' if self.gt is not None else '['}{low}, {high}{')' if self.lt is not None else ']'}"
        if low is not None:
            return f"{'>' if self.gt is not None else '>='} {low}"
        if high is not None:
            return f"{'<' if self.lt is not None else '<='} {high}"
        return ""

    def contains(self, value: float) -> bool:
        return math.isfinite(value) and not (
            (self.ge is not None and value < self.ge) or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le) or (self.lt is not None and value >= self.lt))


def spec(default: Any = MISSING, *, doc: str, default_factory: Any = MISSING, **about: Any) -> Any:
    """A dataclass field whose :class:`FieldSpec` (``doc``, ``unit``, range, ...) is ``metadata["spec"]``.

    ``x: float = spec(0.0, unit="m", doc="forward")``; with neither default the field is required.
    """
    return field(default=default, default_factory=default_factory, metadata={"spec": FieldSpec(doc=doc, **about)})


def field_spec(f: Field[Any]) -> FieldSpec:
    """The :class:`FieldSpec` of a dataclass field defined with :func:`spec`."""
    try:
        return f.metadata["spec"]
    except KeyError:
        raise TypeError(f"field {f.name!r} is not defined with harness.fields.spec(); give it a doc, unit and "
                        "range there") from None


def check_fields(record: Any) -> None:
    """Hold each field of a dataclass ``record`` to its spec: numbers of the field's type within its range,
    ``Literal`` values among their choices (for a tuple, each item). Records call this in ``__post_init__``.

    Raises:
        ConfigError: ``<Record>.<field>: expected <what>, got <value>``.
    """
    for rule in _rules(type(record)):
        value = getattr(record, rule.name)
        if value is None and rule.optional:
            continue
        items = value if rule.each and isinstance(value, tuple) else (value,)
        if isinstance(rule.kind, tuple):  # a Literal's choices
            if all(item in rule.kind for item in items):
                continue
            expected = f"values from {list(rule.kind)}" if rule.each else _choices(rule.kind)
        else:
            number = (int,) if rule.kind is int else (int, float)
            if all(isinstance(v, number) and not isinstance(v, bool) and rule.spec.contains(v) for v in items):
                continue
            noun = ("integers" if rule.each else "an integer") if rule.kind is int else ("numbers" if rule.each else "")
            bounds = rule.spec.bounds()
            within = "within " if bounds.startswith(("[", "(")) else ""
            expected = " ".join(w for w in ("null or" if rule.optional else "", noun, within + bounds, rule.spec.unit)
                                if w)
        got = list(value) if rule.each and isinstance(value, tuple) else value
        raise ConfigError(f"{type(record).__name__}.{rule.name}: expected {expected}, got {got!r}")


def _choices(choices: tuple[Any, ...]) -> str:
    return " or ".join(map(repr, choices)) if len(choices) == 2 else f"one of {list(choices)}"


class _Rule(NamedTuple):
    name: str
    each: bool  # the field is a tuple; the rule holds for every item
    optional: bool  # None passes
    kind: Any  # int, float, or a Literal's choices
    spec: FieldSpec


@functools.cache
def _rules(cls: type) -> tuple[_Rule, ...]:
    """The checks :func:`check_fields` makes on a record class, read once from its type hints and specs."""
    hints = typing.get_type_hints(cls)
    rules = []
    for f in fields(cls):
        s = field_spec(f)
        tp, each, optional = hints[f.name], False, False
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
            tp, optional = args[0], True
        if typing.get_origin(tp) is tuple:
            tp, each = typing.get_args(tp)[0], True
        if typing.get_origin(tp) is Literal:
            rules.append(_Rule(f.name, each, optional, typing.get_args(tp), s))
        elif tp in (int, float) and s.bounds():
            rules.append(_Rule(f.name, each, optional, tp, s))
    return tuple(rules)
