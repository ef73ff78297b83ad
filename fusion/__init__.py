"""Fusion modules: RGB + thermal (registered to the RGB view) in, an RGB-like image out.

Contract (DESIGN.md): tensors are float in ``[0, 1]``, ``NCHW``; ``rgb`` is ``(B, 3, H, W)``,
``thermal`` ``(B, 1, H, W)`` already warped into the RGB camera's view; the output is
``(B, 3, H, W)``. ``fusion.registry`` names the variants (``rgb``, ``thermal``, ``oracle_clean``, ...).
"""

from harness._agents_path import install as _install_agents_path

_install_agents_path()
