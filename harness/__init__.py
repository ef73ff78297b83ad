"""The closed-loop evaluation harness: simulation backends, sensor models, runner, metrics, CLI.

Importing the package registers the Gymnasium environment ``harness/FusionDrive-v0`` (by name only:
``harness.env`` and its simulator load when ``gymnasium.make`` builds it), so
``import gymnasium, harness; gymnasium.make("harness/FusionDrive-v0", scenario="fog_town05")`` works.
"""

from harness._agents_path import install as _install_agents_path

_install_agents_path()

GYM_ENV_ID = "harness/FusionDrive-v0"


def _register_gym_env() -> None:
    try:
        from gymnasium.envs.registration import register, registry
    except ImportError:  # gymnasium is a dependency; a trimmed install still imports the harness
        return
    if GYM_ENV_ID not in registry:
        register(id=GYM_ENV_ID, entry_point="harness.env:FusionDriveEnv")


_register_gym_env()
