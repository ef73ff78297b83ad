"""Bring your own fusion module: a user's nn.Module as ``py:`` and exported as ``onnx:``, evaluated in
the closed loop on a short route, with the same scores either way; its weights enter the job keys."""

from __future__ import annotations

import json
import textwrap

import pytest

from harness.runner.evaluate import EvalRequest, RunOptions, evaluate

TOY = '''
import torch
from torch import nn


class Toy(nn.Module):
    """A learned 1x1 mix of RGB and thermal (a stand-in for a user's fusion network)."""

    def __init__(self):
        super().__init__()
        self.mix = nn.Conv2d(4, 3, 1)
        with torch.no_grad():
            self.mix.weight.copy_(torch.tensor([[0.7, 0.0, 0.0, 0.3], [0.0, 0.7, 0.0, 0.3], [0.0, 0.0, 0.7, 0.3]])[..., None, None])
            self.mix.bias.zero_()

    def forward(self, rgb, thermal):
        return self.mix(torch.cat([rgb, thermal], 1)).clamp(0, 1)
'''


@pytest.fixture
def toy_module(tmp_path, monkeypatch):
    (tmp_path / "toy_fusion.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # as a user runs it: their package in the working directory
    import importlib

    return importlib.import_module("toy_fusion")


def _scores(out) -> dict:
    return {(r["job"]["variant"].split(":")[0], r["job"]["route_id"]): r["result"]["score"]["DS"]
            for r in (json.loads(p.read_text()) for p in (out / "records").glob("*.json"))}


def test_py_and_onnx_modules_drive_a_route_and_agree(toy_module, eval_scenario, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnx: variants need onnxruntime (make setup installs it)")
    from fusion.runtimes import export_onnx

    onnx = export_onnx(toy_module.Toy(), tmp_path / "toy.onnx")
    variants = ("py:toy_fusion:Toy", f"onnx:{onnx}")
    summ, stats = evaluate(EvalRequest(eval_scenario, variants, routes="0", max_steps=40), tmp_path / "run",
                           RunOptions(progress=False), n_boot=200)
    assert stats.finished == 2 and stats.quarantined == 0, stats.failures
    ds = _scores(tmp_path / "run")
    assert ds[("py", "0")] == pytest.approx(ds[("onnx", "0")], abs=1e-6), "the same network in either runtime drives alike"
    assert set(summ["variants"]) == set(variants)
    from harness.report.outputs import file_safe

    # one leaderboard file per variant, each in one folder of the run: the ONNX path's slashes do not nest folders
    assert (tmp_path / "run" / file_safe(f"onnx:{onnx}") / "simulation_results.json").is_file()
    assert {p.name for p in (tmp_path / "run").iterdir() if p.is_dir()} >= {"py:toy_fusion:Toy", file_safe(f"onnx:{onnx}")}


def test_a_bad_byo_module_stops_the_run_before_it_starts(toy_module, eval_scenario, tmp_path):
    from harness.errors import ConfigError

    (tmp_path / "toy_bad.py").write_text("def Fuse(rgb, thermal):\n    return rgb[:, :2]\n")
    with pytest.raises(ConfigError, match="output must be"):
        evaluate(EvalRequest(eval_scenario, ("py:toy_bad:Fuse",), routes="0", max_steps=40), tmp_path / "bad",
                 RunOptions(progress=False))
    assert not (tmp_path / "bad").exists(), "nothing written for a run that cannot start"
