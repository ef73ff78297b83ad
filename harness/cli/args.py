"""Argument types of ``python -m harness``: every value a user types is checked here, at parsing.

Each type returns the parsed value or raises ``argparse.ArgumentTypeError`` with what was expected
and what came; the parser turns that into one line ``error: ...`` and exit status 2. Folder checks
(:func:`check_out_folder`, :func:`check_out_file`) raise ``ConfigError`` so commands can apply them
to paths they compute (``drive``'s default ``--out``); the ``out_*`` types wrap them for argparse.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import tempfile
from collections import Counter
from pathlib import Path

from harness.errors import ConfigError
from harness.sensors.registration import MAX_ROT_DEG, MAX_SHIFT_PX

MIN_SIDE_PX, MAX_SIDE_PX = 8, 4096  # camera sides the renderer takes


class Parser(argparse.ArgumentParser):
    """Usage errors as one line (``error: ...``, exit 2), like every other error of the CLI."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a job scheduler's stop), raised where the command is, as Ctrl-C is: the
    command's ``finally`` blocks run, so an evaluation stops its workers and keeps what it finished."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def _terminate_as_interrupt():
    """Turn SIGTERM into :class:`Terminated` for the command's run; returns the handler it replaced
    (None where signals cannot be set: not the main thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


def run_main(parser: argparse.ArgumentParser, argv: list[str] | None, interrupted: str = "interrupted") -> int:
    """Parse ``argv``, run the command its parser set (``args.run``: args -> result dict) and print,
    with ``--json``, the result as one final JSON line. A :class:`HarnessError` prints one line
    ``error: ...`` and returns 2; Ctrl-C prints ``interrupted`` and returns 130, SIGTERM the same and
    143 (the command's ``finally`` blocks run either way: workers are stopped). Every CLI of the
    project (``python -m harness``, ``python -m distill``, ...) ends here."""
    import json
    import sys

    from harness.errors import HarnessError

    args = parser.parse_args(argv)
    previous = _terminate_as_interrupt()
    try:
        result = args.run(args)
    except HarnessError as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)  # one line, whatever the message
        return 2
    except Terminated:
        print(f"{interrupted} (terminated)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if getattr(args, "json", False):
        print(json.dumps(result))
    return 0


# ------------------------------------------------------------------------------------ numbers

def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT``, each side within 8..4096 px."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x160, got {text!r}") from None
    if not (MIN_SIDE_PX <= w <= MAX_SIDE_PX and MIN_SIDE_PX <= h <= MAX_SIDE_PX):
        raise argparse.ArgumentTypeError(f"each side must be within {MIN_SIDE_PX}..{MAX_SIDE_PX} px, got {text!r}")
    return w, h


def _int_at_least(text: str, low: int, expected: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = low - 1  # not an integer: the same message as one out of range
    if v < low:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return v


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def nonneg_int(text: str) -> int:
    return _int_at_least(text, 0, "an integer >= 0")


def finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    v = finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


def within(lo: float, hi: float, unit: str):
    """A finite number in ``[lo, hi]`` (``unit`` for the message, e.g. ``"px"``)."""

    def parse(text: str) -> float:
        v = finite_float(text)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"expected a number within [{lo:g}, {hi:g}] {unit}, got {text!r}")
        return v

    return parse


# registration error bounds (harness.sensors.registration.Calibration checks the same)
misalign_px = within(-MAX_SHIFT_PX, MAX_SHIFT_PX, "px")
misalign_deg = within(-MAX_ROT_DEG, MAX_ROT_DEG, "deg")


# ------------------------------------------------------------------------------------ lists

def _repeated(items: tuple) -> list[str]:
    return sorted(str(i) for i, n in Counter(items).items() if n > 1)


def seeds(text: str) -> tuple[int, ...]:
    """Distinct integers >= 0, comma-separated: ``0,1,2``."""
    expected = f"expected distinct comma-separated integers >= 0 such as 0,1,2, got {text!r}"
    try:
        out = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if not out or any(s < 0 for s in out):
        raise argparse.ArgumentTypeError(expected)
    if dup := _repeated(out):
        raise argparse.ArgumentTypeError(f"{expected}: {', '.join(dup)} listed twice")
    return out


def floats(text: str) -> tuple[float, ...]:
    """Distinct finite numbers, comma-separated: ``200,100,50``."""
    expected = f"expected distinct comma-separated numbers such as 200,100,50, got {text!r}"
    try:
        vals = tuple(finite_float(v) for v in text.split(",") if v.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(expected) from None
    if not vals:
        raise argparse.ArgumentTypeError(expected)
    if dup := _repeated(vals):
        raise argparse.ArgumentTypeError(f"{expected}: {', '.join(dup)} listed twice")
    return vals


def variants(text: str) -> tuple[str, ...]:
    """Distinct fusion variants, comma-separated, each with its parameters: ``rgb,teacher:k=2,steps=2,gff:r1=30``.

    A ``key=value`` item (no colon) belongs to the parametrised variant before it, so the names that
    variants print (``teacher:k=2,steps=2``) can be pasted back in a list.
    """
    out: list[str] = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        key, eq, _ = item.partition("=")
        if eq and ":" not in key:
            if not out or ":" not in out[-1]:
                after = f"after {out[-1]!r}, which takes none this way" if out else "with no variant before it"
                raise argparse.ArgumentTypeError(
                    f"{item!r} in {text!r} is a parameter {after}; parameters follow their variant's colon, "
                    "as in teacher:k=2,steps=2")
            out[-1] += "," + item
        else:
            out.append(item)
    if not out:
        raise argparse.ArgumentTypeError(f"expected comma-separated names such as rgb,thermal, got {text!r}")
    if dup := _repeated(tuple(out)):
        raise argparse.ArgumentTypeError(f"{', '.join(dup)} listed twice in {text!r}; list each once")
    return tuple(out)


def names(text: str) -> tuple[str, ...]:
    """Distinct names, comma-separated: ``rgb,thermal``."""
    out = tuple(n.strip() for n in text.split(",") if n.strip())
    if not out:
        raise argparse.ArgumentTypeError(f"expected comma-separated names such as rgb,thermal, got {text!r}")
    if dup := _repeated(out):
        raise argparse.ArgumentTypeError(f"{', '.join(dup)} listed twice in {text!r}; list each once")
    return out


# ------------------------------------------------------------------------------------ paths

def _nearest_existing(path: Path) -> Path:
    """``path`` or the closest of its parents that exists."""
    p = path
    while True:
        try:
            if p.exists() or p == p.parent:
                return p
        except OSError:  # a parent we may not even look into: the probe below says why
            return p
        p = p.parent


def _label(what: str, path: Path) -> str:
    return f"{what} {path}" if what else str(path)


def _is_file(path: Path) -> bool:
    try:
        return path.exists() and not path.is_dir()
    except OSError:  # cannot even look: the probe says why
        return False


def _probe(folder: Path, what: str, target: Path) -> None:
    """Create and remove a folder in ``folder``: the one test of writability that also holds for
    root (``os.access`` says yes to root everywhere, /proc and /sys included)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".harness-probe-", dir=folder))
    except OSError as err:
        raise ConfigError(f"{_label(what, target)}: cannot write in {folder} ({err.strerror or err}); "
                          "choose a folder you can write to") from err


