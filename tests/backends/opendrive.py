"""OpenDRIVE text the CARLA contract tests build a real ``carla.Map`` from (no server needed).

``stadium()``: a closed loop of four roads, two 100 m straights joined by two half circles of radius
20 m, each road with one driving lane per direction (3.5 m), all linked end to end: lane -1 runs
anticlockwise along the road's s, lane 1 the other way.
"""

from __future__ import annotations

import math

LANE_W = 3.5
RADIUS = 20.0
STRAIGHT = 100.0


def _lane(i: int, pred: int, succ: int) -> str:
    # lane -1 follows s, so its predecessor is on the previous road; lane 1 runs against s
    return (f'<lane id="{i}" type="driving" level="false"><link><predecessor id="{i}"/><successor id="{i}"/></link>'
            f'<width sOffset="0" a="{LANE_W}" b="0" c="0" d="0"/></lane>')


def _road(rid: int, pred: int, succ: int, x: float, y: float, hdg: float, length: float, curvature: float) -> str:
    geom = f'<arc curvature="{curvature}"/>' if curvature else "<line/>"
    return (f'<road name="r{rid}" length="{length}" id="{rid}" junction="-1"><link>'
            f'<predecessor elementType="road" elementId="{pred}" contactPoint="end"/>'
            f'<successor elementType="road" elementId="{succ}" contactPoint="start"/></link>'
            f'<planView><geometry s="0" x="{x}" y="{y}" hdg="{hdg}" length="{length}">{geom}</geometry></planView>'
            '<elevationProfile/><lateralProfile/><lanes><laneSection s="0">'
            f'<left>{_lane(1, pred, succ)}</left><center><lane id="0" type="none" level="false"/></center>'
            f'<right>{_lane(-1, pred, succ)}</right></laneSection></lanes></road>')


def stadium() -> str:
    half = math.pi * RADIUS
    roads = [_road(1, 4, 2, 0.0, 0.0, 0.0, STRAIGHT, 0.0),
             _road(2, 1, 3, STRAIGHT, 0.0, 0.0, half, 1.0 / RADIUS),
             _road(3, 2, 4, STRAIGHT, 2 * RADIUS, math.pi, STRAIGHT, 0.0),
             _road(4, 3, 1, 0.0, 2 * RADIUS, math.pi, half, 1.0 / RADIUS)]
    return ('<?xml version="1.0" standalone="yes"?><OpenDRIVE><header revMajor="1" revMinor="4" name="stadium" '
            'version="1" north="0" south="0" east="0" west="0"/>' + "".join(roads) + "</OpenDRIVE>")
