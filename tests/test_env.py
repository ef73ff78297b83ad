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
