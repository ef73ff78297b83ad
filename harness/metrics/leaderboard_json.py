"""``simulation_results.json`` in the CARLA leaderboard 2.0 checkpoint format, so existing parsers
read our results.

Shape and key names follow ``leaderboard/utils/statistics_manager.py`` (``Results``,
``Checkpoint``, ``RouteRecord``, ``GlobalRecord``, ``compute_global_statistics``,
``validate_and_write_statistics``) and ``leaderboard/leaderboard_evaluator.py`` (route names
``RouteScenario_<id>_rep<repetition>``, sensor icons)::

    {"_checkpoint": {"global_record": {...} | {}, "progress": [done, total], "records": [...]},
     "entry_status": "Started" | "Finished" | "Crashed" | "Rejected" | "Invalid",
     "eligible": bool, "sensors": [icon, ...], "values": [str x 15], "labels": [str x 15]}

A record: ``index`` (position among the planned keys), ``route_id``, ``status``,
``num_infractions``, ``infractions`` ({key: [message, ...]} for every key),
``scores`` {score_route, score_penalty, score_composed}, ``meta`` {route_length [m],
duration_game [s], duration_system [s]} (rounded to 3 digits). The global record is computed from the
records exactly as the leaderboard does (means over the planned total, the sample standard deviation
over the recorded routes divided by ``total - 1``, infractions per km, the km driven outside route
lanes read back from the message). ``entry_status`` is ``Invalid`` when planned routes have no record
(the source's "'progress' data doesn't match its expected value").

Writes are atomic: a temporary file in the same folder, fsync, ``os.replace``.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.errors import ConfigError, HarnessError
from harness.metrics import rules as R
from harness.metrics.aggregate import MIN_KM, RouteKey, planned_keys, keyed_scores, route_key
from harness.metrics.criteria import MinSpeedTest
from harness.metrics.records import Infraction, RouteScore

ROUTE_NAME = "RouteScenario_{route}_rep{rep}"
_ROUTE_NAME_RE = re.compile(r"^RouteScenario_(.+)_rep(\d+)$")
ELIGIBLE = {"Started": False, "Finished": True, "Rejected": False, "Crashed": False, "Invalid": False}
# leaderboard_evaluator.sensors_to_icons
SENSOR_ICONS = {
    "sensor.camera.rgb": "carla_camera", "sensor.lidar.ray_cast": "carla_lidar",
    "sensor.other.radar": "carla_radar", "sensor.other.gnss": "carla_gnss", "sensor.other.imu": "carla_imu",
    "sensor.opendrive_map": "carla_opendrive_map", "sensor.speedometer": "carla_speedometer",
}
# values/labels, in the source's order: (label, where the value comes from)
_VALUES = (
    ("Avg. driving score", "score_composed"), ("Avg. route completion", "score_route"),
    ("Avg. infraction penalty", "score_penalty"),
    ("Collisions with pedestrians", R.COLLISIONS_PEDESTRIAN), ("Collisions with vehicles", R.COLLISIONS_VEHICLE),
    ("Collisions with layout", R.COLLISIONS_LAYOUT), ("Red lights infractions", R.RED_LIGHT),
    ("Stop sign infractions", R.STOP_INFRACTION), ("Off-road infractions", R.OUTSIDE_ROUTE_LANES),
    ("Route deviations", R.ROUTE_DEVIATION), ("Route timeouts", R.ROUTE_TIMEOUT),
    ("Agent blocked", R.VEHICLE_BLOCKED), ("Yield emergency vehicles infractions", R.YIELD_EMERGENCY_VEHICLE),
    ("Scenario timeouts", R.SCENARIO_TIMEOUT), ("Min speed infractions", R.MIN_SPEED),
)
LABELS = tuple(label for label, _ in _VALUES)
_SCORE_KEYS = ("score_route", "score_penalty", "score_composed")


def sensor_icons(sensor_types: Sequence[str]) -> list[str]:
    """Icons the leaderboard stores for an agent's sensor types; unknown types keep their name."""
    return [SENSOR_ICONS.get(t, t) for t in sensor_types]


def route_name(key: RouteKey) -> str:
    return ROUTE_NAME.format(route=key[0], rep=key[1])


def parse_route_name(name: str) -> RouteKey:
    m = _ROUTE_NAME_RE.match(str(name))
    if m is None:
        raise ConfigError(f"route_id must look like 'RouteScenario_<id>_rep<n>', got {name!r}")
    return m.group(1), int(m.group(2))


