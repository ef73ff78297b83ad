"""Thermal-to-RGB registration from the rig, and the injected calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.render.camera import camera_world_pose, project_points
from harness.rig import CameraSpec, Pose, Rig
from harness.sensors.registration import Calibration, Registrar, rgb_to_thermal_homography


def _project(cam: CameraSpec, pts: np.ndarray) -> np.ndarray:
    pos, yaw, pitch, roll = camera_world_pose((0.0, 0.0), 0.0, cam)
    return project_points(pts, pos, yaw, pitch, roll, cam)[0]


def _apply(H: np.ndarray, uv: np.ndarray) -> np.ndarray:
    p = np.c_[uv, np.ones(len(uv))] @ H.T
    return p[:, :2] / p[:, 2:]


def test_same_camera_is_identity():
    H = rgb_to_thermal_homography(CameraSpec(), CameraSpec())
    assert np.allclose(H, np.eye(3), atol=1e-9)


@pytest.mark.parametrize("thermal", [Rig().thermal.camera,
                                     CameraSpec(640, 480, 60.0, Pose(1.1, -0.3, 2.0, 0.0, -3.0, 2.0))])
def test_points_on_the_plane_land_where_the_thermal_camera_sees_them(thermal):
    rgb = CameraSpec()
    calib = Calibration(plane_m=15.0)
    H = rgb_to_thermal_homography(rgb, thermal, calib)
    # world points at 15 m ahead of the RGB camera (x forward), spread across its view
    ys, zs = np.meshgrid(np.linspace(-6, 6, 5), np.linspace(0.5, 4.0, 4))
    pts = np.c_[np.full(ys.size, rgb.pose.x + 15.0), ys.ravel(), zs.ravel()]
    uv_rgb, uv_th = _project(rgb, pts), _project(thermal, pts)
    assert np.abs(_apply(H, uv_rgb) - uv_th).max() < 1e-6


def test_off_the_plane_only_the_baseline_parallax_remains():
    rgb, thermal = CameraSpec(), Rig().thermal.camera
    H = rgb_to_thermal_homography(rgb, thermal, Calibration(plane_m=15.0))
    ys, zs = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(0.5, 3.0, 4))
    near = np.c_[np.full(ys.size, rgb.pose.x + 5.0), ys.ravel(), zs.ravel()]
    # a few pixels at 5 m for the rig's 0.25 m baseline
    err = np.abs(_apply(H, _project(rgb, near)) - _project(thermal, near)).max()
    assert 1.0 < err < 12.0


def test_injected_shift_and_rotation_move_the_content():
    cam = CameraSpec()
    img = np.zeros((160, 320), np.uint8)
    img[70:90, 150:170] = 255  # a bright square at the centre
    shifted = Registrar(cam, cam, Calibration(dx_px=30.0, dy_px=-10.0))(img)
    ys, xs = np.nonzero(shifted > 128)
    assert abs(xs.mean() - (159.5 + 30)) < 1.0 and abs(ys.mean() - (79.5 - 10)) < 1.0
    bar = np.zeros((160, 320), np.uint8)
    bar[78:82, 100:220] = 255  # horizontal bar through the centre
    rot = Registrar(cam, cam, Calibration(rot_deg=10.0))(bar)
    ys, xs = np.nonzero(rot > 128)
    slope = np.polyfit(xs, ys, 1)[0]
    assert np.degrees(np.arctan(slope)) == pytest.approx(10.0, abs=1.0)  # clockwise on screen (v down)


def test_bad_calibration_and_size_fail_clearly():
    with pytest.raises(ConfigError, match="plane_m"):
        Calibration(plane_m=0.0)
    with pytest.raises(ConfigError, match="finite"):
        Calibration(dx_px=float("nan"))
    reg = Registrar(CameraSpec(), Rig().thermal.camera)
    with pytest.raises(ConfigError, match="expects 320x160"):
        reg(np.zeros((100, 100), np.uint8))
