"""The CARLA server: where it is, reaching it, starting and restarting it.

A run either connects to a server that is already up (``--carla-host``, ``--carla-port``) or starts
one from ``CARLA_ROOT`` per worker. Each worker gets its own block of ports (:func:`worker_ports`):
CARLA's RPC port, the streaming port next to it, the secondary port after that, and a traffic-manager
port in a block of its own, all ``PORT_STRIDE`` apart between workers so that neighbouring servers
never collide (CARLA takes the two ports after the RPC port by default).

A server the harness starts runs in its own process group (``start_new_session``), so a restart on a
hang or a crash kills that group and nothing else: never a process found by its name, which could be
another user's server.

No server: :func:`connect` fails within the client timeout with one line that says what was tried and
how to start a server. A client whose version differs from the server's is refused the same way (the
RPC protocol changes between releases).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError

CLIENT_VERSION = "0.9.16"  # the client pyproject.toml installs
DEFAULT_HOST = "127.0.0.1"  # bound to this machine unless told otherwise
DEFAULT_PORT = 2000
DEFAULT_TM_PORT = 8000
PORT_STRIDE = 10  # between workers' port blocks (each server takes rpc, rpc+1, rpc+2)
DEFAULT_TIMEOUT_S = 10.0
START_TIMEOUT_S = 120.0  # a cold server loads its shaders and the first town
SERVER_SCRIPT = "CarlaUE4.sh"


class ServerUnavailable(ConfigError):
    """No CARLA server answered, or one answered with another version."""


@dataclass(frozen=True)
class ServerSpec:
    """Where the CARLA server of worker 0 is (others are :data:`PORT_STRIDE` ports further)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tm_port: int = DEFAULT_TM_PORT
    timeout_s: float = DEFAULT_TIMEOUT_S
    carla_root: str = ""  # a CARLA install to start servers from ('' = connect only)
    gpu: int = 0  # -graphicsadapter of a started server

    def __post_init__(self) -> None:
        for name in ("port", "tm_port"):
            v = getattr(self, name)
            if not 1024 <= v <= 65535 - 3:
                raise ConfigError(f"--carla-{name.replace('_', '-')} must be within 1024..65532, got {v}")
        if not self.timeout_s > 0:
            raise ConfigError(f"--carla-timeout must be > 0 s, got {self.timeout_s}")
        if self.gpu < 0:
            raise ConfigError(f"--carla-gpu must be >= 0, got {self.gpu}")

    def for_worker(self, worker: int) -> "WorkerPorts":
        return worker_ports(self.port, self.tm_port, worker)


@dataclass(frozen=True)
class WorkerPorts:
    rpc: int
    streaming: int
    secondary: int
    traffic_manager: int


def worker_ports(port: int, tm_port: int, worker: int) -> WorkerPorts:
    """Worker ``worker``'s ports: its own block, ``PORT_STRIDE`` apart from its neighbours'."""
    if worker < 0:
        raise ValueError(f"worker index must be >= 0, got {worker}")
    rpc = port + PORT_STRIDE * worker
    tm = tm_port + PORT_STRIDE * worker
    if rpc + 2 > 65535 or tm > 65535:
        raise ConfigError(f"worker {worker}'s ports ({rpc}..{rpc + 2}, traffic manager {tm}) pass 65535; "
                          "use fewer workers or lower --carla-port / --carla-tm-port")
    return WorkerPorts(rpc=rpc, streaming=rpc + 1, secondary=rpc + 2, traffic_manager=tm)


def import_carla():
    """The ``carla`` client module, or one line saying how to install it."""
    try:
        import carla
    except ImportError as err:
        raise ConfigError(f"the CARLA backend needs the `carla` client ({CLIENT_VERSION}, Python 3.10-3.12): "
                          f"pip install carla=={CLIENT_VERSION} (make setup installs it); import failed: {err}") from None
    return carla


def how_to_start(port: int) -> str:
    return (f"start one with `$CARLA_ROOT/{SERVER_SCRIPT} -RenderOffScreen -carla-rpc-port={port}` and pass its "
            "--carla-host/--carla-port, or run on the embedded simulator (--backend embedded, the default)")