def route_record(score: RouteScore, key: RouteKey, index: int) -> dict:
    """The leaderboard's RouteRecord for one route score."""
    infractions: dict[str, list[str]] = {k: [] for k in R.INFRACTION_KINDS}
    for inf in score.infractions:
        infractions[inf.kind].append(inf.description)
    return {
        "index": index,
        "route_id": route_name(key),
        "status": score.status,
        "num_infractions": len(score.infractions),
        "infractions": infractions,
        "scores": {"score_route": score.RC, "score_penalty": score.IS, "score_composed": score.DS},
        "meta": {"route_length": round(score.route_length_m, R.ROUND_DIGITS),
                 "duration_game": round(score.duration_game_s, R.ROUND_DIGITS),
                 "duration_system": round(score.duration_system_s, R.ROUND_DIGITS)},
    }


def _outside_km(record: dict) -> float:
    """km outside route lanes from the record's message (the source reads word 8 of it)."""
    msgs = record["infractions"].get(R.OUTSIDE_ROUTE_LANES, [])
    if not msgs:
        return 0.0
    try:
        return float(msgs[0].split(" ")[8]) / 1000.0
    except (IndexError, ValueError) as err:
        raise ConfigError(f"outside_route_lanes message of {record['route_id']} must read 'Agent went outside "
                          f"its route lanes for about <m> meters (...)', got {msgs[0]!r}") from err


def global_record(records: Sequence[dict], total: int) -> dict:
    """The leaderboard's GlobalRecord over ``records`` for ``total`` planned routes."""
    means = dict.fromkeys(_SCORE_KEYS, 0.0)
    meta = {"total_length": 0.0, "duration_game": 0.0, "duration_system": 0.0, "exceptions": []}
    status = R.PERFECT
    for rec in records:
        for k in _SCORE_KEYS:
            means[k] += rec["scores"][k] / total
        for k in ("duration_game", "duration_system"):
            meta[k] += rec["meta"][k]
        meta["total_length"] += rec["meta"]["route_length"]
        result = R.FAILED if R.FAILED in rec["status"] else rec["status"]
        if result == R.FAILED:
            meta["exceptions"].append([rec["route_id"], rec["index"], rec["status"]])
            status = R.FAILED
        elif status == R.PERFECT and result != R.PERFECT:
            status = result
    means = {k: round(v, R.ROUND_DIGITS_SCORE) for k, v in means.items()}
    std = dict.fromkeys(_SCORE_KEYS, 0.0)
    if total > 1:
        for k in _SCORE_KEYS:
            ss = sum((rec["scores"][k] - means[k]) ** 2 for rec in records)
            std[k] = round(math.sqrt(ss / (total - 1)), R.ROUND_DIGITS)
    km = max(sum(rec["meta"]["route_length"] / 1000 * rec["scores"]["score_route"] / 100 for rec in records), MIN_KM)
    infractions = {}
    for kind in R.INFRACTION_KINDS:
        if kind == R.OUTSIDE_ROUTE_LANES:
            value = sum(_outside_km(rec) for rec in records)
        else:
            value = sum(len(rec["infractions"].get(kind, [])) for rec in records) / km
        infractions[kind] = round(value, R.ROUND_DIGITS)
    return {"index": -1, "route_id": -1, "status": status, "infractions": infractions,
            "scores_mean": means, "scores_std_dev": std, "meta": meta}


def build_results(scores: Mapping, planned: Sequence, sensors: Sequence[str] = (), final: bool = True) -> dict:
    """The ``simulation_results.json`` content for ``scores`` ({(route_id, rep): RouteScore}) of the
    ``planned`` keys (their order gives each record's ``index``). ``final=False`` writes what the
    leaderboard writes while routes are still running (no global record, ``entry_status`` Started)."""
    keys = planned_keys(planned)
    sc = keyed_scores(scores)
    extra = sorted(set(sc) - set(keys))
    if extra:
        raise ConfigError(f"scores has keys that were not planned: {extra[:5]}; add them to planned")
    records = [route_record(sc[k], k, i) for i, k in enumerate(keys) if k in sc]
    out = {"_checkpoint": {"global_record": {}, "progress": [len(records), len(keys)], "records": records},
           "entry_status": "Started", "eligible": ELIGIBLE["Started"], "sensors": list(sensors),
           "values": [], "labels": []}
    if not final:
        return out
    glob = global_record(records, len(keys))
    out["_checkpoint"]["global_record"] = glob
    source = {**glob["scores_mean"], **glob["infractions"]}
    out["values"] = [str(source[key]) for _, key in _VALUES]
    out["labels"] = list(LABELS)
    entry = "Finished"
    for rec in records:
        if "Simulation crashed" in rec["status"]:
            entry = "Crashed"
        elif "Agent's sensors were invalid" in rec["status"]:
            entry = "Rejected"
    if len(records) != len(keys):
        entry = "Invalid"
    out["entry_status"], out["eligible"] = entry, ELIGIBLE[entry]
    return out


