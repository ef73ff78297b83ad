"""The results store: one JSON file per finished job, named by the job's content key.

``OUT/records/<key>.json`` holds a finished route (its job, score, timings, attempts);
``OUT/quarantine/<key>.json`` a job that failed on every attempt (its failures, and the zero score
the leaderboard would record for it). Each file is written atomically (temporary file in the same
folder, fsync, ``os.replace``), so a kill -9 at any moment leaves either the whole record or none,
and a rerun over the same folder skips every key that has one: nothing is lost or duplicated.
``OUT/run.json`` describes the run that owns the folder (its jobs and keys), for ``report`` and resume.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import ConfigError
from harness.metrics.leaderboard_json import write_json_atomic

RECORDS = "records"
QUARANTINE = "quarantine"
RUN_FILE = "run.json"


class ResultStore:
    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.records_dir = self.out / RECORDS
        self.quarantine_dir = self.out / QUARANTINE

    # -- writing ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the folders and remove temporary files a killed run left behind."""
        for d in (self.records_dir, self.quarantine_dir):
            d.mkdir(parents=True, exist_ok=True)
            for tmp in d.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def write(self, key: str, record: dict) -> Path:
        path = write_json_atomic(self.records_dir / f"{key}.json", record)
        (self.quarantine_dir / f"{key}.json").unlink(missing_ok=True)  # a retried quarantined job succeeded
        return path

    def quarantine(self, key: str, record: dict) -> Path:
        return write_json_atomic(self.quarantine_dir / f"{key}.json", record)

    def write_run(self, run: dict) -> Path:
        return write_json_atomic(self.out / RUN_FILE, run)

    # -- reading ---------------------------------------------------------------------------------
    def has_run(self) -> bool:
        return (self.out / RUN_FILE).is_file()

    def read_run(self) -> dict:
        path = self.out / RUN_FILE
        if not path.is_file():
            raise ConfigError(f"{self.out} holds no evaluation run ({RUN_FILE} missing); run `python -m harness eval "
                              f"--out {self.out} ...` first")
        return _read(path)

    def finished(self) -> dict[str, dict]:
        return _read_dir(self.records_dir)

    def done_keys(self) -> set[str]:
        """Keys with a record or a quarantine entry (file names only: nothing is read)."""
        return {p.stem for d in (self.records_dir, self.quarantine_dir) if d.is_dir()
                for p in d.glob("*.json") if not p.name.startswith(".")}

    def quarantined(self) -> dict[str, dict]:
        return _read_dir(self.quarantine_dir)

    def record_path(self, key: str) -> Path | None:
        """The finished record of ``key`` here, or None (quarantine entries do not count)."""
        path = self.records_dir / f"{key}.json"
        return path if path.is_file() else None


def check_reuse_folder(folder: str | Path, out: str | Path | None = None) -> Path:
    """``folder`` as a results folder whose finished records another run may reuse by key: it must
    hold ``records/`` and must not be ``out`` itself. ConfigError (one line) otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--reuse {folder}: no such folder; pass the --out of an earlier eval, sweep or drive")
    if out is not None and Path(out).resolve() == folder.resolve():
        raise ConfigError(f"--reuse {folder} is --out itself; its records are kept anyway with --resume")
    if not (folder / RECORDS).is_dir():
        raise ConfigError(f"--reuse {folder}: holds no {RECORDS}/ folder, so no route runs to reuse; pass the --out of "
                          "an earlier eval, sweep or drive")
    return folder


def reuse_records(store: ResultStore, keys: list[str], sources: tuple[str | Path, ...],
                  done: set[str] | None = None) -> dict[str, dict]:
    """Copy into ``store`` the finished record of every key in ``keys`` that ``store`` lacks and a
    folder of ``sources`` holds (the first that does), adding ``reused_from`` (the folder as given).
    A key is the content hash of everything a route run depends on (scenario file, route, seed,
    agent and fusion weights, calibration, latency, rules, device, backend), so a record found
    under it is the same run: nothing is driven again. Quarantined runs are not reused (a failure
    may be the other host's). Records that do not read, or whose own ``key`` is not their file's
    name, are refused with one line. ``done``: the keys ``store`` already holds, where the caller has
    them. Returns the records written, by key."""
    done = store.done_keys() if done is None else done
    wanted = [k for k in dict.fromkeys(keys) if k not in done]
    taken: dict[str, dict] = {}
    if not wanted or not sources:
        return taken
    stores = [(str(s), ResultStore(s)) for s in sources]
    for key in wanted:  # every record read and checked before one is written
        for name, src in stores:
            path = src.record_path(key)
            if path is None:
                continue
            record = _read(path)
            if record.get("key") != key or record.get("quarantined"):
                raise ConfigError(f"{path}: its record names key {record.get('key')!r}, not its file name, or is "
                                  "quarantined; it was edited or copied in: remove it from that folder, or leave "
                                  "out --reuse")
            taken[key] = {**record, "reused_from": name}
            break
    for key, record in taken.items():
        store.write(key, record)
    return taken


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not a readable results file ({err}); the store writes files atomically, so "
                          "this one was edited or copied in; delete it and run with --resume to redo that job") from err


def _read_dir(folder: Path) -> dict[str, dict]:
    if not folder.is_dir():
        return {}
    return {p.stem: _read(p) for p in sorted(folder.glob("*.json")) if not p.name.startswith(".")}
