"""``python -m distill``: data collection and training.

Every command that measures prints, with ``--json``, one final JSON line with its figures. Errors
the user can fix print one line ``error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.args import positive_int as _positive_int, run_main

DEFAULT_POLICY_DATA = Path("data/policy")


def _cmd_collect(args) -> dict:
    from distill.policy.data import collect, default_episodes, light_summary, load_shards

    out = {}
    for split in ("train", "val"):
        paths = collect(default_episodes(split, linger=args.linger), args.out / split, workers=args.workers, every=args.every,
                        max_steps=args.max_steps, progress=not args.json)
        out[split] = light_summary(load_shards(paths, ("light_m",))["light_m"])
    return out


def _cmd_train_policy(args) -> dict:
    from distill.policy.train import TrainConfig, train

    given = {k: getattr(args, k) for k in ("epochs", "batch", "lr", "seed", "shadows", "shift", "light_context", "clean", "exposure_min", "threads") if getattr(args, k) is not None}
    cfg = TrainConfig(data=str(args.data), **given)
    return train(cfg, Path(args.out), progress=not args.json)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m distill", description=__doc__.splitlines()[0])
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
    return p


def main(argv: list[str] | None = None) -> int:
    return run_main(build_parser(), argv)
