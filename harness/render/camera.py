"""Camera geometry: world pose of a rig camera and its OpenGL view/projection matrices.

World is CARLA's frame (x forward, y right, z up). The view matrix maps it to OpenGL eye space
(x right, y up, looking down -z) by naming the camera's right, up and forward axes explicitly.
"""

from __future__ import annotations

import math

import numpy as np

from harness.rig import CameraSpec

NEAR_M = 0.2
FAR_M = 800.0


def camera_world_pose(ego_xy: tuple[float, float], ego_yaw: float, spec: CameraSpec) -> tuple[np.ndarray, float, float, float]:
    """Camera position [m] and yaw, pitch, roll [rad] in the world for the ego at ``ego_xy``/``ego_yaw`` [rad]."""
    p = spec.pose
    c, s = math.cos(ego_yaw), math.sin(ego_yaw)
    pos = np.array([ego_xy[0] + c * p.x - s * p.y, ego_xy[1] + s * p.x + c * p.y, p.z])
    return pos, ego_yaw + math.radians(p.yaw), math.radians(p.pitch), math.radians(p.roll)


def view_matrix(pos: np.ndarray, yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    f = np.array([cy * cp, sy * cp, sp])
    r = np.array([-sy, cy, 0.0])
    u = np.array([-cy * sp, -sy * sp, cp])
    if roll:
        cr, sr = math.cos(roll), math.sin(roll)
        r, u = r * cr + u * sr, u * cr - r * sr
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = r, u, -f
    m[:3, 3] = -m[:3, :3] @ pos
    return m


def projection_matrix(spec: CameraSpec, near: float = NEAR_M, far: float = FAR_M) -> np.ndarray:
    fx = 1.0 / math.tan(math.radians(spec.fov) / 2.0)
    fy = fx * spec.width / spec.height
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = fx, fy
    m[2, 2] = -(far + near) / (far - near)
    m[2, 3] = -2.0 * far * near / (far - near)
    m[3, 2] = -1.0
    return m


def project_points(points: np.ndarray, pos: np.ndarray, yaw: float, pitch: float, roll: float, spec: CameraSpec) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (u right, v down) [px] and depth [m] of world points (N, 3)."""
    v = view_matrix(pos, yaw, pitch, roll)
    pc = (v[:3, :3] @ np.asarray(points, dtype=np.float64).T).T + v[:3, 3]
    depth = -pc[:, 2]
    f = spec.focal_px
    with np.errstate(divide="ignore", invalid="ignore"):
        u = spec.width / 2 + f * pc[:, 0] / depth
        vv = spec.height / 2 - f * pc[:, 1] / depth
    return np.stack([u, vv], -1), depth
