"""What one evaluation run is made of: the job matrix and the content key of each job.

A job is one (scenario, route, variant, seed) with everything else that changes its result (agent
and its checkpoint, calibration error, weather overrides from a sweep, latency mode, scoring
rules, step cap). Its key is a hash of that description *and of the content* of the files it reads
(scenario YAML, route XML, agent checkpoint), so a rerun with the same inputs finds its records and a
changed file never reuses a stale one. The same seed gives every variant the same traffic and
events: the seed drives the world, the variant only changes what the agent sees (paired design).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from harness.errors import ConfigError
from harness.sensors.registration import Calibration

KEY_CHARS = 16  # hex digits of sha256 kept in a key: 64 bits, no collision in any realistic matrix
FAULT_KINDS = ("hang", "crash", "agent")  # fault injection for tests of the runner itself
NO_VARIANT = "none"  # the variant name that runs the agent without a fusion wrapper
# Enters every key: bump it when a code change alters results (world, sensors, scoring), so stored
# records from before are not reused. 2: thermal noise no longer draws from the world's generator.
# 3: signal lamps smaller than a pixel still light one (harness.render.RENDER_VERSION 2).
# 4: the clean image is the camera's clear-noon image (RENDER_VERSION 3).
# 5: the headlights' fog veil lies over the sky too (RENDER_VERSION 4).
RESULTS_VERSION = 5


@dataclass(frozen=True)
class Fault:
    """A fault to inject on the first ``attempts`` attempts of a job, at 20 Hz step ``step``.

    ``hang``: the simulator stops stepping (the watchdog must notice); ``crash``: the worker process
    dies (SIGKILL, as a segfaulting simulator would); ``agent``: the agent raises in ``run_step``.
    Faults never enter the job key: a retried job must give the result an unfaulted run gives."""

    kind: str
    step: int  # [20 Hz steps] into the route
    attempts: int = 1  # the first this many attempts fail

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(f"fault kind must be one of {list(FAULT_KINDS)}, got {self.kind!r}")
        if self.step < 0 or self.attempts < 0:
            raise ConfigError(f"fault step and attempts must be >= 0, got step {self.step}, attempts {self.attempts}")

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``KIND@STEP`` or ``KIND@STEP*ATTEMPTS``, e.g. ``hang@40`` or ``crash@10*2``."""
        try:
            kind, rest = text.split("@", 1)
            step, _, attempts = rest.partition("*")
            return cls(kind.strip(), int(step), int(attempts) if attempts else 1)
        except ValueError as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"fault must look like KIND@STEP or KIND@STEP*ATTEMPTS with KIND in "
                              f"{list(FAULT_KINDS)}, e.g. hang@40; got {text!r}") from err


def parse_latency(text: str) -> str:
    """``none`` | ``measured`` | a per-frame latency in milliseconds (``"35"``) -> canonical text."""
    t = str(text).strip().lower()
    if t in ("none", "measured"):
        return t
    try:
        ms = float(t.removesuffix("ms"))
    except ValueError:
        raise ConfigError(f"latency must be 'none', 'measured' or milliseconds >= 0 (e.g. 35), got {text!r}") from None
    if not math.isfinite(ms) or ms < 0:
        raise ConfigError(f"latency must be 'none', 'measured' or milliseconds >= 0 (e.g. 35), got {text!r}")
    return "none" if ms == 0 else f"{ms:g}"


LATER_FIELDS = {"device": "cpu", "precision": "fp32", "runtime": "torch", "backend": "embedded"}  # in the key only when not these


