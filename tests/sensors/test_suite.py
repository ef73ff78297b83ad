"""Agents' sensor declarations: validation, rig, and the per-tick input data formats."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from harness.errors import AgentError
from harness.rig import Rig
from harness.sensors.suite import InputBuilder, parse_sensors, rig_for

CAM = {"type": "sensor.camera.rgb", "id": "rgb", "x": 1.0, "y": 0.0, "z": 2.0, "width": 400, "height": 200, "fov": 100}


@pytest.mark.parametrize("sensors, match", [
    ([], "non-empty list"),
    ("rgb", "non-empty list"),
    ([{"id": "x"}], "must be a dict with 'type' and 'id'"),
    ([{"type": "sensor.lidar.ray_cast", "id": "lidar"}], "unknown sensor type 'sensor.lidar.ray_cast'"),
    ([{"type": "sensor.opendrive_map", "id": "map"}], "MAP track"),
    ([CAM, {**CAM}], "used twice"),
    ([CAM, {**CAM, "id": "rgb2"}], "2 sensors of type 'sensor.camera.rgb'"),
    ([{**CAM, "width": "wide"}], "bad camera attribute"),
    ([{**CAM, "fov": 300}], "bad camera attribute"),
    ([CAM, {**CAM, "type": "sensor.privileged.clean_rgb", "id": "c", "fov": 60}], "same size, fov and pose"),
])
def test_bad_sensor_lists_name_the_problem(sensors, match):
    with pytest.raises(AgentError, match=match):
        parse_sensors(sensors, "MyAgent")


def test_rig_follows_the_agents_cameras():
    specs = parse_sensors([CAM, {"type": "sensor.camera.thermal", "id": "t", "width": 160, "height": 120, "fov": 50}])
    rig = rig_for(specs, Rig())
    assert (rig.rgb.width, rig.rgb.height, rig.rgb.fov, rig.rgb.pose.z) == (400, 200, 100.0, 2.0)
    assert (rig.thermal.camera.width, rig.thermal.camera.fov) == (160, 50.0)
    assert rig.thermal.netd_mk == Rig().thermal.netd_mk  # physics stay the scenario's


def test_input_data_formats_match_the_leaderboard():
    specs = parse_sensors([CAM, {"type": "sensor.other.gnss", "id": "gps"}, {"type": "sensor.other.imu", "id": "imu"},
                           {"type": "sensor.speedometer", "id": "speed"}])
    rgb = np.zeros((200, 400, 3), np.uint8)
    rgb[..., 0] = 200  # red
    f0 = SimpleNamespace(frame=4, rgb=rgb, thermal=None, privileged=None, gnss=(1e-4, 2e-4, 0.0), compass=0.5, speed=2.0)
    f1 = SimpleNamespace(**{**vars(f0), "frame": 5, "speed": 2.5, "compass": 0.6})
    build = InputBuilder(specs)
    build(f0)
    data = build(f1)
    frame, img = data["rgb"]
    assert frame == 5 and img.shape == (200, 400, 4) and img[0, 0].tolist() == [0, 0, 200, 255]  # BGRA
    assert data["gps"][1].tolist() == [1e-4, 2e-4, 0.0]
    imu = data["imu"][1]
    assert imu[0] == pytest.approx(10.0) and imu[5] == pytest.approx(2.0) and imu[6] == 0.6
    assert data["speed"][1] == {"speed": 2.5}
    assert math.isclose(imu[2], 9.81)


def test_clean_view_needs_a_privileged_backend():
    specs = parse_sensors([CAM, {**CAM, "type": "sensor.privileged.clean_rgb", "id": "clean"}])
    frame = SimpleNamespace(frame=0, rgb=np.zeros((200, 400, 3), np.uint8), privileged=None, speed=0.0, compass=0.0)
    with pytest.raises(AgentError, match="privileged"):
        InputBuilder(specs)(frame)
