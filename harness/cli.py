"""``python -m harness``: the harness's command line.

Every command that measures prints, with ``--json``, one final JSON line with its figures.
Errors the user can fix print one line ``error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from harness.errors import HarnessError


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``error: ...``, exit 2), like every other error of the CLI."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x160, got {text!r}") from None
    if not (8 <= w <= 4096 and 8 <= h <= 4096):
        raise argparse.ArgumentTypeError(f"each side must be within 8..4096 px, got {text!r}")
    return w, h


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m harness", description="Closed-loop RGB+thermal driving harness.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    e = sub.add_parser("eval", help="run the scenario x route x variant x seed matrix and write results, report and plots")
    _eval_args(e)
    e.add_argument("--scenario", required=True, help="scenario name from scenarios/ or a path to a YAML file")
    e.add_argument("--out", required=True, type=Path, help="output folder (created; must be new or empty unless --resume)")
    e.add_argument("--json", action="store_true", help="print a final JSON line: the summary and run statistics")

    sw = sub.add_parser("sweep", help="robustness curves: evaluate the variants at each severity along one axis")
    _eval_args(sw)
    sw.add_argument("--scenario", required=True, help="scenario name from scenarios/ or a path to a YAML file")
    sw.add_argument("--axis", required=True, choices=("fog", "sun", "misalign_px", "misalign_deg", "latency"),
                    help="fog visibility [m], sun altitude [deg], misalignment shift [px] or rotation [deg], latency [ms]")
    sw.add_argument("--values", type=_floats, default=None,
                    help="severities, comma-separated (default per axis: see README); e.g. --values 200,100,50")
    sw.add_argument("--out", required=True, type=Path, help="output folder (new or empty unless --resume)")
    sw.add_argument("--json", action="store_true", help="print a final JSON line with the curves")

    rp = sub.add_parser("report", help="rewrite records.csv, summary.json, report.md and plots of an eval or sweep folder")
    rp.add_argument("--out", required=True, type=Path, help="folder written by eval or sweep")
    rp.add_argument("--json", action="store_true")

    r = sub.add_parser("render", help="write PNGs of the RGB, thermal, clean RGB and semantic views at one step")
    r.add_argument("--scenario", required=True, help="scenario name from scenarios/ or a path to a YAML file")
    r.add_argument("--route", default=None, help="route id (default: the first route)")
    r.add_argument("--step", type=_nonneg_int, default=0, help="20 Hz steps to simulate before rendering")
    r.add_argument("--seed", type=_nonneg_int, default=0)
    r.add_argument("--size", type=_size, default=None, help="RGB camera size WxH (default: the scenario's)")
    r.add_argument("--out", required=True, type=Path, help="output folder")
    r.add_argument("--variants", default="rgb,thermal",
                   help="fusion variants to apply, each written as fused_<variant>.png (default: %(default)s)")
    r.add_argument("--json", action="store_true", help="print a final JSON line")

    b = sub.add_parser("bench-sim", help="measure simulation steps per second with both cameras and traffic")
    b.add_argument("--scenario", required=True)
    b.add_argument("--route", default=None)
    b.add_argument("--size", type=_size, default=(320, 160), help="RGB and thermal camera size WxH (default 320x160)")
    b.add_argument("--steps", type=_positive_int, default=400, help="timed steps per repeat")
    b.add_argument("--repeats", type=_positive_int, default=3)
    b.add_argument("--warmup", type=_nonneg_int, default=20)
    b.add_argument("--privileged", action="store_true",
                   help="also render the ground-truth images (clean RGB, ids, depth), as data collection does")
    b.add_argument("--json", action="store_true")

    g = sub.add_parser("routes", help="generate deterministic leaderboard route XML for a town")
    g.add_argument("--town", required=True)
    g.add_argument("--count", type=_positive_int, default=10)
    g.add_argument("--seed", type=_nonneg_int, default=0)
    g.add_argument("--min-m", type=float, default=500.0)
    g.add_argument("--max-m", type=float, default=2000.0)
    g.add_argument("--format", choices=("2.x", "1.0"), default="2.x")
    g.add_argument("--out", required=True, type=Path)

    sub.add_parser("scenarios", help="list the scenarios in scenarios/")

    d = sub.add_parser("drive", help="drive one agent (optionally behind a fusion variant) over routes and score it")
    d.add_argument("--scenario", required=True, help="scenario name from scenarios/ or a path to a YAML file")
    d.add_argument("--agent", default="rgb_policy", help="rgb_policy (default) or expert")
    d.add_argument("--variant", default=None, help="fusion variant in front of the agent (rgb, thermal, oracle_clean, ...)")
    d.add_argument("--routes", default="all", help="route ids: 0-3, 0,2,5 or all (default)")
    d.add_argument("--seed", type=_nonneg_int, default=0, help="traffic seed (default 0)")
    d.add_argument("--workers", type=_positive_int, default=1, help="parallel simulator processes")
    d.add_argument("--max-steps", type=_positive_int, default=None, help="cap per route (20 Hz steps)")
    d.add_argument("--misalign-px", type=float, nargs=2, default=(0.0, 0.0), metavar=("DX", "DY"),
                   help="thermal-to-RGB registration error in pixels")
    d.add_argument("--misalign-deg", type=float, default=0.0, help="registration error, in-plane rotation [deg]")
    d.add_argument("--clips", type=Path, default=None, metavar="DIR",
                   help="write infraction clips (collisions, red-light runs, 60-s stand-stills; see eval --clips) into DIR")
    d.add_argument("--checkpoint", default="", help="the rgb_policy's weights: a perception.pt or its folder (default: the "
                   "committed ones); the JSON line names the weights by their hash either way")
    d.add_argument("--json", action="store_true", help="print a final JSON line with per-route scores and means")
    return p


def _float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _positive_float(text: str) -> float:
    v = _float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 0 such as 0,1,2, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 0 such as 0,1,2, got {text!r}")
    return seeds


def _floats(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(_float(v) for v in text.split(",") if v.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 200,100,50, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 200,100,50, got {text!r}")
    return vals


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names such as rgb,thermal, got {text!r}")
    return names


def _eval_args(e: argparse.ArgumentParser) -> None:
    """Options eval and sweep share."""
    from harness.runner.evaluate import DEFAULT_VARIANTS
    from harness.runner.executors import DEFAULT_ROUTE_TIMEOUT_S, DEFAULT_STEP_TIMEOUT_S

    e.add_argument("--variants", type=_names, default=DEFAULT_VARIANTS,
                   help=f"fusion variants, comma-separated (default {','.join(DEFAULT_VARIANTS)}); 'none': the agent alone")
    e.add_argument("--routes", default="all", help="route ids: 0-3, 0,2,5 or all (default: the scenario's route_ids)")
    e.add_argument("--seeds", type=_seeds, default=None, help="traffic seeds, e.g. 0,1 (default: the scenario's seeds)")
    e.add_argument("--agent", default="rgb_policy", help="rgb_policy (the frozen RGB policy, default) or expert")
    e.add_argument("--checkpoint", default="", help="the agent's weights file (default: the committed ones)")
    e.add_argument("--workers", type=_positive_int, default=1, help="parallel simulators (default 1)")
    e.add_argument("--executor", choices=("local", "ray"), default="local", help="local processes (default) or Ray")
    e.add_argument("--ray-address", default=None, help="Ray cluster address for ray.init (default: $RAY_ADDRESS or a local Ray)")
    e.add_argument("--resume", action="store_true", help="continue the run in --out: finished routes are kept, not rerun")
    e.add_argument("--latency", default="none", help="none (default): the world waits for the fusion module; "
                   "measured: it keeps moving for the module's measured time per frame; or a latency in ms")
    e.add_argument("--misalign-px", type=_float, nargs=2, default=(0.0, 0.0), metavar=("DX", "DY"),
                   help="thermal-to-RGB registration error [px]")
    e.add_argument("--misalign-deg", type=_float, default=0.0, help="registration error, in-plane rotation [deg]")
    e.add_argument("--rules", choices=("2.x", "1.0"), default="2.x", help="leaderboard scoring version (default 2.x)")
    e.add_argument("--max-steps", type=_positive_int, default=None, help="cap per route [20 Hz steps]")
    e.add_argument("--retries", type=_nonneg_int, default=2, help="attempts after a failure before quarantine (default 2)")
    e.add_argument("--step-timeout", type=_positive_float, default=DEFAULT_STEP_TIMEOUT_S,
                   help=f"watchdog: seconds without a simulation step before a worker counts as hung (default {DEFAULT_STEP_TIMEOUT_S:g})")
    e.add_argument("--route-timeout", type=_positive_float, default=DEFAULT_ROUTE_TIMEOUT_S,
                   help=f"wall-clock seconds per route (default {DEFAULT_ROUTE_TIMEOUT_S:g})")
    e.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    e.add_argument("--clips", action="store_true", help="write an MP4 (RGB | thermal | fused | top view) around each "
                   "collision and red-light run, and a time-lapse of each 60-s stand-still, into OUT/clips (routes already recorded are not rerun for it)")
    e.add_argument("--inject-fault", default=None, metavar="KIND@STEP[*N][:ROUTES]",
                   help="for testing the harness: hang, crash or agent fault at a step of the first N attempts "
                   "(default 1) of the given routes (default all), e.g. hang@40:1")


def _request(args):
    from harness.runner.evaluate import EvalRequest
    from harness.runner.jobs import Fault
    from harness.sensors.registration import Calibration

    fault, fault_routes = None, ()
    if args.inject_fault:
        spec, _, routes = args.inject_fault.partition(":")
        fault = Fault.parse(spec)
        fault_routes = tuple(r for r in routes.split(",") if r)
    calib = Calibration(dx_px=args.misalign_px[0], dy_px=args.misalign_px[1], rot_deg=args.misalign_deg)
    return EvalRequest(scenario=args.scenario, variants=tuple(args.variants), routes=args.routes, seeds=args.seeds,
                       agent=args.agent, checkpoint=args.checkpoint, calibration=calib, latency=args.latency,
                       rules=args.rules, max_steps=args.max_steps, fault=fault, fault_routes=fault_routes,
                       clips=args.clips)


def _options(args):
    from harness.runner.evaluate import RunOptions

    return RunOptions(workers=args.workers, executor=args.executor, ray_address=args.ray_address, retries=args.retries,
                      step_timeout_s=args.step_timeout, route_timeout_s=args.route_timeout)


def _stats_dict(stats) -> dict:
    return {"planned": stats.planned, "skipped": stats.skipped, "finished": stats.finished,
            "quarantined": stats.quarantined, "retried": stats.retried, "wall_s": round(stats.wall_s, 1),
            "failures": stats.failures}


def _print_summary(summ: dict, out: Path) -> None:
    for v, s in summ["variants"].items():
        d = s.get("vs_rgb", {}).get("DS")
        diff = f"  vs rgb {d['mean_diff']:+.1f} [{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}]" if d else ""
        print(f"{v:>14}: DS {s['DS']:5.1f} [{s['DS_ci'][0]:.1f}, {s['DS_ci'][1]:.1f}]  RC {s['RC']:5.1f}  IS {s['IS']:.3f}{diff}",
              file=sys.stderr)
    print(f"report: {out / 'report.md'}", file=sys.stderr)


def cmd_eval(args) -> dict:
    from harness.runner.evaluate import evaluate

    summ, stats = evaluate(_request(args), args.out, _options(args), resume=args.resume, plots=not args.no_plots)
    _print_summary(summ, args.out)
    return {"out": str(args.out), **summ, "run": _stats_dict(stats)}


def cmd_sweep(args) -> dict:
    from harness.runner.sweep import sweep

    result, stats = sweep(_request(args), args.axis, args.values, args.out, _options(args), resume=args.resume)
    print(f"curves: {args.out / 'sweep.csv'}; plots: {', '.join(result['figures'])}; report: {args.out / 'report.md'}",
          file=sys.stderr)
    return {**result, "run": _stats_dict(stats)}


def cmd_report(args) -> dict:
    from harness.report.outputs import write_outputs
    from harness.runner.evaluate import jobs_from_run
    from harness.runner.store import ResultStore

    store = ResultStore(args.out)
    run = store.read_run()
    if run.get("kind") == "sweep":
        from harness.runner.sweep import write_sweep_outputs

        return write_sweep_outputs(args.out, run, store)
    jobs, keys = jobs_from_run(run)
    summ = write_outputs(args.out, jobs, keys, store)
    _print_summary(summ, args.out)
    return {"out": str(args.out), **summ}


def _backend(scenario_name: str, size=None, privileged: bool = True):
    from harness.backends.embedded import EmbeddedBackend
    from harness.scenario import load_scenario

    scenario = load_scenario(scenario_name)
    if size is not None:
        import dataclasses

        scenario = dataclasses.replace(scenario, rig=scenario.rig.with_sizes(size, size))
    return EmbeddedBackend(scenario, privileged=privileged)


def cmd_render(args) -> dict:
    from PIL import Image
    from tqdm import tqdm

    from fusion.registry import get_variant
    from harness.semantics import colorize
    from harness.world.autopilot import lane_keeper

    variants = [get_variant(v.strip()) for v in args.variants.split(",") if v.strip()]
    be = _backend(args.scenario, args.size)
    with be:
        route_id = args.route or be.route_ids[0]
        be.load(route_id, args.seed)
        frame = be.reset()
        drive = lane_keeper(be)
        for _ in tqdm(range(args.step), desc="simulating", unit="step", disable=args.step < 50, file=sys.stderr):
            frame, _ = be.step(drive(frame))
        args.out.mkdir(parents=True, exist_ok=True)
        pv = frame.privileged
        Image.fromarray(frame.rgb).save(args.out / "rgb.png")
        Image.fromarray(frame.thermal).save(args.out / "thermal.png")
        Image.fromarray(pv.clean_rgb).save(args.out / "clean_rgb.png")
        Image.fromarray(colorize(pv.semantic)).save(args.out / "semantic.png")
        np.save(args.out / "semantic_ids.npy", pv.semantic.astype(np.uint8))
        np.save(args.out / "thermal_kelvin.npy", frame.thermal_kelvin.astype(np.float32))
        fused = _write_fused(frame, be.scenario.rig, variants, args.out)
        return {"fused": fused, "out": str(args.out), "scenario": be.scenario.name, "route": route_id, "step": args.step,
                "frame": frame.frame, "ego_pose": list(pv.ego_pose), "renderer": be.renderer.info["GL_RENDERER"]}


def _write_fused(frame, rig, variants, out: Path) -> list[str]:
    """thermal_registered.png (thermal warped into the RGB view) and fused_<variant>.png."""
    import torch
    from PIL import Image

    from harness.sensors.registration import Registrar

    registered = Registrar(rig.rgb, rig.thermal.camera)(frame.thermal)
    Image.fromarray(registered).save(out / "thermal_registered.png")
    rgb = torch.from_numpy(frame.rgb).permute(2, 0, 1)[None].float() / 255.0
    th = torch.from_numpy(registered)[None, None].float() / 255.0
    written = []
    for v in variants:
        if v.build is None:  # oracle_clean is the clean image, already written
            continue
        with torch.inference_mode():
            img = v.build().eval()(rgb, th)[0].clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(img).save(out / f"fused_{v.name}.png")
        written.append(f"fused_{v.name}.png")
    return written


def cmd_bench_sim(args) -> dict:
    from tqdm import tqdm

    be = _backend(args.scenario, args.size, privileged=args.privileged)
    from harness.world.autopilot import lane_keeper

    with be:
        route_id = args.route or be.route_ids[0]
        rates, cpu, parts = [], [], []  # steps/s; CPU ms per step over all threads (llvmpipe rasterises on its own)
        for rep in range(args.repeats):
            be.load(route_id, rep)
            frame = be.reset()
            drive = lane_keeper(be)
            for _ in range(args.warmup):
                frame, _ = be.step(drive(frame))
            be.reset_timing()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in tqdm(range(args.steps), desc=f"repeat {rep + 1}/{args.repeats}", unit="step", file=sys.stderr, leave=False):
                frame, _ = be.step(drive(frame))
            wall = time.perf_counter() - t0
            rates.append(args.steps / wall)
            cpu.append(1000.0 * (time.process_time() - c0) / args.steps)
            ms = {k: 1000.0 * v / args.steps for k, v in be.part_s.items()}
            parts.append({**ms, "rest": 1000.0 * wall / args.steps - sum(ms.values())})  # the driver, tqdm, Python glue
        w = be.world
        return {"steps_per_s": round(statistics.median(rates), 2), "steps_per_s_all": [round(r, 2) for r in rates],
                "cpu_ms_per_step": round(statistics.median(cpu), 2),
                "ms_per_step_by_part": {k: round(statistics.median(p[k] for p in parts), 2) for k in parts[0]},
                "size": f"{args.size[0]}x{args.size[1]}", "scenario": be.scenario.name, "route": route_id,
                "steps": args.steps, "repeats": args.repeats, "vehicles": int(w.vehicles.n),
                "pedestrians": int(w.pedestrians.n), "privileged": args.privileged,
                "renderer": be.renderer.info["GL_RENDERER"], "gl_version": be.renderer.info["GL_VERSION"]}


def cmd_routes(args) -> dict:
    from harness.scenario import write_routes
    from harness.world.routing import generate_routes
    from harness.world.town import load_town

    town = load_town(args.town)
    routes = generate_routes(town, args.count, args.seed, args.min_m, args.max_m)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_routes(args.out, [r.to_spec() for r in routes], fmt=args.format)
    lengths = [round(r.length) for r in routes]
    print(f"wrote {len(routes)} routes of {min(lengths)}-{max(lengths)} m to {args.out}", file=sys.stderr)
    return {"out": str(args.out), "lengths_m": lengths}


def cmd_scenarios(args) -> dict:
    from harness.scenario import list_scenarios

    names = list_scenarios()
    for n in names:
        print(n)
    return {"scenarios": names}


def cmd_drive(args) -> dict:
    from tqdm import tqdm

    from harness.metrics import summarize
    from harness.metrics.attribution import penalty_by_kind
    from harness.runner.drive import DriveJob, drive, parse_routes
    from harness.runner.jobs import agent_weights_file, check_checkpoint, file_digest
    from harness.scenario import load_scenario
    from harness.sensors.registration import Calibration

    scenario = load_scenario(args.scenario)
    available = [r.id for r in scenario.load_routes()]
    if scenario.route_ids is not None:
        available = [r for r in available if r in scenario.route_ids]
    routes = parse_routes(args.routes, available)
    calib = Calibration(dx_px=args.misalign_px[0], dy_px=args.misalign_px[1], rot_deg=args.misalign_deg)
    from agents.registry import check_agent_name
    from fusion.registry import get_variant

    check_agent_name(args.agent)
    if args.variant is not None:
        get_variant(args.variant)
    check_checkpoint(args.agent, args.checkpoint)
    checkpoint = str(Path(args.checkpoint).resolve()) if args.checkpoint else ""
    weights = agent_weights_file(args.agent, checkpoint)
    weights_id = file_digest(weights)[:16] if weights is not None else None  # read before the drives, as they load it
    clips = str(args.clips.resolve()) if args.clips is not None else ""
    jobs = [DriveJob(args.scenario, args.agent, args.variant, r, args.seed, calib, args.max_steps, clips, checkpoint) for r in routes]
    rows, scores = [], {}
    bar = tqdm(total=len(jobs), desc=f"{args.agent}/{args.variant or '-'} on {scenario.name}", unit="route", file=sys.stderr)
    for job, res in drive(jobs, args.workers):
        s = res.score
        scores[(job.route_id, 0)] = s
        row = {"route": job.route_id, "DS": round(s.DS, 2), "RC": round(s.RC, 2), "IS": round(s.IS, 4), "status": s.status,
               "infractions": {k: v for k, v in s.counts().items() if v}, "penalties": penalty_by_kind(s),
               "standing_s": s.standing_s, "blocked_by": s.blocked_by, "steps": res.steps,
               "agent_ms": round(res.agent_ms, 2), **{k: round(v, 3) for k, v in res.latency_ms.items()}}
        rows.append(row)
        bar.update()
        why = f" ({s.blocked_by} ahead)" if s.blocked_by else ""
        tqdm.write(f"route {job.route_id}: DS {s.DS:.1f} RC {s.RC:.1f} IS {s.IS:.3f} {s.status}{why} {row['infractions']}", file=sys.stderr)
    bar.close()
    summary = summarize(scores, [(r, 0) for r in routes])
    return {"scenario": scenario.name, "agent": args.agent, "variant": args.variant, "seed": args.seed,
            "weights": weights_id,
            "DS": round(summary.DS, 2), "DS_ci": [round(v, 2) for v in summary.DS_ci], "RC": round(summary.RC, 2),
            "IS": round(summary.IS, 4), "infraction_counts": {k: v for k, v in summary.infraction_counts.items() if v},
            "routes": rows}


COMMANDS = {"eval": cmd_eval, "sweep": cmd_sweep, "report": cmd_report, "drive": cmd_drive, "render": cmd_render, "bench-sim": cmd_bench_sim, "routes": cmd_routes, "scenarios": cmd_scenarios}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except HarnessError as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)  # one line, whatever the message
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished routes are saved: run the same command with --resume to continue", file=sys.stderr)
        return 130
    if getattr(args, "json", False):
        print(json.dumps(result))
    return 0
