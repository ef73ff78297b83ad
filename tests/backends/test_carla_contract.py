"""The CARLA backend's pieces that need no server, against the real ``carla`` 0.9.16 client objects:
the weather mapping, the sensor rig, decoding CARLA's images for the thermal model, the server's
ports and process group, and a run that finds no server (fails fast, one line, writes nothing)."""

from __future__ import annotations

import math
import os
import socket
import stat
import subprocess
import time

import numpy as np
import pytest

carla = pytest.importorskip("carla", reason="the carla client (pip install carla==0.9.16, Python 3.10-3.12) is not installed")

from harness.backends.carla import sensors as S  # noqa: E402
from harness.backends.carla import server as srv  # noqa: E402
from harness.backends.carla import weather as W  # noqa: E402
from harness.errors import ConfigError  # noqa: E402
from harness.rig import Rig  # noqa: E402
from harness.semantics import Sem  # noqa: E402
from harness.weather import CLEAR_VISIBILITY_M, preset  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------ weather


def test_fog_visibility_maps_to_density_and_back():
    for v in (40.0, 50.0, 100.0, 400.0):
        d = W.fog_density(v)
        assert 0 < d <= 100
        assert W.visibility_of(d) == pytest.approx(v, rel=1e-6)
    assert W.fog_density(CLEAR_VISIBILITY_M) == 0.0
    assert W.fog_density(50.0) > W.fog_density(100.0)  # denser fog, less visibility


def test_fog_denser_than_carla_can_make_is_refused_not_clamped():
    assert W.MIN_VISIBILITY_M == pytest.approx(39.12)
    with pytest.raises(ConfigError, match="densest fog"):
        W.fog_density(20.0)


@pytest.mark.parametrize("name", ["clear", "night", "fog", "night_fog", "dusk"])
def test_presets_become_real_weather_parameters(name):
    w = preset(name)
    p = W.to_carla(w, carla)
    assert isinstance(p, carla.WeatherParameters)
    assert p.sun_altitude_angle == pytest.approx(w.sun_altitude_deg)
    assert p.cloudiness == pytest.approx(100 * w.cloudiness)
    assert p.fog_distance == 0.0
    if w.fog_visibility_m < CLEAR_VISIBILITY_M:
        assert W.visibility_of(p.fog_density) == pytest.approx(w.fog_visibility_m, rel=1e-4)
    else:
        assert p.fog_density == 0.0
    back = W.from_carla(p)
    assert back["sun_altitude_deg"] == pytest.approx(w.sun_altitude_deg)
    assert back.get("fog_visibility_m", CLEAR_VISIBILITY_M) == pytest.approx(w.fog_visibility_m, rel=1e-4)


def test_lights_come_on_at_night_and_headlights_in_fog():
    assert W.lights(preset("night")) == W.Lights(street_lights=True, vehicle_lights=True)
    assert W.lights(preset("clear")) == W.Lights(street_lights=False, vehicle_lights=False)
    assert W.lights(preset("fog")).vehicle_lights and not W.lights(preset("fog")).street_lights


# ------------------------------------------------------------------------------------ sensors


def test_the_rig_becomes_cameras_at_their_poses_and_the_scoring_sensors():
    rig = Rig()
    bps = {b.name: b for b in S.sensor_blueprints(rig)}
    assert bps["rgb"].blueprint == "sensor.camera.rgb" and bps["rgb"].pose == rig.rgb.pose
    assert bps["rgb"].attributes["image_size_x"] == str(rig.rgb.width)
    assert bps["rgb"].attributes["fov"] == f"{rig.rgb.fov:g}"
    for name, bp in (("thermal_semantic", "sensor.camera.semantic_segmentation"),
                     ("thermal_instance", "sensor.camera.instance_segmentation"), ("thermal_depth", "sensor.camera.depth")):
        assert bps[name].blueprint == bp
        assert bps[name].pose == rig.thermal.camera.pose  # where the thermal camera is, not the RGB one
        assert bps[name].attributes["image_size_y"] == str(rig.thermal.camera.height)
    assert {"collision", "lane_invasion"} <= set(bps)
    assert not any(n.startswith("thermal") for n in (b.name for b in S.sensor_blueprints(rig, thermal=False)))


def test_poses_become_real_transforms():
    pose = Rig().thermal.camera.pose
    t = S.transform(pose, carla)
    assert isinstance(t, carla.Transform)
    assert (t.location.x, t.location.y, t.location.z) == pytest.approx((pose.x, pose.y, pose.z))
    assert (t.rotation.pitch, t.rotation.yaw, t.rotation.roll) == pytest.approx((pose.pitch, pose.yaw, pose.roll))
    # CARLA's frame: a point 10 m ahead of the camera is 10 m further along x
    p = t.transform(carla.Location(x=10.0, y=0.0, z=0.0))
    assert (p.x, p.y, p.z) == pytest.approx((pose.x + 10.0, pose.y, pose.z), abs=1e-4)


