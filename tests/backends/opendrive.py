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


ARM = 50.0  # [m] crossing(): each arm's length
BOX = 10.0  # [m] crossing(): half the junction's width (the arms end this far from its centre)


def _plain_road(rid: int, x: float, y: float, hdg: float, length: float, curvature: float = 0.0,
                pred: tuple[str, int] | None = None, succ: tuple[str, int] | None = None, junction: int = -1) -> str:
    """A road of one geometry: outside a junction one driving lane each way (no lane links: the
    junction's laneLinks join them), inside one lane -1 linked -1 to -1 at both ends."""
    link = ""
    for tag, end, contact in (("predecessor", pred, "end"), ("successor", succ, "start")):
        if end:
            point = f' contactPoint="{contact}"' if end[0] == "road" else ""
            link += f'<{tag} elementType="{end[0]}" elementId="{end[1]}"{point}/>'
    geom = f'<arc curvature="{curvature}"/>' if curvature else "<line/>"
    width = f'<width sOffset="0" a="{LANE_W}" b="0" c="0" d="0"/>'
    lane_link = '<link><predecessor id="-1"/><successor id="-1"/></link>' if junction != -1 else "<link/>"
    right = f'<right><lane id="-1" type="driving" level="false">{lane_link}{width}</lane></right>'
    left = f'<left><lane id="1" type="driving" level="false"><link/>{width}</lane></left>' if junction == -1 else ""
    return (f'<road name="r{rid}" length="{length}" id="{rid}" junction="{junction}"><link>{link}</link>'
            f'<planView><geometry s="0" x="{x}" y="{y}" hdg="{hdg}" length="{length}">{geom}</geometry></planView>'
            f'<elevationProfile/><lateralProfile/><lanes><laneSection s="0">{left}'
            f'<center><lane id="0" type="none" level="false"/></center>{right}</laneSection></lanes></road>')


def crossing() -> str:
    """A four-way junction at the origin: road 1 comes in from the west (driving east on lane -1);
    from it, connecting roads 11, 12 and 13 (junction 100) go straight on to road 2 (east arm), turn
    right to road 3 (south arm) and turn left to road 4 (north arm), each arm ``ARM`` long, leaving
    the junction box (``2 * BOX`` wide) on its lane -1. OpenDRIVE's y points north, CARLA's south."""
    quarter = math.pi / 2 * BOX
    roads = [
        _plain_road(1, -BOX - ARM, 0.0, 0.0, ARM, succ=("junction", 100)),
        _plain_road(2, BOX, 0.0, 0.0, ARM, pred=("junction", 100)),
        _plain_road(3, 0.0, -BOX, -math.pi / 2, ARM, pred=("junction", 100)),
        _plain_road(4, 0.0, BOX, math.pi / 2, ARM, pred=("junction", 100)),
        _plain_road(11, -BOX, 0.0, 0.0, 2 * BOX, pred=("road", 1), succ=("road", 2), junction=100),
        _plain_road(12, -BOX, 0.0, 0.0, quarter, -1.0 / BOX, pred=("road", 1), succ=("road", 3), junction=100),
        _plain_road(13, -BOX, 0.0, 0.0, quarter, 1.0 / BOX, pred=("road", 1), succ=("road", 4), junction=100),
    ]
    conns = "".join(f'<connection id="{i}" incomingRoad="1" connectingRoad="{c}" contactPoint="start">'
                    '<laneLink from="-1" to="-1"/></connection>' for i, c in enumerate((11, 12, 13)))
    return ('<?xml version="1.0" standalone="yes"?><OpenDRIVE><header revMajor="1" revMinor="4" name="crossing" '
            'version="1" north="0" south="0" east="0" west="0"/>' + "".join(roads)
            + f'<junction id="100" name="j">{conns}</junction></OpenDRIVE>')
