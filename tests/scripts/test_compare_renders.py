"""scripts/compare_renders.py: the figures of two renders of the same frames, and what is in one folder only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_renders.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_differences_are_counted_per_file(tmp_path):
    a, b = tmp_path / "a" / "fog", tmp_path / "b" / "fog"
    a.mkdir(parents=True), b.mkdir(parents=True)
    img = np.full((10, 20, 3), 100, np.uint8)
    Image.fromarray(img).save(a / "rgb.png")
    Image.fromarray(img).save(a / "only_here.png")
    other = img.copy()
    other[0, 0] = (200, 100, 100)  # one pixel off by 100 levels in one channel
    other[1, 1, 2] = 102  # one by 2: under the threshold
    Image.fromarray(other).save(b / "rgb.png")
    Image.fromarray(img[..., 0]).save(b / "thermal.png")
    res = _run(str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    row = out["compared"]["fog/rgb.png"]
    assert row["max_abs"] == 100 and row["share_over_2"] == 1 / 200
    assert row["mean_abs"] == round(102 / 600, 3) and 20 < row["psnr_db"] < 40
    assert out["only_first"] == ["fog/only_here.png"] and out["only_second"] == ["fog/thermal.png"]
    same = _run(str(tmp_path / "a"), str(tmp_path / "a"))
    assert "psnr_db inf" in same.stdout and "max_abs 0" in same.stdout


def test_a_missing_folder_is_one_line(tmp_path):
    res = _run(str(tmp_path), str(tmp_path / "nope"))
    assert res.returncode == 2 and "is not a folder" in res.stderr
