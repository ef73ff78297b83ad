"""Where trained weights came from: the commit of the code that trained them (for manifests)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def commit(out_dir: Path) -> str:
    """HEAD, "+dirty" when tracked code differs from it (the weights being replaced and the results
    folder do not count: retraining over committed weights is not a code change)."""
    try:
        head, top = subprocess.run(["git", "rev-parse", "HEAD", "--show-toplevel"], capture_output=True, text=True,
                                   check=True).stdout.split()[:2]
        spec = [".", ":(exclude)results"]
        if out_dir.resolve().is_relative_to(Path(top).resolve()):  # git refuses a pathspec outside the repository
            spec.append(f":(exclude){out_dir.resolve()}")
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *spec],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
