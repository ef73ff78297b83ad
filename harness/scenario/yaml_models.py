"""The YAML form of the records: pydantic models derived from the records' fields, never written by hand.

A record nested in another (``rig.rgb``) becomes a *partial* model: every key optional, and only the
keys a file gives replace the defaults (``model_fields_set`` says which). The root record and records
in a list (``events.list``) become *whole* models: a key without a default is required. A record with
a tag field (``EventSpec.kind``) becomes one whole model per tag value, with only the fields that value
reads. The models check structure and types; value ranges are the records' own (``check_fields``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from harness.fields import NOT_SET, FieldSpec, field_spec


class YamlModel(BaseModel):
    """Base of every derived model: unknown keys are errors, numbers must be numbers, no nan or inf."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    RECORD: ClassVar[type]  # the record class this model is the YAML form of
    KEYS: ClassVar[dict[str, str]]  # YAML key -> record field name, for the keys that set a field


@dataclass(frozen=True)
class YamlKey:
    """One key of a record's YAML form."""

    key: str  # as written in the file
    field: str | None  # the record field it sets; None for a key only files have (weather.preset)
    type: Any  # the record field's type (for a file-only key, its YAML type)
    spec: FieldSpec
    default: Any  # the record's default (or the spec's yaml_default); NOT_SET for none


class YamlSchema:
    """Derives (and caches) the models for a tree of records.

    ``extra`` adds keys that only files have, per record class, e.g. ``{Weather: (preset_key,)}``.
    """

    def __init__(self, extra: Mapping[type, tuple[YamlKey, ...]] | None = None) -> None:
        self._extra = dict(extra or {})
        self._models: dict[tuple[type, bool], type[YamlModel]] = {}
        self._tagged: dict[type, tuple[str, dict[str, type[YamlModel]]] | None] = {}

    def keys(self, record: type) -> tuple[YamlKey, ...]:
        """The keys a file may give for ``record``, in order: its extra keys, then its fields."""
        hints = typing.get_type_hints(record)
        keys = list(self._extra.get(record, ()))
        for f in dataclasses.fields(record):
            s = field_spec(f)
            if not s.in_yaml:
                continue
            default = s.yaml_default
            if default is NOT_SET:
                default = f.default if f.default is not dataclasses.MISSING else (
                    f.default_factory() if f.default_factory is not dataclasses.MISSING else NOT_SET)
            keys.append(YamlKey(s.key or f.name, f.name, hints[f.name], s, default))
        return tuple(keys)

    def model(self, record: type, *, partial: bool) -> type[YamlModel]:
        """The model of ``record``: partial (every key optional) or whole (keys without a default required)."""
        if (record, partial) not in self._models:
            self._models[record, partial] = self._derive(record, self.keys(record), partial, record.__name__)
        return self._models[record, partial]

    def tagged(self, record: type) -> tuple[str, dict[str, type[YamlModel]]] | None:
        """For a record with a tag field: (the tag's key, {tag value: whole model}); None for others."""
        if record not in self._tagged:
            keys = self.keys(record)
            tag = next((k for k in keys if k.spec.tag), None)
            self._tagged[record] = None if tag is None else (tag.key, {
                value: self._derive(record, tuple(
                    dataclasses.replace(k, type=Literal[value]) if k is tag else k
                    for k in keys if not k.spec.only_for or value in k.spec.only_for
                ), False, _camel(value))
                for value in typing.get_args(tag.type)
            })
        return self._tagged[record]

    def yaml_type(self, tp: Any) -> Any:
        """The type a file gives for a field of type ``tp``: a tuple is a list, a path a string, a nested
        record a partial model; records in a list are whole (or tagged) models."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is Path:
            return str
        if dataclasses.is_dataclass(tp):
            return self.model(tp, partial=True)
        if origin is tuple:
            item = args[0]
            tagged = self.tagged(item) if dataclasses.is_dataclass(item) else None
            if tagged is not None:
                return list[Annotated[Union[tuple(tagged[1].values())], Field(discriminator=tagged[0])]]
            return list[self.model(item, partial=False) if dataclasses.is_dataclass(item) else self.yaml_type(item)]
        if origin in (Union, types.UnionType):
            return Union[tuple(self.yaml_type(a) for a in args)]
        return tp  # int, float, bool, str, Literal[...]

    def _derive(self, record: type, keys: tuple[YamlKey, ...], partial: bool, name: str) -> type[YamlModel]:
        definitions: dict[str, Any] = {}
        for k in keys:
            tp = k.spec.yaml_type or self.yaml_type(k.type)
            if partial:
                default = None  # not validated: None marks a key the file left out (a given null is refused)
            elif dataclasses.is_dataclass(k.type) and k.default is NOT_SET:
                default = self.model(k.type, partial=True)()  # a nested record left out keeps its defaults
            else:
                default = ... if k.default is NOT_SET else k.default
                if k.default is None:
                    tp = Union[tp, None]
            definitions[k.key] = (tp, default)
        model = create_model(f"{name}Model", __base__=YamlModel, **definitions)
        model.RECORD = record
        model.KEYS = {k.key: k.field for k in keys if k.field is not None}
        return model


def _camel(words: str) -> str:
    return "".join(part.capitalize() for part in words.split("_"))
