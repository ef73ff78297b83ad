"""Which simulator runs a job: ``make_backend(name, ...)`` and the check a run makes before it writes.

- ``embedded`` (default): the numpy world, moderngl cameras and the thermal model, in-process; no
  server, no GPU.
- ``carla``: a CARLA 0.9.16 server (``harness.backends.carla``), one per worker (ports
  ``--carla-port + 10 x worker``); a run checks that worker 0's answers before it writes anything.

The backend is part of each job's content key (left out at ``embedded``, so records made before the
field keep their keys): a CARLA score never answers for an embedded one.
"""

from __future__ import annotations

from harness.errors import ConfigError

BACKENDS = ("embedded", "carla")
DEFAULT_BACKEND = "embedded"


def check_backend_name(name: str) -> str:
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
    return name


def scenario_for(name: str, backend: str = DEFAULT_BACKEND):
    """The scenario ``name`` as it runs on ``backend``: on CARLA, with the CARLA town's route file
    (``scenarios/routes/carla/towns.yaml``); the scenario file itself is the same on both."""
    from harness.scenario import load_scenario

    scenario = load_scenario(name)
    if check_backend_name(backend) == "carla":
        from harness.backends.carla.towns import on_carla

        return on_carla(scenario)
    return scenario


def preflight(name: str, server=None) -> None:
    """What a run checks before it writes anything: for ``carla``, that a server answers (within the
    client timeout) with the client's version; one ConfigError line otherwise."""
    check_backend_name(name)
    if name == "embedded":
        return
    from harness.backends.carla.server import ServerSpec, connect

    connect(server or ServerSpec())


def make_backend(name: str, scenario, privileged: bool = False, server=None, worker: int = 0):
    """A backend for ``scenario`` (a :class:`harness.scenario.Scenario`)."""
    check_backend_name(name)
    if name == "embedded":
        from harness.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(scenario, privileged=privileged)
    from harness.backends.carla.backend import CarlaBackend

    return CarlaBackend(scenario, privileged=privileged, server=server, worker=worker)
