"""Training data for the fusion teacher and student: ``python -m distill collect-fusion-data``.

The privileged expert drives training routes only (town02 routes 0-8 and town05 routes 5-8; never a
route that a scenario in ``scenarios/`` evaluates or selects on: :func:`check_held_out` makes sure,
and a test runs it) in the weathers where fusion matters: ``night``, ``dusk``, ``fog`` and
``night_fog``, each episode with knobs drawn at random from wide ranges (:func:`draw_conditions`):
sun altitude, fog visibility, cloudiness, air temperature, RGB sensor noise, the thermal camera's
NETD, fixed-pattern noise and gain control mode. Now and then the expert is pushed off its path
(a steering offset for a second or so, :class:`Pushes`), so off-path states appear.

Per kept frame (``every``-th 20 Hz step; a quarter of those while standing still):

- ``rgb (H, W, 3) uint8``: the RGB sensor frame;
- ``thermal_raw (Ht, Wt) uint8``: the thermal frame in its own camera;
- ``thermal (H, W) uint8``: the thermal frame registered to the RGB view with ``calib``;
- ``calib (3,) float32``: the calibration error of the registration (dx [px], dy [px], rot [deg]):
  exact on half the frames, otherwise drawn from +-``MAX_DX_PX`` and +-``MAX_ROT_DEG``, so models meet
  the misalignment robustness sweeps test (``thermal_raw`` allows registering again with another);
- ``clean (H, W, 3) uint8``: the privileged clean clear-noon RGB of the same view (the target);
- ``semantic (H, W) uint8`` (CARLA ids) and ``depth (H, W) float16`` [m] of the RGB view.

Episodes are written one compressed ``.npz`` shard each, named by their content and stamped with
``harness.render.RENDER_VERSION``: a rerun skips finished shards and collects stale ones again.
``manifest.json`` beside the shards counts frames per weather and lists routes and options.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from harness.errors import ConfigError
from harness.render import RENDER_VERSION

WEATHERS = ("night", "dusk", "fog", "night_fog")
FIELDS = ("rgb", "thermal_raw", "thermal", "calib", "clean", "semantic", "depth")
ROUTES_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "routes"
SCENARIOS_DIR = ROUTES_DIR.parent
TRAIN_ROUTES = (("town02", tuple(str(r) for r in range(9))), ("town05", ("5", "6", "7", "8")))
VAL_ROUTES = (("town02", ("9",)), ("town05", ("9",)))
MAX_DX_PX = 40.0  # [px] bound of a drawn calibration shift (the robustness sweeps go to +-40 px)
MAX_ROT_DEG = 15.0  # [deg] bound of a drawn calibration rotation (sweeps go to +-15 deg)
P_EXACT = 0.5  # share of frames registered with the true calibration


@dataclass(frozen=True)
class FusionEpisode:
    town: str
    route: str
    weather: str  # a family of WEATHERS; the knobs are drawn from the seed
    seed: int

    @property
    def key(self) -> str:
        return f"{self.town}_r{self.route}_{self.weather}_s{self.seed}"


def default_episodes(split: str) -> list[FusionEpisode]:
    """Training: each training route twice, in two weather families (cycled). Validation: route 9 of
    town02 and town05 in every family."""
    if split == "train":
        routes = [(t, r) for t, ids in TRAIN_ROUTES for r in ids]
        return [FusionEpisode(t, r, WEATHERS[(2 * k + j) % len(WEATHERS)], 5000 + 2 * k + j)
                for k, (t, r) in enumerate(routes) for j in range(2)]
    if split == "val":
        routes = [(t, r) for t, ids in VAL_ROUTES for r in ids]
        return [FusionEpisode(t, r, w, 9000 + 4 * k + j) for k, (t, r) in enumerate(routes) for j, w in enumerate(WEATHERS)]
    raise ConfigError(f"split must be 'train' or 'val', got {split!r}")


def check_held_out(episodes: list[FusionEpisode], scenarios_dir: Path = SCENARIOS_DIR) -> None:
    """ConfigError when an episode drives a route that a scenario in ``scenarios_dir`` evaluates or
    selects on (the same route file and id)."""
    from harness.scenario import load_scenario

    used: dict[tuple[Path, str], str] = {}
    for path in sorted(scenarios_dir.glob("*.yaml")):
        sc = load_scenario(str(path))
        for r in sc.load_routes():
            used[(sc.routes_path.resolve(), r.id)] = sc.name
    for ep in episodes:
        where = (ROUTES_DIR / f"{ep.town}.xml").resolve()
        if (where, ep.route) in used:
            raise ConfigError(f"fusion data episode {ep.key} drives route {ep.route} of {where.name}, which scenario "
                              f"{used[(where, ep.route)]} evaluates on; training data must stay off held-out routes")


@dataclass(frozen=True)
class Conditions:
    """What one episode draws: weather knobs and the thermal camera's."""

    sun_altitude_deg: float
    fog_visibility_m: float
    cloudiness: float
    air_temperature_k: float
    rgb_noise: float
    netd_mk: float
    fpn_percent: float
    agc_mode: str


