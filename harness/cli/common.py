"""Options the running commands (eval, sweep, drive) share, and what they become."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli import args as T
from harness.sensors.registration import MAX_ROT_DEG, MAX_SHIFT_PX


def add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", required=True, help="scenario name from scenarios/ or a path to a YAML file")


def add_run_args(p: argparse.ArgumentParser) -> None:
    """Agent, calibration, latency, executor, watchdog and resume: how each route is run."""
    from harness.runner.executors import DEFAULT_ROUTE_TIMEOUT_S, DEFAULT_STEP_TIMEOUT_S

    p.add_argument("--agent", default="rgb_policy", help="rgb_policy (the frozen RGB policy, default) or expert")
    p.add_argument("--checkpoint", default="", help="the rgb_policy's weights: a perception.pt or its folder "
                   "(default: the committed ones)")
    p.add_argument("--workers", type=T.positive_int, default=1, help="parallel simulators (default 1)")
    p.add_argument("--executor", choices=("local", "ray"), default="local", help="local processes (default) or Ray")
    p.add_argument("--ray-address", default=None,
                   help="Ray cluster address for ray.init, with --executor ray (default: $RAY_ADDRESS or a local Ray)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out: finished routes are kept, not rerun")
    p.add_argument("--reuse", action="append", default=[], metavar="FOLDER",
                   help="an earlier run's --out (e.g. a committed results/reference folder) whose finished route runs "
                   "with the same job key are copied in instead of driven; repeat for several folders")
    p.add_argument("--latency", default="none", help="none (default): the world waits for the fusion module; "
                   "measured: it keeps moving for the module's measured time per frame; or a latency in ms")
    p.add_argument("--misalign-px", type=T.misalign_px, nargs=2, default=(0.0, 0.0), metavar=("DX", "DY"),
                   help=f"thermal-to-RGB registration error [px], each within [-{MAX_SHIFT_PX:g}, {MAX_SHIFT_PX:g}]")
    p.add_argument("--misalign-deg", type=T.misalign_deg, default=0.0,
                   help=f"registration error, in-plane rotation [deg], within [-{MAX_ROT_DEG:g}, {MAX_ROT_DEG:g}]")
    p.add_argument("--max-steps", type=T.positive_int, default=None, help="cap per route [20 Hz steps]")
    p.add_argument("--retries", type=T.nonneg_int, default=2, help="attempts after a failure before quarantine (default 2)")
    p.add_argument("--step-timeout", type=T.positive_float, default=DEFAULT_STEP_TIMEOUT_S,
                   help=f"watchdog: seconds without a simulation step before a worker counts as hung "
                   f"(default {DEFAULT_STEP_TIMEOUT_S:g})")
    p.add_argument("--route-timeout", type=T.positive_float, default=DEFAULT_ROUTE_TIMEOUT_S,
                   help=f"wall-clock seconds per route (default {DEFAULT_ROUTE_TIMEOUT_S:g})")
    add_fusion_target(p)
    add_backend(p)
    p.add_argument("--gpus-per-worker", type=T.within(0.0, 8.0, ""), default=0.0,
                   help="with --executor ray: the share of a GPU each actor asks Ray for (e.g. 0.5 with --device cuda)")


def add_fusion_target(p: argparse.ArgumentParser) -> None:
    """Where and how fusion modules run (these enter the job key when not the defaults)."""
    p.add_argument("--device", default="cpu", help="where fusion modules run: cpu (default), cuda or cuda:N")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default="fp32",
                   help="fusion modules' precision (default fp32)")
    p.add_argument("--runtime", choices=("torch", "onnx", "tensorrt"), default="torch",
                   help="torch (default), onnx (ONNX Runtime; torch modules are exported first) or tensorrt (optional)")


def add_backend(p: argparse.ArgumentParser) -> None:
    """The simulator (enters the job key when not embedded) and where a CARLA server is."""
    from harness.backends.carla.server import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_TIMEOUT_S, DEFAULT_TM_PORT
    from harness.backends.registry import BACKENDS, DEFAULT_BACKEND

    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                   help="the simulator: embedded (default; no server, no GPU) or carla (a CARLA 0.9.16 server)")
    p.add_argument("--carla-host", default=DEFAULT_HOST, help=f"CARLA server host (default {DEFAULT_HOST})")
    p.add_argument("--carla-port", type=T.positive_int, default=DEFAULT_PORT,
                   help=f"CARLA RPC port of worker 0; worker i adds 10 x i (default {DEFAULT_PORT})")
    p.add_argument("--carla-tm-port", type=T.positive_int, default=DEFAULT_TM_PORT,
                   help=f"traffic-manager port of worker 0 (default {DEFAULT_TM_PORT})")
    p.add_argument("--carla-timeout", type=T.positive_float, default=DEFAULT_TIMEOUT_S,
                   help=f"seconds the client waits for the server (default {DEFAULT_TIMEOUT_S:g})")


def carla_server(args):
    """The ServerSpec of the --carla-* options (None for the embedded backend)."""
    from harness.backends.carla.server import ServerSpec

    if getattr(args, "backend", "embedded") != "carla":
        return None
    return ServerSpec(host=args.carla_host, port=args.carla_port, tm_port=args.carla_tm_port, timeout_s=args.carla_timeout)


def fusion_target(args) -> dict:
    """Where fusion modules run and on which simulator (the fields of EvalRequest they fill)."""
    return {"device": args.device, "precision": args.precision, "runtime": args.runtime,
            "backend": getattr(args, "backend", "embedded")}


def calibration(args):
    from harness.sensors.registration import Calibration

    return Calibration(dx_px=args.misalign_px[0], dy_px=args.misalign_px[1], rot_deg=args.misalign_deg)


def run_options(args):
    from harness.runner.evaluate import RunOptions

    return RunOptions(workers=args.workers, executor=args.executor, ray_address=args.ray_address, retries=args.retries,
                      step_timeout_s=args.step_timeout, route_timeout_s=args.route_timeout,
                      gpus_per_worker=args.gpus_per_worker, carla=carla_server(args), reuse=tuple(args.reuse))


def stats_dict(stats) -> dict:
    return {"planned": stats.planned, "skipped": stats.skipped, "reused": stats.reused, "finished": stats.finished,
            "quarantined": stats.quarantined, "retried": stats.retried, "wall_s": round(stats.wall_s, 1),
            "failures": stats.failures}


def print_summary(summ: dict, out: Path) -> None:
    for v, s in summ["variants"].items():
        d = s.get("vs_rgb", {}).get("DS")
        diff = f"  vs rgb {d['mean_diff']:+.1f} [{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}]" if d else ""
        print(f"{v:>14}: DS {s['DS']:5.1f} [{s['DS_ci'][0]:.1f}, {s['DS_ci'][1]:.1f}]  RC {s['RC']:5.1f}  IS {s['IS']:.3f}{diff}",
              file=sys.stderr)
    print(f"report: {out / 'report.md'}", file=sys.stderr)
