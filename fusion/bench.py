"""How fast a fusion variant runs: ``python -m fusion bench``.

Median wall time of ``repeats`` timed calls after ``warmup`` untimed ones, on random inputs of the
given size and batch, with the thread count, device, precision and runtime stated, so a figure says
what it was measured on. CUDA calls are synchronised before the clock stops. Inputs are made on
the device beforehand (a drive's host-to-device copy is not the module's cost; the fusion agent's
``fusion_ms`` includes it).
"""

from __future__ import annotations

import platform
import statistics
import time

import torch

from fusion.registry import check_variant
from harness.errors import ConfigError


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# torch.compile's modes; the last two capture CUDA graphs themselves (so not with ``cuda_graphs``)
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "reduce-overhead", "max-autotune")


def bench(variant: str, width: int = 320, height: int = 160, batch: int = 1, device: str = "cpu",
          precision: str = "fp32", runtime: str = "torch", repeats: int = 50, warmup: int = 10,
          threads: int | None = None, seconds: float | None = None, cuda_graphs: bool = False,
          compile_mode: str | None = None, channels_last: bool = False) -> dict:
    """Time ``variant`` and return the figures (``fps``, ``latency_ms``, ...). ``seconds`` caps the
    timed part: at least 5 repeats, then as many of ``repeats`` as fit. ``cuda_graphs`` (torch on
    CUDA) captures one call of the module in a CUDA graph and times its replay, inputs already in
    the module's precision (what a deployment that keeps its buffers does). ``compile_mode`` (one of
    :data:`COMPILE_MODES`) runs the torch module through ``torch.compile`` (kernel fusion; compiling
    happens in the warm-up), ``channels_last`` keeps module and inputs in NHWC; with either, the
    figures also give ``max_abs_diff_vs_eager``, the largest difference to the plain module's output
    on the timed inputs, so a speed-up is known to compute the same image."""
    if batch < 1 or repeats < 1 or warmup < 0:
        raise ConfigError(f"batch and repeats must be >= 1 and warmup >= 0, got {batch}, {repeats}, {warmup}")
    if compile_mode is not None and compile_mode not in COMPILE_MODES:
        raise ConfigError(f"compile mode {compile_mode!r} is not one of {', '.join(COMPILE_MODES)}")
    if cuda_graphs and compile_mode in ("reduce-overhead", "max-autotune"):
        raise ConfigError(f"torch.compile's {compile_mode} captures CUDA graphs itself: drop --cuda-graphs, or compile "
                          "with max-autotune-no-cudagraphs")
    if threads is not None:  # before building: an ONNX Runtime session takes torch's thread count
        torch.set_num_threads(threads)
    v = check_variant(variant, device, precision, runtime)
    fuser = v.build(device, precision, runtime)
    if fuser is None:
        raise ConfigError(f"variant {v.name} is not a module (the privileged clean image); there is nothing to time")
    dev = torch.device(device)
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(batch, 3, height, width, generator=g).to(dev)
    thermal = torch.rand(batch, 1, height, width, generator=g).to(dev)
    noise = torch.Generator(device=dev).manual_seed(0) if v.stochastic else None
    diff = None
    if compile_mode is not None or channels_last:
        rgb, thermal, diff = _optimised(fuser, rgb, thermal, v.name, runtime, v.stochastic, compile_mode, channels_last)

    def plain_call() -> None:
        fuser(rgb, thermal, generator=noise) if noise is not None else fuser(rgb, thermal)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    call = _graphed(fuser, rgb, thermal, v.name, dev, runtime, v.stochastic) if cuda_graphs else plain_call

    for _ in range(warmup):
        call()
    times = []
    start = time.perf_counter()
    for k in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if seconds is not None and k >= 4 and time.perf_counter() - start > seconds:
            break
    med = statistics.median(times)
    flops = v.flops(width, height)
    return {"variant": v.name, "fps": round(batch / med, 2), "latency_ms": round(1e3 * med, 3),
            "latency_ms_min": round(1e3 * min(times), 3), "latency_ms_max": round(1e3 * max(times), 3),
            "repeats": len(times), "warmup": warmup, "size": f"{width}x{height}", "batch": batch,
            "params": v.param_count(), "flops_per_frame": flops, "device": str(dev),
            "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_name(),
            "precision": precision, "runtime": getattr(fuser, "runtime", runtime), "threads": torch.get_num_threads(),
            "cuda_graphs": cuda_graphs, "compile": compile_mode, "channels_last": channels_last,
            "max_abs_diff_vs_eager": diff, "torch": torch.__version__}


