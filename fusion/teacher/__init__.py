"""The diffusion fusion teacher: a regression estimate plus a residual denoising diffusion model
(CorrDiff-style) on a space-to-depth grid, sampled K times with DDIM.

| piece | module |
| --- | --- |
| noise schedule, v-parameterisation, DDIM step | ``schedule`` |
| the networks (regression U-Net, residual denoiser U-Net) | ``denoiser`` |
| loading weights, ``Teacher.sample`` -> ``EnsembleStats``, the ``teacher`` variant | ``sampler`` |

Training is ``python -m distill train-teacher`` (``distill.train_teacher``).
"""

from fusion.teacher.sampler import EnsembleStats, Teacher, TeacherFusion

__all__ = ["EnsembleStats", "Teacher", "TeacherFusion"]
