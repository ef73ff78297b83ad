"""The fusion interface: what any fusion module is (:class:`Fuser`), and the torch shell of ours.

Contract (DESIGN.md): ``rgb (B, 3, H, W)`` and ``thermal (B, 1, H, W)``, float in ``[0, 1]``, the
thermal image already registered to the RGB view; the output is ``(B, 3, H, W)`` float in ``[0, 1]``,
the RGB camera's size. A :class:`Fuser` is anything called that way: a torch ``nn.Module``, an ONNX
Runtime or TensorRT session behind a small wrapper, a user's function. Our own modules subclass
:class:`FusionModule` (the work in a plain function, the module a thin shell that checks its inputs).

A module that draws noise (the diffusion teacher) sets ``stochastic = True`` and takes a
``generator`` keyword: the caller seeds it from (job seed, frame), so a drive is reproducible.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from harness.errors import ConfigError


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a fusion module, as its constructor takes it and as a variant name
    gives it (``gff:r1=30``): the registry parses and checks names with it, the module its keywords."""

    name: str
    type: type  # int, float (an int is accepted for a float) or str (one of ``choices``, or a file when ``is_path``)
    default: int | float | str
    doc: str = ""  # what it is, with its unit
    low: float | None = None  # inclusive unless low_exclusive
    high: float | None = None  # inclusive
    low_exclusive: bool = False
    choices: tuple[str, ...] = ()  # the accepted values of a str parameter
    is_path: bool = False  # a str parameter naming an existing file ('' = the module's default)

    def describe(self) -> str:
        """The accepted values in words: ``an int >= 0``, ``a float in (0, 1]``, ``one of s, m``, ..."""
        if self.is_path:
            return "the path of an existing file"
        if self.type is str:
            return "one of " + ", ".join(self.choices)
        kind = "an int" if self.type is int else "a float"
        if self.low is not None and self.high is not None:
            return f"{kind} in {'(' if self.low_exclusive else '['}{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{kind} {'>' if self.low_exclusive else '>='} {self.low:g}"
        if self.high is not None:
            return f"{kind} <= {self.high:g}"
        return kind

    def check(self, op: str, value: Any) -> int | float | str:
        """The value, as ``self.type``; ConfigError when it is not one this parameter accepts."""
        if self.is_path:
            from pathlib import Path

            if not isinstance(value, str) or (value and not Path(value).expanduser().is_file()):
                raise ConfigError(f"{op}: {self.name} must be {self.describe()} ({self.doc}); no such file: {value!r}")
            return value
        if self.type is str:
            if value not in self.choices:
                raise ConfigError(f"{op}: {self.name} must be {self.describe()} ({self.doc}), got {value!r}; "
                                  f"e.g. {self.name}={self.default}")
            return value
        ok_type = isinstance(value, int) if self.type is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            raise ConfigError(f"{op}: {self.name} must be {self.describe()} ({self.doc}), got {value!r} "
                              f"of type {type(value).__name__}; e.g. {self.name}={self.default!r}")
        value = self.type(value)
        bad = (not math.isfinite(value)
               or (self.low is not None and (value <= self.low if self.low_exclusive else value < self.low))
               or (self.high is not None and value > self.high))
        if bad:
            raise ConfigError(f"{op}: {self.name} must be {self.describe()} ({self.doc}), got {value!r}; "
                              f"e.g. {self.name}={self.default!r}")
        return value

    def parse(self, op: str, text: str) -> int | float | str:
        """A value written as text (``"45"``, ``"1e-6"``), checked."""
        try:
            value = self.type(text)
        except ValueError as err:
            raise ConfigError(f"{op}: {self.name} must be {self.describe()} ({self.doc}), got the text {text!r}; "
                              f"e.g. {self.name}={self.default!r}") from err
        return self.check(op, value)


def load_weights(path, what: str, make: str, device="cpu") -> tuple[dict, dict]:
    """(state dict as float32, config dict) of a checkpoint our trainings write: ``{"model": ...,
    "config": json}`` read with ``weights_only``; one ConfigError line when it is missing or not one."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no {what} weights at {path}; train them with `python -m distill {make}` (or `make {make}`)")
    blob = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(blob, dict) or "model" not in blob or "config" not in blob:
        raise ConfigError(f"{path} is not a {what} checkpoint (it needs 'model' and 'config')")
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["model"].items()}
    return state, json.loads(blob["config"])


def load_network(path, what: str, make: str, build, device="cpu") -> nn.Module:
    """``build(config)`` with the checkpoint's weights loaded, in eval mode on ``device``; one
    ConfigError line for a checkpoint of another kind (a teacher's given as a student's) or shape."""
    state, config = load_weights(path, what, make, device)
    try:
        net = build(config)
        net.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ConfigError(f"{path} is not a {what} checkpoint (`python -m distill {make}` writes those): its config or "
                          f"weights do not fit the {what} network ({type(err).__name__})") from err
    return net.to(device).eval()


@runtime_checkable
class Fuser(Protocol):
    """``fuser(rgb (B,3,H,W), thermal (B,1,H,W)) -> (B,3,H,W)``, float in ``[0, 1]``, any runtime."""

    def __call__(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor: ...


def check_inputs(rgb: torch.Tensor, thermal: torch.Tensor) -> None:
    """Raise ConfigError unless rgb is (B, 3, H, W) and thermal (B, 1, H, W), both floating point."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ConfigError(f"rgb must be (B, 3, H, W), got {tuple(rgb.shape)}")
    if thermal.ndim != 4 or thermal.shape[1] != 1:
        raise ConfigError(f"thermal must be (B, 1, H, W), got {tuple(thermal.shape)}")
    if thermal.shape[0] != rgb.shape[0] or thermal.shape[-2:] != rgb.shape[-2:]:
        raise ConfigError(f"thermal {tuple(thermal.shape)} must match rgb {tuple(rgb.shape)} in batch and size "
                          f"(register it to the RGB view first: harness.sensors.registration)")
    if not (rgb.is_floating_point() and thermal.is_floating_point()):
        raise ConfigError(f"inputs must be float tensors in [0, 1], got {rgb.dtype} and {thermal.dtype}")


class FusionModule(nn.Module, ABC):
    """``forward(rgb (B,3,H,W), thermal (B,1,H,W)) -> (B,3,H,W)``, all float in [0, 1].

    ``stochastic`` modules take ``forward(rgb, thermal, generator=g)`` and must draw every random
    number from ``g`` (a ``torch.Generator`` on the module's device)."""

    name: str = "abstract"
    stochastic: bool = False

    def forward(self, rgb: torch.Tensor, thermal: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        check_inputs(rgb, thermal)
        if self.stochastic:
            return self.fuse(rgb, thermal, generator=generator)
        return self.fuse(rgb, thermal)

    @abstractmethod
    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        """The fusion itself, on checked inputs."""
