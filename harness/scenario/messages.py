"""One line for each scenario-file problem: the field path and the reason, with "did you mean" hints.

:func:`describe` turns a pydantic ``ValidationError`` into ``(field path, reason)``; :func:`locate` does
the same for a ``ConfigError`` a record raised while being built. ``ScenarioError`` adds the file.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from harness.errors import did_you_mean

SCHEMA_DOC = "scenarios/SCHEMA.md"
NULL_REFUSED = "null is not allowed here; give a value or leave the key out for the default"


def describe(err: ValidationError, root: type[BaseModel]) -> tuple[str, str]:
    """The first pydantic error as (field path, reason), with "(+N more)" when there are others."""
    errors = err.errors()
    first = errors[0]
    kind, got = first["type"], first.get("input")
    node = _walk(root, first["loc"] if kind != "extra_forbidden" else first["loc"][:-1])
    loc = node.loc + ([first["loc"][-1]] if kind == "extra_forbidden" else [])
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = list(node.model.model_fields) if node.model is not None else []
        reason = f"unknown key {key!r}{did_you_mean(key, valid)}; valid keys here: {valid}"
    elif kind == "missing":
        reason = f"required key is missing; add `{loc[-1]}:` (see {SCHEMA_DOC})"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = first["ctx"]["discriminator"].strip("'")
        loc.append(tag)
        if kind == "union_tag_invalid":
            reason = f"expected one of {list(node.tags)}, got {short(got.get(tag))}"
        else:
            reason = f"required key is missing; add `{tag}:` with one of {list(node.tags)}"
    elif got is None and node.field is not None and not node.field.is_required():
        reason = NULL_REFUSED
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        reason = f"expected a mapping of keys, got {short(got)}"
    else:
        reason = f"{re.sub(r'^Input should be ', 'expected ', first['msg'])}, got {short(got)}"
    if len(errors) > 1:
        reason += f" (+{len(errors) - 1} more)"
    return loc_text(loc), reason


def locate(where: str, message: str, keys: Mapping[str, str]) -> tuple[str, str]:
    """(field path, reason) for a record's ``ConfigError``, whose message starts ``<Record>.<field>: ``.

    ``keys`` maps the record's field names to their YAML keys; a message about no one field stays at ``where``.
    """
    head, sep, rest = message.partition(": ")
    if not sep or " " in head:
        return where or "(top level)", message
    leaf = keys.get(head.rsplit(".", 1)[-1])
    if leaf is None:
        return where or "(top level)", rest
    return (f"{where}.{leaf}" if where else leaf), rest


def preview(items: list[str], limit: int = 12) -> str:
    return str(items[:limit])[:-1] + (f", ... ({len(items)} in all)]" if len(items) > limit else "]")


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    if isinstance(value, bool) or value is None:
        return text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def loc_text(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


# ------------------------------------------------------------------------------ walking the models


class _Node(typing.NamedTuple):
    loc: list[Any]  # the location as written in the file: pydantic's union tags dropped
    model: type[BaseModel] | None  # the mapping at the location, if it is one
    field: FieldInfo | None  # the field the location ends at, if it ends at one
    tags: dict[str, type[BaseModel]]  # the tag values and models of a tagged union at the location


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> _Node:
    """Follow a pydantic error location through the models from ``root``."""
    clean: list[Any] = []
    annotation: Any = root
    field: FieldInfo | None = None
    for part in loc:
        models, tags = _models_in(annotation), _tags(annotation)
        if isinstance(part, str) and part in tags:  # the tag pydantic puts after a list index
            annotation = tags[part]
            continue
        clean.append(part)
        if isinstance(part, int):  # a list index: the item's annotation is within the list's
            field = None
            continue
        model_fields = models[0].model_fields if len(models) == 1 else {}
        field = model_fields.get(part)
        annotation = field.annotation if field is not None else None
    models = _models_in(annotation)
    return _Node(clean, models[0] if len(models) == 1 else None, field, _tags(annotation))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds, through Optional, list[...], Annotated[...] and unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _tags(annotation: Any) -> dict[str, type[BaseModel]]:
    """{tag value: model} for a tagged union of models (``Field(discriminator=...)``); {} for anything else."""
    tag = _discriminator(annotation)
    if tag is None:
        return {}
    return {typing.get_args(m.model_fields[tag].annotation)[0]: m for m in _models_in(annotation)}


def _discriminator(annotation: Any) -> str | None:
    if isinstance(annotation, FieldInfo):
        return annotation.discriminator if isinstance(annotation.discriminator, str) else None
    return next((d for arg in typing.get_args(annotation) if (d := _discriminator(arg)) is not None), None)
