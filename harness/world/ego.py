"""The ego vehicle: a kinematic bicycle model at a fixed step, driven like ``carla.VehicleControl``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.backends.records import VehicleControl


@dataclass(frozen=True)
class EgoParams:
    length: float = 4.9  # [m] Lincoln MKZ-like, CARLA's default leaderboard ego
    width: float = 2.1  # [m]
    height: float = 1.5  # [m]
    wheelbase: float = 2.9  # [m]
    rear_to_cg: float = 1.45  # [m]
    max_steer_deg: float = 35.0  # [deg] front wheel angle at steer = 1
    steer_time_constant: float = 0.1  # [s] first-order lag of the steering actuator
    max_accel: float = 3.5  # [m/s^2] full throttle at standstill
    max_speed: float = 30.0  # [m/s]
    max_brake: float = 8.0  # [m/s^2] full brake
    drag: float = 0.02  # [1/s] speed-proportional resistance


@dataclass
class EgoState:
    x: float  # [m]
    y: float  # [m]
    yaw: float  # [rad]
    speed: float = 0.0  # [m/s] signed, negative in reverse
    wheel_angle: float = 0.0  # [rad]
    accel: float = 0.0  # [m/s^2]


def step_ego(state: EgoState, control: VehicleControl, params: EgoParams, dt: float) -> EgoState:
    """Advance the kinematic bicycle by ``dt`` seconds; returns a new state."""
    target = math.radians(params.max_steer_deg) * control.steer
    alpha = min(1.0, dt / max(params.steer_time_constant, 1e-6))
    wheel = state.wheel_angle + (target - state.wheel_angle) * alpha
    v = state.speed
    direction = -1.0 if control.reverse else 1.0
    drive = control.throttle * params.max_accel * max(0.0, 1.0 - abs(v) / params.max_speed) * direction
    braking = params.max_brake * max(control.brake, 1.0 if control.hand_brake else 0.0)
    a = drive - params.drag * v
    v_new = v + a * dt
    # brakes oppose motion and cannot reverse it
    dv_brake = braking * dt
    if abs(v_new) <= dv_brake:
        v_new = 0.0
    else:
        v_new -= math.copysign(dv_brake, v_new)
    beta = math.atan(params.rear_to_cg / params.wheelbase * math.tan(wheel))
    v_mid = 0.5 * (v + v_new)
    x = state.x + v_mid * math.cos(state.yaw + beta) * dt
    y = state.y + v_mid * math.sin(state.yaw + beta) * dt
    yaw = state.yaw + v_mid / params.rear_to_cg * math.sin(beta) * dt
    yaw = (yaw + math.pi) % (2 * math.pi) - math.pi
    return EgoState(x, y, yaw, v_new, wheel, (v_new - v) / dt)
