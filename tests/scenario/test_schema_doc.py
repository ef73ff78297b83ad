"""Each field defined once: SCHEMA.md, the YAML models and the records' own checks all follow the definition."""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import ValidationError

from harness.errors import ConfigError, HarnessError
from harness.fields import NOT_SET, check_fields, field_spec, spec
from harness.scenario import Scenario, scenario_from_data
from harness.scenario import schema, schema_doc
from harness.scenario.yaml_models import YamlSchema

ROUTES = """<routes><route id="0" town="Town05"><waypoint x="0" y="0" z="0"/><waypoint x="50" y="0" z="0"/></route>
<route id="1" town="Town05"><waypoint x="0" y="0" z="0"/><waypoint x="0" y="50" z="0"/></route></routes>"""


def _records(record: type = Scenario) -> list[type]:
    """``record`` and every record it holds, each once."""
    found = [record]
    for k in schema.YAML.keys(record):
        for candidate in (k.type, *typing.get_args(k.type)):
            if dataclasses.is_dataclass(candidate) and candidate not in found:
                found += [r for r in _records(candidate) if r not in found]
    return found


def test_schema_md_matches_the_field_definitions() -> None:
    text = schema_doc.schema_md_path().read_text(encoding="utf-8")
    assert schema_doc.render(text) == text, f"scenarios/SCHEMA.md is out of date; run `{schema_doc.FIX}`"


def test_check_mode_passes_and_print_mode_writes_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_doc.main(["--check"]) == 0
    assert schema_doc.main([]) == 0
    assert capsys.readouterr().out == schema_doc.schema_md_path().read_text(encoding="utf-8")


def test_check_fails_on_a_stale_file_and_write_fixes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "SCHEMA.md"
    text = schema_doc.schema_md_path().read_text(encoding="utf-8")
    stale.write_text(text.replace("| `vehicles` | integer |", "| `vehicles` | number |"), encoding="utf-8")
    monkeypatch.setattr(schema_doc, "schema_md_path", lambda: stale)
    assert schema_doc.main(["--check"]) == 1
    assert schema_doc.FIX in capsys.readouterr().err
    assert schema_doc.main(["--write"]) == 0
    assert stale.read_text(encoding="utf-8") == text
    assert schema_doc.main(["--check"]) == 0


def test_render_keeps_prose_and_rewrites_only_the_blocks() -> None:
    stale = "\n".join(f"intro\n<!-- generated: {name} -->\nold table\n<!-- end generated -->\nprose {name}"
                      for name in schema_doc.tables())
    fresh = schema_doc.render(stale)
    assert "old table" not in fresh
    assert fresh.startswith("intro\n<!-- generated: top -->\n| key | type |")
    assert all(f"prose {name}" in fresh for name in schema_doc.tables())
    assert schema_doc.render(fresh) == fresh


@pytest.mark.parametrize(("text", "fragment"), [
    ("<!-- generated: nonsense -->\n<!-- end generated -->\n", "name no table"),
    ("no blocks at all\n", "no block for table(s) ['top'"),
])
def test_render_refuses_unknown_and_missing_blocks(text: str, fragment: str) -> None:
    with pytest.raises(HarnessError, match=re.escape(fragment)):
        schema_doc.render(text)


def test_every_field_is_documented_and_every_yaml_key_is_in_schema_md() -> None:
    doc = schema_doc.schema_md_path().read_text(encoding="utf-8")
    for record in _records():
        for f in dataclasses.fields(record):
            assert field_spec(f).doc.strip(), f"{record.__name__}.{f.name} has no doc"
    for name, table in schema_doc.tables().items():
        assert table in doc, name


def test_every_bounded_field_is_checked_by_its_record() -> None:
    # A record that forgot `check_fields` in __post_init__ would accept these; the range is the spec's.
    for record in _records():
        base = _instance(record)
        for f in dataclasses.fields(record):
            s = field_spec(f)
            if not s.bounds():
                continue
            bad = s.ge - 1 if s.ge is not None else s.gt if s.gt is not None else s.le + 1 if s.le is not None else s.lt
            value = (bad,) if isinstance(getattr(base, f.name), tuple) else bad
            with pytest.raises(ConfigError, match=rf"^{record.__name__}\.{f.name}: expected .*, got "):
                dataclasses.replace(base, **{f.name: value})


def _instance(record: type) -> object:
    if record is Scenario:
        return scenario_from_data({"town": "town05", "routes": __file__}, Path(__file__))
    if record is schema.EventSpec:
        return schema.EventSpec("lead_vehicle_brake", 10.0)
    return record()


def test_schema_md_example_is_a_valid_scenario(tmp_path: Path) -> None:
    doc = schema_doc.schema_md_path().read_text(encoding="utf-8")
    example = re.search(r"## Example\n\n```yaml\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "town05.xml").write_text(ROUTES)
    sc = scenario_from_data(yaml.safe_load(example.group(1)), tmp_path / "example.yaml")
    assert sc.weather.fog_visibility_m == 35.0 and len(sc.events.explicit) == 3


# ----------------------------------------------------- one definition drives the YAML form (a made-up record)


@dataclass(frozen=True)
class _Inner:
    gain: float = spec(1.0, unit="dB", ge=0, le=10, doc="gain")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class _Outer:
    count: int = spec(doc="required: no default")
    mode: Literal["a", "b"] = spec("a", doc="mode")
    inner: _Inner = spec(default_factory=lambda: _Inner(gain=2.0), doc="nested")
    sizes: tuple[int, ...] = spec((1,), ge=1, key="size_list", doc="sizes")
    hidden: str = spec("x", in_yaml=False, doc="not in files")


def test_a_new_field_needs_only_its_definition() -> None:
    derived = YamlSchema()
    whole, partial = derived.model(_Outer, partial=False), derived.model(_Inner, partial=True)
    assert list(whole.model_fields) == ["count", "mode", "inner", "size_list"]
    assert whole.KEYS["size_list"] == "sizes" and whole.RECORD is _Outer
    assert whole.model_fields["count"].is_required() and not whole.model_fields["mode"].is_required()
    assert whole.model_fields["inner"].annotation is partial
    assert whole.model_validate({"count": 3, "inner": {"gain": 4}, "size_list": [2]}).inner.model_fields_set == {"gain"}
    with pytest.raises(ValidationError):
        whole.model_validate({"count": 3, "mode": "c"})
    with pytest.raises(ValidationError):
        whole.model_validate({"count": 3, "hidden": "y"})
    keys = {k.key: k for k in derived.keys(_Outer)}
    assert keys["count"].default is NOT_SET and keys["inner"].default == _Inner(gain=2.0)
    with pytest.raises(ConfigError, match=re.escape("_Inner.gain: expected within [0, 10] dB, got 11")):
        _Inner(gain=11)


def test_a_field_without_a_spec_is_refused() -> None:
    @dataclass(frozen=True)
    class Bare:
        x: float = 0.0

    with pytest.raises(TypeError, match="harness.fields.spec"):
        YamlSchema().model(Bare, partial=True)
