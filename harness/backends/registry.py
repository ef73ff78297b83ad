"""Which simulator runs a job: ``make_backend(name, ...)`` and the check a run makes before it writes.

- ``embedded`` (default): the numpy world, moderngl cameras and the thermal model, in-process; no
  server, no GPU.
- ``carla``: a CARLA 0.9.16 server (``harness.backends.carla``). The server connection, its
  version check, the weather mapping, the sensor rig and the thermal synthesis from CARLA's
  segmentation and depth cameras are built; driving a route on a server (world set-up, traffic,
  the episode loop, scoring from CARLA's sensors) is not yet: with a server up, a run stops before
  it writes anything and says so.

The backend is part of each job's content key (left out at ``embedded``, so records made before the
field keep their keys): a CARLA score never answers for an embedded one.
"""

from __future__ import annotations

from harness.errors import ConfigError

BACKENDS = ("embedded", "carla")
DEFAULT_BACKEND = "embedded"
CARLA_NOT_BUILT = ("driving routes on a CARLA server is not built yet (world set-up, traffic, the episode loop and "
                   "scoring from CARLA's sensors come next); run with --backend embedded")


def check_backend_name(name: str) -> str:
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
    return name


def preflight(name: str, server=None) -> None:
    """What a run checks before it writes anything: for ``carla``, that a server answers (within the
    client timeout) with the client's version; one ConfigError line otherwise."""
    check_backend_name(name)
    if name == "embedded":
        return
    from harness.backends.carla.server import ServerSpec, connect

    spec = server or ServerSpec()
    client = connect(spec)
    raise ConfigError(f"CARLA {client.get_server_version()} answered at {spec.host}:{spec.port}, but " + CARLA_NOT_BUILT)


def make_backend(name: str, scenario, privileged: bool = False, server=None, worker: int = 0):
    """A backend for ``scenario`` (a :class:`harness.scenario.Scenario`)."""
    check_backend_name(name)
    if name == "embedded":
        from harness.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(scenario, privileged=privileged)
    preflight(name, server)  # raises: no server, another version, or (for now) not built
    raise ConfigError(CARLA_NOT_BUILT)  # pragma: no cover (preflight always raises for carla today)
