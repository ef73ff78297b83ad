"""Bad input to every command of ``python -m harness``: exit status 2, exactly one stderr line
``error: ...`` that names the problem, no traceback, and nothing written (the out folder is not
created; a folder or file that was there is left as it was). In-process through ``harness.cli.main``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[2]
TOWN01 = REPO / "scenarios" / "routes" / "town01.xml"
TOWN05 = REPO / "scenarios" / "routes" / "town05.xml"


# ------------------------------------------------------------------------------------ inputs


def _yaml(t: Path, text: str, name: str = "bad.yaml") -> str:
    p = t / name
    p.write_text(text)
    return str(p)


def _broken_routes(t: Path) -> str:
    xml = t / "broken.xml"
    xml.write_text("<routes><route id='0' town='Town01'><waypoints><position x='1' y=</waypoints></route>")
    return _yaml(t, f"town: town01\nroutes: {xml}\n", "broken_routes.yaml")


def _junk_checkpoint(t: Path) -> str:
    p = t / "junk.pt"
    p.write_bytes(b"not a torch file")
    return str(p)


def _a_file(t: Path) -> str:
    p = t / "a_file"
    p.write_text("x")
    return str(p)


def _run_folder(t: Path) -> str:
    out = t / "previous"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"version": 1, "kind": "eval", "jobs": []}))
    return str(out)


def _foreign_folder(t: Path) -> str:
    out = t / "foreign"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    return str(out)


OUT = "{out}"  # stands for tmp_path/out, which must not exist after the command
EVAL = ["eval", "--scenario", "clear_town01", "--routes", "0", "--out", OUT]
SWEEP = ["sweep", "--scenario", "clear_town01", "--routes", "0", "--axis", "fog", "--out", OUT]
DRIVE = ["drive", "--scenario", "fog_town05", "--routes", "0", "--out", OUT]
RENDER = ["render", "--scenario", "fog_town05", "--out", OUT]
BENCH = ["bench-sim", "--scenario", "fog_town05"]
ROUTES = ["routes", "--town", "town01", "--out", OUT + "/r.xml"]
COMPARE = ["compare", "--out", str(REPO / "results/reference/eval_fog_town05_routes5")]  # a committed eval, only read
UNDER_PROC = "/proc/harness-nope/out"  # the one place even root cannot create a folder in


def _matrix(base: list, cases: list) -> list:
    """(id, argv, fragment) with ``base`` before each case's own arguments (callables get tmp_path)."""
    return [pytest.param(base + extra, frag, id=f"{base[0]}: {name}") for name, extra, frag in cases]


