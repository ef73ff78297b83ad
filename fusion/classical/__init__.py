"""Classical fusion baselines: no training, vectorised torch, CPU and CUDA, any size H, W >= 8.

| op | function | module | thermal |
| --- | --- | --- | --- |
| guided-filtering fusion (Li, Kang, Hu 2013) | ``gff.gff`` | ``GFF`` | yes |
| Laplacian-pyramid fusion | ``laplacian.laplacian_fusion`` | ``LaplacianFusion`` | yes |
| average of visible luma and thermal | ``luma_average.luma_average`` | ``LumaAverage`` | yes |
| dehazing + local contrast, RGB only | ``rgb_enhance.rgb_enhance`` | ``RGBEnhance`` | no |

Each takes ``rgb (B,3,H,W)`` and ``thermal (B,1,H,W)`` floats in [0,1] and returns ``(B,3,H,W)`` in
[0,1], the input's dtype and device. The fusions work on BT.601 luma and keep the RGB chroma. Every
module class lists its keyword parameters in ``PARAMS`` (name, type, default, meaning, bounds),
builds from text with ``from_params`` and estimates its cost with ``flops(h, w, **params)``.

The package exports the module classes; import a function from its module
(``from fusion.classical.gff import gff``), so that ``fusion.classical.gff`` stays the module.
"""

from fusion.classical.base import ClassicalFusion, Param
from fusion.classical.gff import GFF
from fusion.classical.laplacian import LaplacianFusion
from fusion.classical.luma_average import LumaAverage
from fusion.classical.rgb_enhance import RGBEnhance

__all__ = ["GFF", "ClassicalFusion", "LaplacianFusion", "LumaAverage", "Param", "RGBEnhance"]
