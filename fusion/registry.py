"""Fusion variants by name: what each needs from the sensors, what it costs, and how to build it.

A variant name is one of:

- a registered name, optionally with parameters: ``rgb``, ``gff``, ``gff:r1=30,eps1=0.1``
  (unknown names and parameters give one error line that lists what there is);
- ``py:package.module:Name``: any ``nn.Module`` class, instance or factory, or a plain function
  ``f(rgb, thermal) -> fused``, importable from ``sys.path`` (the working directory included);
- ``onnx:path/to/model.onnx``: an ONNX model run with ONNX Runtime.

``Variant.build(device, precision, runtime)`` gives a :class:`fusion.base.Fuser`. What a variant is
made of enters the evaluation's job keys (:meth:`Variant.fingerprint`): its parameters through its
canonical name, its weights through their content, so a retrained module never reuses old records.
``oracle_clean`` is not a sensor fusion: it hands the policy the privileged clean clear-noon image of
the RGB camera, an upper bound for what any fusion could restore.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from fusion.base import Param
from fusion.classical import GFF, LaplacianFusion, LumaAverage, RGBEnhance
from fusion.student.proxy import WEIGHTS_PATTERN as STUDENT_WEIGHTS, FusionProxy
from fusion.teacher.sampler import WEIGHTS as TEACHER_WEIGHTS, TeacherFusion
from fusion.trivial import RGBOnly, ThermalOnly
from harness.errors import ConfigError, did_you_mean

PY, ONNX = "py:", "onnx:"
Cost = Callable[..., int]  # flops(h, w, **params) -> floating-point operations per frame


@dataclass(frozen=True)
class Variant:
    name: str  # canonical: the registered name, then the parameters that differ from their defaults
    description: str
    factory: Callable[..., Any] | None  # (**params) -> nn.Module or callable; None: not a module (oracle_clean)
    needs_thermal: bool = True
    needs_clean: bool = False
    params: tuple[Param, ...] = ()
    values: tuple[tuple[str, Any], ...] = ()  # parameters given in the name (defaults dropped), sorted
    stochastic: bool = False  # draws noise: gets a torch.Generator seeded from (job seed, frame)
    cost: Cost | str | None = None  # flops(h, w, **params), or "iterative", or None (not a module)
    weights: tuple[str, ...] = ()  # files whose content enters the job key (a trained module's weights);
    # "{name}" in a path is filled from the parameters (fusionproxy_{size}.pt)
    onnx_path: str = ""  # onnx: variants
    source: str = ""  # py: variants: the file the object is defined in (its content enters the key)

    @property
    def kwargs(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params} | dict(self.values)

    @property
    def is_module(self) -> bool:
        return self.factory is not None or bool(self.onnx_path)

    def build(self, device: str = "cpu", precision: str = "fp32", runtime: str = "torch"):
        """A :class:`fusion.base.Fuser` on ``device`` in ``precision`` with ``runtime`` (``torch``,
        ``onnx`` or ``tensorrt``); None for ``oracle_clean``. One ConfigError line for what cannot be."""
        from fusion.runtimes import CallableFuser, OnnxFuser, TensorRTFuser, TorchFuser, check_target, export_onnx

        dev = check_target(device, precision, runtime)
        if self.onnx_path:
            return TensorRTFuser(self.onnx_path, dev, precision) if runtime == "tensorrt" else OnnxFuser(self.onnx_path, dev, precision)
        if self.factory is None:
            return None
        obj = self._make()
        if isinstance(obj, nn.Module):
            if runtime in ("onnx", "tensorrt"):
                if self.stochastic:
                    raise ConfigError(f"variant {self.name} draws noise per call; run it with --runtime torch")
                path = export_onnx(obj)
                return OnnxFuser(path, dev, precision) if runtime == "onnx" else TensorRTFuser(path, dev, precision)
            return TorchFuser(obj, dev, precision, stochastic=self.stochastic or getattr(obj, "stochastic", False))
        if runtime != "torch":
            raise ConfigError(f"variant {self.name} is a plain function; it runs with --runtime torch only")
        return CallableFuser(obj, dev, precision)

    def _make(self) -> Any:
        try:
            obj = self.factory(**self.kwargs)
        except ConfigError:
            raise
        except Exception as err:  # noqa: BLE001 (a user's factory: anything it raises is a build failure)
            raise ConfigError(f"variant {self.name}: building it raised {type(err).__name__}: {err}") from err
        if not callable(obj):
            raise ConfigError(f"variant {self.name}: {self.factory!r} gave {type(obj).__name__}, which is not callable; "
                              "give an nn.Module (class or instance) or a function f(rgb, thermal) -> fused")
        return obj

    def param_count(self) -> int:
        """Trainable and frozen parameters of the module (0 for a function or ONNX model we cannot read)."""
        if self.factory is None:
            return 0
        obj = self._make()
        return sum(p.numel() for p in obj.parameters()) if isinstance(obj, nn.Module) else 0

    def flops(self, width: int, height: int) -> int | str | None:
        """Floating-point operations per frame at ``width x height``, ``"iterative"`` for a sampler
        whose cost is its step count times the network's, or None where unknown."""
        if callable(self.cost):
            return int(self.cost(height, width, **self.kwargs))
        return self.cost

    def fingerprint(self) -> str:
        """What enters the job key beside the name: the content of the weights files, the source file
        and parameters of a ``py:`` object, the ``onnx:`` file; '' for code-only variants (ours are
        covered by ``harness.runner.jobs.RESULTS_VERSION``). A ``weights=`` parameter (a retrained
        checkpoint) replaces the committed file."""
        own = self.kwargs.get("weights")
        parts = [_digest(str(Path(own).expanduser()))] if own else [_digest(p.format(**self.kwargs)) for p in self.weights]
        if self.onnx_path:
            parts.append(_digest(self.onnx_path))
        if self.source:
            parts.append(_digest(self.source))
            obj = self._make()
            if isinstance(obj, nn.Module):
                parts.append(_state_digest(obj))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16] if parts else ""

    def with_values(self, text: str) -> Variant:
        """This variant with the parameters of ``k=v,k2=v2`` (the canonical name drops defaults)."""
        known = {p.name: p for p in self.params}
        values = dict(self.values)
        for item in (t.strip() for t in text.split(",") if t.strip()):
            key, eq, raw = item.partition("=")
            key = key.strip()
            if not eq:
                raise ConfigError(f"variant {self.name}:{text}: parameters look like name=value, got {item!r}")
            if key not in known:
                takes = ", ".join(f"{p.name}={p.default}" for p in self.params) or "no parameters"
                raise ConfigError(f"variant {self.name}: unknown parameter {key!r}{did_you_mean(key, known)}; it takes {takes}")
            values[key] = known[key].parse(f"variant {self.name}", raw.strip())
        check = getattr(self.factory, "check_params", None)  # a module's rules across its parameters
        if callable(check):
            check(**{p.name: p.default for p in self.params} | values)
        kept = tuple(sorted((k, v) for k, v in values.items() if v != known[k].default))
        base = self.name.split(":")[0]
        name = base + (":" + ",".join(f"{k}={_text(v)}" for k, v in kept) if kept else "")
        return replace(self, name=name, values=kept)


