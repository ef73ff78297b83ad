"""One moment of a scenario as files: what ``python -m harness render`` writes.

After ``step`` 20 Hz steps of a lane-keeping drive along the route, ``out`` gets the sensor views
(``rgb.png``, ``thermal.png``, ``thermal_kelvin.npy`` float32 [K]), the privileged ground truth
(``clean_rgb.png``, ``semantic.png`` and ``semantic_ids.npy``: uint8 class ids of
``harness.semantics``), the thermal image registered into the RGB view (``thermal_registered.png``)
and each fusion variant's output (``fused_<variant>.png``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_snapshot(scenario: str, out: str | Path, route: str | None = None, step: int = 0, seed: int = 0,
                   size: tuple[int, int] | None = None, variants: Sequence[str] = ("rgb", "thermal"),
                   progress: bool = True) -> dict:
    """Simulate ``step`` steps of ``route`` (None: the scenario's first) with traffic ``seed`` and
    write the views into ``out``; returns what was written and where the ego stood. Every input is
    checked before the simulator starts; ``out`` is created only once the frame exists."""
    from PIL import Image
    from tqdm import tqdm

    from fusion.registry import check_variant
    from harness.backends.bench import one_route, sized_scenario
    from harness.backends.embedded import EmbeddedBackend
    from harness.semantics import colorize
    from harness.world.autopilot import lane_keeper

    out = Path(out)
    fusions = [check_variant(v) for v in variants]
    sc = sized_scenario(scenario, size)
    route_id = one_route(sc, route)
    with EmbeddedBackend(sc, privileged=True) as be:
        be.load(route_id, seed)
        frame = be.reset()
        drive = lane_keeper(be)
        for _ in tqdm(range(step), desc="simulating", unit="step", disable=not progress or step < 50, file=sys.stderr):
            frame, _ = be.step(drive(frame))
        out.mkdir(parents=True, exist_ok=True)
        pv = frame.privileged
        Image.fromarray(frame.rgb).save(out / "rgb.png")
        Image.fromarray(frame.thermal).save(out / "thermal.png")
        Image.fromarray(pv.clean_rgb).save(out / "clean_rgb.png")
        Image.fromarray(colorize(pv.semantic)).save(out / "semantic.png")
        np.save(out / "semantic_ids.npy", pv.semantic.astype(np.uint8))
        np.save(out / "thermal_kelvin.npy", frame.thermal_kelvin.astype(np.float32))
        fused = write_fused(frame, be.scenario.rig, fusions, out, seed)
        return {"fused": fused, "out": str(out), "scenario": be.scenario.name, "route": route_id, "step": step,
                "frame": frame.frame, "ego_pose": list(pv.ego_pose), "renderer": be.renderer.info["GL_RENDERER"]}


def write_fused(frame, rig, variants, out: Path, seed: int = 0) -> list[str]:
    """thermal_registered.png (thermal warped into the RGB view) and fused_<variant>.png per variant
    that is a fusion module; returns the fused files' names."""
    import re

    from PIL import Image

    from fusion.io import fuse_frame
    from harness.sensors.registration import Registrar

    registered = Registrar(rig.rgb, rig.thermal.camera)(frame.thermal)
    Image.fromarray(registered).save(out / "thermal_registered.png")
    written = []
    for v in variants:
        fuser = v.build()
        if fuser is None:  # oracle_clean is the clean image, already written
            continue
        name = f"fused_{re.sub(r'[^A-Za-z0-9_.,=+-]', '_', v.name)}.png"
        Image.fromarray(fuse_frame(fuser, v, frame.rgb, registered, seed, frame.frame)).save(out / name)
        written.append(name)
    return written
