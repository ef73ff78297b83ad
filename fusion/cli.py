"""``python -m fusion``: list, fuse, score and time fusion variants, outside the closed loop.

- ``list``: every registered variant, what it needs and what it costs;
- ``fuse --variant V --ir DIR --vis DIR --out DIR``: fuse folders of registered infrared/visible
  pairs, file names kept;
- ``metrics --ir DIR --vis DIR --fused DIR``: the image-fusion metrics as published tables compute
  them (:mod:`fusion.metrics`), means and ``--per-image CSV``;
- ``bench --variant V --size WxH``: frames per second (:mod:`fusion.bench`);
- ``perception --scenario S --variants a,b``: what the frozen policy's network makes of each
  variant's fused frames, against ground truth (:mod:`fusion.perception`);
- ``cues --scenario S --variants a,b``: whether the policy stops at lights for the lamps or for the
  scene around them, and which of the two a variant's images lack (:mod:`fusion.cues`);
- ``ensemble --scenario S``: the diffusion teacher's K samples on the probe's frames: seconds per
  frame, where its pixel variance is, a picture grid (:mod:`fusion.teacher.analysis`).

Every command that measures prints, with ``--json``, one final JSON line; errors the user can fix
print one line ``error: ...`` and exit with status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from harness.cli import args as T
from harness.errors import ConfigError


def _target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default="fp32", help="default fp32")
    p.add_argument("--runtime", choices=("torch", "onnx", "tensorrt"), default="torch", help="default torch")


def build_parser() -> argparse.ArgumentParser:
    p = T.Parser(prog="python -m fusion", description="Fusion variants outside the closed loop: list, fuse, metrics, bench.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=T.Parser)

    ls = sub.add_parser("list", help="every registered variant: what it needs, its parameters and cost")
    ls.add_argument("--size", type=T.size, default=(320, 160), help="frame size for the cost column (default 320x160)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=cmd_list)

    f = sub.add_parser("fuse", help="fuse folders of infrared/visible pairs (paired by file name) into --out")
    f.add_argument("--variant", required=True, help="a registered name (with parameters), py:module:Name or onnx:file")
    f.add_argument("--ir", required=True, type=Path, help="folder of infrared images (grey)")
    f.add_argument("--vis", required=True, type=Path, help="folder of visible images (colour or grey), same names and sizes")
    f.add_argument("--out", required=True, type=T.out_folder, help="output folder (new or empty): the fused images, same names")
    f.add_argument("--png", action="store_true", help="write PNG (lossless) under the same stems instead of each visible "
                   "file's own format (JPEG is written at quality 100)")
    _target(f)
    f.add_argument("--json", action="store_true")
    f.set_defaults(run=cmd_fuse)

    m = sub.add_parser("metrics", help="image-fusion metrics over folders (the published tables' conventions)")
    m.add_argument("--ir", required=True, type=Path)
    m.add_argument("--vis", required=True, type=Path)
    m.add_argument("--fused", required=True, type=Path, help="fused images, named as their sources (any image format)")
    m.add_argument("--metrics", type=T.names, default=None, help="comma-separated (default: the published 13; "
                   "python -m fusion metrics --list shows all)")
    m.add_argument("--per-image", type=T.out_file, default=None, metavar="CSV", help="also write one row per image")
    m.add_argument("--json", action="store_true")
    m.set_defaults(run=cmd_metrics)

    b = sub.add_parser("bench", help="frames per second of a variant (median of repeats after warm-up)")
    b.add_argument("--variant", required=True)
    b.add_argument("--size", type=T.size, default=(320, 160), help="WxH (default 320x160)")
    b.add_argument("--batch", type=T.positive_int, default=1)
    b.add_argument("--repeats", type=T.positive_int, default=50)
    b.add_argument("--warmup", type=T.nonneg_int, default=10)
    b.add_argument("--threads", type=T.positive_int, default=None, help="torch CPU threads (default: torch's own)")
    b.add_argument("--cuda-graphs", action="store_true", help="torch on CUDA: time the replay of one captured call")
    b.add_argument("--compile", dest="compile_mode", default=None, metavar="MODE",
                   help="run the torch module through torch.compile in MODE (default, max-autotune-no-cudagraphs, "
                   "reduce-overhead or max-autotune; kernel fusion, compiled in the warm-up); the figures give the "
                   "largest difference to the plain module's output")
    b.add_argument("--channels-last", action="store_true", help="torch: module and inputs in NHWC memory format")
    b.add_argument("--compare", action="store_true", help="also time the teacher ensemble (torch, its defaults) and the "
                   "policy's perception network at the same size, and give the ratios")
    _target(b)
    b.add_argument("--json", action="store_true")
    b.set_defaults(run=cmd_bench)

    pr = sub.add_parser("perception", help="what the frozen policy's perception makes of each variant's fused frames")
    _probe_frames(pr, policy=True)
    pr.add_argument("--variants", type=T.variants, default=("rgb", "thermal", "oracle_clean"),
                    help="comma-separated (default rgb,thermal,oracle_clean)")
    pr.add_argument("--out", type=T.out_folder, default=None, help="also write perception.json and a picture per variant here")
    pr.set_defaults(run=cmd_perception)

    cu = sub.add_parser("cues", help="what makes the frozen policy stop at a light: the lamps or the scene around "
                        "them, on the perception probe's frames (clean images edited, variants' images swapped)")
    _probe_frames(cu, policy=True)
    cu.add_argument("--variants", type=T.variants, default=("fusionproxy",), help="comma-separated (default fusionproxy)")
    cu.add_argument("--near", type=float, default=50.0, help="frames whose nearest traffic light is closer than this "
                    "[m] (default 50)")
    cu.add_argument("--out", type=T.out_folder, default=None, help="also write cues.json and cues.md here")
    cu.set_defaults(run=cmd_cues)

    en = sub.add_parser("ensemble", help="the diffusion teacher's K samples on the perception probe's frames: "
                        "seconds per frame, pixel variance by region, a picture grid")
    _probe_frames(en, policy=False)
    en.add_argument("--k", type=T.positive_int, default=None, help="samples per frame (default: the teacher's, 8)")
    en.add_argument("--steps", type=T.positive_int, default=None, help="DDIM steps per sample (default: the teacher's, 4)")
    en.add_argument("--weights", type=T.in_file, default=None, help="teacher weights (default: the committed ones)")
    en.add_argument("--out", type=T.out_folder, default=None, help="also write the picture grid here")
    en.add_argument("--threads", type=T.positive_int, default=None, help="torch CPU threads (default: torch's own)")
    en.set_defaults(run=cmd_ensemble)
    return p


def _probe_frames(sub: argparse.ArgumentParser, policy: bool) -> None:
    """The arguments of the commands that read the perception probe's frames (``perception``, ``cues``,
    ``ensemble``): which frames, their cache, ``--json``; with ``policy``, the policy's weights and the device."""
    sub.add_argument("--scenario", required=True, help="scenario name from scenarios/ or a path to a YAML file")
    sub.add_argument("--frames", type=T.positive_int, default=200, help="frames over the held-out routes (default 200)")
    sub.add_argument("--every", type=T.positive_int, default=10, help="keep every N-th 20 Hz step (default 10)")
    sub.add_argument("--cache", type=T.out_folder, default=Path("data/perception"), help="frame cache (default data/perception)")
    if policy:
        sub.add_argument("--checkpoint", default=None, help="the policy's weights (default: the committed ones)")
        sub.add_argument("--device", default="cpu", help="where fusion modules run (default cpu)")
    sub.add_argument("--json", action="store_true")


