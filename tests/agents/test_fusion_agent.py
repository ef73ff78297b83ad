"""The fusion agent wrapper around a third-party leaderboard agent."""

from __future__ import annotations

import numpy as np
import pytest

from agents.fusion_agent import CLEAN_ID, THERMAL_ID, FusionAgent
from harness.errors import AgentError, ConfigError
from harness.rig import CameraSpec, Pose, Rig
from harness.sensors.registration import Registrar
from harness.sensors.suite import bgra_to_rgb, to_bgra


def _inputs(rgb: np.ndarray, thermal: np.ndarray) -> dict:
    return {"Center": (7, to_bgra(rgb)), "SPEED": (7, {"speed": 3.0}), THERMAL_ID: (7, thermal)}


def test_wrapper_adds_thermal_camera_from_the_rig(third_party_agent):
    rig = Rig()
    sensors = FusionAgent(third_party_agent, "thermal", rig=rig).sensors()
    ids = [s["id"] for s in sensors]
    assert ids[:2] == ["Center", "SPEED"]
    th = next(s for s in sensors if s["id"] == THERMAL_ID)
    cam = rig.thermal.camera
    assert th["type"] == "sensor.camera.thermal"
    assert (th["width"], th["height"], th["fov"], th["y"], th["z"]) == (cam.width, cam.height, cam.fov, cam.pose.y, cam.pose.z)


def test_wrapped_agent_gets_the_fused_image_under_its_own_id(third_party_agent):
    rng = np.random.default_rng(0)
    wrapper = FusionAgent(third_party_agent, "thermal")
    sensors = wrapper.sensors()
    rgb = rng.integers(0, 256, (160, 320, 3), dtype=np.uint8)
    thermal = rng.integers(0, 256, (160, 320), dtype=np.uint8)
    control = wrapper.run_step(_inputs(rgb, thermal), 0.35)
    got = third_party_agent.received[-1]
    assert set(got) == {"Center", "SPEED"}  # the thermal camera stays hidden
    frame, image = got["Center"]
    assert frame == 7 and image.shape == (160, 320, 4) and image.dtype == np.uint8
    th_cam = next(s for s in sensors if s["id"] == THERMAL_ID)
    registered = Registrar(CameraSpec(), CameraSpec(th_cam["width"], th_cam["height"], th_cam["fov"],
                                                    Pose(th_cam["x"], th_cam["y"], th_cam["z"])))(thermal)
    fused = bgra_to_rgb(image)
    assert np.array_equal(fused, np.repeat(registered[..., None], 3, axis=2))
    assert control.throttle == 0.3
    assert wrapper.latency_summary()["fusion_ms"] > 0


def test_rgb_variant_passes_the_camera_through_unchanged(third_party_agent):
    rng = np.random.default_rng(1)
    wrapper = FusionAgent(third_party_agent, "rgb")
    assert THERMAL_ID not in [s["id"] for s in wrapper.sensors()]
    rgb = rng.integers(0, 256, (160, 320, 3), dtype=np.uint8)
    wrapper.run_step({"Center": (1, to_bgra(rgb)), "SPEED": (1, {"speed": 0.0})}, 0.05)
    assert np.array_equal(bgra_to_rgb(third_party_agent.received[-1]["Center"][1]), rgb)


def test_oracle_clean_hands_over_the_clean_image(third_party_agent):
    rng = np.random.default_rng(2)
    wrapper = FusionAgent(third_party_agent, "oracle_clean")
    clean = next(s for s in wrapper.sensors() if s["id"] == CLEAN_ID)
    assert clean["type"] == "sensor.privileged.clean_rgb" and clean["width"] == 320
    rgb, cl = (rng.integers(0, 256, (160, 320, 3), dtype=np.uint8) for _ in range(2))
    wrapper.run_step({"Center": (1, to_bgra(rgb)), "SPEED": (1, {"speed": 0.0}), CLEAN_ID: (1, to_bgra(cl))}, 0.05)
    assert np.array_equal(bgra_to_rgb(third_party_agent.received[-1]["Center"][1]), cl)


def test_destroy_and_plan_are_forwarded(third_party_agent):
    wrapper = FusionAgent(third_party_agent, "thermal")
    wrapper.set_global_plan(["gps"], ["world"])
    wrapper.destroy()
    assert third_party_agent.plan == (["gps"], ["world"]) and third_party_agent.destroyed


def test_bad_wraps_fail_clearly(third_party_agent):
    with pytest.raises(ConfigError, match="lacks"):
        FusionAgent(object(), "thermal")
    with pytest.raises(ConfigError, match="unknown fusion variant 'thermall'.*did you mean 'thermal'"):
        FusionAgent(third_party_agent, "thermall")

    class NoCamera:
        def sensors(self):
            return [{"type": "sensor.speedometer", "id": "s"}]

        def run_step(self, data, ts):
            return None

        def destroy(self):
            pass

    with pytest.raises(AgentError, match="declares no 'sensor.camera.rgb'"):
        FusionAgent(NoCamera(), "thermal").sensors()
    with pytest.raises(AgentError, match="before sensors"):
        FusionAgent(third_party_agent, "thermal").run_step({}, 0.0)