def draw_conditions(weather: str, rng: np.random.Generator) -> Conditions:
    """Knobs for a ``weather`` family: sun altitude -30..15 deg, visibility 15..300 m (log-uniform)
    in fog, otherwise clear air or a light haze."""
    night = weather in ("night", "night_fog")
    sun = rng.uniform(-30.0, -8.0) if night else rng.uniform(-8.0, 15.0)
    if "fog" in weather:
        vis = float(np.exp(rng.uniform(math.log(15.0), math.log(300.0))))
    else:
        vis = 10_000.0 if rng.random() < 0.5 else float(rng.uniform(300.0, 2000.0))
    return Conditions(sun_altitude_deg=float(sun), fog_visibility_m=vis, cloudiness=float(rng.uniform(0.0, 1.0)),
                      air_temperature_k=float(rng.uniform(276.0, 296.0)), rgb_noise=float(rng.uniform(0.5, 3.0)),
                      netd_mk=float(rng.uniform(30.0, 150.0)), fpn_percent=float(rng.uniform(0.2, 1.5)),
                      agc_mode=str(rng.choice(["plateau", "linear"])))


def episode_scenario(ep: FusionEpisode, cond: Conditions):
    """The scenario an episode drives: its town and route file, the family's preset with the drawn knobs."""
    from harness.scenario import load_scenario
    from harness.weather import preset

    base = load_scenario("clear_town05")
    weather = preset(ep.weather).with_overrides(
        sun_altitude_deg=cond.sun_altitude_deg, fog_visibility_m=cond.fog_visibility_m, cloudiness=cond.cloudiness,
        air_temperature_k=cond.air_temperature_k, rgb_noise=cond.rgb_noise,
        relative_humidity=0.98 if cond.fog_visibility_m < 1000 else 0.6)
    thermal = replace(base.rig.thermal, netd_mk=cond.netd_mk, fpn_percent=cond.fpn_percent, agc_mode=cond.agc_mode)
    return replace(base, name=f"{ep.weather}_{ep.town}", town=ep.town, routes_path=ROUTES_DIR / f"{ep.town}.xml",
                   route_ids=None, weather=weather, rig=replace(base.rig, thermal=thermal))


def draw_calibration(rng: np.random.Generator) -> tuple[float, float, float]:
    """(dx [px], dy [px], rot [deg]): zero with probability ``P_EXACT``, else uniform within the bounds."""
    if rng.random() < P_EXACT:
        return 0.0, 0.0, 0.0
    return (float(rng.uniform(-MAX_DX_PX, MAX_DX_PX)), float(rng.uniform(-MAX_DX_PX, MAX_DX_PX)),
            float(rng.uniform(-MAX_ROT_DEG, MAX_ROT_DEG)))


