"""Fusion variants by name: what each needs from the sensors and how to build it.

``oracle_clean`` is not a sensor fusion: it hands the policy the privileged clean clear-noon image
of the RGB camera, an upper bound for what any fusion could restore.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable

from fusion.base import FusionModule
from fusion.trivial import RGBOnly, ThermalOnly
from harness.errors import ConfigError


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    build: Callable[[], FusionModule] | None  # None: not a fusion module (oracle_clean)
    needs_thermal: bool = True
    needs_clean: bool = False


VARIANTS: dict[str, Variant] = {
    "rgb": Variant("rgb", "RGB camera only (no thermal)", RGBOnly, needs_thermal=False),
    "thermal": Variant("thermal", "thermal only, grey in three channels", ThermalOnly),
    "oracle_clean": Variant("oracle_clean", "privileged clean clear-noon RGB (upper bound, not a sensor)", None,
                            needs_thermal=False, needs_clean=True),
}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(VARIANTS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown fusion variant {name!r}{hint}; known variants: {', '.join(VARIANTS)}") from None
