"""The closed-loop evaluation harness: simulation backends, sensor models, runner, metrics, CLI."""

from harness._agents_path import install as _install_agents_path

_install_agents_path()
