"""Bad input to ``python -m fusion`` and ``python -m distill``: exit status 2, exactly one stderr
line ``error: ...`` that names the problem, no traceback, and nothing written (no out folder, no
partial output). In-process through each CLI's ``main``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distill.cli import main as distill_main
from fusion.cli import main as fusion_main


def _png(path: Path, shape) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros(shape, np.uint8)).save(path)


def _pairs(t: Path, case: str) -> tuple[str, str]:
    """Folders ir/ and vis/ holding one good pair plus what ``case`` adds."""
    ir, vis = t / "ir", t / "vis"
    _png(ir / "a.png", (20, 30))
    _png(vis / "a.png", (20, 30, 3))
    if case == "unpaired":
        _png(ir / "b.png", (20, 30))
    elif case == "size":
        _png(ir / "b.png", (20, 30))
        _png(vis / "b.png", (22, 30, 3))
    elif case == "not an image":
        _png(ir / "b.png", (20, 30))
        (vis / "b.png").write_text("not a png")
    elif case == "unreadable":
        _png(ir / "b.png", (20, 30))
        (vis / "b.png").symlink_to(t / "missing.png")
    elif case == "empty":
        for p in ir.iterdir():
            p.unlink()
    return str(ir), str(vis)


def _bad_onnx(t: Path) -> str:
    import torch

    class OneInput(torch.nn.Module):
        def forward(self, x):
            return x

    path = t / "one_input.onnx"
    torch.onnx.export(OneInput(), (torch.rand(1, 3, 8, 8),), str(path), input_names=["image"], dynamo=False)
    return str(path)


def _toy_module(t: Path) -> str:
    (t / "broken_pkg.py").write_text("import no_such_dependency_anywhere\n")
    return "py:broken_pkg:Model"


FOLDER_CASES = [
    ("missing folder", lambda t: (str(t / "nope"), _pairs(t, "")[1]), "no such folder"),
    ("empty folder", lambda t: _pairs(t, "empty"), "empty"),
    ("unpaired names", lambda t: _pairs(t, "unpaired"), "missing in --vis (b)"),
    ("size mismatch", lambda t: _pairs(t, "size"), "one size (register them first): b (ir 30x20, vis 30x22"),
    ("non-image file", lambda t: _pairs(t, "not an image"), "b.png"),
    ("dangling link", lambda t: _pairs(t, "unreadable"), "missing in --vis (b)"),
]


def _run(main, argv, capsys) -> tuple[int, list[str]]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, [line for line in err.splitlines() if line.strip()]


def _assert_one_line(code, err, fragment):
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert fragment.lower() in err[0].lower(), err[0]


@pytest.mark.parametrize("name,make,fragment", FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
@pytest.mark.parametrize("command", ["fuse", "metrics"])
def test_bad_image_folders(tmp_path, capsys, command, name, make, fragment):
    ir, vis = make(tmp_path)
    out = tmp_path / "out"
    if command == "fuse":
        argv = ["fuse", "--variant", "luma_average", "--ir", ir, "--vis", vis, "--out", str(out)]
    else:
        argv = ["metrics", "--ir", ir, "--vis", vis, "--fused", vis, "--per-image", str(out / "m.csv")]
    code, err = _run(fusion_main, argv, capsys)
    _assert_one_line(code, err, fragment)
    assert not out.exists()


VARIANT_CASES = [
    ("unknown parameter", lambda t: "gff:r9=1", "unknown parameter 'r9'"),
    ("parameter out of range", lambda t: "gff:eps1=-1", "eps1"),
    ("teacher k of zero", lambda t: "teacher:k=0", "k must be"),
    ("fusionproxy size unknown", lambda t: "fusionproxy:size=xxl", "size must be one of xs, s, m, l"),
    ("py: that does not import", _toy_module, "cannot import"),
    ("onnx with the wrong inputs", _bad_onnx, "input"),
    ("missing onnx file", lambda t: f"onnx:{t / 'none.onnx'}", "no such file"),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy ONNX exporter, for the bad model
@pytest.mark.parametrize("name,make,fragment", VARIANT_CASES, ids=[c[0] for c in VARIANT_CASES])
def test_bad_variants(tmp_path, capsys, monkeypatch, name, make, fragment):
    monkeypatch.chdir(tmp_path)
    variant = make(tmp_path)
    ir, vis = _pairs(tmp_path, "")
    out = tmp_path / "out"
    code, err = _run(fusion_main, ["fuse", "--variant", variant, "--ir", ir, "--vis", vis, "--out", str(out)], capsys)
    _assert_one_line(code, err, fragment)
    assert not out.exists()


OTHER_CASES = [
    (fusion_main, ["bench", "--variant", "gff", "--size", "0x10"], "8..4096"),
    (fusion_main, ["bench", "--variant", "teacher:steps=0"], "steps must be"),
    (fusion_main, ["bench", "--variant", "gff", "--cuda-graphs"], "CUDA device"),
    (fusion_main, ["bench", "--variant", "fusionproxy", "--compile", "fastest"], "not one of default"),
    (fusion_main, ["bench", "--variant", "fusionproxy", "--compile", "reduce-overhead", "--cuda-graphs"],
     "captures CUDA graphs itself"),
    (fusion_main, ["bench", "--variant", "teacher:k=1,steps=1", "--compile", "default"], "deterministic torch module"),
    (fusion_main, ["bench", "--variant", "fusionproxy", "--channels-last", "--compare"], "two runs"),
    (fusion_main, ["bench", "--variant", "gff", "--runtime", "tensorrt"], "tensorrt"),
    (fusion_main, ["perception", "--scenario", "fog_town99", "--variants", "rgb"], "did you mean"),
    (fusion_main, ["perception", "--scenario", "fog_town05", "--variants", "rgb,thermol"], "did you mean 'thermal'"),
    (fusion_main, ["cues", "--scenario", "fog_town05", "--near", "0", "--out", "{t}/run"], "--near must be > 0"),
    (fusion_main, ["cues", "--scenario", "fog_town05", "--variants", "fusionproxi", "--out", "{t}/run"], "did you mean"),
    (fusion_main, ["ensemble", "--scenario", "fog_town05", "--k", "0"], "positive integer"),
    (fusion_main, ["ensemble", "--scenario", "fog_town05", "--weights", "/no/such/teacher.pt"], "no such file"),
    (distill_main, ["train-teacher", "--data", "{t}/nothing", "--out", "{t}/run"], "collect-fusion-data"),
    (distill_main, ["train-teacher", "--steps", "0", "--out", "{t}/run"], "positive integer"),
    (distill_main, ["train-teacher", "--w-light", "-1", "--out", "{t}/run"], "w_light and light_signal must be >= 0"),
    (distill_main, ["collect-fusion-data", "--workers", "0", "--out", "{t}/run"], "positive integer"),
    (distill_main, ["cache-ensemble", "--data", "{t}/nothing", "--out", "{t}/run"], "collect-fusion-data"),
    (distill_main, ["cache-ensemble", "--backbones", "resnet", "--out", "{t}/run"], "unknown backbone"),
    (distill_main, ["train-student", "--cache", "{t}/nothing", "--out", "{t}/run"], "cache-ensemble"),
    (distill_main, ["train-student", "--crop", "100x96", "--out", "{t}/run"], "multiple of 16"),
    (distill_main, ["train-student", "--tau", "0", "--out", "{t}/run"], "tau"),
    (distill_main, ["ablate", "--only", "full,nope", "--out", "{t}/run"], "unknown ablation"),
    (distill_main, ["export", "--weights", "{t}/none.pt", "--out", "{t}/run"], "no such file"),
]


@pytest.mark.parametrize("main,argv,fragment", OTHER_CASES, ids=[" ".join(c[1][:3]) for c in OTHER_CASES])
def test_other_bad_input(tmp_path, capsys, main, argv, fragment):
    argv = [a.replace("{t}", str(tmp_path)) for a in argv]
    code, err = _run(main, argv, capsys)
    _assert_one_line(code, err, fragment)
    assert not (tmp_path / "run").exists()
