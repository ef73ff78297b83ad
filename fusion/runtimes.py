"""Where a fusion module runs: torch on a device and precision, ONNX Runtime, TensorRT (optional).

Each runtime is a :class:`fusion.base.Fuser`: ``fuser(rgb, thermal) -> fused`` on float tensors,
whatever it does inside. Every one takes float32 tensors on any device and returns float32 on the
input's device, so the caller (:class:`agents.fusion_agent.FusionAgent`, ``python -m fusion bench``)
never changes with the runtime; the conversion to the module's device and precision is the
runtime's. :func:`check_fuser` holds a module a user brings to the contract, with one clear line for
each way it can fail.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.errors import ConfigError

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
RUNTIMES = ("torch", "onnx", "tensorrt")
PROBE_HW = (40, 56)  # [px] the contract check's input size: small, not square, not a power of two


def check_target(device: str, precision: str, runtime: str) -> torch.device:
    """The torch device for (device, precision, runtime), or one ConfigError line saying the fix."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"device must be cpu, cuda or cuda:N, got {device!r}") from err
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: no CUDA device here (torch.cuda.is_available() is False); use cpu")
    if runtime == "tensorrt":
        try:
            import tensorrt  # noqa: F401
        except ImportError as err:
            raise ConfigError("runtime tensorrt needs NVIDIA TensorRT and a CUDA device: pip install tensorrt "
                              "(from NVIDIA's index); use --runtime torch or onnx here") from err
        if dev.type != "cuda":
            raise ConfigError("runtime tensorrt runs on a CUDA device; add --device cuda")
        if precision == "bf16":
            raise ConfigError("runtime tensorrt builds fp32 or fp16 engines; use --precision fp16")
    return dev


def _as_float32(out, device: torch.device) -> torch.Tensor:
    """A module's output as float32 on ``device``; a non-tensor or an integer tensor breaks the contract."""
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"a fusion module must return a torch.Tensor (B,3,H,W), got {type(out).__name__}")
    if not out.is_floating_point():
        raise ConfigError(f"a fusion module's output must be a float tensor in [0, 1], got {out.dtype}")
    return out.to(device, torch.float32)


