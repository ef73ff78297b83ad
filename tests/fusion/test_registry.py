"""Variant names, parameters, bring-your-own modules (py:, onnx:), contract checks and job keys."""

from __future__ import annotations

import textwrap

import pytest
import torch

from fusion import registry
from fusion.registry import Param, Variant, build_cached, check_variant, get_variant
from fusion.trivial import ThermalOnly
from harness.errors import ConfigError
from harness.runner.jobs import EvalJob, variant_fingerprint, with_fusion


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A registered variant with two parameters and a weights file."""
    weights = tmp_path / "toy.pt"
    weights.write_bytes(b"first training")
    v = Variant("toy", "a toy", ThermalOnly, params=(Param("r", int, 45, "radius [px]", low=1, high=100),
                                                    Param("eps", float, 0.3, "regulariser", low=0.0, low_exclusive=True)),
                weights=(str(weights),), cost=lambda h, w, r, eps: h * w * r)
    monkeypatch.setitem(registry.VARIANTS, "toy", v)
    return v, weights


def test_parameters_in_the_name_are_parsed_and_canonical(toy):
    assert get_variant("toy").name == "toy"
    assert get_variant("toy:r=45").name == "toy", "a default value does not make another variant"
    v = get_variant("toy:eps=0.1, r=7")
    assert v.name == "toy:eps=0.1,r=7" and v.kwargs == {"r": 7, "eps": 0.1}
    assert v.flops(320, 160) == 160 * 320 * 7


@pytest.mark.parametrize("name, fragment", [
    ("toy:q=1", "unknown parameter 'q'; it takes r=45, eps=0.3"),
    ("toy:rr=1", "did you mean 'r'?"),
    ("toy:r=x", "r must be an int in [1, 100] (radius [px]), got the text 'x'"),
    ("toy:r=0", "r must be an int in [1, 100]"),
    ("toy:eps=0", "eps must be a float > 0"),
    ("toy:eps=nan", "eps must be a float > 0"),
    ("toy:r", "parameters look like name=value"),
    ("rgb:k=1", "it takes no parameters"),
    ("tehrmal", "did you mean 'thermal'?"),
])
def test_bad_names_give_one_line(toy, name, fragment):
    with pytest.raises(ConfigError) as err:
        get_variant(name)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_retraining_a_fusion_module_changes_its_job_keys(toy):
    """A variant's weights enter the key: a retrained module never reuses the old module's records."""
    _, weights = toy
    job = EvalJob("fog_town05", "0", "toy", 0)
    before = job.key(with_fusion("inputs", variant_fingerprint("toy")))
    weights.write_bytes(b"second training")
    after = job.key(with_fusion("inputs", variant_fingerprint("toy")))
    assert before != after
    assert job.key(with_fusion("inputs", variant_fingerprint("rgb"))) == job.key("inputs"), \
        "variants without weights keep the keys of records made before fusion weights entered them"


def test_py_modules_key_on_their_weights_too(tmp_path, monkeypatch):
    """A py: module that loads its own weights: its state, not only its source, enters the key."""
    (tmp_path / "byo_weights.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn
        from pathlib import Path

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gain = nn.Parameter(torch.tensor(float(Path(__file__).with_name("gain.txt").read_text())))

            def forward(self, rgb, thermal):
                return (rgb * self.gain).clamp(0, 1)
    '''))
    (tmp_path / "gain.txt").write_text("0.5")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = get_variant("py:byo_weights:Net").fingerprint()
    (tmp_path / "gain.txt").write_text("0.7")
    assert get_variant("py:byo_weights:Net").fingerprint() != first


def _module(tmp_path, monkeypatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.mark.parametrize("body, fragment", [
    ("import torch\ndef Fuse(rgb, thermal):\n    return rgb[:, :1]\n", "output must be (B,3,H,W)"),
    ("import torch\ndef Fuse(rgb, thermal):\n    return rgb * 255\n", "must lie in [0, 1]"),
    ("import torch\ndef Fuse(rgb, thermal):\n    return (rgb * 255).to(torch.uint8)\n", "must be a float tensor"),
    ("import torch\ndef Fuse(rgb, thermal):\n    return rgb.numpy()\n", "must return a torch.Tensor"),
    ("import torch\ndef Fuse(rgb, thermal):\n    return torch.nn.functional.avg_pool2d(rgb, 2)\n", "output must be (B,3,H,W)"),
    ("import torch\ndef Fuse(rgb, thermal):\n    raise RuntimeError('boom')\n", "raised RuntimeError: boom"),
    ("Fuse = 3\n", "is a int"),
    ("import torch\nraise ImportError('needs cv3')\n", "cannot import"),
    ("import torch\ndef Other(rgb, thermal):\n    return rgb\n", "has no 'Fuse'"),
])
def test_a_py_module_that_breaks_the_contract_fails_with_one_line(tmp_path, monkeypatch, body, fragment):
    mod = _module(tmp_path, monkeypatch, f"byo_bad_{abs(hash(body)) % 10**8}", body)
    with pytest.raises(ConfigError) as err:
        check_variant(f"py:{mod}:Fuse")
    assert fragment in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_a_py_module_class_instance_factory_and_function_all_work(tmp_path, monkeypatch):
    mod = _module(tmp_path, monkeypatch, "byo_good", '''
        import torch
        from torch import nn

        class Net(nn.Module):
            """Half and half."""
            def forward(self, rgb, thermal):
                return 0.5 * rgb + 0.5 * thermal

        instance = Net()

        def make():
            return Net()

        def fuse(rgb, thermal):
            return torch.maximum(rgb, thermal)
    ''')
    rgb, th = torch.rand(1, 3, 8, 12), torch.rand(1, 1, 8, 12)
    for attr in ("Net", "instance", "make"):
        v = check_variant(f"py:{mod}:{attr}")
        assert torch.allclose(v.build()(rgb, th), 0.5 * rgb + 0.5 * th)
    assert get_variant(f"py:{mod}:Net").description == "Half and half."
    assert torch.equal(check_variant(f"py:{mod}:fuse").build()(rgb, th), torch.maximum(rgb, th))


def _export(module: torch.nn.Module, path, names=("rgb", "thermal"), shapes=((1, 3, 16, 24), (1, 1, 16, 24))):
    dyn = {0: "b", 2: "h", 3: "w"}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(torch.rand(*s) for s in shapes), str(path), input_names=list(names),
                          output_names=["fused"], dynamic_axes={n: dyn for n in (*names, "fused")}, dynamo=False)
    return path


class _Half(torch.nn.Module):
    def forward(self, rgb, thermal):
        return 0.5 * rgb + 0.5 * thermal


class _One(torch.nn.Module):
    def forward(self, rgb):
        return rgb


def test_onnx_models_run_with_onnx_runtime_and_bad_ones_fail_with_one_line(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnx: variants need onnxruntime (a dependency: make setup installs it)")
    good = _export(_Half(), tmp_path / "half.onnx")
    rgb, th = torch.rand(2, 3, 10, 14), torch.rand(2, 1, 10, 14)
    assert torch.allclose(check_variant(f"onnx:{good}").build()(rgb, th), 0.5 * rgb + 0.5 * th, atol=1e-6)
    renamed = _export(_Half(), tmp_path / "renamed.onnx", names=("a", "b"))  # told apart by channels
    assert torch.allclose(check_variant(f"onnx:{renamed}").build()(rgb, th), 0.5 * rgb + 0.5 * th, atol=1e-6)
    one = _export(_One(), tmp_path / "one.onnx", names=("rgb",), shapes=((1, 3, 16, 24),))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    for name, fragment in ((f"onnx:{one}", "expected two inputs"), (f"onnx:{tmp_path}/missing.onnx", "no such file"),
                           (f"onnx:{tmp_path}/junk.onnx", "cannot load it")):
        with pytest.raises(ConfigError) as err:
            check_variant(name)
        assert fragment in str(err.value) and "\n" not in str(err.value)


def test_build_targets_are_checked():
    with pytest.raises(ConfigError, match="precision must be one of"):
        get_variant("thermal").build(precision="fp8")
    with pytest.raises(ConfigError, match="device must be cpu, cuda or cuda:N"):
        get_variant("thermal").build(device="tpu")
    with pytest.raises(ConfigError, match="tensorrt"):
        get_variant("thermal").build(runtime="tensorrt")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device here"):
            get_variant("thermal").build(device="cuda")


def test_a_module_is_built_once_per_process():
    v = get_variant("thermal")
    assert build_cached(v) is build_cached(v)
    assert build_cached(v, precision="bf16") is not build_cached(v)


def test_fusionproxy_sizes_are_parameters_with_their_own_weights(tmp_path):
    from dataclasses import replace

    from fusion.student.proxy import DEFAULT_SIZE

    default = get_variant(f"fusionproxy:size={DEFAULT_SIZE}")
    other = "xs" if DEFAULT_SIZE != "xs" else "s"  # a size that is not the default
    assert default.name == "fusionproxy"  # the default is dropped from the name
    assert get_variant(f"fusionproxy:size={other}").name == f"fusionproxy:size={other}"
    # each size's own weights file enters the job key: retraining one size re-drives that size only
    for size in (other, DEFAULT_SIZE):
        (tmp_path / f"fp_{size}.pt").write_bytes(size.encode())
    v = replace(default, weights=(str(tmp_path / "fp_{size}.pt"),))
    small = v.with_values(f"size={other}")
    before = (v.fingerprint(), small.fingerprint())
    assert before[0] != before[1]
    (tmp_path / f"fp_{other}.pt").write_bytes(b"retrained")
    assert (v.fingerprint(), small.fingerprint()) == (before[0], small.fingerprint()) and small.fingerprint() != before[1]
    assert default.flops(320, 160) != get_variant(f"fusionproxy:size={other}").flops(320, 160)
    with pytest.raises(ConfigError, match="size must be one of"):
        get_variant("fusionproxy:size=huge")


def test_a_retrained_checkpoint_is_a_variant_parameter(tmp_path, monkeypatch):
    """fusionproxy:weights=PATH drives a student of one's own training with no export and no registry
    edit: the file's content enters the key (retrained in place: new records), its own size is used,
    and a missing file or another network's checkpoint fails before any route, in one line."""
    import shutil

    from fusion.student.proxy import weights_path
    from fusion.teacher.sampler import WEIGHTS as TEACHER

    monkeypatch.chdir(tmp_path)
    shutil.copy(weights_path("m"), tmp_path / "mine.pt")
    v = check_variant("fusionproxy:weights=mine.pt")
    assert v.name == "fusionproxy:weights=mine.pt" and v.kwargs["weights"] == "mine.pt"
    m = get_variant("fusionproxy:size=m")
    assert v.fingerprint() == m.fingerprint() != get_variant("fusionproxy").fingerprint()  # the content, not the name
    assert v.flops(320, 160) == m.flops(320, 160)  # the checkpoint's size, though size= is the default
    x, t = torch.rand(1, 3, 32, 64), torch.rand(1, 1, 32, 64)
    assert torch.equal(v.build()(x, t), m.build()(x, t))
    before = v.fingerprint()
    shutil.copy(weights_path("xs"), tmp_path / "mine.pt")  # retrained at the same path
    assert v.fingerprint() != before
    for name, fragment in (("fusionproxy:weights=nope.pt", "no such file: 'nope.pt'"),
                           (f"fusionproxy:weights={TEACHER}", "is not a student checkpoint"),
                           ("teacher:weights=mine.pt", "is not a teacher checkpoint")):
        with pytest.raises(ConfigError) as err:
            check_variant(name)
        assert fragment in str(err.value) and "\n" not in str(err.value), name
