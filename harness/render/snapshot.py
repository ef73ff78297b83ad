"""One moment of a scenario as files: what ``python -m harness render`` writes.

After ``step`` 20 Hz steps of a lane-keeping drive along the route, ``out`` gets the sensor views
(``rgb.png``, ``thermal.png``, ``thermal_kelvin.npy`` float32 [K]), the privileged ground truth
(``clean_rgb.png``, ``semantic.png`` and ``semantic_ids.npy``: uint8 class ids of
``harness.semantics``), the thermal image registered into the RGB view (``thermal_registered.png``)
and each fusion variant's output (``fused_<variant>.png``).

With a sweep axis (``harness render --axis sun --values 60,10,-30``) it does so once per severity, into
``out/<axis>=<value>/``, and puts the views side by side in ``out/sheet.jpg``: one row per severity, the
camera, the registered thermal frame, each variant's image and the clean one. What a robustness curve's
points looked like, before or beside the drives (``harness sweep --frames STEP`` writes it too).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_snapshot(scenario: str, out: str | Path, route: str | None = None, step: int = 0, seed: int = 0,
                   size: tuple[int, int] | None = None, variants: Sequence[str] = ("rgb", "thermal"),
                   progress: bool = True, weather: dict[str, float] | None = None, calibration=None) -> dict:
    """Simulate ``step`` steps of ``route`` (None: the scenario's first) with traffic ``seed`` and
    write the views into ``out``; returns what was written and where the ego stood. ``weather``
    overrides Weather fields and ``calibration`` (a :class:`~harness.sensors.registration.Calibration`)
    is the registration error of the fused views, as a sweep's conditions set them. Every input is
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
    if weather:
        sc = dataclasses.replace(sc, weather=sc.weather.with_overrides(**weather))
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
        fused = write_fused(frame, be.scenario.rig, fusions, out, seed, calibration)
        return {"fused": fused, "out": str(out), "scenario": be.scenario.name, "route": route_id, "step": step,
                "frame": frame.frame, "ego_pose": list(pv.ego_pose), "renderer": be.renderer.info["GL_RENDERER"]}


def write_fused(frame, rig, variants, out: Path, seed: int = 0, calibration=None) -> list[str]:
    """thermal_registered.png (thermal warped into the RGB view, with ``calibration``'s error) and
    fused_<variant>.png per variant that is a fusion module; returns the fused files' names."""
    from PIL import Image

    from fusion.io import fuse_frame
    from harness.sensors.registration import Calibration, Registrar

    registered = Registrar(rig.rgb, rig.thermal.camera, calibration or Calibration())(frame.thermal)
    Image.fromarray(registered).save(out / "thermal_registered.png")
    written = []
    for v in variants:
        fuser = v.build()
        if fuser is None:  # oracle_clean is the clean image, already written
            continue
        name = fused_name(v.name)
        Image.fromarray(fuse_frame(fuser, v, frame.rgb, registered, seed, frame.frame)).save(out / name)
        written.append(name)
    return written


def fused_name(variant: str) -> str:
    """The file a variant's image is written to: ``fused_<variant>.png``, odd characters as ``_``."""
    return f"fused_{re.sub(r'[^A-Za-z0-9_.,=+-]', '_', variant)}.png"


SHEET_LABEL_PX = 14  # height of the label strip above each column and left of each row


def write_axis_sheet(scenario: str, out: str | Path, axis: str, values: Sequence[float] | None, route: str | None = None,
                     step: int = 0, seed: int = 0, size: tuple[int, int] | None = None,
                     variants: Sequence[str] = ("rgb", "thermal"), progress: bool = True,
                     weather: dict[str, float] | None = None, calibration=None) -> dict:
    """One snapshot per severity of a sweep ``axis`` (``out/<axis>=<value>/``, as :func:`write_snapshot`)
    and ``out/sheet.jpg``: a row per severity of camera | registered thermal | each variant | clean
    (``rgb``, ``thermal`` and ``oracle_clean`` are those columns already). ``weather`` and
    ``calibration`` are the base the axis changes (a sweep's own overrides and ``--misalign-*``)."""
    from PIL import Image, ImageDraw
    from tqdm import tqdm

    from fusion.registry import check_variant
    from harness.backends.bench import one_route, sized_scenario
    from harness.errors import ConfigError
    from harness.runner.axes import axis_setting, axis_values, folder_name
    from harness.sensors.registration import Calibration

    values = axis_values(axis, values)
    if axis == "latency":
        raise ConfigError("latency changes when a frame reaches the policy, not what it shows: no sheet to draw; "
                          "pick fog, sun, misalign_px or misalign_deg")
    settings = [axis_setting(axis, v) for v in values]  # every value checked before the first simulator starts
    names = [check_variant(v).name for v in variants]
    route = one_route(sized_scenario(scenario, size), route)  # a bad scenario, size or route: one line, before any bar
    out = Path(out)
    base = calibration or Calibration()
    shots = []
    for v, (w_axis, c_axis, _) in tqdm(list(zip(values, settings)), desc=f"frames along {axis}", unit="value",
                                       disable=not progress, file=sys.stderr):
        shots.append(write_snapshot(scenario, out / folder_name(axis, v), route=route, step=step, seed=seed, size=size,
                                    variants=variants, progress=False, weather={**(weather or {}), **w_axis},
                                    calibration=dataclasses.replace(base, **c_axis)))
    columns = [("camera", "rgb.png"), ("thermal (registered)", "thermal_registered.png"),
               *[(n, fused_name(n)) for n in names if n not in ("rgb", "thermal", "oracle_clean")], ("clean", "clean_rgb.png")]
    rows = [[Image.open(out / folder_name(axis, v) / f).convert("RGB") for _, f in columns] for v in values]
    w, h = rows[0][0].size
    lab = SHEET_LABEL_PX
    sheet = Image.new("RGB", (lab + w * len(columns), lab + h * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (title, _) in enumerate(columns):
        draw.text((lab + c * w + 4, 1), title, fill="black")
    for r, (v, ims) in enumerate(zip(values, rows)):
        for c, im in enumerate(ims):
            sheet.paste(im.resize((w, h)), (lab + c * w, lab + r * h))
        label = Image.new("RGB", (h, lab), "white")  # the row's label, written sideways
        ImageDraw.Draw(label).text((4, 1), folder_name(axis, v), fill="black")
        sheet.paste(label.rotate(90, expand=True), (0, lab + r * h))
    sheet.save(out / "sheet.jpg", quality=85)
    return {"out": str(out), "sheet": str(out / "sheet.jpg"), "axis": axis, "values": list(values),
            "columns": [t for t, _ in columns], "route": shots[0]["route"], "step": step, "seed": seed}
