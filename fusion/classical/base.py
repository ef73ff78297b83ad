"""What the classical fusions share: their parameter tables, input guards and the module shell.

Each op lists its parameters once, as a tuple of ``Param`` (name, type, default, unit, bounds). That
table validates the constructor's and the function's keywords, fills defaults for ``flops``, and lets
a registry build a module from ``{"r1": "20"}`` (``ClassicalFusion.from_params``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, ClassVar

import torch

from fusion.base import FusionModule, Param, check_inputs
from harness.errors import ConfigError, did_you_mean

MIN_SIZE = 8  # [px] the smallest H and W the classical ops accept (filters and pyramids need a few pixels)


def check_params(op: str, table: tuple[Param, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of ``table``, from ``values`` or its default, checked. Unknown names raise ConfigError."""
    names = [p.name for p in table]
    for key in values:
        if key not in names:
            raise ConfigError(f"{op}: unknown parameter {key!r}{did_you_mean(key, names)}; its parameters are "
                              f"{', '.join(names) or 'none'}")
    return {p.name: p.check(op, values.get(p.name, p.default)) for p in table}


def check_rgb(op: str, rgb: torch.Tensor) -> None:
    """Raise ConfigError unless rgb is a float (B, 3, H, W) with H, W >= MIN_SIZE."""
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[1] != 3:
        got = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise ConfigError(f"{op}: rgb must be a (B, 3, H, W) tensor, got {got}; add the batch axis with "
                          f"rgb[None] and put channels first")
    if not rgb.is_floating_point():
        raise ConfigError(f"{op}: rgb must be a float tensor in [0, 1], got {rgb.dtype}; use rgb.float() / 255")
    _check_size(op, rgb)


def check_pair(op: str, rgb: torch.Tensor, thermal: torch.Tensor) -> None:
    """``fusion.base.check_inputs`` plus the size the classical ops need (H, W >= MIN_SIZE)."""
    if not (isinstance(rgb, torch.Tensor) and isinstance(thermal, torch.Tensor)):
        raise ConfigError(f"{op}: rgb and thermal must be torch tensors, got {type(rgb).__name__} and "
                          f"{type(thermal).__name__}; convert with torch.from_numpy")
    check_inputs(rgb, thermal)
    if rgb.device != thermal.device:
        raise ConfigError(f"{op}: rgb is on {rgb.device} and thermal on {thermal.device}; move both to one device "
                          f"(thermal.to(rgb.device))")
    _check_size(op, rgb)


def _check_size(op: str, x: torch.Tensor) -> None:
    h, w = x.shape[-2:]
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ConfigError(f"{op}: images must be at least {MIN_SIZE}x{MIN_SIZE} pixels, got H={h}, W={w} "
                          f"(shape {tuple(x.shape)}); resize or pad the frames first")


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the ops compute in: float32 for half and bfloat16 inputs (their cumulative sums and
    1e-6 regularisers do not survive 10-bit mantissas), otherwise the input's own."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


class ClassicalFusion(FusionModule):
    """The shell every classical op shares: a parameter table, ``params``, ``from_params`` and ``flops``.

    A subclass sets ``name``, ``PARAMS``, ``needs_thermal``, ``function`` (the op) and ``flops_of``
    (its cost), and stores its checked parameters in ``__init__`` through ``_set_params``; ``fuse``
    calls the function (a module that keeps buffers between frames overrides it).
    """

    PARAMS: ClassVar[tuple[Param, ...]] = ()
    needs_thermal: ClassVar[bool] = True
    function: ClassVar[Callable[..., torch.Tensor]]  # the op: function(rgb, thermal, **params)
    flops_of: ClassVar[Callable[..., float]]  # its cost: flops_of(h, w, **params)

    def _set_params(self, **values: Any) -> None:
        self._params = check_params(self.name, self.PARAMS, values)

    @property
    def params(self) -> dict[str, Any]:
        """The module's parameters by name (a copy)."""
        return dict(self._params)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._params.items())

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.PARAMS}

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None = None) -> ClassicalFusion:
        """Build from a mapping whose values may be text (as parsed from ``gff:r1=20,eps1=0.1``)."""
        params = dict(params or {})
        table = {p.name: p for p in cls.PARAMS}
        values = {}
        for key, value in params.items():
            if key not in table:
                check_params(cls.name, cls.PARAMS, {key: value})  # raises the unknown-key error
            values[key] = table[key].parse(cls.name, value) if isinstance(value, str) else value
        return cls(**values)

    @classmethod
    def flops(cls, h: int, w: int, **params: Any) -> int:
        """Floating-point operations for one (3, h, w) frame with these parameters (defaults for the rest).

        Counting rule, for every op: one per element for each add, subtract, multiply, divide, compare,
        abs, min/max and clamp bound; a k-tap filter is 2k per output (multiply and add); a cumulative
        sum is one add per element. Reductions over channels count their adds. Index work (argmax, gather, top-k,
        padding) and memory traffic are not counted.
        """
        sizes_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (h, w))
        if not sizes_ok:
            raise ConfigError(f"{cls.name}: flops needs a positive int frame size, got h={h!r}, w={w!r}")
        return int(cls._flops(int(h), int(w), **check_params(cls.name, cls.PARAMS, params)))

    @classmethod
    def _flops(cls, h: int, w: int, **params: Any) -> float:
        return cls.flops_of(h, w, **params)

    def fuse(self, rgb: torch.Tensor, thermal: torch.Tensor) -> torch.Tensor:
        return type(self).function(rgb, thermal, **self._params)
