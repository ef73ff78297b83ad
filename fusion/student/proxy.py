"""The ``fusionproxy`` variant: the committed student weights of a size, as a fusion module."""

from __future__ import annotations

from pathlib import Path

import torch

from fusion.base import FusionModule, Param, load_network, load_weights
from fusion.lamps import DEFAULT_BRIGHT, DEFAULT_CHROMA, DEFAULT_ROWS, keep_camera_lamps
from fusion.student.model import SIZES, StudentConfig, StudentNet, macs
from harness.errors import ConfigError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_PATTERN = str(WEIGHTS_DIR / "fusionproxy_{size}.pt")  # the registry fills in the size
DEFAULT_SIZE = "s"  # the best point of speed against driving score (python -m distill pareto; fusion/README.md)


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
              Param("lamps", str, "student", "student: the student's image as it is; camera: the camera's lit lamps "
                    "(bright, strongly coloured pixels) pasted over it at full saturation", choices=("student", "camera")),
              Param("lamp_chroma", float, DEFAULT_CHROMA, "with lamps=camera: the least camera chroma (max - min of "
                    "the channels, 0..1) of a lamp pixel", low=0.0, high=1.0, low_exclusive=True),
              Param("lamp_bright", float, DEFAULT_BRIGHT, "with lamps=camera: the least brightest-channel value "
                    "(0..1) of a lamp pixel", low=0.0, high=1.0),
              Param("lamp_rows", float, DEFAULT_ROWS, "with lamps=camera: the top share of the image rows "
                    "searched (to 0.001; lamps stand above the horizon)", low=0.0, high=1.0, low_exclusive=True))

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
        if lamps != "camera" and (lamp_chroma, lamp_bright, lamp_rows) != (DEFAULT_CHROMA, DEFAULT_BRIGHT, DEFAULT_ROWS):
            raise ConfigError("fusionproxy: lamp_chroma, lamp_bright and lamp_rows apply with lamps=camera only "
                              "(e.g. fusionproxy:lamps=camera,lamp_chroma=0.3)")

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
