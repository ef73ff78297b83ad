"""The teacher-ensemble cache on a tiny synthetic dataset: shapes and fp16 at each layer's resolution,
the same numbers from a fresh build, resume (nothing recomputed), a changed data shard recomputed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.ensemble_cache import CacheConfig, build, cache_key, load
from harness.errors import ConfigError
from tests.distill.test_train_teacher import _shard


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion")
    _shard(root / "train" / "a.npz", 3, 0)
    _shard(root / "train" / "b.npz", 2, 1)
    _shard(root / "val" / "c.npz", 4, 2)
    return root


def _cfg(data, root, **kw) -> CacheConfig:
    return CacheConfig(**({"data": str(data), "root": str(root), "k": 3, "steps": 1, "backbones": ("policy",),
                           "threads": 1, "every": {"train": 1, "val": 2}} | kw))


def test_cache_shapes_resume_and_determinism(data, tmp_path):
    man = build(_cfg(data, tmp_path / "c1"), progress=False)
    assert man["frames"] == {"train": 5, "val": 2} and man["computed_frames"] == 7
    folder = tmp_path / "c1" / man["key"]
    assert json.loads((folder / "manifest.json").read_text())["layers"] == {"policy": [2, 4, 8, 16]}
    tr = load(folder, "train", "policy")
    assert tr["mean"].shape == (5, 3, 32, 48) and tr["mean"].dtype == np.float16
    assert tr["pixel_var"].shape == (5, 1, 32, 48) and (tr["pixel_var"] >= 0).all() and tr["pixel_var"].max() > 0
    assert [f.shape for f in tr["fvar"]] == [(5, 1, 16, 24), (5, 1, 8, 12), (5, 1, 4, 6), (5, 1, 2, 3)]
    assert list(tr["source"]) == ["a.npz"] * 3 + ["b.npz"] * 2
    assert list(load(folder, "val")["index"]) == [0, 2]  # every 2nd val frame
    # resume: nothing left to compute
    assert build(_cfg(data, tmp_path / "c1"), progress=False)["computed_frames"] == 0
    # a fresh build elsewhere gives the same numbers (noise seeded per episode and frame)
    other = load(tmp_path / "c2" / build(_cfg(data, tmp_path / "c2"), progress=False)["key"], "train", "policy")
    np.testing.assert_array_equal(other["mean"], tr["mean"])
    np.testing.assert_array_equal(other["fvar"][2], tr["fvar"][2])
    # another seed: other noise, so other samples
    seeded = build(_cfg(data, tmp_path / "c3", seed=1), progress=False)
    assert seeded["key"] != man["key"]
    assert not np.array_equal(load(tmp_path / "c3" / seeded["key"], "train")["pixel_var"], tr["pixel_var"])
    with pytest.raises(ConfigError, match="no features of backbone"):
        load(folder, "train", "efficientnet_lite0")


def test_a_changed_data_shard_is_recomputed(data, tmp_path):
    cfg = _cfg(data, tmp_path / "c", splits=("train",))
    build(cfg, progress=False)
    _shard(data / "train" / "b.npz", 2, 7)  # re-collected with other frames
    try:
        assert build(cfg, progress=False)["computed_frames"] == 2
    finally:
        _shard(data / "train" / "b.npz", 2, 1)


def test_key_follows_what_decides_the_numbers():
    base = CacheConfig()
    k = cache_key(base, "t", {"policy": "b"})
    assert cache_key(CacheConfig(threads=1), "t", {"policy": "b"}) == k  # threads do not change the numbers
    assert cache_key(CacheConfig(k=4), "t", {"policy": "b"}) != k
    assert cache_key(base, "t2", {"policy": "b"}) != k
    assert cache_key(base, "t", {"policy": "b2"}) != k


def test_bad_settings_fail_with_one_line(data, tmp_path):
    with pytest.raises(ConfigError, match="k must be >= 1"):
        build(_cfg(data, tmp_path, k=0), progress=False)
    with pytest.raises(ConfigError, match="unknown backbone"):
        build(_cfg(data, tmp_path, backbones=("resnet",)), progress=False)
    with pytest.raises(ConfigError, match="no ensemble cache"):
        load(tmp_path / "nothing", "train")