@dataclass(frozen=True)
class EvalJob:
    scenario: str  # name in scenarios/ or path of a YAML file
    route_id: str
    variant: str | None  # fusion variant in front of the agent; None: the agent's own cameras
    seed: int  # traffic and events
    agent: str = "rgb_policy"
    agent_config: str = ""  # passed to agent.setup(): the policy's checkpoint ('' = committed weights)
    calibration: Calibration = Calibration()  # injected thermal-to-RGB registration error
    weather: tuple[tuple[str, float], ...] = ()  # Weather field overrides (sweeps), sorted by name
    latency: str = "none"  # none | measured | <ms>: delay of the fused image the agent acts on
    rules: str = "2.x"  # leaderboard scoring version
    max_steps: int | None = None  # cap per route [20 Hz steps]
    device: str = "cpu"  # where the fusion module runs: cpu | cuda | cuda:N
    precision: str = "fp32"  # the fusion module's: fp32 | fp16 | bf16
    runtime: str = "torch"  # torch | onnx | tensorrt
    backend: str = "embedded"  # the simulator: embedded | carla (harness.backends.registry)
    fault: Fault | None = field(default=None, compare=False)  # test-only; not part of the key
    clips: str = field(default="", compare=False)  # folder for infraction clips ('' = none); not part of the key

    def spec(self) -> dict:
        """Everything that determines the result (fault and clip folder excluded), JSON-ready. The
        fusion module's device, precision and runtime (fields since RESULTS_VERSION 5) are left out
        at their defaults, so records made before them keep their keys."""
        d = asdict(self)
        d.pop("fault")
        d.pop("clips")
        d["weather"] = {k: v for k, v in self.weather}
        for name, default in LATER_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d

    def key(self, fingerprint: str) -> str:
        """Content key: this spec plus the hashes of the files it reads (``fingerprint``)."""
        blob = json.dumps({"job": self.spec(), "inputs": fingerprint, "version": RESULTS_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:KEY_CHARS]

    @property
    def label(self) -> str:
        return f"{self.variant or self.agent} route {self.route_id} seed {self.seed}"


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def route_digests(scenario) -> dict[str, str]:
    """Hash of each route as read from the scenario's route file (waypoints, scenarios, weathers), by
    id: adding, removing or editing other routes of the file leaves a route's hash unchanged."""
    return {r.id: hashlib.sha256(repr(r).encode()).hexdigest() for r in scenario.load_routes()}


def input_fingerprint(scenario, route_id: str, agent_config: str = "", agent: str = "rgb_policy",
                      digests: dict[str, str] | None = None) -> str:
    """Hash of what one route's jobs read: the scenario YAML, that route's own entry (from
    ``digests`` when given), the agent's weights."""
    digests = route_digests(scenario) if digests is None else digests
    if route_id not in digests:
        raise ConfigError(f"route {route_id!r} is not among the routes of {scenario.routes_path} this scenario runs")
    parts = [file_digest(scenario.source), digests[route_id]]
    if (weights := agent_weights_file(agent, agent_config)) is not None:
        parts.append(file_digest(weights))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def variant_fingerprint(variant: str | None) -> str:
    """What a fusion variant is made of beyond its name (weights, a ``py:`` module's source and
    state, an ``onnx:`` file), hashed; '' for the agent alone and for code-only variants."""
    if variant is None:
        return ""
    from fusion.registry import get_variant

    return get_variant(variant).fingerprint()


def with_fusion(fingerprint: str, fusion: str) -> str:
    """The inputs' fingerprint with the fusion module's; unchanged for code-only variants, so records
    made before fusion weights entered the key keep theirs."""
    return hashlib.sha256(f"{fingerprint}|fusion:{fusion}".encode()).hexdigest() if fusion else fingerprint


def check_checkpoint(agent: str, checkpoint: str) -> None:
    """ConfigError, before anything runs, where ``checkpoint`` (other weights for ``agent``) cannot
    be used: the agent takes none, or the file is missing or unreadable."""
    if not checkpoint:
        return
    if agent != "rgb_policy":
        raise ConfigError(f"--checkpoint is the rgb_policy's weights; agent {agent!r} takes none")
    from agents.rgb_policy.model import load_perception

    load_perception(checkpoint)


def agent_weights_file(agent: str, agent_config: str = "") -> Path | None:
    """The file an agent's weights are read from (the rgb_policy's committed weights when
    ``agent_config`` is empty), or None for an agent without any."""
    if agent == "rgb_policy":
        from agents.rgb_policy.model import WEIGHTS_DIR, WEIGHTS_FILE

        p = Path(agent_config) if agent_config else WEIGHTS_DIR
        return p / WEIGHTS_FILE if p.is_dir() else p
    return Path(agent_config) if agent_config else None


def select_routes(scenario, text: str) -> list[str]:
    """The route ids ``text`` names (``"0-3"``, ``"0,2,5"``, ``"all"`` or ``"shortest:N"``) among the
    routes ``scenario`` runs (its ``route_ids``, else every route of its file), each once, in the
    order given. ``shortest:N``: the N routes whose waypoints in the route file make the shortest
    polylines (ties by file order), in file order; a rule on the route file alone, so the choice
    never depends on results or on the simulator.

    The one place a route selection is read: eval, sweep, drive, render and bench-sim all call it."""
    specs = scenario.load_routes()  # already restricted to route_ids
    available = [r.id for r in specs]
    if text.strip() == "all":
        return available
    if text.strip().startswith("shortest:"):
        n = text.strip()[len("shortest:"):].strip()
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"route selection {text!r}: write shortest:N with N a whole number >= 1, e.g. shortest:5")
        if int(n) > len(specs):
            raise ConfigError(f"route selection {text!r}: scenario {scenario.name} runs only {len(specs)} routes")
        by_length = sorted(range(len(specs)), key=lambda k: (waypoint_length(specs[k]), k))[: int(n)]
        return [available[k] for k in sorted(by_length)]
    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part and all(p.strip().isdigit() for p in part.split("-", 1)):
            lo, hi = (int(p) for p in part.split("-", 1))
            if hi < lo:
                raise ConfigError(f"route range {part!r} runs backwards; write LOW-HIGH, e.g. 0-3")
            out += [str(i) for i in range(lo, hi + 1)]
        elif part:
            out.append(part)
    if not out:
        raise ConfigError(f"no route ids in {text!r}; use e.g. 0-3, 0,2,5 or all")
    unknown = [r for r in out if r not in available]
    if unknown:
        where = (f"among the routes scenario {scenario.name} runs (its route_ids)" if scenario.route_ids is not None
                 else f"in the scenario's route file {scenario.routes_path.name}")
        raise ConfigError(f"route ids {unknown} are not {where}; available: {', '.join(available)}")
    return list(dict.fromkeys(out))


