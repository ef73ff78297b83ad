"""FusionProxy's dual-signal distillation loss, one small function per piece.

The paper gives no formulas; these are our choices (DESIGN.md, FusionProxy):

Pixel term (image variance -> per-pixel weight)
    ``w(p) = exp(-var(p) / (s * mean_p var))``, then normalised so that ``mean_p w = 1`` per image.
    ``var`` is the teacher ensemble's per-pixel variance (averaged over channels); dividing by the
    image's own mean variance makes ``s`` (``pixel_temp``, default 1) scale-free: a pixel at the
    image's mean variance weighs ``e^-1/s`` of a certain one, before normalisation.
    ``L_pix = mean_p w(p) * mean_c |S(p) - T(p)|`` (L1, as fusion and restoration losses usually are).

Light term (optional, ``w_light > 0``; not part of the paper's recipe)
    The frozen policy's own traffic-light branch (``PerceptionNet.light_logits``) read on the student's
    image and on the target image: per 8x8 cell c, ``KL(p_T(c) || p_S(c))`` over none / stop / go,
    weighted ``w(c) = 1 + signal_weight * (1 - p_T(none | c))`` (the few cells where the target shows a
    signal head weigh more), normalised to mean 1 per image. It asks the student for what the policy
    reads off a signal head, housing and lamp, not for the head's pixels.

Obstacle term (optional, ``w_seg > 0``; not part of the paper's recipe)
    The same reading of the policy's obstacle branch (``PerceptionNet.seg_logits``, background / vehicle /
    pedestrian per 2x2-pixel cell): ``KL(p_T(c) || p_S(c))`` weighted ``1 + signal_weight * (1 -
    p_T(background | c))``. It asks for the cars and people the policy finds in the target image, as the
    policy finds them, where the pixel and feature terms ask for the image. With the phantom guard
    (``guard``) a cell weighs ``1 + signal_weight * max(1 - p_T(background | c), 1 - p_S(background | c))``
    (``p_S`` without gradient): a car or person the student's image shows and the target's does not costs as
    much as one it misses (a phantom makes the frozen policy stand still for nothing).

Feature term (feature variance -> routing across layers)
    ``v_l`` is layer l's per-location feature variance across the K samples, averaged over channels
    (``distill.backbone.feature_variance``). Normalised per layer by its spatial mean over the image,
    ``v_l / (mean_p v_l + eps)``, so that 1 means "as uncertain as this layer usually is here" on every
    layer and tau means the same on every layer. The normalised maps are upsampled (bilinear) to the
    finest layer's grid, and ``alpha(p) = softmax_l(-v_l(p) / tau)``.
    ``d_l(p) = mean_c (phi_l(S)(p) - phi_l(T)(p))^2 / mean(phi_l(T)^2)``: the squared feature distance,
    averaged over channels and divided by the layer's mean feature energy (so a 112-channel layer and
    a 24-channel one are on one scale).
    ``L_feat = sum_l mean_p alpha_l(p) * d_l(p)``, where ``alpha_l`` is area-averaged down to layer l's
    grid (``d_l`` lives there). With uniform routing (``alpha = 1/L``) this is the plain average of the
    per-layer losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-8


def pixel_weights(var: torch.Tensor, temp: float = 1.0) -> torch.Tensor:
    """Per-pixel weights from the image variance ``(B,1,H,W)``: decreasing in ``var``, mean 1 per image."""
    scale = var.mean(dim=(-2, -1), keepdim=True).clamp_min(EPS) * temp
    w = torch.exp(-var / scale)
    return w / w.mean(dim=(-2, -1), keepdim=True).clamp_min(EPS)


def pixel_term(student: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """``mean_p w(p) * mean_c |S - T|``; ``weights=None`` is uniform (w = 1)."""
    err = (student - target).abs().mean(1, keepdim=True)
    return (err * weights).mean() if weights is not None else err.mean()


def normalise_layer_variance(v: torch.Tensor) -> torch.Tensor:
    """``v_l / mean_p v_l`` per image: 1 is this layer's average uncertainty on this image."""
    return v / v.mean(dim=(-2, -1), keepdim=True).clamp_min(EPS)


