import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

import harness  # noqa: F401  (importing the package registers the id)


def test_env_passes_gymnasium_checker(gl_ok):
    env = gym.make("harness/FusionDrive-v0", scenario="night_town01")
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=1)
    assert obs["rgb"].shape == (160, 320, 3) and obs["thermal"].shape == (160, 320)
    total = 0.0
    for _ in range(40):
        obs, r, term, trunc, info = env.step(np.array([0.0, 0.6, 0.0], np.float32))
        total += r
    assert total > 0.0, "driving forward along the route earns progress"
    env.close()


def test_the_id_is_registered_by_importing_the_package_alone():
    """``import harness`` is enough (as the README says), and it does not load the simulator."""
    import subprocess
    import sys

    code = ("import gymnasium as gym, harness, sys; spec = gym.spec('harness/FusionDrive-v0'); "
            "assert 'harness.env' not in sys.modules, 'registering must not load the simulator'; "
            "print(spec.entry_point)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "harness.env:FusionDriveEnv"


def test_fusion_in_the_loop(gl_ok):
    """``fusion=`` adds the fused image an evaluation would give the policy, and render() shows the three views."""
    from fusion.io import fuse_images
    from fusion.registry import build_cached, get_variant
    from harness.sensors.registration import Registrar

    env = gym.make("harness/FusionDrive-v0", scenario="night_town01", fusion="luma_average", render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert obs["fused"].shape == (160, 320, 3) and obs["fused"].dtype == np.uint8 and env.unwrapped.fusion_ms > 0
    obs, *_, info = env.step(np.array([0.0, 0.5, 0.0], np.float32))
    rig = env.unwrapped.backend.scenario.rig
    thermal = Registrar(rig.rgb, rig.thermal.camera)(obs["thermal"])
    expected = fuse_images(build_cached(get_variant("luma_average")), obs["rgb"], thermal)
    assert np.array_equal(obs["fused"], expected)
    assert not np.array_equal(obs["fused"], obs["rgb"]), "at night the thermal camera changes the image"
    frame = env.render()
    assert frame.shape == (160, 960, 3) and np.array_equal(frame[:, 640:], obs["fused"])
    assert np.array_equal(frame[:, 320:640, 0], thermal) and np.array_equal(frame[:, :320], obs["rgb"])
    env.close()


def test_fusion_needing_the_clean_image_turns_ground_truth_on(gl_ok):
    env = gym.make("harness/FusionDrive-v0", scenario="night_town01", fusion="oracle_clean")
    obs, _ = env.reset(seed=0)
    assert np.array_equal(obs["fused"], env.unwrapped._frame.privileged.clean_rgb)
    assert obs["fused"].mean() > obs["rgb"].mean() + 20, "the clean clear-noon view is brighter than the night camera"
    env.close()


def test_fusion_refuses_a_bad_name_before_building_anything():
    import pytest

    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="gff"):
        gym.make("harness/FusionDrive-v0", scenario="night_town01", fusion="gff:r1=-3")
    with pytest.raises(ConfigError, match="unknown|no fusion variant|not a"):
        gym.make("harness/FusionDrive-v0", scenario="night_town01", fusion="no_such_fusion")