def waypoint_length(spec) -> float:
    """[m] length of the polyline through a route's waypoints as the route file gives them (the
    planned route follows the lanes, so it is longer; this only ranks routes)."""
    pts = np.array([[w.x, w.y] for w in spec.waypoints], dtype=float)
    return float(np.hypot(*np.diff(pts, axis=0).T).sum()) if len(pts) > 1 else 0.0


def build_matrix(scenario: str, routes: list[str], variants: list[str | None], seeds: list[int], **common) -> list[EvalJob]:
    """Jobs in planned order: seed, route, then variant, so the variants of one (route, seed) pair
    finish close together and a partial run still holds complete pairs (``run_jobs`` starts the routes
    of a seed longest first: ``evaluate.start_order``)."""
    return [EvalJob(scenario, r, v, s, **common) for s in seeds for r in routes for v in variants]


def with_weather(job: EvalJob, **overrides: float) -> EvalJob:
    merged = dict(job.weather) | overrides
    return replace(job, weather=tuple(sorted(merged.items())))


def jobs_from_run(run: dict) -> tuple[list[EvalJob], list[str]]:
    """The jobs and keys a ``run.json`` lists (for ``report``, ``compare`` and resuming a sweep)."""
    jobs, keys = [], []
    for j in run["jobs"]:
        d = dict(j)
        key = d.pop("key")
        d["calibration"] = Calibration(**d["calibration"])
        d["weather"] = tuple(sorted(d["weather"].items()))
        jobs.append(EvalJob(**d))
        keys.append(key)
    return jobs, keys