# what each run command shares: numbers, ranges, names, paths
RUN_CASES = [
    ("unknown agent", ["--agent", "expret"], "did you mean 'expert'"),
    ("missing checkpoint", ["--checkpoint", "/nonexistent/perception.pt"], "weights not found"),
    ("corrupt checkpoint", ["--checkpoint", _junk_checkpoint], "not a perception checkpoint"),
    ("zero workers", ["--workers", "0"], "positive integer"),
    ("non-numeric workers", ["--workers", "two"], "positive integer"),
    ("unknown executor", ["--executor", "spark"], "invalid choice"),
    ("ray address without ray", ["--ray-address", "auto"], "--executor ray"),
    ("gpus without ray", ["--gpus-per-worker", "0.5"], "--gpus-per-worker is for --executor ray"),
    ("negative gpus", ["--gpus-per-worker=-1"], "within [0, 8]"),
    ("unknown device", ["--device", "tpu"], "device must be cpu, cuda or cuda:N"),
    ("bad precision", ["--precision", "fp8"], "invalid choice"),
    ("bad latency", ["--latency", "fast"], "latency must be"),
    ("negative latency", ["--latency=-5"], "latency must be"),
    ("nan latency", ["--latency", "nan"], "latency must be"),
    ("huge misalignment", ["--misalign-px", "1e9", "0"], "within [-4096, 4096] px"),
    ("inf misalignment", ["--misalign-px", "0", "inf"], "finite number"),
    ("non-numeric misalignment", ["--misalign-px", "a", "0"], "expected a number"),
    ("nan rotation", ["--misalign-deg", "nan"], "finite number"),
    ("rotation past a half turn", ["--misalign-deg", "190"], "within [-180, 180] deg"),
    ("zero max steps", ["--max-steps", "0"], "positive integer"),
    ("fractional max steps", ["--max-steps", "1.5"], "positive integer"),
    ("negative retries", ["--retries=-1"], "integer >= 0"),
    ("zero watchdog", ["--step-timeout", "0"], "number > 0"),
    ("inf watchdog", ["--step-timeout", "inf"], "finite number"),
    ("negative route timeout", ["--route-timeout=-3"], "number > 0"),
    ("non-numeric route timeout", ["--route-timeout", "soon"], "expected a number"),
    ("reuse a missing folder", ["--reuse", "/nonexistent/run"], "no such folder"),
    ("reuse a folder of no run", ["--reuse", _foreign_folder], "holds no records/"),
]
SCENARIO_CASES = [
    ("unknown scenario", ["--scenario", "fog_town99"], "did you mean"),
    ("missing scenario file", ["--scenario", "/nonexistent/x.yaml"], "not found"),
    ("invalid yaml", ["--scenario", lambda t: _yaml(t, "town: [town01\n")], "invalid YAML"),
    ("unknown town", ["--scenario", lambda t: _yaml(t, f"town: town99\nroutes: {TOWN05}\n")], "town"),
    ("unknown preset", ["--scenario", lambda t: _yaml(t, f"town: town05\nroutes: {TOWN05}\nweather: {{preset: fgo}}\n")], "preset"),
    ("negative traffic", ["--scenario", lambda t: _yaml(t, f"town: town05\nroutes: {TOWN05}\ntraffic: {{vehicles: -3}}\n")],
     "traffic.vehicles"),
    ("unknown scenario key", ["--scenario", lambda t: _yaml(t, f"town: town01\nroutes: {TOWN01}\nweathr: {{}}\n")], "weathr"),
    ("missing route file", ["--scenario", lambda t: _yaml(t, f"town: town05\nroutes: {t}/missing.xml\n")], "missing.xml"),
    ("broken route xml", ["--scenario", _broken_routes], "broken.xml"),
]
SIZE_CASES = [
    ("size not WxH", ["--size", "320by160"], "WIDTHxHEIGHT"),
    ("size too small", ["--size", "4x4"], "8..4096 px"),
    ("zero size", ["--size", "0x160"], "8..4096 px"),
    ("size too large", ["--size", "5000x100"], "8..4096 px"),
]
OUT_CASES = [
    ("out is a file", ["--out", _a_file], "is a file"),
    ("out under a file", ["--out", lambda t: _a_file(t) + "/sub"], "which is a file"),
    ("out under /proc", ["--out", UNDER_PROC], "cannot write in /proc"),
]