def test_depth_decodes_as_carla_encodes_it():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.1, 999.0, (16, 32)).astype(np.float32)
    img = S.encode_depth(depth)
    assert img.dtype == np.uint8 and img.shape == (16, 32, 4)
    assert np.abs(S.depth_of(img) - depth).max() < 1000.0 / (256 ** 3 - 1) + 1e-4  # one step of 24 bits
    raw = img.tobytes()  # what carla.Image.raw_data holds
    assert np.array_equal(S.bgra(raw, 16, 32), img)
    with pytest.raises(ValueError, match="BGRA needs"):
        S.bgra(raw[:-4], 16, 32)


def test_semantic_and_instance_channels():
    img = np.zeros((2, 3, 4), np.uint8)
    img[..., 2] = Sem.PEDESTRIAN  # red: class
    img[..., 1], img[..., 0] = 7, 2  # green + 256 blue: object id
    cls, obj = S.instance_of(img)
    assert (cls == Sem.PEDESTRIAN).all() and (obj == 7 + 512).all()
    assert (S.semantic_of(img) == Sem.PEDESTRIAN).all()
    rgb = np.zeros((2, 3, 4), np.uint8)
    rgb[..., 0], rgb[..., 2] = 10, 200  # B, R
    assert S.rgb_of(rgb)[0, 0].tolist() == [200, 0, 10]