def connect(spec: ServerSpec, worker: int = 0):
    """A ``carla.Client`` of a server that answered, with the versions checked; raises
    :class:`ServerUnavailable` (one line) within ``spec.timeout_s`` when none does."""
    carla = import_carla()
    ports = spec.for_worker(worker)
    client = carla.Client(spec.host, ports.rpc)
    client.set_timeout(float(spec.timeout_s))
    try:
        server = client.get_server_version()
    except RuntimeError as err:
        raise ServerUnavailable(
            f"no CARLA server answered at {spec.host}:{ports.rpc} within {spec.timeout_s:g} s (tried "
            f"carla.Client({spec.host!r}, {ports.rpc}).get_server_version(): {str(err).split(',')[0]}); "
            + how_to_start(ports.rpc)) from None
    check_versions(client.get_client_version(), server)
    return client


def check_versions(client: str, server: str) -> None:
    """Refuse a client and server of different releases (``0.9.16`` and ``0.9.16-dirty`` match)."""
    def release(v: str) -> str:
        return str(v).strip().split("-")[0]

    if release(client) != release(server):
        raise ServerUnavailable(f"CARLA client {client} and server {server} differ; install the matching client "
                                f"(pip install carla=={release(server)}) or run a {release(client)} server")


def healthy(client, timeout_s: float = 5.0) -> bool:
    """Whether the server still answers (a world snapshot within ``timeout_s``)."""
    try:
        client.set_timeout(timeout_s)
        client.get_world().get_snapshot()
        return True
    except RuntimeError:
        return False


def server_command(carla_root: str | Path, ports: WorkerPorts, gpu: int = 0) -> list[str]:
    """The command line of a headless server on ``ports``."""
    script = Path(carla_root) / SERVER_SCRIPT
    if not script.is_file():
        raise ConfigError(f"--carla-root {carla_root}: no {SERVER_SCRIPT} there; give the folder of a CARLA "
                          f"{CLIENT_VERSION} install (the one holding {SERVER_SCRIPT})")
    return [str(script), "-RenderOffScreen", "-nosound", f"-carla-rpc-port={ports.rpc}",
            f"-carla-streaming-port={ports.streaming}", f"-carla-secondary-port={ports.secondary}",
            f"-graphicsadapter={gpu}"]


def _group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class ServerProcess:
    """A server this harness started, in its own process group; ``stop`` ends that group only."""

    def __init__(self, spec: ServerSpec, worker: int = 0, log: Path | None = None) -> None:
        self.spec = spec
        self.worker = worker
        self.ports = spec.for_worker(worker)
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.pgid: int | None = None  # the server's process group (its own session), kept past its leader's death

    def start(self) -> "ServerProcess":
        cmd = server_command(self.spec.carla_root, self.ports, self.spec.gpu)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 (kept open for the child)
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid  # start_new_session: the leader's pid is the group's id
        return self

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S):
        """Poll until the server answers; returns the client. Raises ServerUnavailable when the server
        exits or does not answer in time (and stops it)."""
        deadline = time.monotonic() + timeout_s
        probe = ServerSpec(host=DEFAULT_HOST, port=self.spec.port, tm_port=self.spec.tm_port, timeout_s=2.0)
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerUnavailable(f"the CARLA server on port {self.ports.rpc} exited with code "
                                        f"{self.proc.returncode} while starting" + (f"; see {self.log}" if self.log else ""))
            try:
                return connect(probe, self.worker)
            except ServerUnavailable as err:
                if "differ" in str(err) or time.monotonic() > deadline:
                    self.stop()
                    raise
            time.sleep(1.0)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``grace_s``; nothing outside it. The
        group is the one recorded at start, so what a crashed server left behind goes too."""
        if self.proc is None:
            return
        pgid = self.pgid
        if pgid is not None and pgid != os.getpgid(0):  # never our own group
            for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and _group_alive(pgid):
                    self.proc.poll()
                    time.sleep(0.05)
                if not _group_alive(pgid):
                    break
        self.proc.poll()
        self.proc, self.pgid = None, None

    def restart(self, timeout_s: float = START_TIMEOUT_S, wait: bool = True):
        """Stop (its group only: after a crash, what is left of it) and start again; returns the new
        client (None with ``wait=False``)."""
        self.stop()
        self.start()
        return self.wait_ready(timeout_s) if wait else None
