"""The FusionProxy student: the distilled real-time fusion network and the ``fusionproxy`` variant.

| piece | module |
| --- | --- |
| the network, its sizes, MAC count | ``model`` |
| loading committed weights, the ``fusionproxy`` variant | ``proxy`` |

Training is ``python -m distill train-student`` (``distill.train_student``).
"""

from fusion.student.model import SIZES, StudentConfig, StudentNet
from fusion.student.proxy import DEFAULT_SIZE, FusionProxy, load_student

__all__ = ["DEFAULT_SIZE", "SIZES", "FusionProxy", "StudentConfig", "StudentNet", "load_student"]