CASES = [
    *_matrix(EVAL, RUN_CASES + SCENARIO_CASES + OUT_CASES + [
        ("unknown route", ["--routes", "99"], "not in the scenario's route file"),
        ("backwards range", ["--routes", "3-1"], "runs backwards"),
        ("empty routes", ["--routes", ","], "no route ids"),
        ("unknown variant", ["--variants", "rgb,thermall"], "did you mean 'thermal'"),
        ("duplicate variant", ["--variants", "rgb,rgb"], "listed twice"),
        ("empty variants", ["--variants", ","], "comma-separated names"),
        ("parameter after a plain variant", ["--variants", "rgb,k=2"], "follow their variant's colon"),
        ("parameter first", ["--variants", "k=2,rgb"], "with no variant before it"),
        ("unknown parameter in a list", ["--variants", "rgb,teacher:k=2,stps=2"], "did you mean 'steps'"),
        ("same variant twice with parameters", ["--variants", "gff:r1=30,rgb,gff:r1=30"], "listed twice"),
        ("checkpoint for the expert", ["--agent", "expert", "--variants", "none", "--checkpoint", _junk_checkpoint], "takes none"),
        ("negative seed", ["--seeds=-1"], "integers >= 0"),
        ("non-integer seeds", ["--seeds", "a,b"], "integers >= 0"),
        ("duplicate seeds", ["--seeds", "0,0"], "distinct"),
        ("unknown rules", ["--rules", "3.0"], "invalid choice"),
        ("bad fault", ["--inject-fault", "boom@3"], "fault kind"),
        ("fault on a route not run", ["--inject-fault", "crash@3:2"], "fault routes"),
    ]),
    *_matrix(SWEEP, [
        ("non-numeric values", ["--values", "a,b"], "comma-separated numbers"),
        ("duplicate values", ["--values", "200,200"], "listed twice"),
        ("nan value", ["--values", "nan"], "comma-separated numbers"),
        ("unknown axis", ["--axis", "rain"], "invalid choice"),
        ("fog below 1 m", ["--values", "0.5"], ">= 1 m"),
        ("sun past the zenith", ["--axis", "sun", "--values", "100"], "within [-90, 90] deg"),
        ("huge misalignment", ["--axis", "misalign_px", "--values", "0,1e9"], "within [-4096, 4096] px"),
        ("rotation past a half turn", ["--axis", "misalign_deg", "--values", "270"], "within [-180, 180] deg"),
        ("negative latency", ["--axis", "latency", "--values=-5"], ">= 0 ms"),
        ("frames on the latency axis", ["--axis", "latency", "--frames", "0"], "drop --frames"),
        ("negative frames step", ["--frames=-1"], "integer >= 0"),
        ("unknown scenario", ["--scenario", "fog_town99"], "did you mean"),
        ("duplicate variant", ["--variants", "rgb,rgb"], "listed twice"),
        ("reuse a missing folder", ["--reuse", "/nonexistent/run"], "no such folder"),
        *OUT_CASES,
    ]),
    *_matrix(DRIVE, RUN_CASES + SCENARIO_CASES + OUT_CASES + [
        ("agent typo", ["--agent", "rgb_polcy"], "did you mean 'rgb_policy'"),
        ("unknown variant", ["--variant", "fusionproxyy"], "unknown fusion variant"),
        ("two variants", ["--variant", "rgb,thermal"], "unknown fusion variant"),
        ("backwards range", ["--routes", "3-1"], "runs backwards"),
        ("unknown route", ["--routes", "0,42"], "['42']"),
        ("route the scenario does not run", ["--routes", "7"], "not among the routes scenario fog_town05 runs"),
        ("checkpoint for the expert", ["--agent", "expert", "--checkpoint", _junk_checkpoint], "takes none"),
        ("negative seed", ["--seed=-1"], "integer >= 0"),
        ("non-integer seed", ["--seed", "0,1"], "integer >= 0"),
        ("clips under /proc", ["--clips", UNDER_PROC], "cannot write in /proc"),
        ("clips is a file", ["--clips", _a_file], "is a file"),
    ]),
    *_matrix(RENDER, SCENARIO_CASES + OUT_CASES + [
        ("unknown route", ["--route", "999"], "999"),
        ("two routes", ["--route", "0-1"], "one route id"),
        ("negative step", ["--step", "-4"], "--step"),
        ("negative seed", ["--seed=-2"], "integer >= 0"),
        ("variant typo", ["--variants", "rgb,thermol"], "did you mean 'thermal'"),
        ("duplicate variant", ["--variants", "rgb,rgb"], "listed twice"),
        ("values without an axis", ["--values", "50,25"], "--values needs --axis"),
        ("latency has no sheet", ["--axis", "latency"], "invalid choice"),
        ("sun past the zenith", ["--axis", "sun", "--values", "100"], "within [-90, 90] deg"),
        ("duplicate axis values", ["--axis", "fog", "--values", "50,50"], "listed twice"),
        ("axis with an unknown route", ["--axis", "fog", "--values", "50", "--route", "999"], "999"),
    ] + SIZE_CASES),
    *_matrix(BENCH, SIZE_CASES + [
        ("zero steps", ["--steps", "0"], "positive integer"),
        ("non-numeric repeats", ["--repeats", "x"], "positive integer"),
        ("negative warmup", ["--warmup=-1"], "integer >= 0"),
        ("unknown route", ["--route", "999"], "999"),
        ("unknown scenario", ["--scenario", "fog_town99"], "did you mean"),
    ]),
    *_matrix(ROUTES, [
        ("unknown town", ["--town", "town77"], "town77"),
        ("zero count", ["--count", "0"], "positive integer"),
        ("negative length", ["--min-m=-5"], "number > 0"),
        ("nan length", ["--max-m", "nan"], "finite number"),
        ("backwards lengths", ["--min-m", "900", "--max-m", "600"], "runs backwards"),
        ("out is a folder", ["--out", lambda t: str(t)], "is a folder"),
        ("out under a file", ["--out", lambda t: _a_file(t) + "/r.xml"], "which is a file"),
        ("out under /proc", ["--out", UNDER_PROC + "/r.xml"], "cannot write in /proc"),
    ]),
    pytest.param(["report", "--out", OUT], "not a folder", id="report: missing folder"),
    pytest.param(["report", "--out", _a_file], "not a folder", id="report: a file"),
    pytest.param(["report", "--out", _foreign_folder], "run.json missing", id="report: not a run folder"),
    pytest.param(["report", "--out", "/proc"], "cannot write in /proc", id="report: unwritable folder"),
    *_matrix(COMPARE, [
        ("base typo", ["--base", "rgbb"], "did you mean 'rgb'"),
        ("variant typo", ["--base", "rgb", "--variants", "fusionproxyy"], "did you mean 'fusionproxy'"),
        ("nothing to pair", ["--base", "rgb", "--variants", "rgb"], "nothing to pair"),
        ("base from another scenario", ["--base", "rgb", "--base-out", str(REPO / "results/reference/teacher/short_night_fog_town05")],
         "pair only within one scenario"),
        ("base from a sweep", ["--base", "rgb", "--base-out", str(REPO / "results/reference/fusionproxy/sweep_misalign_px")],
         "is a sweep"),
        ("base-out missing", ["--base", "rgb", "--base-out", lambda t: str(t / "none")], "not a folder"),
    ]),
    pytest.param(["compare", "--out", str(REPO / "results/reference/fusionproxy/sweep_misalign_px"), "--base", "rgb"],
                 "is a sweep", id="compare: a sweep folder"),
    pytest.param(["compare", "--out", _foreign_folder, "--base", "rgb"], "run.json missing", id="compare: not a run folder"),
    pytest.param(["table", "--out", str(REPO / "results/reference/eval_fog_town05_routes5"), "--labels", "a,b"],
                 "names 2 columns for 1 folders", id="table: labels do not match the folders"),
    pytest.param(["table", "--out", str(REPO / "results/reference/eval_fog_town05_routes5"),
                  str(REPO / "results/reference/eval_fog_town05")], "same column", id="table: two folders, one scenario"),
    pytest.param(["table", "--out", str(REPO / "results/reference/fusionproxy/sweep_misalign_px")], "is a sweep",
                 id="table: a sweep folder"),
    pytest.param(["table", "--out", str(REPO / "results/reference/eval_fog_town05"), "--format", "xlsx"], "invalid choice",
                 id="table: unknown format"),
    pytest.param(["table", "--out", str(REPO / "results/reference/eval_fog_town05"), "--plot", f"{OUT}/t.jpg"],
                 "--plot writes .png, .pdf, .svg", id="table: a plot it cannot write"),
    pytest.param([], "required", id="no command"),
    pytest.param(["evaluate"], "invalid choice", id="unknown command"),
    pytest.param(["scenarios", "--out", OUT], "unrecognized arguments", id="scenarios: unknown option"),
]


