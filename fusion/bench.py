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


def bench(variant: str, width: int = 320, height: int = 160, batch: int = 1, device: str = "cpu",
          precision: str = "fp32", runtime: str = "torch", repeats: int = 50, warmup: int = 10,
          threads: int | None = None, seconds: float | None = None) -> dict:
    """Time ``variant`` and return the figures (``fps``, ``latency_ms``, ...). ``seconds`` caps the
    timed part: at least 5 repeats, then as many of ``repeats`` as fit."""
    if batch < 1 or repeats < 1 or warmup < 0:
        raise ConfigError(f"batch and repeats must be >= 1 and warmup >= 0, got {batch}, {repeats}, {warmup}")
    v = check_variant(variant, device, precision, runtime)
    fuser = v.build(device, precision, runtime)
    if fuser is None:
        raise ConfigError(f"variant {v.name} is not a module (the privileged clean image); there is nothing to time")
    if threads is not None:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(batch, 3, height, width, generator=g).to(dev)
    thermal = torch.rand(batch, 1, height, width, generator=g).to(dev)
    noise = torch.Generator(device=dev).manual_seed(0) if v.stochastic else None

    def call() -> None:
        fuser(rgb, thermal, generator=noise) if noise is not None else fuser(rgb, thermal)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

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
            "torch": torch.__version__}