class TorchFuser:
    """A torch module on ``device`` in ``precision`` (eval mode, no gradients)."""

    runtime = "torch"

    def __init__(self, module: nn.Module, device: torch.device, precision: str = "fp32", stochastic: bool = False) -> None:
        self.dtype = PRECISIONS[precision]
        self.device = device
        self.stochastic = stochastic
        self.module = module.to(device=device, dtype=self.dtype).eval()

    def __call__(self, rgb: torch.Tensor, thermal: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        with torch.inference_mode():
            x, t = rgb.to(self.device, self.dtype), thermal.to(self.device, self.dtype)
            out = self.module(x, t, generator=generator) if self.stochastic else self.module(x, t)
            return _as_float32(out, rgb.device)


class CallableFuser:
    """A plain function ``f(rgb, thermal) -> fused`` (no parameters, no device of its own)."""

    runtime = "torch"

    def __init__(self, fn: Any, device: torch.device, precision: str = "fp32") -> None:
        self.fn, self.device, self.dtype = fn, device, PRECISIONS[precision]

    def __call__(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out = self.fn(rgb.to(self.device, self.dtype), thermal.to(self.device, self.dtype))
            return _as_float32(out, rgb.device)


class OnnxFuser:
    """An ONNX model run with ONNX Runtime. Its inputs are told apart by name (``rgb``, ``thermal``) or,
    failing that, by their channel count (3 and 1); its first output is the fused image."""

    runtime = "onnx"

    def __init__(self, path: str | Path, device: torch.device, precision: str = "fp32") -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ConfigError("ONNX models need ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu)") from err
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"onnx:{path}: no such file; give the path of a .onnx model")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ConfigError(f"onnx:{path}: CUDA asked for, but this ONNX Runtime has no CUDA provider "
                                  "(pip install onnxruntime-gpu), or use device cpu")
            providers.insert(0, "CUDAExecutionProvider")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # warnings about unused initialisers are not the user's business
        # as many threads as torch has here: a drive worker sets its share of the cores, and ONNX
        # Runtime's default (every core) would fight the simulator and the policy for them
        opts.intra_op_num_threads = torch.get_num_threads()
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as err:  # noqa: BLE001 (ORT raises its own exception types for broken files)
            raise ConfigError(f"onnx:{path}: ONNX Runtime cannot load it: {str(err).splitlines()[0][:200]}") from err
        self.path, self.device = path, device
        self._names = self._bind_inputs()
        self._dtype = np.float16 if self.session.get_inputs()[0].type == "tensor(float16)" else np.float32

    def _bind_inputs(self) -> tuple[str, str]:
        inputs = self.session.get_inputs()
        got = ", ".join(f"{i.name} {i.shape}" for i in inputs)
        if len(inputs) != 2 or len(self.session.get_outputs()) < 1:
            raise ConfigError(f"onnx:{self.path}: expected two inputs rgb (B,3,H,W) and thermal (B,1,H,W) and one "
                              f"output, got inputs {got}")
        by_name = {i.name.lower(): i.name for i in inputs}
        if "rgb" in by_name and "thermal" in by_name:
            names = (by_name["rgb"], by_name["thermal"])
        else:
            channels = {i.name: (i.shape[1] if len(i.shape) == 4 else None) for i in inputs}
            rgb = [n for n, c in channels.items() if c == 3]
            th = [n for n, c in channels.items() if c == 1]
            if len(rgb) != 1 or len(th) != 1:
                raise ConfigError(f"onnx:{self.path}: inputs must be named rgb and thermal, or have 3 and 1 channels "
                                  f"(NCHW); got {got}")
            names = (rgb[0], th[0])
        for i in inputs:
            if len(i.shape) != 4:
                raise ConfigError(f"onnx:{self.path}: input {i.name} must be 4-D (B, C, H, W), got shape {i.shape}")
        return names

    def __call__(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        feed = {self._names[0]: rgb.detach().cpu().numpy().astype(self._dtype),
                self._names[1]: thermal.detach().cpu().numpy().astype(self._dtype)}
        try:
            out = self.session.run(None, feed)[0]
        except Exception as err:  # noqa: BLE001
            raise ConfigError(f"onnx:{self.path}: running it on rgb {tuple(rgb.shape)} and thermal "
                              f"{tuple(thermal.shape)} failed: {str(err).splitlines()[0][:200]}") from err
        return torch.from_numpy(np.asarray(out, np.float32)).to(rgb.device)


class TensorRTFuser:
    """An ONNX model as a TensorRT engine (FP16 when asked), built at the first call for that input
    shape and kept per shape; inputs and outputs stay on the GPU (torch CUDA tensors).

    Engines are specific to the GPU and TensorRT version, so they are built where they run, not
    shipped. Written against the TensorRT 10 tensor API (``set_tensor_address``,
    ``execute_async_v3``)."""

    runtime = "tensorrt"

    def __init__(self, onnx_path: str | Path, device: torch.device, precision: str = "fp16") -> None:
        import tensorrt as trt

        self.trt, self.path, self.device, self.precision = trt, Path(onnx_path), device, precision
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.engines: dict[tuple, tuple] = {}

    def _engine(self, rgb_shape: tuple, th_shape: tuple):
        key = (rgb_shape, th_shape)
        if key in self.engines:
            return self.engines[key]
        trt = self.trt
        builder = trt.Builder(self.logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(self.path.read_bytes()):
            errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ConfigError(f"TensorRT cannot parse {self.path}: {errs[:300]}")
        config = builder.create_builder_config()
        if self.precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        for name, shape in (("rgb", rgb_shape), ("thermal", th_shape)):
            profile.set_shape(name, shape, shape, shape)
        config.add_optimization_profile(profile)
        blob = builder.build_serialized_network(network, config)
        if blob is None:
            raise ConfigError(f"TensorRT could not build an engine from {self.path} for rgb {rgb_shape}")
        engine = trt.Runtime(self.logger).deserialize_cuda_engine(blob)
        context = engine.create_execution_context()
        context.set_input_shape("rgb", rgb_shape)
        context.set_input_shape("thermal", th_shape)
        self.engines[key] = (engine, context)
        return self.engines[key]

    def __call__(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        x = rgb.to(self.device, torch.float32).contiguous()
        t = thermal.to(self.device, torch.float32).contiguous()
        _, context = self._engine(tuple(x.shape), tuple(t.shape))
        out = torch.empty(tuple(context.get_tensor_shape("fused")), device=self.device, dtype=torch.float32)
        for name, tensor in (("rgb", x), ("thermal", t), ("fused", out)):
            context.set_tensor_address(name, tensor.data_ptr())
        stream = torch.cuda.current_stream(self.device)
        if not context.execute_async_v3(stream.cuda_stream):
            raise ConfigError(f"TensorRT failed to run {self.path} on rgb {tuple(x.shape)}")
        return out.to(rgb.device)


def export_onnx(module: nn.Module, out: Path | None = None, opset: int = 17) -> Path:
    """Export a torch fusion module to ONNX with dynamic batch, height and width (inputs ``rgb`` and
    ``thermal``, output ``fused``); by default into a cache file named by the module's weights."""
    module = module.cpu().float().eval()
    if out is None:
        h = hashlib.sha256(type(module).__qualname__.encode())
        for k, v in module.state_dict().items():
            h.update(k.encode())
            h.update(v.detach().cpu().numpy().tobytes())
        out = Path(tempfile.gettempdir()) / "fusionproxy-onnx" / f"{type(module).__name__}-{h.hexdigest()[:16]}.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    dyn = {0: "batch", 2: "height", 3: "width"}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        try:
            torch.onnx.export(module, (torch.rand(1, 3, *PROBE_HW), torch.rand(1, 1, *PROBE_HW)), str(out),
                              input_names=["rgb", "thermal"], output_names=["fused"], opset_version=opset,
                              dynamic_axes={"rgb": dyn, "thermal": dyn, "fused": dyn}, dynamo=False)
        except Exception as err:  # noqa: BLE001 (the exporter raises many kinds; all mean "not exportable")
            out.unlink(missing_ok=True)
            msg = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            raise ConfigError(f"{type(module).__name__} cannot be exported to ONNX ({msg}); run it with --runtime torch") from err
    return out


def check_fuser(fuser: Any, label: str, device: torch.device) -> None:
    """Hold ``fuser`` to the contract on a probe pair: one ConfigError line naming what is wrong."""
    b, (h, w) = 2, PROBE_HW
    g = torch.Generator().manual_seed(0)
    rgb, thermal = torch.rand(b, 3, h, w, generator=g).to(device), torch.rand(b, 1, h, w, generator=g).to(device)
    try:
        out = fuser(rgb, thermal)
    except ConfigError as err:
        raise ConfigError(f"{label}: {err}") from err
    except Exception as err:  # noqa: BLE001 (a user's module: anything it raises fails the contract)
        raise ConfigError(f"{label}: calling it on rgb (2,3,{h},{w}) and thermal (2,1,{h},{w}) float in [0, 1] "
                          f"raised {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}") from err
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"{label}: must return a torch.Tensor (B,3,H,W), got {type(out).__name__}")
    if tuple(out.shape) != (b, 3, h, w):
        raise ConfigError(f"{label}: output must be (B,3,H,W) = {(b, 3, h, w)} for inputs of that size, got "
                          f"{tuple(out.shape)}")
    if not out.is_floating_point():
        raise ConfigError(f"{label}: output must be a float tensor in [0, 1], got {out.dtype}")
    if not torch.isfinite(out).all():
        raise ConfigError(f"{label}: output has NaN or infinite values")
    lo, hi = float(out.min()), float(out.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ConfigError(f"{label}: output must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}] (scale or clamp it)")