# ------------------------------------------------------------------------------------ checks


def _snapshot(tmp: Path) -> dict[str, bytes | None]:
    """Every path under ``tmp`` (files with their bytes): what a command must leave as it found it."""
    return {str(p.relative_to(tmp)): (p.read_bytes() if p.is_file() else None) for p in sorted(tmp.rglob("*"))}


def run_main(argv: list[str], capsys) -> tuple[int, list[str]]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, [line for line in err.splitlines() if line.strip()]


def assert_one_error_line(code: int, err: list[str], fragment: str) -> None:
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert fragment in err[0], err[0]


@pytest.mark.parametrize("argv,fragment", CASES)
def test_bad_input_gives_one_error_line_and_writes_nothing(tmp_path, capsys, argv, fragment):
    argv = [a(tmp_path) if callable(a) else a.replace(OUT, str(tmp_path / "out")) for a in argv]
    before = _snapshot(tmp_path)
    code, err = run_main(argv, capsys)
    assert_one_error_line(code, err, fragment)
    assert not (tmp_path / "out").exists()
    assert _snapshot(tmp_path) == before  # no probe, record or partial output left behind


@pytest.mark.parametrize("command", [EVAL, SWEEP, DRIVE], ids=lambda c: c[0])
@pytest.mark.parametrize("make,fragment", [(_run_folder, "--resume"), (_foreign_folder, "not empty")],
                         ids=["folder holds a run", "foreign folder"])