def test_thermal_from_carla_images_is_the_shared_model_and_people_are_warm_at_night():
    from harness.rig import ThermalSpec
    from harness.sensors.thermal import ThermalCamera

    spec = ThermalSpec()
    h, w = spec.camera.height, spec.camera.width
    sem = np.full((h, w), Sem.ROAD, np.uint8)
    sem[: h // 3] = Sem.SKY
    sem[h // 2:, w // 3: w // 2] = Sem.PEDESTRIAN
    depth = np.full((h, w), 12.0, np.float32)
    depth[: h // 3] = 1000.0
    inst = np.zeros((h, w, 4), np.uint8)
    inst[..., 2] = sem
    inst[sem == Sem.PEDESTRIAN, 1] = 5
    sem_img = np.zeros((h, w, 4), np.uint8)
    sem_img[..., 2] = sem
    night = preset("night")
    a = S.thermal_frame(ThermalCamera(spec, 3), sem_img, inst, S.encode_depth(depth), night, np.random.default_rng(1))
    b = ThermalCamera(spec, 3)(sem, inst[..., 1].astype(np.int32), S.depth_of(S.encode_depth(depth)), night,
                               np.random.default_rng(1))
    assert np.array_equal(a.image, b.image)  # one thermal model for both backends
    ped = a.kelvin[sem == Sem.PEDESTRIAN].mean()
    road = a.kelvin[sem == Sem.ROAD].mean()
    assert ped > road + 5.0


# ------------------------------------------------------------------------------------ server


def test_worker_ports_never_collide():
    blocks = [srv.worker_ports(2000, 8000, w) for w in range(16)]
    used = [p for b in blocks for p in (b.rpc, b.streaming, b.secondary, b.traffic_manager)]
    assert len(used) == len(set(used))
    assert blocks[1].rpc - blocks[0].rpc == srv.PORT_STRIDE
    with pytest.raises(ConfigError, match="65535"):
        srv.worker_ports(65000, 8000, 100)
    with pytest.raises(ConfigError, match="--carla-port"):
        srv.ServerSpec(port=80)


def test_no_server_fails_within_the_timeout_with_what_was_tried_and_how_to_start_one():
    port = _free_port()
    t0 = time.monotonic()
    with pytest.raises(srv.ServerUnavailable) as err:
        srv.connect(srv.ServerSpec(port=port, timeout_s=1.0))
    assert time.monotonic() - t0 < 5.0
    msg = str(err.value)
    assert f"127.0.0.1:{port}" in msg and "within 1 s" in msg and "CarlaUE4.sh -RenderOffScreen" in msg
    assert "\n" not in msg


def test_client_and_server_versions_must_match():
    srv.check_versions("0.9.16", "0.9.16-dirty")
    with pytest.raises(srv.ServerUnavailable, match="pip install carla==0.9.15"):
        srv.check_versions("0.9.16", "0.9.15")


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit is reaped by whoever is PID 1, maybe late)."""
    for _ in range(40):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.05)
    return True


def _fake_root(tmp_path, body: str):
    script = tmp_path / srv.SERVER_SCRIPT
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def test_a_started_server_runs_in_its_own_group_and_stop_ends_that_group_only(tmp_path):
    # the fake server starts a child too, as CarlaUE4.sh starts the engine binary
    root = _fake_root(tmp_path, "sleep 300 &\necho $! > \"$(dirname \"$0\")/child.pid\"\nsleep 300\n")
    bystander = subprocess.Popen(["sleep", "300"])  # same name as the server's processes, not ours to kill
    try:
        proc = srv.ServerProcess(srv.ServerSpec(port=_free_port(), carla_root=str(root))).start()
        for _ in range(50):
            if (tmp_path / "child.pid").exists() and (tmp_path / "child.pid").read_text().strip():
                break
            time.sleep(0.05)
        child = int((tmp_path / "child.pid").read_text())
        pid = proc.proc.pid
        assert os.getpgid(pid) == pid != os.getpgid(0)  # a session of its own
        assert "-RenderOffScreen" in srv.server_command(root, proc.ports) and proc.alive()
        proc.stop(grace_s=2.0)
        time.sleep(0.1)
        assert not proc.alive()
        assert not _running(child)
        assert bystander.poll() is None  # the other sleep lives
    finally:
        bystander.kill()


def test_a_crashed_server_is_restarted_in_a_fresh_group(tmp_path):
    import signal

    root = _fake_root(tmp_path, "sleep 300 &\necho $! > \"$(dirname \"$0\")/child.pid\"\nsleep 300\n")
    proc = srv.ServerProcess(srv.ServerSpec(port=_free_port(), carla_root=str(root))).start()
    first = proc.proc.pid
    for _ in range(50):
        if (tmp_path / "child.pid").exists() and (tmp_path / "child.pid").read_text().strip():
            break
        time.sleep(0.05)
    child = int((tmp_path / "child.pid").read_text())
    os.kill(first, signal.SIGKILL)  # the server crashes; its engine child lives on in the group
    proc.proc.wait(timeout=5)
    assert not proc.alive() and _running(child)
    proc.restart(wait=False)
    assert not _running(child)  # what the crash left behind is gone with the old group
    try:
        assert proc.alive() and proc.proc.pid != first
        assert os.getpgid(proc.proc.pid) == proc.proc.pid
    finally:
        proc.stop(grace_s=2.0)
    assert not proc.alive()


def test_a_server_that_exits_while_starting_is_reported(tmp_path):
    root = _fake_root(tmp_path, "exit 3\n")
    proc = srv.ServerProcess(srv.ServerSpec(port=_free_port(), carla_root=str(root))).start()
    with pytest.raises(srv.ServerUnavailable, match="exited with code 3"):
        proc.wait_ready(timeout_s=20.0)


def test_a_carla_root_without_the_server_script_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no CarlaUE4.sh"):
        srv.server_command(tmp_path, srv.worker_ports(2000, 8000, 0))


# ------------------------------------------------------------------------------------ runs


@pytest.mark.parametrize("command", ["eval", "sweep", "drive"])
def test_a_carla_run_without_a_server_fails_fast_in_one_line_and_writes_nothing(tmp_path, capsys, command):
    from harness.cli import main

    out = tmp_path / "out"
    argv = {"eval": ["eval", "--variants", "rgb"], "sweep": ["sweep", "--variants", "rgb", "--axis", "fog"],
            "drive": ["drive", "--variant", "rgb"]}[command]
    argv += ["--scenario", "fog_town05", "--routes", "0", "--backend", "carla", "--carla-port", str(_free_port()),
             "--carla-timeout", "1", "--out", str(out)]
    t0 = time.monotonic()
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: no CARLA server answered"), err
    assert time.monotonic() - t0 < 30.0
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_backend_enters_the_job_key_only_when_not_embedded():
    from dataclasses import replace

    from harness.runner.jobs import EvalJob

    job = EvalJob("fog_town05", "0", "rgb", 0)
    assert "backend" not in job.spec()  # records made before the field keep their keys
    carla_job = replace(job, backend="carla")
    assert carla_job.spec()["backend"] == "carla" and carla_job.key("") != job.key("")


def test_make_backend_knows_its_backends(small_scenario):
    from harness.backends.embedded import EmbeddedBackend
    from harness.backends.registry import make_backend

    with make_backend("embedded", small_scenario) as be:
        assert isinstance(be, EmbeddedBackend)
    with pytest.raises(ConfigError, match="known backends: embedded, carla"):
        make_backend("unreal", small_scenario)
    assert math.isfinite(W.MIN_VISIBILITY_M)