class Pushes:
    """Pushes the expert off its path: after a gap of 4-12 s, a steering offset of 0.1-0.35 (either
    side) for 0.5-1.5 s; the expert then steers back. Only while moving faster than 2 m/s."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.wait = self._gap()
        self.left = 0
        self.offset = 0.0

    def _gap(self) -> int:
        return int(self.rng.uniform(4.0, 12.0) * 20)

    def __call__(self, speed: float) -> float:
        """The steering offset for this step."""
        if self.left > 0:
            self.left -= 1
            return self.offset
        if speed > 2.0:
            self.wait -= 1
            if self.wait <= 0:
                self.left = int(self.rng.uniform(0.5, 1.5) * 20)
                self.offset = float(self.rng.choice([-1.0, 1.0]) * self.rng.uniform(0.1, 0.35))
                self.wait = self._gap()
        return 0.0

    @property
    def active(self) -> bool:
        return self.left > 0


def collect_episode(ep: FusionEpisode, out_dir: Path, every: int = 8, max_steps: int = 1200) -> Path:
    """Drive the expert on one episode and write its shard (atomically); returns the shard path."""
    from agents.expert import ExpertAgent
    from harness.backends.embedded import EmbeddedBackend
    from harness.sensors.registration import Calibration, Registrar
    from harness.backends.records import VehicleControl

    out = out_dir / f"{ep.key}.npz"
    if out.exists() and stale(out) is None:
        return out
    rng = np.random.default_rng([ep.seed, 31])
    cond = draw_conditions(ep.weather, rng)
    scenario = episode_scenario(ep, cond)
    got: dict[str, list] = {k: [] for k in (*FIELDS, "pushed")}
    with EmbeddedBackend(scenario, privileged=True) as backend:
        rig = backend.rig
        backend.load(ep.route, ep.seed)
        expert = ExpertAgent()
        expert.bind(backend)
        push = Pushes(rng)
        registrars: dict[tuple, Registrar] = {}
        frame = backend.reset()
        for step in range(max_steps):
            keep = step % every == 0 and (abs(frame.speed) > 0.5 or step % (4 * every) == 0)
            if keep:
                calib = draw_calibration(rng)
                if calib not in registrars:
                    registrars = {calib: Registrar(rig.rgb, rig.thermal.camera, Calibration(*calib))}
                p = frame.privileged
                got["rgb"].append(frame.rgb)
                got["thermal_raw"].append(frame.thermal)
                got["thermal"].append(registrars[calib](frame.thermal))
                got["calib"].append(np.array(calib, np.float32))
                got["clean"].append(p.clean_rgb)
                got["semantic"].append(p.semantic)
                got["depth"].append(np.minimum(p.depth, 60000.0).astype(np.float16))
                got["pushed"].append(push.active)
            control = expert.run_step({}, frame.timestamp)
            offset = push(frame.speed)
            if offset:
                control = VehicleControl.clipped(control.throttle, control.steer + offset, control.brake)
            frame, ev = backend.step(control)
            if ev.route_done:
                break
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{k: np.stack(v) for k, v in got.items()}, render_version=np.int64(RENDER_VERSION),
                        every=np.int64(every), max_steps=np.int64(max_steps), weather=ep.weather,
                        conditions=json.dumps(asdict(cond)))
    os.replace(tmp, out)
    return out


def stale(path: Path) -> str | None:
    """Why a shard cannot be used by this checkout, or None."""
    try:
        with np.load(path) as z:
            v = int(z["render_version"]) if "render_version" in z.files else 0
            missing = [k for k in FIELDS if k not in z.files]
    except (OSError, ValueError, EOFError) as err:
        return f"cannot be read ({err})"
    if v != RENDER_VERSION:
        return f"collected with renderer version {v}, this checkout renders version {RENDER_VERSION}"
    if missing:
        return f"has no {', '.join(missing)} (collected by an older version)"
    return None


def load_shards(paths: list[Path], fields: tuple[str, ...] = ("rgb", "thermal", "clean")) -> dict[str, np.ndarray]:
    """Concatenate ``fields`` of the shards; ConfigError naming the first stale or missing one."""
    if not paths:
        raise ConfigError("no fusion data shards; collect them with `python -m distill collect-fusion-data`")
    for p in paths:
        if why := stale(p):
            raise ConfigError(f"{p}: {why}; collect again with `python -m distill collect-fusion-data "
                              f"--out {p.parent.parent}` (it replaces stale shards)")
    out: dict[str, list] = {k: [] for k in fields}
    for p in paths:
        with np.load(p) as z:
            for k in fields:
                out[k].append(z[k])
    return {k: np.concatenate(v) for k, v in out.items()}


def split_paths(root: Path, split: str) -> list[Path]:
    """The shards of ``split`` (``root/split/*.npz``, sorted); ConfigError when there are none."""
    paths = sorted((Path(root) / split).glob("*.npz"))
    paths = [p for p in paths if not p.name.endswith(".tmp.npz")]
    if not paths:
        raise ConfigError(f"no {split} shards in {Path(root) / split}; run `python -m distill collect-fusion-data "
                          f"--out {root}` (it resumes)")
    return paths


def _worker(args) -> str:
    ep, out_dir, every, max_steps = args
    return str(collect_episode(ep, Path(out_dir), every, max_steps))


def collect(out: Path, workers: int = 1, every: int = 8, max_steps: int = 1200, progress: bool = True) -> dict:
    """Collect the train and val episodes (skipping finished shards) in ``workers`` processes and
    write ``manifest.json``: frames per split and weather, routes, options, render version."""
    from tqdm import tqdm

    splits = {s: default_episodes(s) for s in ("train", "val")}
    check_held_out([e for eps in splits.values() for e in eps])
    jobs = [(ep, str(Path(out) / s), every, max_steps) for s, eps in splits.items() for ep in eps]
    bar = tqdm(total=len(jobs), desc="collect-fusion-data", unit="episode", disable=not progress)
    if workers <= 1:
        for job in jobs:
            _worker(job)
            bar.update()
    else:
        import multiprocessing as mp

        from harness.runner.worker import exit_with_parent

        with mp.get_context("spawn").Pool(workers, initializer=exit_with_parent) as pool:
            for _ in pool.imap_unordered(_worker, jobs):
                bar.update()
    bar.close()
    manifest = {"render_version": RENDER_VERSION, "options": {"every": every, "max_steps": max_steps},
                "calibration": {"p_exact": P_EXACT, "max_dx_px": MAX_DX_PX, "max_rot_deg": MAX_ROT_DEG}, "splits": {}}
    for s, eps in splits.items():
        frames: dict[str, int] = {}
        pushed = 0
        for ep in eps:
            with np.load(Path(out) / s / f"{ep.key}.npz") as z:
                frames[ep.weather] = frames.get(ep.weather, 0) + len(z["calib"])
                pushed += int(z["pushed"].sum())
        manifest["splits"][s] = {"frames": sum(frames.values()), "frames_per_weather": frames, "pushed_frames": pushed,
                                 "episodes": [ep.key for ep in eps], "routes": sorted({f"{e.town}/{e.route}" for e in eps})}
    path = Path(out) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