def test_an_occupied_out_is_left_untouched(tmp_path, capsys, command, make, fragment):
    out = make(tmp_path)
    before = _snapshot(tmp_path)
    code, err = run_main([out if a == OUT else a for a in command], capsys)
    assert_one_error_line(code, err, fragment)
    assert _snapshot(tmp_path) == before


def test_drive_checks_its_default_out_folder_too(tmp_path, capsys, monkeypatch):
    """Without --out, drive writes under ./results/drive: a file named results in the way is caught
    before anything runs, and bad input leaves no results folder behind."""
    monkeypatch.chdir(tmp_path)
    code, err = run_main(["drive", "--scenario", "fog_town05", "--routes", "42"], capsys)
    assert_one_error_line(code, err, "['42']")
    assert not (tmp_path / "results").exists()
    (tmp_path / "results").write_text("not a folder")
    code, err = run_main(["drive", "--scenario", "fog_town05", "--routes", "0"], capsys)
    assert_one_error_line(code, err, "which is a file")
    assert (tmp_path / "results").read_text() == "not a folder"


NOBODY = 65534  # the unprivileged user a root test run drops to, so that chmod 555 means read-only


@pytest.mark.parametrize("command", [EVAL, DRIVE, RENDER, ROUTES], ids=lambda c: c[0])
def test_an_out_in_a_read_only_folder_is_refused(capsys, command):
    """chmod 555 stops every user but root; run as root, the command runs as nobody (setpriv)."""
    root = os.geteuid() == 0
    if root and shutil.which("setpriv") is None:
        pytest.skip("runs as root, which writes into read-only (chmod 555) folders, and setpriv is not here to drop "
                    "to an unprivileged user; the /proc cases cover an unwritable --out")
    top = Path(tempfile.mkdtemp(prefix="harness-ro-"))  # not under pytest's tmp (mode 700): nobody must reach it
    try:
        top.chmod(0o755)
        parent = top / "ro"
        parent.mkdir(mode=0o555)
        parent.chmod(0o555)
        argv = [a.replace(OUT, str(parent / "out")) for a in command]
        if root:
            proc = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable,
                                   "-m", "harness", *argv], cwd=REPO, capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "HOME": str(top)})
            assert "Traceback" not in proc.stderr, proc.stderr
            code, err = proc.returncode, [line for line in proc.stderr.splitlines() if line.strip()]
        else:
            code, err = run_main(argv, capsys)
        assert_one_error_line(code, err, "cannot write in")
        assert list(parent.iterdir()) == []
    finally:
        (top / "ro").chmod(0o755)
        shutil.rmtree(top)


def test_the_calibration_error_is_bounded_where_it_is_made_too():
    """The CLI's bounds are Calibration's: the API refuses the same values."""
    from harness.errors import ConfigError
    from harness.sensors.registration import MAX_ROT_DEG, MAX_SHIFT_PX, Calibration

    Calibration(dx_px=MAX_SHIFT_PX, dy_px=-MAX_SHIFT_PX, rot_deg=-MAX_ROT_DEG)  # the bounds themselves are fine
    for bad in ({"dx_px": 1e9}, {"dy_px": -4097.0}, {"rot_deg": 180.5}):
        with pytest.raises(ConfigError, match=r"must be within \["):
            Calibration(**bad)


def test_a_variant_list_keeps_each_variants_parameters_together():
    """The names variants print (``teacher:k=2,steps=2``) can be pasted back into a comma-separated list."""
    from harness.cli.args import variants

    assert variants("rgb,teacher:k=2,steps=2,gff:r1=30,oracle_clean") == (
        "rgb", "teacher:k=2,steps=2", "gff:r1=30", "oracle_clean")
    assert variants(" teacher:k=2 , steps=2 ") == ("teacher:k=2,steps=2",)
    assert variants("py:my.mod:Fuser,onnx:runs/a.onnx") == ("py:my.mod:Fuser", "onnx:runs/a.onnx")
