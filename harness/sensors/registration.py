"""Registering the thermal image to the RGB camera's view, with an injectable calibration error.

The two cameras have their own intrinsics (size, field of view) and mounting poses (``harness.rig``).
Without per-pixel depth, the thermal image is warped with the homography induced by a
fronto-parallel plane ``plane_m`` metres ahead of the RGB camera: exact for points at that depth,
a few pixels of parallax elsewhere for a baseline of decimetres. A calibration error (what the
robustness sweeps perturb) is a shift in RGB pixels plus an in-plane rotation about the image centre,
composed into the warp: the warp then lands the thermal content that far off its true place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from harness.errors import ConfigError
from harness.render.camera import view_matrix
from harness.rig import CameraSpec, Pose

NOMINAL_PLANE_M = 15.0  # [m] depth at which registration is exact
# Bounds of an injected calibration error: a shift beyond the largest RGB image (4096 px a side, what
# the renderer takes) moves the thermal content out of view whatever the size, so larger ones are
# typing mistakes; any in-plane rotation is within a half turn either way.
MAX_SHIFT_PX = 4096.0  # [px]
MAX_ROT_DEG = 180.0  # [deg]


@dataclass(frozen=True)
class Calibration:
    """Calibration error injected into the registration (zero: the rig's true calibration)."""

    dx_px: float = 0.0  # [px] shift of the thermal content to the right, in RGB pixels
    dy_px: float = 0.0  # [px] shift down
    rot_deg: float = 0.0  # [deg] in-plane rotation, clockwise in the image
    plane_m: float = NOMINAL_PLANE_M  # [m] registration plane depth

    def __post_init__(self) -> None:
        for name in ("dx_px", "dy_px", "rot_deg", "plane_m"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"Calibration.{name} must be finite, got {getattr(self, name)}")
        for name, bound, unit in (("dx_px", MAX_SHIFT_PX, "px"), ("dy_px", MAX_SHIFT_PX, "px"),
                                  ("rot_deg", MAX_ROT_DEG, "deg")):
            if abs(getattr(self, name)) > bound:
                raise ConfigError(f"Calibration.{name} must be within [{-bound:g}, {bound:g}] {unit}, got "
                                  f"{getattr(self, name):g}; a misalignment is at most the image's size "
                                  f"({MAX_SHIFT_PX:g} px) and half a turn ({MAX_ROT_DEG:g} deg)")
        if self.plane_m <= 0:
            raise ConfigError(f"Calibration.plane_m must be > 0 m, got {self.plane_m}")


def _rotation_vehicle_to_cv(pose: Pose) -> np.ndarray:
    """Rotation taking vehicle-frame vectors (x fwd, y right, z up) into the camera's CV frame
    (x right, y down, z forward): the renderer's view rotation (rows right, up, -forward) with its
    second and third axes flipped."""
    view = view_matrix(np.zeros(3), *(math.radians(a) for a in (pose.yaw, pose.pitch, pose.roll)))
    return np.diag([1.0, -1.0, -1.0]) @ view[:3, :3]


def _K(cam: CameraSpec) -> np.ndarray:
    return np.array(cam.intrinsics())


def rgb_to_thermal_homography(rgb: CameraSpec, thermal: CameraSpec, calib: Calibration = Calibration()) -> np.ndarray:
    """3x3 map from RGB pixel coordinates to thermal pixel coordinates (for ``cv2.WARP_INVERSE_MAP``)."""
    Rr, Rt = _rotation_vehicle_to_cv(rgb.pose), _rotation_vehicle_to_cv(thermal.pose)
    cr = np.array([rgb.pose.x, rgb.pose.y, rgb.pose.z])
    ct = np.array([thermal.pose.x, thermal.pose.y, thermal.pose.z])
    R = Rt @ Rr.T  # RGB CV frame -> thermal CV frame
    t = Rt @ (cr - ct)  # RGB camera centre in the thermal frame
    n = np.array([0.0, 0.0, 1.0])
    H = _K(thermal) @ (R + np.outer(t, n) / calib.plane_m) @ np.linalg.inv(_K(rgb))
    if calib.dx_px or calib.dy_px or calib.rot_deg:
        # the content should appear moved by (dx, dy) and rotated: sample from the inverse motion
        c = np.array([rgb.width / 2.0, rgb.height / 2.0])
        a = math.radians(calib.rot_deg)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        M = np.eye(3)
        M[:2, :2] = rot
        M[:2, 2] = c + np.array([calib.dx_px, calib.dy_px]) - rot @ c
        H = H @ np.linalg.inv(M)
    return H / H[2, 2]


class Registrar:
    """Warps thermal frames into the RGB view; the homography is computed once per camera pair."""

    def __init__(self, rgb: CameraSpec, thermal: CameraSpec, calib: Calibration = Calibration()) -> None:
        self.rgb, self.thermal, self.calib = rgb, thermal, calib
        self.H = rgb_to_thermal_homography(rgb, thermal, calib)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(Ht, Wt) thermal -> (H, W) in the RGB view; outside the thermal field of view is 0."""
        if image.shape[:2] != (self.thermal.height, self.thermal.width):
            raise ConfigError(f"thermal image is {image.shape[1]}x{image.shape[0]}, the calibration expects "
                              f"{self.thermal.width}x{self.thermal.height}")
        return cv2.warpPerspective(image, self.H, (self.rgb.width, self.rgb.height),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
