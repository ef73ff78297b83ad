"""Semantic class ids: CARLA's table (0.9.14 and later, Cityscapes-based).

Both backends and every sensor model use these ids, so a CARLA semantic camera's output feeds the
thermal model unchanged. ``semantic_ids.npy`` written by ``harness render`` holds these values.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Sem(IntEnum):
    UNLABELED = 0
    ROAD = 1
    SIDEWALK = 2
    BUILDING = 3
    WALL = 4
    FENCE = 5
    POLE = 6
    TRAFFIC_LIGHT = 7
    TRAFFIC_SIGN = 8
    VEGETATION = 9
    TERRAIN = 10
    SKY = 11
    PEDESTRIAN = 12
    RIDER = 13
    CAR = 14
    TRUCK = 15
    BUS = 16
    TRAIN = 17
    MOTORCYCLE = 18
    BICYCLE = 19
    STATIC = 20
    DYNAMIC = 21
    OTHER = 22
    WATER = 23
    ROAD_LINE = 24
    GROUND = 25
    BRIDGE = 26
    RAIL_TRACK = 27
    GUARD_RAIL = 28


NUM_CLASSES = 29

# CARLA's CityScapesPalette colours, indexed by id (RGB, uint8).
PALETTE = np.array(
    [
        (0, 0, 0), (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156),
        (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35),
        (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
        (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
        (110, 190, 160), (170, 120, 50), (55, 90, 80), (45, 60, 150), (157, 234, 50),
        (81, 0, 81), (150, 100, 100), (230, 150, 140), (180, 165, 180),
    ],
    dtype=np.uint8,
)

VEHICLE_CLASSES = (Sem.CAR, Sem.TRUCK, Sem.BUS, Sem.MOTORCYCLE, Sem.BICYCLE)
VULNERABLE_CLASSES = (Sem.PEDESTRIAN, Sem.RIDER)


def colorize(ids: np.ndarray) -> np.ndarray:
    """Map an ``(H, W)`` array of class ids to an ``(H, W, 3)`` uint8 CityScapes-palette image."""
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"colorize expects an (H, W) id image, got shape {ids.shape}")
    return PALETTE[np.clip(ids, 0, NUM_CLASSES - 1)]
