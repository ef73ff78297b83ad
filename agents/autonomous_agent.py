"""The CARLA leaderboard agent interface, without CARLA.

A leaderboard agent declares its sensors (``sensors()``), receives the route once
(``set_global_plan``), and is called every 50 ms tick with ``run_step(input_data, timestamp)``,
where ``input_data[sensor_id] = (frame, data)`` in the formats the leaderboard's sensor interface
delivers (cameras as ``(H, W, 4) uint8 BGRA``; see ``harness/sensors/suite.py``). It returns a
control with ``throttle``, ``steer`` and ``brake`` (``carla.VehicleControl`` or ours).

Any object with these methods can be run or wrapped (:class:`LeaderboardAgent` is a ``Protocol``
for agents we don't own); :class:`AutonomousAgent` is the base class our own agents use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from harness.backends.records import VehicleControl


class Track(str, Enum):
    SENSORS = "SENSORS"
    MAP = "MAP"


@runtime_checkable
class LeaderboardAgent(Protocol):
    def setup(self, path_to_conf_file: str) -> None: ...

    def sensors(self) -> list[dict[str, Any]]: ...

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> Any: ...

    def destroy(self) -> None: ...


class AutonomousAgent(ABC):
    """Base class of our agents; mirrors ``leaderboard.autoagents.autonomous_agent.AutonomousAgent``."""

    track: Track = Track.SENSORS

    def __init__(self, path_to_conf_file: str = "") -> None:
        self._global_plan = None
        self._global_plan_world_coord = None
        self.setup(path_to_conf_file)

    def setup(self, path_to_conf_file: str) -> None:
        """Read the agent's configuration; called once from ``__init__``."""

    @abstractmethod
    def sensors(self) -> list[dict[str, Any]]:
        """The sensor suite: dicts with ``type``, ``id`` and pose/size keys as the leaderboard's."""

    @abstractmethod
    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> VehicleControl:
        """One control per 50 ms tick."""

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        """The route: ``[({'lat', 'lon', 'z'}, RoadOption)]`` and ``[(Transform, RoadOption)]``."""
        self._global_plan = global_plan_gps
        self._global_plan_world_coord = global_plan_world_coord

    def destroy(self) -> None:
        """Release resources at the end of a route."""
