"""The thermal camera: surfaces, atmosphere, optics, readout and gain control composed, in that order.

:class:`ThermalCamera` turns what a renderer gives at its pose, ``(H, W)`` class ids, instance ids
and depth [m], plus the weather, into a :class:`ThermalFrame`: the 8-bit image after automatic gain
control, the scene's surface temperature [K] and the raw 14-bit counts. The optics blur the
received radiance with a Gaussian of ``blur_sigma_px`` [px] before the readout.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from harness.errors import ConfigError
from harness.rig import ThermalSpec
from harness.semantics import Sem
from harness.sensors.thermal.atmosphere import far_mask, through_atmosphere
from harness.sensors.thermal.gain import gain_control
from harness.sensors.thermal.inputs import check_arrays, check_rng, check_weather
from harness.sensors.thermal.noise import Readout
from harness.sensors.thermal.surfaces import emitted_radiance, surface_kelvin, surface_table
from harness.weather import Weather


@dataclass(frozen=True)
class ThermalFrame:
    """One thermal frame; all arrays ``(H, W)`` at the thermal camera's resolution."""

    image: np.ndarray  # uint8 [0..255] after automatic gain control
    kelvin: np.ndarray  # float32 [K] scene surface temperature (before atmosphere/noise; sky = sky temperature)
    counts: np.ndarray  # uint16 [0..16383] raw 14-bit counts, linear in received band radiance


class ThermalCamera:
    """A microbolometer camera with its own fixed-pattern noise and AGC state.

    ``__call__`` turns ``(H, W)`` class ids, instance ids and depth [m] into a :class:`ThermalFrame`;
    ``H, W`` must equal ``spec.camera.height, width``. Call :meth:`reset` at a new episode.
    """

    def __init__(self, spec: ThermalSpec, seed: int) -> None:
        if not isinstance(spec, ThermalSpec):
            raise ConfigError(f"ThermalCamera: spec must be a harness.rig.ThermalSpec, got {type(spec).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"ThermalCamera: seed must be a non-negative int, got {seed!r}")
        self.spec = spec
        self.shape = (spec.camera.height, spec.camera.width)
        self._readout = Readout.for_camera(spec, seed)
        self._agc = gain_control(spec, self._readout.counts_per_kelvin)

    def reset(self) -> None:
        """Forget the AGC state (new episode); the fixed pattern stays, it belongs to the camera."""
        self._agc.reset()

    def __call__(self, class_ids: np.ndarray, instance_ids: np.ndarray, depth_m: np.ndarray,
                 weather: Weather, rng: np.random.Generator) -> ThermalFrame:
        """Render one frame from ``(H, W)`` class ids, instance ids and depth [m]; raises ValueError.

        ``rng`` draws this frame's temporal noise: same inputs, seed and generator state give
        bit-identical frames.
        """
        ids, inst, depth = check_arrays(class_ids, instance_ids, depth_m, self.shape)
        check_weather(weather)
        check_rng(rng)
        table = surface_table(weather)
        far = far_mask(depth)
        kelvin, parts = surface_kelvin(ids, inst, far, table)
        sky = ids == Sem.SKY
        if far is not None:
            sky |= far
        emitted = emitted_radiance(ids, parts, far, table)
        received = through_atmosphere(emitted, depth, sky, table.extinction, table.air_radiance)
        if self.spec.blur_sigma_px > 0.0:
            cv2.GaussianBlur(received, (0, 0), self.spec.blur_sigma_px, dst=received,
                             borderType=cv2.BORDER_REFLECT_101)
        counts = self._readout.digitise(received, rng)
        return ThermalFrame(image=self._agc(counts), kelvin=kelvin, counts=counts)
