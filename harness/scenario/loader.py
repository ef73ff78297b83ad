"""Find and read scenario files: by name from the repository's ``scenarios/`` folder, or by path."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ScenarioError
from harness.scenario.schema import Scenario, ScenarioModel, scenario_from_data

SUFFIXES: tuple[str, ...] = (".yaml", ".yml")


def scenarios_dir() -> Path:
    """The repository's ``scenarios/`` folder."""
    return Path(__file__).resolve().parents[2] / "scenarios"


def list_scenarios() -> list[str]:
    """Names of the scenarios in :func:`scenarios_dir`, sorted."""
    folder = scenarios_dir()
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()})


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Load ``scenarios/<name>.yaml`` or any ``.yaml``/``.yml`` file by path.

    Raises:
        ScenarioError: the name or file is unknown, the YAML is invalid, or a field does not fit the
            schema (``scenarios/SCHEMA.md``); the message is one line ``<file>: <field>: <reason>``.
    """
    path = resolve_scenario_path(name_or_path)
    return scenario_from_data(read_scenario_yaml(path), path)


def resolve_scenario_path(name_or_path: str | os.PathLike[str]) -> Path:
    """The scenario file a name or path refers to (absolute).

    A value with a folder separator or a suffix is a path (a bare file name not found in the working
    directory is also looked for in :func:`scenarios_dir`); anything else is a name in
    :func:`scenarios_dir`.
    """
    text = os.fspath(name_or_path)
    candidate = Path(text).expanduser()
    if isinstance(name_or_path, os.PathLike) or "/" in text or os.sep in text or candidate.suffix:
        if candidate.suffix.lower() not in SUFFIXES:
            raise ScenarioError(candidate, "file", f"expected a scenario file ending in {' or '.join(SUFFIXES)}, "
                                f"got {candidate.name!r}")
        if not candidate.is_file() and candidate.parent == Path(".") and (scenarios_dir() / text).is_file():
            candidate = scenarios_dir() / text  # "fog_town05.yaml" given from outside the repository
        if not candidate.is_file():
            raise ScenarioError(candidate, "file", "not found; pass an existing scenario YAML path or a name "
                                f"from {scenarios_dir()} (available: {list_scenarios()})")
        return candidate.resolve()
    for suffix in SUFFIXES:
        path = scenarios_dir() / f"{text}{suffix}"
        if path.is_file():
            return path
    names = list_scenarios()
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise ScenarioError(scenarios_dir() / f"{text}.yaml", "scenario",
                        f"no scenario named {text!r}; {hint}available: {names}; or pass the path of a .yaml file")


def read_scenario_yaml(path: Path) -> dict[str, Any]:
    """Parse a scenario file into a mapping; syntax errors carry the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(path, "file", f"cannot be read as UTF-8 text: {err}") from err
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as err:
        raise ScenarioError(path, "yaml", _yaml_problem(err)) from err
    except yaml.YAMLError as err:
        raise ScenarioError(path, "yaml", f"invalid YAML: {' '.join(str(err).split())}") from err
    keys = list(ScenarioModel.model_fields)
    if data is None:
        raise ScenarioError(path, "(top level)", f"file is empty; expected a mapping with at least `town:` and "
                            f"`routes:` (keys: {keys}; see scenarios/SCHEMA.md)")
    if not isinstance(data, dict):
        raise ScenarioError(path, "(top level)", f"expected a mapping of keys {keys}, got a YAML "
                            f"{type(data).__name__}")
    return data


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    """One line: where the parser stopped, what it expected, and where the unfinished construct began."""
    def at(mark: Any) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    problem, context = err.problem_mark, err.context_mark
    text = "invalid YAML"
    if problem is not None:
        text += f" at {at(problem)}"
    text += f": {' '.join(str(err.problem or err.context or 'cannot parse').split())}"
    if err.context and err.problem and context is not None and (problem is None or context.line != problem.line):
        text += f" ({' '.join(err.context.split())} that starts at {at(context)})"
    return text


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue  # keys from a `<<: *anchor` merge may be overridden on purpose
        if key_node.value in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key_node.value!r} (first given at line {seen[key_node.value]}); "
                "keep one", key_node.start_mark,
            )
        seen[key_node.value] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
