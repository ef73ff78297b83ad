"""Exporting a trained student: ``python -m distill export``.

Writes, beside each other in ``--out``:

- ``<name>.ts``: TorchScript (``torch.jit.trace`` at a probe size; the network has no data-dependent
  control flow, and sizes other than the traced one work: a test checks it);
- ``<name>.onnx``: ONNX (opset 17, dynamic batch, height and width; inputs ``rgb`` and ``thermal``,
  output ``fused``), which ``onnx:<path>`` runs with ONNX Runtime anywhere in the harness;
- ``export.json``: the source weights' sha256, the files' sha256, and the largest difference of
  each runtime against torch on a 320x160 probe pair.

A TensorRT engine is built on the target machine from the ONNX file (``--runtime tensorrt`` does it
at first use; engines are specific to a GPU and TensorRT version, so they are not shipped).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from fusion.runtimes import OnnxFuser, export_onnx
from fusion.student.proxy import load_student
from harness.runner.jobs import file_digest

PARITY_HW = (160, 320)


def export(weights: Path, out: Path, name: str = "fusionproxy") -> dict:
    """TorchScript and ONNX files of the student at ``weights``, with their parity against torch."""
    net = load_student(weights).float().eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    rgb, th = torch.rand(1, 3, *PARITY_HW, generator=g), torch.rand(1, 1, *PARITY_HW, generator=g)
    ts_path = out / f"{name}.ts"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated upstream, still what many deploy
        ref = net(rgb, th)
        torch.jit.trace(net, (torch.rand(1, 3, 64, 96), torch.rand(1, 1, 64, 96))).save(str(ts_path))
        ts_err = float((torch.jit.load(str(ts_path))(rgb, th) - ref).abs().max())
    onnx_path = export_onnx(net, out / f"{name}.onnx")
    onnx_err = float((OnnxFuser(onnx_path, torch.device("cpu"))(rgb, th) - ref).abs().max())
    report = {"weights": str(weights), "weights_sha256": file_digest(weights),
              "torchscript": {"path": str(ts_path), "sha256": file_digest(ts_path), "max_abs_diff_vs_torch": ts_err},
              "onnx": {"path": str(onnx_path), "sha256": file_digest(onnx_path), "max_abs_diff_vs_torch": onnx_err},
              "parity_size": f"{PARITY_HW[1]}x{PARITY_HW[0]}"}
    (out / "export.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
