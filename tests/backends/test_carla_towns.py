"""A scenario on ``--backend carla``: the same file, CARLA's town and that town's route file
(``scenarios/routes/carla/towns.yaml``); the route selection and the job keys follow the CARLA routes."""

from __future__ import annotations

import pytest

carla = pytest.importorskip("carla", reason="the carla client (pip install carla==0.9.16, Python 3.10-3.12) is not installed")

from harness.backends.carla import towns  # noqa: E402
from harness.errors import ConfigError  # noqa: E402
from harness.scenario import load_scenario  # noqa: E402

from .opendrive import stadium  # noqa: E402


def _table(tmp_path, with_file: bool = True):
    from harness.backends.carla.routes import generate
    from harness.scenario import write_routes

    (tmp_path / "routes").mkdir()
    if with_file:
        cmap = carla.Map("Town05", stadium())
        write_routes(tmp_path / "routes" / "Town05.xml", generate(cmap, 3, seed=1, min_m=100, max_m=300, town="Town05"))
    table = tmp_path / "carla_towns.yaml"
    table.write_text("town05: {town: Town05, routes: routes/Town05.xml}\n")
    return table


def test_the_shipped_table_maps_every_embedded_town():
    import yaml

    from harness.world.towns import TOWN_NAMES

    entries = yaml.safe_load(towns.TABLE.read_text())
    assert set(entries) == set(TOWN_NAMES)
    assert all(e["town"].lower() == name for name, e in entries.items())


def test_on_carla_keeps_the_scenario_and_takes_the_carla_route_file(tmp_path):
    sc = load_scenario("fog_town05")
    on = towns.on_carla(sc, _table(tmp_path))
    assert on.routes_path == (tmp_path / "routes" / "Town05.xml").resolve() and on.route_ids is None
    assert (on.weather, on.traffic, on.rig, on.seeds, on.source) == (sc.weather, sc.traffic, sc.rig, sc.seeds, sc.source)
    assert [r.id for r in on.load_routes()] == ["0", "1", "2"]


def test_a_missing_carla_route_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match=r"harness routes --backend carla --town Town05 --xodr"):
        towns.on_carla(load_scenario("fog_town05"), _table(tmp_path, with_file=False))


def test_carla_jobs_plan_on_the_carla_routes_and_key_apart(tmp_path, monkeypatch):
    from harness.runner.evaluate import EvalRequest, job_keys, plan

    monkeypatch.setattr(towns, "TABLE", _table(tmp_path))
    jobs = plan(EvalRequest(scenario="fog_town05", variants=("rgb",), routes="all", seeds=(0,), backend="carla"))
    assert [j.route_id for j in jobs] == ["0", "1", "2"] and all(j.backend == "carla" for j in jobs)
    emb = plan(EvalRequest(scenario="fog_town05", variants=("rgb",), routes="0-2", seeds=(0,)))
    assert not set(job_keys(jobs)) & set(job_keys(emb))
    with pytest.raises(ConfigError, match="not in the scenario's route file Town05.xml"):
        plan(EvalRequest(scenario="fog_town05", variants=("rgb",), routes="7", seeds=(0,), backend="carla"))
