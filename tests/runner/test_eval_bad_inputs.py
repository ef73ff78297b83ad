"""Bad input to ``python -m harness eval``: one clear error line, exit status 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

ROUTES = Path(__file__).resolve().parents[2] / "scenarios" / "routes" / "town01.xml"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}


def _scenario(tmp: Path, text: str, name: str = "s.yaml") -> str:
    p = tmp / name
    p.write_text(text)
    return str(p)


def _bad_routes(tmp: Path) -> str:
    xml = tmp / "broken.xml"
    xml.write_text("<routes><route id='0' town='Town01'><waypoints><position x='1' y=</waypoints></route>")
    return _scenario(tmp, f"town: town01\nroutes: {xml}\n", "broken_routes.yaml")


def _junk_checkpoint(tmp: Path) -> str:
    p = tmp / "junk.pt"
    p.write_bytes(b"not a torch file")
    return str(p)


def _run_folder(tmp: Path) -> Path:
    out = tmp / "previous"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"version": 1, "kind": "eval", "jobs": []}))
    return out


def _foreign_folder(tmp: Path) -> Path:
    out = tmp / "foreign"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    return out


# (id, extra argv, a fragment the message must contain); callables get the tmp folder
CASES = [
    ("unknown scenario", ["--scenario", "fog_town99"], "did you mean"),
    ("missing scenario file", ["--scenario", "/nonexistent/x.yaml"], "not found"),
    ("invalid yaml", ["--scenario", lambda t: _scenario(t, "town: [town01\n")], "invalid YAML"),
    ("unknown scenario key", ["--scenario", lambda t: _scenario(t, f"town: town01\nroutes: {ROUTES}\nweathr: {{}}\n")], "weathr"),
    ("broken route xml", ["--scenario", _bad_routes], "broken.xml"),
    ("unknown route", ["--routes", "99"], "not in the scenario's route file"),
    ("backwards range", ["--routes", "3-1"], "runs backwards"),
    ("unknown variant", ["--variants", "rgb,thermall"], "thermal"),
    ("duplicate variant", ["--variants", "rgb,rgb"], "listed twice"),
    ("empty variants", ["--variants", ","], "comma-separated names"),
    ("unknown agent", ["--agent", "expret"], "did you mean 'expert'"),
    ("missing checkpoint", ["--checkpoint", "/nonexistent/perception.pt"], "weights not found"),
    ("corrupt checkpoint", ["--checkpoint", _junk_checkpoint], "not a perception checkpoint"),
    ("checkpoint for the expert", ["--agent", "expert", "--variants", "none", "--checkpoint", _junk_checkpoint], "takes none"),
    ("negative seed", ["--seeds=-1"], "integers >= 0"),
    ("non-integer seeds", ["--seeds", "a,b"], "integers >= 0"),
    ("duplicate seeds", ["--seeds", "0,0"], "distinct"),
    ("zero workers", ["--workers", "0"], "positive integer"),
    ("unknown executor", ["--executor", "spark"], "invalid choice"),
    ("bad latency", ["--latency", "fast"], "latency must be"),
    ("nan misalignment", ["--misalign-deg", "nan"], "finite number"),
    ("unknown rules", ["--rules", "3.0"], "invalid choice"),
    ("zero max steps", ["--max-steps", "0"], "positive integer"),
    ("negative retries", ["--retries=-1"], "integer >= 0"),
    ("zero watchdog", ["--step-timeout", "0"], "number > 0"),
    ("ray address without ray", ["--ray-address", "auto"], "--executor ray"),
    ("bad fault", ["--inject-fault", "boom@3"], "fault kind"),
]


@pytest.mark.parametrize("name,extra,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, capsys, name, extra, fragment):
    argv = ["eval", "--scenario", "clear_town01", "--routes", "0", "--out", str(tmp_path / "out")]
    argv += [a(tmp_path) if callable(a) else a for a in extra]
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert fragment in err[0], err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make,fragment", [(_run_folder, "--resume"), (_foreign_folder, "not empty"),
                                           (lambda t: (t / "file").write_text("x") and t / "file", "is a file")],
                         ids=["folder holds a run", "foreign folder", "out is a file"])
def test_an_occupied_out_is_left_untouched(tmp_path, capsys, make, fragment):
    out = make(tmp_path)
    before = _files(out) if out.is_dir() else out.read_bytes()
    code = main(["eval", "--scenario", "clear_town01", "--routes", "0", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert (_files(out) if out.is_dir() else out.read_bytes()) == before