def _text(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else (repr(v) if isinstance(v, float) else str(v))


def _digest(path: str | Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as err:
        raise ConfigError(f"cannot read {path} (a file this variant is made of): {err.strerror}") from err
    return h.hexdigest()


def _state_digest(module: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _classical(cls, description: str) -> Variant:
    return Variant(cls.name, description, cls, needs_thermal=cls.needs_thermal, params=cls.PARAMS, cost=cls.flops)


VARIANTS: dict[str, Variant] = {
    "rgb": Variant("rgb", "RGB camera only (no thermal)", RGBOnly, needs_thermal=False, cost=lambda h, w: 0),
    "thermal": Variant("thermal", "thermal only, grey in three channels", ThermalOnly, cost=lambda h, w: 0),
    "oracle_clean": Variant("oracle_clean", "privileged clean clear-noon RGB (upper bound, not a sensor)", None,
                            needs_thermal=False, needs_clean=True),
    "gff": _classical(GFF, "guided-filtering fusion (Li, Kang, Hu 2013) of visible luma and thermal; RGB chroma kept"),
    "laplacian": _classical(LaplacianFusion, "Laplacian-pyramid fusion (max-abs details, averaged base) on luma; "
                            "RGB chroma kept"),
    "luma_average": _classical(LumaAverage, "average of visible luma and thermal; RGB chroma kept"),
    "rgb_enhance": _classical(RGBEnhance, "RGB only: dark-channel dehazing and local contrast (is thermal needed?)"),
    "teacher": Variant("teacher", "diffusion teacher: the mean of k DDIM samples (regression estimate + residual "
                       "diffusion); slow", TeacherFusion, params=TeacherFusion.PARAMS, stochastic=True, cost="iterative",
                       weights=(str(TEACHER_WEIGHTS),)),
    "fusionproxy": Variant("fusionproxy", "FusionProxy: a small student distilled from the teacher ensemble (pixel term "
                           "weighted by image variance, feature term routed by backbone feature variance); real time",
                           FusionProxy, params=FusionProxy.PARAMS, cost=FusionProxy.flops, weights=(STUDENT_WEIGHTS,)),
}


def get_variant(name: str) -> Variant:
    """The variant a name means (see the module docstring); one ConfigError line otherwise."""
    name = str(name).strip()
    if name.startswith(PY):
        return _py_variant(name)
    if name.startswith(ONNX):
        return _onnx_variant(name)
    base, _, text = name.partition(":")
    if base not in VARIANTS:
        raise ConfigError(f"unknown fusion variant {base!r}{did_you_mean(base, VARIANTS)}; known variants: {', '.join(VARIANTS)}, "
                          f"or py:package.module:Name, or onnx:path/to/model.onnx")
    return VARIANTS[base].with_values(text) if text else VARIANTS[base]


def _py_variant(name: str) -> Variant:
    target = name[len(PY):]
    mod_name, _, attr = target.rpartition(":")
    if not mod_name or not attr:
        raise ConfigError(f"variant {name!r}: write py:package.module:Name (a module importable from the working "
                          "directory or sys.path, and the nn.Module class, instance or function in it)")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # as `python -m` does: the working directory's packages import
    try:
        module = importlib.import_module(mod_name)
    except Exception as err:  # noqa: BLE001 (ImportError, or anything the user's module raises on import)
        raise ConfigError(f"variant {name!r}: cannot import {mod_name!r}: {type(err).__name__}: {err}") from err
    if not hasattr(module, attr):
        public = [a for a in dir(module) if not a.startswith("_")]
        raise ConfigError(f"variant {name!r}: module {mod_name} has no {attr!r}{did_you_mean(attr, public)}")
    obj = getattr(module, attr)
    source = inspect.getsourcefile(module) or ""
    if isinstance(obj, nn.Module):
        factory = lambda: obj  # noqa: E731  (an instance: built once, as the user made it)
    elif inspect.isclass(obj) or _is_factory(obj):
        factory = obj
    elif callable(obj):
        factory = lambda: obj  # noqa: E731  (a plain function f(rgb, thermal))
    else:
        raise ConfigError(f"variant {name!r}: {attr} is a {type(obj).__name__}; give an nn.Module class or instance, "
                          "or a function f(rgb, thermal) -> fused")
    doc = (inspect.getdoc(obj) or "").split("\n")[0]
    return Variant(name, doc or f"{attr} from {mod_name}", factory, source=source,
                   stochastic=bool(getattr(obj, "stochastic", False)), cost="unknown")


def _is_factory(obj: Any) -> bool:
    """A function of no required arguments that makes a module (as opposed to f(rgb, thermal))."""
    if not inspect.isfunction(obj):
        return False
    required = [p for p in inspect.signature(obj).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return not required


def _onnx_variant(name: str) -> Variant:
    path = Path(name[len(ONNX):]).expanduser()
    if not path.is_file():
        raise ConfigError(f"variant {name!r}: no such file {path}; give the path of a .onnx model")
    return Variant(name, f"ONNX model {path.name}", None, onnx_path=str(path.resolve()), cost="unknown")


def check_variant(name: str, device: str = "cpu", precision: str = "fp32", runtime: str = "torch") -> Variant:
    """``get_variant`` plus, for a user's ``py:`` or ``onnx:`` module, the contract check on a probe
    pair (shape, range, dtype, output size): bad input fails before any route runs."""
    from fusion.runtimes import check_fuser, check_target

    v = get_variant(name)
    check_target(device, precision, runtime)
    if name.startswith((PY, ONNX)):
        check_fuser(v.build(device, precision, runtime), name, torch.device(device))
    elif v.kwargs.get("weights"):
        v._make()  # a checkpoint of another kind, or one that does not load, fails here, before any route
    return v


_BUILT: dict[tuple, Any] = {}  # per process: built fusers, as the worker caches its simulator
_BUILT_MAX = 4


def build_cached(variant: Variant, device: str = "cpu", precision: str = "fp32", runtime: str = "torch"):
    """``variant.build(...)`` once per process and (name, fingerprint, device, precision, runtime):
    the routes a worker drives share one module, rebuilt only when its weights change."""
    key = (variant.name, variant.fingerprint(), device, precision, runtime)
    if key not in _BUILT:
        while len(_BUILT) >= _BUILT_MAX:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = variant.build(device, precision, runtime)
    return _BUILT[key]


def describe(v: Variant, width: int = 320, height: int = 160) -> dict[str, Any]:
    """What ``python -m fusion list`` prints of a variant: needs, parameters, size and cost."""
    flops = v.flops(width, height) if v.is_module else None
    return {"name": v.name, "description": v.description, "needs_thermal": v.needs_thermal, "needs_clean": v.needs_clean,
            "params": v.kwargs, "parameters": v.param_count(),
            "cost": flops if isinstance(flops, (str, type(None))) else f"{flops / 1e6:.1f} MFLOP/frame at {width}x{height}",
            "stochastic": v.stochastic}