def bench_policy_net(width: int = 320, height: int = 160, batch: int = 1, repeats: int = 50, warmup: int = 10,
                     threads: int | None = None) -> dict:
    """The frozen policy's perception network (batch norm folded, as the agent runs it) timed the
    same way: what a fusion module costs is best read against what the policy itself costs."""
    from agents.rgb_policy.model import fold_batch_norm, load_perception

    if threads is not None:
        torch.set_num_threads(threads)
    net = fold_batch_norm(load_perception()[0]).eval()
    x = torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        for _ in range(warmup):
            net(x)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"what": "policy perception network", "fps": round(batch / med, 2), "latency_ms": round(1e3 * med, 3),
            "size": f"{width}x{height}", "batch": batch, "threads": torch.get_num_threads(), "runtime": "torch"}


def compare(variant: str, width: int = 320, height: int = 160, batch: int = 1, device: str = "cpu",
            precision: str = "fp32", runtime: str = "torch", repeats: int = 50, warmup: int = 10,
            threads: int | None = None, teacher: str = "teacher") -> dict:
    """``variant``'s figures plus, in the same run and at the same size, the teacher ensemble's and the
    policy network's, and the ratios ``variant fps / their fps``."""
    r = bench(variant, width, height, batch, device, precision, runtime, repeats, warmup, threads)
    t = bench(teacher, width, height, batch, device, precision, "torch", max(5, repeats // 10), min(warmup, 2), threads)
    pol = bench_policy_net(width, height, batch, repeats, warmup, threads)
    r["teacher"] = {k: t[k] for k in ("variant", "fps", "latency_ms", "runtime", "threads")}
    r["policy_net"] = pol
    r["ratio_to_teacher"] = round(r["fps"] / t["fps"], 1)
    r["ratio_to_policy_net"] = round(r["fps"] / pol["fps"], 2)
    return r


def _optimised(fuser, rgb: torch.Tensor, thermal: torch.Tensor, name: str, runtime: str, stochastic: bool,
               compile_mode: str | None, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Swap the torch module behind ``fuser`` for its NHWC and/or compiled form; return the inputs in
    the module's memory format and the largest absolute difference of its output to the plain
    module's (compiled kernels reorder sums, so a few units in the last place of FP16 are expected)."""
    if runtime != "torch" or stochastic or not hasattr(fuser, "module"):
        raise ConfigError(f"--compile and --channels-last need a deterministic torch module (variant {name}, runtime "
                          f"{runtime})")
    with torch.no_grad():
        eager = fuser(rgb, thermal).float()
    module = fuser.module
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
        rgb, thermal = rgb.contiguous(memory_format=torch.channels_last), thermal.contiguous(memory_format=torch.channels_last)
    if compile_mode is not None:
        module = torch.compile(module, mode=compile_mode, dynamic=False)
    fuser.module = module
    with torch.no_grad():
        out = fuser(rgb, thermal).float()
    return rgb, thermal, round(float((out - eager).abs().max()), 6)


def _graphed(fuser, rgb: torch.Tensor, thermal: torch.Tensor, name: str, dev: torch.device, runtime: str,
             stochastic: bool):
    """``call()`` replaying one captured call of the torch module behind ``fuser``."""
    if dev.type != "cuda" or runtime != "torch" or stochastic or not hasattr(fuser, "module"):
        raise ConfigError(f"--cuda-graphs needs a deterministic torch module on a CUDA device (variant {name}, "
                          f"device {dev}, runtime {runtime})")
    module = fuser.module
    x, t = rgb.to(fuser.dtype), thermal.to(fuser.dtype)
    side = torch.cuda.Stream(dev)
    side.wait_stream(torch.cuda.current_stream(dev))
    with torch.cuda.stream(side), torch.no_grad():
        for _ in range(3):  # warm up outside the capture (cuDNN picks its kernels here)
            module(x, t)
    torch.cuda.current_stream(dev).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        module(x, t)

    def call() -> None:
        graph.replay()
        torch.cuda.synchronize(dev)

    return call