def test_wrapped_third_party_agent_drives_in_the_embedded_world(gl_ok, small_scenario, third_party_agent):
    from harness.backends.embedded import EmbeddedBackend
    from harness.runner.episode import run_episode

    wrapper = FusionAgent(third_party_agent, "thermal", rig=small_scenario.rig)
    with EmbeddedBackend(small_scenario, privileged=False) as backend:
        result = run_episode(backend, wrapper, backend.route_ids[0], seed=3, max_steps=6)
    assert result.steps == 6 and len(third_party_agent.received) == 6
    got = third_party_agent.received[-1]["Center"][1]
    assert got.shape == (160, 320, 4)
    grey = bgra_to_rgb(got)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and grey.std() > 5  # a real thermal view, grey
    assert third_party_agent.plan is not None and len(third_party_agent.plan[0]) >= 2
    assert result.latency_ms["fusion_ms"] > 0 and result.latency_ms["register_ms"] > 0


@pytest.mark.parametrize("latency_ms,delay_ticks", [(0, 0), (30, 1), (50, 1), (120, 3)])
def test_latency_aware_mode_hands_the_newest_ready_image(third_party_agent, latency_ms, delay_ticks):
    """Frame i is taken at i * 50 ms and ready latency_ms later; tick t acts on the newest ready one."""
    wrapper = FusionAgent(third_party_agent, "rgb", latency=str(latency_ms))
    wrapper.sensors()
    for i in range(10):
        rgb = np.full((160, 320, 3), i, np.uint8)  # frame i is a flat image of value i
        wrapper.run_step({"Center": (i, to_bgra(rgb)), "SPEED": (i, {"speed": 0.0})}, 0.05 * i)
        seen = int(bgra_to_rgb(third_party_agent.received[-1]["Center"][1])[0, 0, 0])
        assert seen == max(0, i - delay_ticks), (i, seen)  # until the first is ready, the first frame stands in
    if latency_ms == 0:  # 0 ms is the default mode: the world waits, nothing is delayed
        assert wrapper.latency == "none" and "observation_delay_ms" not in wrapper.latency_summary()
    else:
        assert wrapper.latency_summary()["observation_delay_ms"] == pytest.approx(
            50.0 * delay_ticks * (10 - delay_ticks) / 10, abs=1e-6)


def test_measured_latency_delays_by_the_modules_own_time(third_party_agent, monkeypatch):
    wrapper = FusionAgent(third_party_agent, "rgb", latency="measured")
    wrapper.sensors()
    real = wrapper.fuse

    def slow_fuse(data):  # pretend the module took 70 ms on every frame
        out = real(data)
        wrapper.fusion_ms[-1] = 70.0
        return out

    monkeypatch.setattr(wrapper, "fuse", slow_fuse)
    for i in range(6):
        wrapper.run_step({"Center": (i, to_bgra(np.full((160, 320, 3), i, np.uint8))), "SPEED": (i, {"speed": 0.0})}, 0.05 * i)
    assert int(bgra_to_rgb(third_party_agent.received[-1]["Center"][1])[0, 0, 0]) == 5 - 2  # 70 ms: two ticks late


def test_bad_latency_is_refused(third_party_agent):
    with pytest.raises(ConfigError, match="latency must be"):
        FusionAgent(third_party_agent, "rgb", latency="-5")


class _Noisy:
    """A stochastic fusion module: the RGB image plus noise drawn from the generator it is given."""

    stochastic = True

    def __call__(self, rgb, thermal, generator=None):
        import torch

        if generator is None:
            raise AssertionError("a stochastic module must receive its generator")
        return (rgb + 0.2 * torch.rand(rgb.shape, generator=generator)).clamp(0, 1)


def _noisy_variant():
    from fusion.registry import Variant

    return Variant("noisy", "rgb plus seeded noise", lambda: _Noisy(), needs_thermal=False, stochastic=True)


def test_a_stochastic_module_gets_noise_seeded_from_job_seed_and_frame(third_party_agent):
    class Backend:
        seed = 3

    rgb = np.full((160, 320, 3), 100, np.uint8)

    def fused(seed: int, frame: int) -> np.ndarray:
        wrapper = FusionAgent(third_party_agent, _noisy_variant(), module=_Noisy())
        wrapper.sensors()
        Backend.seed = seed
        wrapper.bind(Backend())
        wrapper.run_step({"Center": (frame, to_bgra(rgb)), "SPEED": (frame, {"speed": 0.0})}, 0.05)
        return bgra_to_rgb(third_party_agent.received[-1]["Center"][1])

    assert np.array_equal(fused(3, 10), fused(3, 10)), "same job seed and frame: the same noise, run after run"
    assert not np.array_equal(fused(3, 10), fused(3, 11)), "another frame: other noise"
    assert not np.array_equal(fused(3, 10), fused(4, 10)), "another job seed: other noise"


def test_the_fusion_module_gets_its_own_threads_and_the_policy_keeps_one(third_party_agent, monkeypatch):
    """The policy sets torch to one thread per worker; the fusion module runs on the worker's share
    of the cores, and the policy's setting is back after each frame."""
    import torch

    seen = []

    class Counting:
        def __call__(self, rgb, thermal):
            seen.append(torch.get_num_threads())
            return rgb

    monkeypatch.setenv("HARNESS_FUSION_THREADS", "2")
    from fusion.registry import Variant

    wrapper = FusionAgent(third_party_agent, Variant("counting", "", lambda: Counting(), needs_thermal=False), module=Counting())
    wrapper.sensors()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rgb = np.zeros((160, 320, 3), np.uint8)
        wrapper.run_step({"Center": (1, to_bgra(rgb)), "SPEED": (1, {"speed": 0.0})}, 0.05)
        assert seen == [2] and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_bad_fusion_threads_setting_is_one_line(third_party_agent, monkeypatch):
    monkeypatch.setenv("HARNESS_FUSION_THREADS", "lots")
    with pytest.raises(ConfigError, match="HARNESS_FUSION_THREADS must be a positive integer"):
        FusionAgent(third_party_agent, "rgb")