def cmd_list(args) -> dict:
    from fusion.registry import VARIANTS, describe

    w, h = args.size
    rows = [describe(v, w, h) for v in VARIANTS.values()]
    for r in rows:
        needs = "+".join(k for k, on in (("rgb", True), ("thermal", r["needs_thermal"]), ("clean", r["needs_clean"])) if on)
        params = ",".join(f"{k}={v}" if v != "" else f"{k}=PATH (default: the committed file)"
                          for k, v in r["params"].items()) or "-"
        print(f"{r['name']:>14}  needs {needs:<12} {r['parameters']:>9,} weights  {r['cost'] or '-'}\n"
              f"{'':>16}{r['description']}\n{'':>16}parameters: {params}", file=sys.stderr)
    print("also: py:package.module:Name (your nn.Module or function), onnx:path/to/model.onnx", file=sys.stderr)
    return {"variants": rows}


def cmd_fuse(args) -> dict:
    from PIL import Image
    from tqdm import tqdm

    from fusion.io import fuse_images, paired_folders, read_image
    from fusion.registry import check_variant

    pairs = paired_folders({"ir": args.ir, "vis": args.vis})  # everything checked before anything is written
    v = check_variant(args.variant, args.device, args.precision, args.runtime)
    fuser = v.build(args.device, args.precision, args.runtime)
    if fuser is None:
        raise ConfigError(f"variant {v.name} needs the privileged clean image; it cannot fuse files")
    if args.out.exists() and any(args.out.iterdir()):
        raise ConfigError(f"--out {args.out} is not empty; choose a new or empty folder")
    names = []
    for name, paths in tqdm(pairs, desc=f"fuse {v.name}", unit="pair", file=sys.stderr):
        fused = fuse_images(fuser, read_image(paths["vis"], "RGB"), read_image(paths["ir"], "L"))
        target = args.out / (f"{name}.png" if args.png else paths["vis"].name)
        args.out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(fused).save(target, **({"quality": 100, "subsampling": 0}
                                              if target.suffix.lower() in (".jpg", ".jpeg") else {}))
        names.append(target.name)
    print(f"wrote {len(names)} fused images to {args.out}", file=sys.stderr)
    return {"variant": v.name, "out": str(args.out), "n_images": len(names), "files": names}