def write_json_atomic(path: str | os.PathLike, data: dict) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (temp file in the same folder, fsync, replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=4)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_results(path: str | os.PathLike, scores: Mapping, planned: Sequence, sensors: Sequence[str] = (),
                  final: bool = True) -> Path:
    """Build (:func:`build_results`) and atomically write ``simulation_results.json``."""
    return write_json_atomic(path, build_results(scores, planned, sensors, final))


_TOP_KEYS = ("_checkpoint", "entry_status", "eligible", "sensors", "values", "labels")
_RECORD_KEYS = ("index", "route_id", "status", "num_infractions", "infractions", "scores", "meta")


def read_results(path: str | os.PathLike) -> dict:
    """Read a ``simulation_results.json`` and check its shape; HarnessError when it cannot be read,
    ConfigError when it is not in the leaderboard checkpoint format."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise HarnessError(f"cannot read {path}: {err}; check the eval output folder") from err
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not JSON ({err}); it may be a partial write from an old run, "
                          "delete it and rerun with --resume") from err
    missing = [k for k in _TOP_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise ConfigError(f"{path}: expected the leaderboard keys {list(_TOP_KEYS)}, missing {missing}")
    ck = data["_checkpoint"]
    for k in ("global_record", "progress", "records"):
        if k not in ck:
            raise ConfigError(f"{path}: _checkpoint must have 'global_record', 'progress' and 'records'; "
                              f"missing {k!r}")
    for i, rec in enumerate(ck["records"]):
        lost = [k for k in _RECORD_KEYS if k not in rec]
        if lost:
            raise ConfigError(f"{path}: _checkpoint.records[{i}] lacks {lost}; expected {list(_RECORD_KEYS)}")
    return data


def _infraction(kind: str, text: str) -> Infraction:
    value, penalty = None, R.PENALTY_FACTORS.get(kind, 1.0)
    if kind == R.MIN_SPEED:
        value = float(re.findall(r"(\d+(?:\.\d+)?)%", text)[0])
        penalty = MinSpeedTest.penalty(value)
    elif kind == R.OUTSIDE_ROUTE_LANES:
        value = float(re.findall(r"\((\d+(?:\.\d+)?)%", text)[0])
        penalty = 1.0 - value / 100.0
    return Infraction(kind, None, None, None, None, value, penalty, text)


def route_scores_from_results(data: dict) -> dict[RouteKey, RouteScore]:
    """Route scores back from a leaderboard results dict (:func:`read_results`). Frames, times,
    places and the odometer are not in the file (None); the outside-lanes percentage is the
    message's rounded one."""
    out = {}
    for rec in data["_checkpoint"]["records"]:
        key = route_key(*parse_route_name(rec["route_id"]))
        try:
            infs = tuple(_infraction(kind, text) for kind in R.INFRACTION_KINDS
                         for text in rec["infractions"].get(kind, []))
        except IndexError as err:
            raise ConfigError(f"{rec['route_id']}: a min speed or outside lanes message lacks its "
                              "percentage; the file was not written by the leaderboard format") from err
        out[key] = RouteScore(
            DS=float(rec["scores"]["score_composed"]), RC=float(rec["scores"]["score_route"]),
            IS=float(rec["scores"]["score_penalty"]), status=rec["status"],
            duration_game_s=float(rec["meta"]["duration_game"]),
            duration_system_s=float(rec["meta"]["duration_system"]),
            route_length_m=float(rec["meta"]["route_length"]), meters_driven=None,
            outside_lanes_m=_outside_km(rec) * 1000.0, infractions=infs)
    return out