def check_out_folder(path: str | Path, what: str = "--out") -> Path:
    """``path`` as a folder that exists and is writable, or can be created: not a file, not under a
    file, not in a place that takes no new entries (/proc, a read-only folder). Leaves nothing behind:
    the probe folder it makes in the nearest existing parent is removed at once."""
    path = Path(path)
    if _is_file(path):
        raise ConfigError(f"{_label(what, path)} is a file; pass a folder (it is created if missing)")
    _check_can_create(path, what, path)
    return path


def _check_can_create(folder: Path, what: str, target: Path) -> None:
    base = _nearest_existing(folder.absolute())
    if not base.is_dir():
        raise ConfigError(f"{_label(what, target)} lies under {base}, which is a file; pass a path outside it")
    _probe(base, what, target)


def check_out_file(path: str | Path, what: str = "--out") -> Path:
    """``path`` as a file that can be written: not a folder, its folder writable or creatable."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{_label(what, path)} is a folder; pass a file name, e.g. {path / 'routes.xml'}")
    _check_can_create(path.absolute().parent, what, path)
    return path


def _as_type(check):
    def parse(text: str) -> Path:
        try:
            return check(text, what="")  # argparse names the option itself
        except ConfigError as err:
            # argparse would swallow a ConfigError (a ValueError) into "invalid value": keep the message
            raise argparse.ArgumentTypeError(str(err)) from err

    return parse


out_folder = _as_type(check_out_folder)
out_file = _as_type(check_out_file)


def in_file(text: str) -> Path:
    """An existing file to read (weights, a model)."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file {text!r}")
    return path


def run_folder(text: str) -> Path:
    """A folder an earlier ``eval``, ``sweep`` or ``drive`` wrote (``report`` rewrites its outputs)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder; pass the --out of an eval, sweep or drive run")
    return out_folder(text)