def cmd_metrics(args) -> dict:
    import numpy as np
    from tqdm import tqdm

    from fusion import metrics as M
    from fusion.io import paired_folders, read_image

    names = tuple(args.metrics) if args.metrics else M.PUBLISHED
    unknown = [n for n in names if n not in M.METRICS]
    if unknown:
        raise ConfigError(f"unknown metrics {unknown}; known: {', '.join(M.METRICS)}")
    pairs = paired_folders({"ir": args.ir, "vis": args.vis, "fused": args.fused})
    rows = []
    for name, paths in tqdm(pairs, desc="metrics", unit="image", file=sys.stderr):
        vals = M.evaluate(read_image(paths["ir"], "L"), read_image(paths["vis"], "RGB"), read_image(paths["fused"], "RGB"),
                          metrics=names)
        rows.append({"image": name, **vals})
    means = {n: float(np.mean([r[n] for r in rows])) for n in names}
    if args.per_image is not None:
        import pandas as pd

        args.per_image.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(args.per_image, index=False)
    for n in names:
        print(f"{n:>18}  {means[n]:.4f}   {M.METRICS[n].description}", file=sys.stderr)
    return {"n_images": len(rows), **{n: round(means[n], 6) for n in names}}


def cmd_bench(args) -> dict:
    from fusion.bench import bench, compare

    w, h = args.size
    if args.compare:
        if args.cuda_graphs or args.compile_mode or args.channels_last:
            raise ConfigError("--compare with --cuda-graphs, --compile or --channels-last: time them in two runs")
        r = compare(args.variant, w, h, args.batch, args.device, args.precision, args.runtime, args.repeats, args.warmup,
                    args.threads)
        print(f"{r['variant']}: {r['fps']:.1f} frames/s; {r['ratio_to_teacher']}x the teacher ({r['teacher']['fps']:.2f}/s), "
              f"{r['ratio_to_policy_net']}x the policy network ({r['policy_net']['fps']:.1f}/s)", file=sys.stderr)
        return r
    r = bench(args.variant, w, h, args.batch, args.device, args.precision, args.runtime, args.repeats, args.warmup, args.threads,
              cuda_graphs=args.cuda_graphs, compile_mode=args.compile_mode, channels_last=args.channels_last)
    how = [("CUDA graphs", r["cuda_graphs"]), (f"compiled ({r['compile']})", r["compile"]), ("channels last", r["channels_last"])]
    how = "".join(f", {label}" for label, on in how if on)
    print(f"{r['variant']}: {r['fps']:.1f} frames/s, {r['latency_ms']:.2f} ms per batch of {r['batch']} at {r['size']} "
          f"({r['device_name']}, {r['threads']} threads, {r['precision']}, {r['runtime']}{how})", file=sys.stderr)
    if r["max_abs_diff_vs_eager"] is not None:
        print(f"  largest difference to the plain module's output: {r['max_abs_diff_vs_eager']:.2e}", file=sys.stderr)
    return r


def cmd_perception(args) -> dict:
    from fusion.perception import probe

    r = probe(args.scenario, list(args.variants), args.frames, args.every, args.device, args.out, args.cache,
              args.checkpoint)
    print(f"{'variant':>16} {'vehicle IoU':>11} {'ped IoU':>8} {'ped recall':>10} {'phantom':>8} {'light acc':>9} "
          f"{'balanced':>8}  frames", file=sys.stderr)
    for name, v in r["variants"].items():
        print(f"{name:>16} {v['vehicle_iou']:>11.3f} {v['pedestrian_iou']:>8.3f} {v['pedestrian_recall']:>10.3f} "
              f"{v['phantom_rate']:>8.4f} {v['light_acc']:>9.3f} {v['light_bal_acc']:>8.3f}  {v['n_frames']}",
              file=sys.stderr)
    stop = next(iter(r["variants"].values()), {}).get("light_stop_share", math.nan)
    print(f"lamp frames whose truth is stop: {stop:.3f} (always-stop scores this light acc, always-go one minus it; "
          "both score 0.5 balanced)", file=sys.stderr)
    return r


def cmd_cues(args) -> dict:
    from fusion.cues import cues, table

    if args.near <= 0:
        raise ConfigError(f"--near must be > 0 m, got {args.near}")
    r = cues(args.scenario, list(args.variants), args.frames, args.every, args.near, args.device, args.cache,
             args.checkpoint, args.out)
    print(table(r), file=sys.stderr)
    if args.out is not None:
        (args.out / "cues.md").write_text(table(r) + "\n")
    return r


def cmd_ensemble(args) -> dict:
    import torch

    from fusion.teacher.analysis import ensemble_report

    if args.threads:
        torch.set_num_threads(args.threads)
    r = ensemble_report(args.scenario, args.frames, args.every, args.k, args.steps, args.out, args.cache, args.weights)
    print(f"teacher k={r['k']} steps={r['steps']}: {r['seconds_per_frame']:.2f} s/frame ({r['threads']} threads); "
          f"pixel variance where fog hides a thermally flat scene {r['var_hidden_flat']:.5f}, on salient people and "
          f"vehicles {r['var_salient']:.5f} (ratio {r['ratio']:.2f})", file=sys.stderr)
    return r


def main(argv: list[str] | None = None) -> int:
    return T.run_main(build_parser(), argv)
