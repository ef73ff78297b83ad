"""The CARLA backend (CARLA 0.9.16 server, the ``carla`` client from PyPI).

- :mod:`.server`: reaching a server or starting one from ``CARLA_ROOT`` in its own process group,
  per-worker ports, health check, restart, version check, one-line errors.
- :mod:`.weather`: our weather as ``carla.WeatherParameters`` (fog calibrated to our visibility in
  metres) and the night lights.
- :mod:`.sensors`: the rig as CARLA sensors; CARLA's depth, semantic and instance images decoded for
  the shared thermal model.
- :mod:`.events`: the scenario's scripted events (crossing walker behind a van, braking lead car,
  standing car) placed as the embedded world places them, as CARLA actors.

Driving a route on a server is not built yet (see :mod:`harness.backends.registry`).
"""
