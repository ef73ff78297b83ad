"""Where the frozen policy's perception network runs: ONNX Runtime on the CPU (default), or torch.

Both run one graph, :class:`PerceptionHead`: the camera's ``(1, H, W, 3)`` uint8 RGB image in, the
obstacle mask ``(1, H/2, W/2)`` uint8 and the light map's per-cell probabilities ``(1, 3, h, w)``
float32 out, so the uint8-to-float conversion, the argmax and the softmax run inside the runtime
rather than in numpy. On one core of this project's 2-core host ONNX Runtime takes about half of
torch's time for the same outputs (to 1e-5; the masks and stop decisions are identical on the parity
test's frames, and re-driven reference rows score the same): ``python -m agents.rgb_policy.runtime
--json`` measures both.

``HARNESS_POLICY_RUNTIME=torch`` runs the network with torch instead (for checking parity, or where
ONNX Runtime is missing: then torch is used anyway, with one warning line).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn

from harness.errors import ConfigError

RUNTIMES = ("onnx", "torch")
ENV = "HARNESS_POLICY_RUNTIME"


class PerceptionHead(nn.Module):
    """The perception network with its input conversion and output decoding: uint8 RGB in, the
    mask and the light probabilities out."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = image.permute(0, 3, 1, 2).float() / 255.0
        seg, lights = self.net(x)
        return seg.argmax(1).to(torch.uint8), torch.softmax(lights, 1)


def default_runtime() -> str:
    """``HARNESS_POLICY_RUNTIME`` if set (onnx or torch), else onnx; a bad value is a ConfigError."""
    name = os.environ.get(ENV, "onnx").strip().lower() or "onnx"
    if name not in RUNTIMES:
        raise ConfigError(f"{ENV} must be one of {', '.join(RUNTIMES)}, got {name!r}")
    return name


class TorchRunner:
    runtime = "torch"

    def __init__(self, head: PerceptionHead) -> None:
        self.head = head.eval()

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask, maps = self.head(torch.from_numpy(np.ascontiguousarray(rgb))[None])
        return mask[0].numpy(), maps[0].numpy()


class OnnxRunner:
    runtime = "onnx"

    def __init__(self, model: bytes, threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads  # one core per worker, as the torch path
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask, maps = self.session.run(None, {"image": np.ascontiguousarray(rgb)[None]})
        return mask[0], maps[0]


def state_digest(net: nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


_EXPORTED: dict[tuple[str, tuple[int, int]], bytes] = {}


def _exported(digest: str, shape: tuple[int, int], head: PerceptionHead) -> bytes:
    """The head as ONNX bytes, exported once per process, weights ``digest`` and image ``shape``
    (a worker builds an agent per route)."""
    if (digest, shape) in _EXPORTED:
        return _EXPORTED[digest, shape]
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        torch.onnx.export(head, (torch.zeros((1, *shape, 3), dtype=torch.uint8),), buf, input_names=["image"],
                          output_names=["mask", "light_maps"], opset_version=17, dynamo=False)
    _EXPORTED[digest, shape] = buf.getvalue()
    return _EXPORTED[digest, shape]


def make_runner(net: nn.Module, runtime: str | None = None, shape: tuple[int, int] = (160, 320)):
    """A callable ``(H, W, 3) uint8 RGB -> (mask (H/2, W/2) uint8, light maps (3, h, w) float32)``
    running ``net`` (eval mode, batch norm folded) with ``runtime`` (None: :func:`default_runtime`).
    ``shape`` (H, W) is the camera's; the ONNX graph is exported for it."""
    runtime = runtime or default_runtime()
    if runtime not in RUNTIMES:
        raise ConfigError(f"policy runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    head = PerceptionHead(net).eval()
    if runtime == "torch":
        return TorchRunner(head)
    if importlib.util.find_spec("onnxruntime") is None:
        print(f"warning: onnxruntime is not installed; the policy runs with torch (slower). {ENV}=torch "
              "silences this; make setup installs onnxruntime", file=sys.stderr)
        return TorchRunner(head)
    return OnnxRunner(_exported(state_digest(net), tuple(shape), head))


def bench(repeats: int = 7, calls: int = 40) -> dict:
    """Median ms per 320x160 frame of both runtimes on one thread, alternating, over ``repeats`` runs."""
    from agents.rgb_policy.model import fold_batch_norm, load_perception

    torch.set_num_threads(1)
    net = fold_batch_norm(load_perception(None)[0])
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (160, 320, 3), dtype=np.uint8) for _ in range(4)]
    runners = {name: make_runner(net, name) for name in RUNTIMES}
    ms = {name: [] for name in RUNTIMES}
    for name, run in runners.items():
        for f in frames:
            run(f)  # warm up
    for _ in range(repeats):
        for name, run in runners.items():
            t0 = time.perf_counter()
            for k in range(calls):
                run(frames[k % len(frames)])
            ms[name].append(1000.0 * (time.perf_counter() - t0) / calls)
    med = {name: statistics.median(v) for name, v in ms.items()}
    return {"ms_per_frame": {k: round(v, 3) for k, v in med.items()},
            "ms_all": {k: [round(x, 3) for x in v] for k, v in ms.items()},
            "speedup_onnx_over_torch": round(med["torch"] / med["onnx"], 2), "threads": 1, "size": "320x160",
            "repeats": repeats, "calls_per_repeat": calls}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.rgb_policy.runtime",
                                 description="Time the policy's perception network under torch and ONNX Runtime (one thread).")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    out = bench(args.repeats)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out["ms_per_frame"].items():
            print(f"{k:6s} {v:7.2f} ms/frame")
        print(f"onnx is {out['speedup_onnx_over_torch']}x torch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
