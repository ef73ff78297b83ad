"""The frozen RGB-only driving policy as a leaderboard SENSORS-track agent.

Sensors: one front RGB camera, GNSS, IMU, speedometer. Each tick the perception network
(``model.py``, trained by ``python -m distill train-policy`` on clear-day frames and then frozen)
segments vehicles and pedestrians and tells whether its own signal shows red; the planner
(``planner.py``) turns that, the route plan and the GNSS/IMU pose into a control.

``setup(path)`` takes a weights file or a folder holding ``perception.pt``; the default is the
committed ``agents/rgb_policy/weights/perception.pt``. Weights load with ``weights_only=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.autonomous_agent import AutonomousAgent
from agents.rgb_policy.model import decide_stop, fold_batch_norm, load_perception
from agents.rgb_policy.planner import Perception, Planner
from agents.rgb_policy.runtime import make_runner
from harness.errors import WrongOrderError
from harness.plan import plan_array
from harness.rig import CameraSpec
from harness.backends.records import VehicleControl

CAMERA = CameraSpec()  # 320x160, 90 deg, 1.3 m ahead of the centre, 2.3 m up: the harness default


class RGBPolicyAgent(AutonomousAgent):
    def setup(self, path_to_conf_file: str) -> None:
        torch.set_num_threads(1)  # deterministic and one core per worker
        net, self.meta = load_perception(path_to_conf_file or None)
        self.net = fold_batch_norm(net)
        self.runner = make_runner(self.net, shape=(CAMERA.height, CAMERA.width))  # ONNX Runtime unless HARNESS_POLICY_RUNTIME=torch
        self.planner = Planner(CAMERA)
        self._planned = False
        self.last: Perception | None = None

    def sensors(self) -> list[dict[str, Any]]:
        p = CAMERA.pose
        return [
            {"type": "sensor.camera.rgb", "id": "rgb", "x": p.x, "y": p.y, "z": p.z, "roll": p.roll, "pitch": p.pitch,
             "yaw": p.yaw, "width": CAMERA.width, "height": CAMERA.height, "fov": CAMERA.fov},
            {"type": "sensor.other.gnss", "id": "gnss", "x": 0.0, "y": 0.0, "z": 0.0},
            {"type": "sensor.other.imu", "id": "imu", "x": 0.0, "y": 0.0, "z": 0.0, "roll": 0.0, "pitch": 0.0, "yaw": 0.0},
            {"type": "sensor.speedometer", "id": "speed"},
        ]

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        super().set_global_plan(global_plan_gps, global_plan_world_coord)
        pts, yaw, options = plan_array(global_plan_world_coord)
        self.planner.set_plan(pts, yaw, options)
        self._planned = True

    def perceive(self, rgb: np.ndarray) -> Perception:
        """(H, W, 3) uint8 RGB -> the network's mask and light outputs."""
        mask, maps = self.runner(rgb)
        return Perception(mask, float(decide_stop(maps[1].max(), maps[2].max())), maps)

    def run_step(self, input_data: dict, timestamp: float) -> VehicleControl:
        if not self._planned:
            raise WrongOrderError("RGBPolicyAgent.run_step() before set_global_plan(); the runner hands the route first")
        image = input_data["rgb"][1]
        rgb = image[..., 2::-1] if image.shape[-1] == 4 else image  # CARLA cameras deliver BGRA
        self.last = self.perceive(rgb)
        imu = input_data["imu"][1]
        return self.planner.step(input_data["gnss"][1], float(imu[-1]), float(input_data["speed"][1]["speed"]), self.last)
