"""Everything that trains: data collection with the expert, the frozen RGB policy's perception
network, the diffusion teacher, ensemble caching, the FusionProxy student, export."""

from harness._agents_path import install as _install_agents_path

_install_agents_path()
