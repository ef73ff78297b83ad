"""``python -m distill``: data collection and training.

Every command that measures prints, with ``--json``, one final JSON line with its figures. Errors
the user can fix print one line ``error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.args import Parser, in_file, names, out_folder, positive_int as _positive_int, run_main, seeds, size

DEFAULT_POLICY_DATA = Path("data/policy")
DEFAULT_FUSION_DATA = Path("data/fusion")
BACKBONES = ("efficientnet_lite0", "policy")  # distill.backbone.BACKBONES (not imported here: it pulls in torch)


def _cmd_collect(args) -> dict:
    from distill.policy.data import collect, default_episodes, light_summary, load_shards

    out = {}
    for split in ("train", "val"):
        paths = collect(default_episodes(split, linger=args.linger), args.out / split, workers=args.workers, every=args.every,
                        max_steps=args.max_steps, progress=not args.json)
        out[split] = light_summary(load_shards(paths, ("light_m",))["light_m"])
    return out


def _cmd_collect_fusion(args) -> dict:
    from distill.fusion_data import collect

    return collect(args.out, workers=args.workers, every=args.every, max_steps=args.max_steps, progress=not args.json)


def _cmd_train_teacher(args) -> dict:
    import shlex
    import sys

    from distill.train_teacher import TeacherTrainConfig, train

    keys = ("steps", "batch", "crop", "lr", "seed", "threads", "val_every", "ckpt_every", "residual_scale", "warmup",
            "lamp_weight", "lamp_crops", "w_light", "light_signal")
    given = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    cfg = TeacherTrainConfig(data=str(args.data), init=str(args.init or ""), **given)
    command = "python -m distill " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return train(cfg, Path(args.out), progress=not args.json, command=command)


def _cmd_cache_ensemble(args) -> dict:
    from distill.ensemble_cache import CacheConfig, build

    cfg = CacheConfig(data=str(args.data), root=str(args.out), teacher=str(args.teacher or ""), k=args.k, steps=args.steps,
                      backbones=args.backbones, seed=args.seed, threads=args.threads,
                      every={"train": args.train_every, "val": args.val_every})
    return build(cfg, progress=not args.json)


def _cmd_train_student(args) -> dict:
    import shlex
    import sys

    from distill.train_student import StudentTrainConfig, train

    keys = ("size", "steps", "batch", "lr", "seed", "threads", "val_every", "ckpt_every", "warmup", "target", "w_pix",
            "w_feat", "pixel_temp", "routing", "tau", "backbone", "jitter", "lamp_weight", "lamp_crops", "lamp_seen",
            "w_light", "light_target", "light_signal", "w_seg", "seg_signal")
    given = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.crop is not None:
        given["crop_w"], given["crop_h"] = args.crop
    if args.no_pixel_weighting:
        given["pixel_weighting"] = False
    if args.rgb_gate:
        given["rgb_gate"] = True
    if args.seg_guard:
        given["seg_guard"] = True
    cfg = StudentTrainConfig(data=str(args.data), cache=str(args.cache or ""), **given)
    command = "python -m distill " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return train(cfg, Path(args.out), progress=not args.json, command=command)


def _cmd_ablate(args) -> dict:
    from distill.ablate import run
    from distill.train_student import StudentTrainConfig

    given = {k: getattr(args, k) for k in ("size", "steps", "seed", "threads") if getattr(args, k) is not None}
    base = StudentTrainConfig(data=str(args.data), cache=str(args.cache or ""), **given)
    table = run(base, args.out, list(args.only) if args.only else None, args.scenarios, args.frames, progress=not args.json,
                drive="" if args.drive == "none" else args.drive, drive_routes=args.drive_routes,
                drive_seeds=tuple(args.drive_seeds), workers=args.workers, jobs=args.jobs, drive_reuse=tuple(args.drive_reuse))
    return {n: {**{s: row[s]["headline"] for s in table["scenarios"]}, **({"DS": row["drive"]["DS"]} if "drive" in row else {})}
            for n, row in table["ablations"].items()}


def _cmd_export(args) -> dict:
    from distill.export import export

    return export(args.weights, args.out, args.name)


def _cmd_pareto(args) -> dict:
    from distill.pareto import run

    w, h = args.size
    t = run(args.eval, args.out or args.eval, args.runtime, args.threads, w, h, args.repeats, args.warmup, args.min_fps)
    for p in t["points"]:
        mark = " <- chosen" if p["chosen"] else (" (front)" if p["front"] else "")
        print(f"{p['size']:>3} {p['params']:>8} params {p['fps']:>8.1f} frames/s  DS {p['DS']:5.1f} "
              f"[{p['DS_ci'][0]:.1f}, {p['DS_ci'][1]:.1f}]{mark}", file=sys.stderr)
    print(t["why"], file=sys.stderr)
    return {"chosen": t["chosen"], "why": t["why"], "points": {p["size"]: {"fps": p["fps"], "DS": p["DS"]} for p in t["points"]}}


def _cmd_train_policy(args) -> dict:
    from distill.policy.train import TrainConfig, train

    given = {k: getattr(args, k) for k in ("epochs", "batch", "lr", "seed", "shadows", "shift", "light_context", "clean", "exposure_min", "threads") if getattr(args, k) is not None}
    cfg = TrainConfig(data=str(args.data), **given)
    return train(cfg, Path(args.out), progress=not args.json)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m distill", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect-policy-data", help="drive the expert on clear-day training routes and store labelled RGB frames")
    c.add_argument("--out", type=Path, default=DEFAULT_POLICY_DATA, help="folder for the .npz shards (default: %(default)s)")
    c.add_argument("--workers", type=_positive_int, default=2, help="parallel processes (default: %(default)s)")
    c.add_argument("--every", type=_positive_int, default=5, help="keep every N-th 20 Hz frame (default: %(default)s)")
    c.add_argument("--max-steps", type=_positive_int, default=1200, help="steps per episode (default: %(default)s)")
    c.add_argument("--linger", action="store_true", help="the expert keeps standing at the stop line for 2-8 s after "
                   "each red it waited at turns green, so standing at a line is not always stop (see distill.policy.data.Linger)")
    c.add_argument("--json", action="store_true", help="print a final JSON line with the dataset figures")
    c.set_defaults(run=_cmd_collect)
    f = sub.add_parser("collect-fusion-data", help="drive the expert on training routes at night, dusk and in fog and store "
                       "RGB, thermal (raw and registered), the clean clear-noon target, semantics and depth")
    f.add_argument("--out", type=out_folder, default=DEFAULT_FUSION_DATA, help="folder for the shards and manifest.json (default: %(default)s)")
    f.add_argument("--workers", type=_positive_int, default=2, help="parallel processes (default: %(default)s)")
    f.add_argument("--every", type=_positive_int, default=8, help="keep every N-th 20 Hz frame (default: %(default)s)")
    f.add_argument("--max-steps", type=_positive_int, default=1200, help="steps per episode (default: %(default)s)")
    f.add_argument("--json", action="store_true", help="print a final JSON line with the manifest")
    f.set_defaults(run=_cmd_collect_fusion)
    t = sub.add_parser("train-policy", help="train the frozen RGB policy's perception network")
    t.add_argument("--data", type=Path, default=DEFAULT_POLICY_DATA, help="folder from collect-policy-data (default: %(default)s)")
    t.add_argument("--out", type=Path, default=Path("agents/rgb_policy/weights"), help="weights + manifest folder (default: %(default)s)")
    # defaults live in distill.policy.train.TrainConfig (imported lazily: it pulls in torch)
    t.add_argument("--epochs", type=_positive_int, help="(default: TrainConfig.epochs, 8)")
    t.add_argument("--batch", type=_positive_int, help="(default: TrainConfig.batch, 16)")
    t.add_argument("--lr", type=float, help="peak learning rate, one-cycle (default: TrainConfig.lr, 3e-3)")
    t.add_argument("--seed", type=int, help="(default: TrainConfig.seed, 0)")
    t.add_argument("--exposure-min", type=float, help="lowest exposure factor of the brightness jitter, "
                   "uniform up to 1.25 (default: TrainConfig.exposure_min, 0.75; see distill.policy.augment.augment)")
    t.add_argument("--shadows", type=float, help="share of frames with cast shadows on the road, 0-1 "
                   "(default: TrainConfig.shadows, 0; see distill.policy.augment.augment)")
    t.add_argument("--shift", type=float, help="share of frames shifted sideways by 2-20 px with their labels, 0-1 "
                   "(default: TrainConfig.shift, 0.7; see distill.policy.augment.shift_frames)")
    t.add_argument("--clean", type=float, help="share of frames replaced by their privileged clean image (clear noon, no "
                   "sensor noise), 0-1 (default: TrainConfig.clean, 0; see distill.policy.augment.use_clean)")
    t.add_argument("--light-context", choices=("local", "wide"), help="what a cell of the light map sees: 114 px around it "
                   "or 34 px (default: TrainConfig.light_context, wide; see agents.rgb_policy.model)")
    t.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: TrainConfig.threads, 2)")
    t.add_argument("--json", action="store_true", help="print a final JSON line with the validation figures")
    t.set_defaults(run=_cmd_train_policy)
    d = sub.add_parser("train-teacher", help="train the diffusion fusion teacher (regression + residual denoiser) "
                       "on the fusion data; resumes from OUT/ckpt.pt")
    d.add_argument("--data", type=Path, default=DEFAULT_FUSION_DATA, help="folder from collect-fusion-data (default: %(default)s)")
    d.add_argument("--out", type=out_folder, default=Path("runs/teacher"), help="checkpoint, log, validation grids, "
                   "teacher.pt and manifest.json (default: %(default)s)")
    # defaults live in distill.train_teacher.TeacherTrainConfig (imported lazily: it pulls in torch)
    d.add_argument("--steps", type=_positive_int, help="optimiser steps (default: TeacherTrainConfig.steps, 3000)")
    d.add_argument("--batch", type=_positive_int, help="crops per step (default: 12)")
    d.add_argument("--crop", type=_positive_int, help="square crop side [px], a multiple of 16 (default: 128)")
    d.add_argument("--lr", type=float, help="peak learning rate (default: 2e-3)")
    d.add_argument("--seed", type=int, help="(default: 0)")
    d.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: 2)")
    d.add_argument("--val-every", type=_positive_int, help="steps between validation grids (default: 500)")
    d.add_argument("--ckpt-every", type=_positive_int, help="steps between checkpoints (default: 100)")
    d.add_argument("--init", type=in_file, default=None, help="teacher weights (a teacher.pt) to start from: "
                   "train an existing teacher longer, with a fresh learning-rate schedule")
    d.add_argument("--warmup", type=_positive_int, help="learning-rate warm-up steps (default: 150)")
    d.add_argument("--residual-scale", type=float, help="the residual is divided by this before noising (default: 0.25)")
    d.add_argument("--lamp-weight", type=float, help="extra loss weight of traffic-light pixels (the signal lamps, a few "
                   "pixels a frame, which an unweighted loss paints grey): they weigh 1 + this (default: 0)")
    d.add_argument("--lamp-crops", type=float, help="share of the crops placed over a traffic-light pixel, 0-1 (default: 0)")
    d.add_argument("--w-light", type=float, help="weight of the light term on the regression estimate: the frozen policy's "
                   "traffic-light branch read on it matches it read on the clean target (default: 0, off)")
    d.add_argument("--light-signal", type=float, help="extra weight of light cells that show a signal head in the "
                   "clean target: 1 + this (default: 10)")
    d.add_argument("--json", action="store_true", help="print a final JSON line with the validation figures")
    d.set_defaults(run=_cmd_train_teacher)
    e = sub.add_parser("cache-ensemble", help="sample the teacher K times per fusion-data frame and store the ensemble "
                       "mean, pixel variance and per-layer backbone feature variance (fp16; resumable; keyed by content)")
    e.add_argument("--data", type=Path, default=DEFAULT_FUSION_DATA, help="folder from collect-fusion-data (default: %(default)s)")
    e.add_argument("--out", type=out_folder, default=Path("data/ensemble"), help="cache root; the cache goes to OUT/<key> "
                   "(default: %(default)s)")
    e.add_argument("--teacher", type=in_file, default=None, help="teacher weights (default: the committed fusion/teacher/weights/teacher.pt)")
    e.add_argument("--k", type=_positive_int, default=8, help="samples per frame; 1 has no variance (the K=1 ablation) "
                   "(default: %(default)s)")
    e.add_argument("--steps", type=_positive_int, default=2, help="DDIM steps per sample (default: %(default)s)")
    e.add_argument("--backbones", type=names, default=BACKBONES, help="frozen backbones whose feature variance is stored "
                   f"(default: {','.join(BACKBONES)})")
    e.add_argument("--train-every", type=_positive_int, default=1, help="keep every N-th train frame (default: %(default)s)")
    e.add_argument("--val-every", type=_positive_int, default=4, help="keep every N-th val frame (default: %(default)s)")
    e.add_argument("--seed", type=int, default=0, help="seeds every frame's noise with (seed, episode, frame) (default: %(default)s)")
    e.add_argument("--threads", type=_positive_int, default=2, help="torch CPU threads (default: %(default)s)")
    e.add_argument("--json", action="store_true", help="print a final JSON line with the cache manifest")
    e.set_defaults(run=_cmd_cache_ensemble)
    s = sub.add_parser("train-student", help="distil the teacher ensemble into the FusionProxy student with the dual-signal "
                       "loss; resumes from OUT/ckpt.pt")
    s.add_argument("--data", type=Path, default=DEFAULT_FUSION_DATA, help="folder from collect-fusion-data (default: %(default)s)")
    s.add_argument("--cache", type=Path, default=None, help="ensemble cache folder (default: the one `cache-ensemble` "
                   "builds with its defaults)")
    s.add_argument("--out", type=out_folder, default=Path("runs/student"), help="checkpoint, log, validation grids, "
                   "student.pt and manifest.json (default: %(default)s)")
    # defaults live in distill.train_student.StudentTrainConfig (imported lazily: it pulls in torch)
    s.add_argument("--size", choices=("xs", "s", "m", "l"), help="student size (default: s)")
    s.add_argument("--steps", type=_positive_int, help="optimiser steps (default: 5000)")
    s.add_argument("--batch", type=_positive_int, help="crops per step (default: 8)")
    s.add_argument("--crop", type=size, help="crop WxH [px], multiples of 16 (default: 192x96)")
    s.add_argument("--lr", type=float, help="peak learning rate (default: 2e-3)")
    s.add_argument("--warmup", type=_positive_int, help="learning-rate warm-up steps (default: 100)")
    s.add_argument("--target", choices=("teacher", "clean"), help="distil the teacher ensemble mean, or train directly on "
                   "the privileged clean image with no teacher and no variance (the reference) (default: teacher)")
    s.add_argument("--w-pix", type=float, help="weight of the pixel term (default: 1)")
    s.add_argument("--w-feat", type=float, help="weight of the feature term; 0 = pixel term only (default: 0.1)")
    s.add_argument("--no-pixel-weighting", action="store_true", help="ablation: the pixel term ignores the image variance")
    s.add_argument("--pixel-temp", type=float, help="s in w = exp(-var / (s * mean var)) (default: 1)")
    s.add_argument("--routing", choices=("variance", "uniform"), help="layer weights of the feature term: softmax of "
                   "-feature variance / tau, or uniform (ablation) (default: variance)")
    s.add_argument("--tau", type=float, help="routing temperature (default: 1)")
    s.add_argument("--backbone", choices=BACKBONES, help="frozen backbone of the feature term (default: efficientnet_lite0)")
    s.add_argument("--jitter", type=float, help="share of crops whose thermal input is misaligned further (default: 0.5)")
    s.add_argument("--lamp-weight", type=float, help="extra pixel-term weight of traffic-light pixels (the simulator's "
                   "label says where the lamps are; the target stays the teacher's): 1 + this (default: 0)")
    s.add_argument("--lamp-crops", type=float, help="share of the crops placed over a traffic-light pixel, 0-1 (default: 0)")
    s.add_argument("--lamp-seen", type=float, help="traffic-light pixels whose camera colour has chroma above this "
                   "take the clean image as their pixel target (the lamps the camera shows; the teacher paints them "
                   "grey); 0 = the teacher's everywhere (default: 0)")
    s.add_argument("--rgb-gate", action="store_true", help="the student gets a gated full-resolution pass of the "
                   "camera's pixels, so details under its 4x4 grid (signal lamps) can come through")
    s.add_argument("--w-light", type=float, help="weight of the light term: the frozen policy's traffic-light branch "
                   "read on the student's image matches it read on the target's (signal heads kept as the policy "
                   "sees them); 0 = off, the paper's recipe (default: 0)")
    s.add_argument("--light-target", choices=("teacher", "clean"), help="the image the light and obstacle terms "
                   "match: the teacher mean (pure distillation) or the privileged clean image (default: teacher)")
    s.add_argument("--light-signal", type=float, help="extra weight of light cells where the target shows a signal "
                   "head: 1 + this x (1 - p(none)) (default: 10)")
    s.add_argument("--w-seg", type=float, help="weight of the obstacle term: the frozen policy's obstacle branch "
                   "(background / vehicle / pedestrian) read on the student's image matches it read on the image of "
                   "--light-target (cars and people kept as the policy finds them); 0 = off, the paper's recipe "
                   "(default: 0)")
    s.add_argument("--seg-signal", type=float, help="extra weight of obstacle cells where the target shows a car or a "
                   "person: 1 + this x (1 - p(background)) (default: 10)")
    s.add_argument("--seg-guard", action="store_true", help="the obstacle term's phantom guard: cells where the "
                   "student's image shows a car or a person weigh as much as those where the target does (off by "
                   "default)")
    s.add_argument("--seed", type=int, help="(default: 0)")
    s.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: 2)")
    s.add_argument("--val-every", type=_positive_int, help="steps between validation grids (default: 500)")
    s.add_argument("--ckpt-every", type=_positive_int, help="steps between checkpoints (default: 50)")
    s.add_argument("--json", action="store_true", help="print a final JSON line with the validation figures")
    s.set_defaults(run=_cmd_train_student)
    a = sub.add_parser("ablate", help="train, export and probe each ablation of the student recipe (no image-variance "
                       "weighting, uniform routing, pixel term only, K=1, tau sweep, policy backbone, direct supervision)")
    a.add_argument("--data", type=Path, default=DEFAULT_FUSION_DATA, help="folder from collect-fusion-data (default: %(default)s)")
    a.add_argument("--cache", type=Path, default=None, help="ensemble cache folder (default: the one `cache-ensemble` "
                   "builds with its defaults)")
    a.add_argument("--out", type=out_folder, default=Path("runs/ablate"), help="one folder per ablation, plus "
                   "ablations.json/.csv/.png (default: %(default)s)")
    a.add_argument("--only", type=names, default=None, help="comma-separated ablation names (default: all)")
    a.add_argument("--size", choices=("xs", "s", "m", "l"), help="student size of every ablation (default: s)")
    a.add_argument("--steps", type=_positive_int, help="training steps of every ablation (default: 5000)")
    a.add_argument("--seed", type=int, help="(default: 0)")
    a.add_argument("--threads", type=_positive_int, help="torch CPU threads of each training (default: 2)")
    a.add_argument("--jobs", type=_positive_int, default=1, help="ablations trained and probed at once, each in its own "
                   "process (default: %(default)s; on 2 cores, --jobs 2 --threads 1)")
    a.add_argument("--scenarios", type=names, default=("night_fog_town05", "fog_town05"),
                   help="perception-probe scenarios (default: night_fog_town05,fog_town05)")
    a.add_argument("--frames", type=_positive_int, default=200, help="probe frames per scenario (default: %(default)s)")
    a.add_argument("--drive", default="short_night_fog_town05", help="scenario of the short closed loop every ablation "
                   "drives, paired, beside rgb and oracle_clean; 'none' skips it (default: %(default)s)")
    a.add_argument("--drive-routes", default="0-4", help="its routes (default: %(default)s)")
    a.add_argument("--drive-seeds", type=seeds, default=(0,), help="its traffic seeds (default: 0)")
    a.add_argument("--drive-reuse", action="append", default=[], metavar="FOLDER",
                   help="an earlier run's folder (e.g. results/reference/...) whose rgb and oracle_clean route runs with "
                   "the same job key the closed loop copies instead of driving; repeat for several")
    a.add_argument("--workers", type=_positive_int, default=2, help="parallel simulators of the closed loop (default: %(default)s)")
    a.add_argument("--json", action="store_true", help="print a final JSON line with the headline figure of each")
    a.set_defaults(run=_cmd_ablate)
    q = sub.add_parser("pareto", help="time each evaluated student size and plot its driving score against frames/s "
                       "(pareto.json/.csv/.png)")
    q.add_argument("--eval", type=Path, required=True, help="folder of a finished `harness eval` with fusionproxy sizes "
                   "among its variants (fusionproxy:size=xs,...)")
    q.add_argument("--out", type=out_folder, default=None, help="where to write (default: the --eval folder)")
    q.add_argument("--runtime", choices=("onnx", "torch"), default="onnx", help="(default: %(default)s)")
    q.add_argument("--threads", type=_positive_int, default=2, help="CPU threads for timing (default: %(default)s)")
    q.add_argument("--size", type=size, default=(320, 160), help="frame WxH for timing (default: 320x160)")
    q.add_argument("--repeats", type=_positive_int, default=300, help="timed calls per size (default: %(default)s)")
    q.add_argument("--warmup", type=int, default=30, help="untimed calls first (default: %(default)s)")
    q.add_argument("--min-fps", type=float, default=300.0, help="the real-time floor the chosen size must reach "
                   "(default: %(default)s)")
    q.add_argument("--json", action="store_true", help="print a final JSON line with the points and the choice")
    q.set_defaults(run=_cmd_pareto)
    x = sub.add_parser("export", help="export a trained student to TorchScript and ONNX, with parity against torch")
    x.add_argument("--weights", type=in_file, default=Path("fusion/student/weights/fusionproxy_s.pt"),
                   help="student weights (default: %(default)s)")
    x.add_argument("--out", type=out_folder, default=Path("runs/export"), help="folder for NAME.ts, NAME.onnx and "
                   "export.json (default: %(default)s)")
    x.add_argument("--name", default="fusionproxy", help="file name stem (default: %(default)s)")
    x.add_argument("--json", action="store_true", help="print a final JSON line with the files and parity figures")
    x.set_defaults(run=_cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    return run_main(build_parser(), argv)