def layer_routing(variances: list[torch.Tensor], tau: float) -> torch.Tensor:
    """``alpha (B,L,H0,W0) = softmax_l(-v_l / tau)`` on the finest layer's grid, from per-layer
    variances ``(B,1,h_l,w_l)`` (normalised here); ``tau = inf`` gives uniform weights."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    size = max((v.shape[-2:] for v in variances), key=lambda s: s[0] * s[1])
    v = torch.cat([F.interpolate(normalise_layer_variance(x.float()), size=size, mode="bilinear", align_corners=False)
                   for x in variances], 1)
    return torch.softmax(-v / tau, dim=1)


def uniform_routing(variances_or_feats: list[torch.Tensor]) -> torch.Tensor:
    """``alpha = 1/L`` everywhere (the no-routing ablation), on the finest grid."""
    size = max((v.shape[-2:] for v in variances_or_feats), key=lambda s: s[0] * s[1])
    n = len(variances_or_feats)
    b = variances_or_feats[0].shape[0]
    return torch.full((b, n, *size), 1.0 / n, device=variances_or_feats[0].device)


def layer_distance(fs: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
    """``d_l (B,1,h,w)``: channel-mean squared distance over the teacher features' mean energy."""
    energy = ft.pow(2).mean(dim=(1, 2, 3), keepdim=True).clamp_min(EPS)
    return (fs - ft).pow(2).mean(1, keepdim=True) / energy


def feature_term(student_feats: list[torch.Tensor], teacher_feats: list[torch.Tensor], alpha: torch.Tensor) -> torch.Tensor:
    """``sum_l mean_p alpha_l(p) d_l(p)`` with ``alpha`` from :func:`layer_routing` (or uniform)."""
    if len(student_feats) != alpha.shape[1] or len(teacher_feats) != alpha.shape[1]:
        raise ValueError(f"{len(student_feats)} student / {len(teacher_feats)} teacher layers, routing over {alpha.shape[1]}")
    total = alpha.new_zeros(())
    for layer, (fs, ft) in enumerate(zip(student_feats, teacher_feats)):
        d = layer_distance(fs, ft)
        a = F.adaptive_avg_pool2d(alpha[:, layer:layer + 1], d.shape[-2:])
        total = total + (a * d).mean()
    return total


def light_term(student_logits: torch.Tensor, target_logits: torch.Tensor, signal_weight: float = 10.0,
               guard: bool = False) -> torch.Tensor:
    """``mean_c w(c) KL(p_T(c) || p_S(c))`` over the light cells ``(B,3,h,w)`` (logits over none / stop /
    go), ``w = 1 + signal_weight * (1 - p_T(none))`` normalised to mean 1 per image. Any cell map whose
    class 0 is the empty class reads the same way (the obstacle term's background / vehicle / pedestrian).
    ``guard``: ``w = 1 + signal_weight * max(1 - p_T(none), 1 - p_S(none))`` (``p_S`` detached), so a
    signal the student shows and the target does not weighs as much as one it misses."""
    if student_logits.shape != target_logits.shape:
        raise ValueError(f"light logits of shape {tuple(student_logits.shape)} against {tuple(target_logits.shape)}")
    pt = torch.softmax(target_logits.float(), 1)
    log_ps = torch.log_softmax(student_logits.float(), 1)
    kl = (pt * (torch.log(pt.clamp_min(EPS)) - log_ps)).sum(1, keepdim=True)
    signal = 1.0 - pt[:, :1]
    if guard:
        signal = torch.maximum(signal, 1.0 - log_ps[:, :1].detach().exp())
    w = 1.0 + signal_weight * signal
    w = w / w.mean(dim=(-2, -1), keepdim=True)
    return (w * kl).mean()


def policy_seg_term(policy, image: torch.Tensor, target: torch.Tensor, signal_weight: float = 10.0,
                    guard: bool = False) -> torch.Tensor:
    """The obstacle term: :func:`light_term`'s weighted cell KL (class 0, background, is the empty class)
    on the frozen ``policy``'s obstacle branch (``PerceptionNet.seg_logits``) read on ``image`` (gradients
    flow to it) against it read on ``target`` (no gradients), both ``(B,3,H,W)``; ``guard``: the phantom
    guard (:func:`light_term`)."""
    with torch.no_grad():
        target_logits = policy.seg_logits(target)
    return light_term(policy.seg_logits(image), target_logits, signal_weight, guard)


def policy_light_term(policy, image: torch.Tensor, target: torch.Tensor, signal_weight: float = 10.0) -> torch.Tensor:
    """:func:`light_term` of the frozen ``policy``'s light branch (``PerceptionNet.light_logits``) read on
    ``image`` (gradients flow to it) against it read on ``target`` (no gradients), both ``(B,3,H,W)``."""
    with torch.no_grad():
        target_logits = policy.light_logits(target)
    return light_term(policy.light_logits(image), target_logits, signal_weight)

