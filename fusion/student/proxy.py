"""The ``fusionproxy`` variant: the committed student weights of a size, as a fusion module."""

from __future__ import annotations

from pathlib import Path

import torch

from fusion.base import FusionModule, Param, load_network, load_weights
from fusion.lamps import DEFAULT_BRIGHT, DEFAULT_CHROMA, DEFAULT_ROWS, check_lamp_params, keep_camera_lamps, lamp_params
from fusion.student.model import SIZES, StudentConfig, StudentNet, macs

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATTERN = str(WEIGHTS_DIR / "fusionproxy_{size}.pt")  # the registry fills in the size
DEFAULT_SIZE = "s"  # the best point of speed against driving score (python -m distill pareto; fusion/student/README.md)


def weights_path(size: str) -> Path:
    return Path(WEIGHTS_PATTERN.format(size=size))


def load_student(path: Path | str, device: str | torch.device = "cpu") -> StudentNet:
    """A student network from a file written by ``distill.train_student`` (weights only)."""
    return load_network(path, "student", "train-student", lambda c: StudentNet(StudentConfig.from_dict(c)), device)


class FusionProxy(FusionModule):
    """The ``fusionproxy`` variant: one forward pass of the distilled student; with ``lamps=camera``, the
    camera's lit lamps pasted over its output (:mod:`fusion.lamps`)."""

    name = "fusionproxy"
    PARAMS = (Param("size", str, DEFAULT_SIZE, "student size (width and depth)", choices=tuple(SIZES)),
              Param("weights", str, "", "a checkpoint of `python -m distill train-student` (student.pt) in place of the "
                    "committed weights of the size; its own size is used", is_path=True),
              *lamp_params("student"))

    def __init__(self, size: str = DEFAULT_SIZE, weights: Path | str | None = None, lamps: str = "student",
                 lamp_chroma: float = DEFAULT_CHROMA, lamp_bright: float = DEFAULT_BRIGHT,
                 lamp_rows: float = DEFAULT_ROWS) -> None:
        super().__init__()
        self.net = load_student(Path(weights).expanduser() if weights else weights_path(size))
        self.check_params(lamps=lamps, lamp_chroma=lamp_chroma, lamp_bright=lamp_bright, lamp_rows=lamp_rows)
        self.lamps = lamps == "camera"
        self.lamp = (float(lamp_chroma), float(lamp_bright), float(lamp_rows))

    @staticmethod
    def check_params(lamps: str = "student", lamp_chroma: float = DEFAULT_CHROMA, lamp_bright: float = DEFAULT_BRIGHT,
                     lamp_rows: float = DEFAULT_ROWS, **_) -> None:
        """ConfigError for a lamp threshold given without ``lamps=camera`` (it would change nothing)."""
        check_lamp_params("fusionproxy", lamps, lamp_chroma, lamp_bright, lamp_rows)

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        fused = self.net(rgb, thermal)
        if self.lamps:
            fused = keep_camera_lamps(rgb, fused, *self.lamp)
        return fused

    @staticmethod
    def flops(h: int, w: int, size: str = DEFAULT_SIZE, weights: str = "", lamps: str = "student", **_) -> int:
        paste = 20 * h * w if lamps == "camera" else 0  # channel max/min, stretch, compare, select: ~20 ops a pixel
        if weights:
            _, config = load_weights(Path(weights).expanduser(), "student", "train-student")
            return 2 * macs(StudentConfig.from_dict(config), h, w) + paste
        return 2 * macs(SIZES[size], h, w) + paste
