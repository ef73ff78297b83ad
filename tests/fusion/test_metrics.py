"""fusion.metrics on tiny hand-checked arrays, properties and input guards.

Each expected value says in a comment how it was worked out. The real-image checks against the
reference evaluators are in test_metrics_roadscene.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusion import metrics as M
from fusion.metrics.information import VIF_MIN_SIDE, _vif_min_side
from fusion.metrics.structural import MS_SSIM_MIN_SIDE
from harness.errors import ConfigError

# Qabf / Nabf constants, restated here so the expected values below are independent of the module
TG, TA = 0.9994, 0.9879
NRG, NRA = 0.9999, 0.9995


def _two_level(h: int = 4, w: int = 4) -> np.ndarray:
    """Left half 0, right half 255."""
    img = np.zeros((h, w))
    img[:, w // 2:] = 255.0
    return img


def _random(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.float64)


# ---------------------------------------------------------------- hand-checked values


def test_en_two_and_four_levels():
    # two levels, 8 pixels each: p = (1/2, 1/2) -> -2 * 1/2 * log2(1/2) = 1 bit
    assert M.en(_two_level()) == pytest.approx(1.0, abs=1e-15)
    # four levels, 4 pixels each: p = 1/4 each -> log2(4) = 2 bits
    four = np.repeat(np.array([[0.0, 85.0, 170.0, 255.0]]), 4, axis=0)
    assert M.en(four) == pytest.approx(2.0, abs=1e-15)
    # one level: p = 1 -> 0 bits
    assert M.en(np.full((4, 4), 77.0)) == 0.0


def test_en_rounds_half_to_even_like_the_reference():
    # np.round(0.5) = 0 and np.round(1.5) = 2: 0.5 and 1.5 land in different bins -> 1 bit
    img = np.array([[0.5, 1.5], [0.5, 1.5]])
    assert M.en(img) == pytest.approx(1.0)


def test_sd_is_population_std():
    # mean 1, every deviation +-1, divided by N (ddof 0) -> 1
    assert M.sd(np.array([[0.0, 2.0], [0.0, 2.0]])) == pytest.approx(1.0)
    # half 0, half 255: deviations +-127.5 -> 127.5
    assert M.sd(_two_level()) == pytest.approx(127.5)


def test_sf_of_column_stripes():
    # columns alternate 0, 10: each of the 4x3 horizontal differences is +-10 (mean square 100), the
    # 3x4 vertical ones are 0 -> sqrt(100 + 0) = 10
    stripes = np.tile(np.array([0.0, 10.0, 0.0, 10.0]), (4, 1))
    assert M.sf(stripes) == pytest.approx(10.0)


def test_ag_of_a_ramp():
    # f = 4 j: central and one-sided differences are both 4 across, 0 down ->
    # sqrt((16 + 0) / 2) = 2 sqrt(2) at every pixel
    ramp = 4.0 * np.tile(np.arange(4.0), (4, 1))
    assert M.ag(ramp) == pytest.approx(2.0 * math.sqrt(2.0))


def test_mi_of_identical_images_is_entropy_in_nats():
    a = _two_level()
    # MI(A, A) = H(A) = ln 2 nats for two equally likely levels
    assert M.mutual_information(a, a) == pytest.approx(math.log(2.0))
    # published MI sums both sources: ln 2 + ln 2
    assert M.mi(a, a, a) == pytest.approx(2.0 * math.log(2.0))
    # in bits: 1 + 1
    assert M.mi_bits(a, a, a) == pytest.approx(2.0)


def test_mi_of_independent_images_is_zero():
    # left/right halves against top/bottom halves: each of the 4 joint cells holds 1/4 = 1/2 * 1/2,
    # so the joint histogram is the product of the marginals -> MI = 0
    cols = _two_level()
    rows = cols.T.copy()
    assert M.mutual_information(cols, rows) == pytest.approx(0.0, abs=1e-15)


def test_cc_extremes():
    a = _random((8, 8), 0)
    # r(A, A) = 1 twice, averaged -> 1
    assert M.cc(a, a, a) == pytest.approx(1.0)
    # B = 255 - A: r(A, F=A) = 1, r(B, F=A) = -1 -> mean 0
    assert M.cc(a, 255.0 - a, a) == pytest.approx(0.0, abs=1e-12)


def test_scd_of_the_sum_is_two():
    a = _random((8, 8), 1) / 2.0  # keep A + B inside [0, 255]
    b = _random((8, 8), 2) / 2.0
    # F - B = A and F - A = B, so both correlations are r(X, X) = 1
    assert M.scd(a, b, a + b) == pytest.approx(2.0)


def test_scd_of_a_copied_source_is_finite():
    a, b = _random((8, 8), 3), _random((8, 8), 4)
    # F = A: F - A is constant, whose correlation we define as 0 (the reference gives NaN), so
    # SCD = r(A - B, A) + 0
    expected = np.corrcoef((a - b).ravel(), a.ravel())[0, 1]
    assert M.scd(a, b, a) == pytest.approx(expected)


def test_psnr_of_a_known_error():
    f = np.tile(np.array([[100.0, 200.0], [200.0, 100.0]]), (2, 2))
    # A = F + 10 and B = F - 10: each MSE is 100, their mean 100; max(F) = 200 ->
    # 10 log10(200^2 / 100) = 10 log10(400) = 26.0206 dB
    assert M.psnr(f + 10.0, f - 10.0, f) == pytest.approx(10.0 * math.log10(400.0))
    # with the 8-bit peak: 10 log10(255^2 / 100) = 28.1308 dB
    assert M.psnr_corrected(f + 10.0, f - 10.0, f) == pytest.approx(10.0 * math.log10(255.0 ** 2 / 100.0))
    assert M.psnr(f, f, f) == math.inf


def test_ssim_of_a_brightness_shift():
    a = np.full((12, 12), 50.0)
    f = a + 10.0
    # constant windows: every variance and covariance is 0, so the structure term is C2 / C2 = 1 and
    # SSIM = (2 mu_a mu_f + C1) / (mu_a^2 + mu_f^2 + C1) with mu_a = 50, mu_f = 60
    c1_legacy = (0.01 * 2.0) ** 2  # data range 2: the legacy scikit-image float default
    one_legacy = (2 * 50 * 60 + c1_legacy) / (50 ** 2 + 60 ** 2 + c1_legacy)
    assert M.ssim(a, a, f) == pytest.approx(2.0 * one_legacy)  # summed over the two sources
    c1 = (0.01 * 255.0) ** 2
    assert M.ssim_corrected(a, a, f) == pytest.approx((2 * 50 * 60 + c1) / (50 ** 2 + 60 ** 2 + c1))


def test_ms_ssim_of_a_brightness_shift():
    # 176 = 11 * 16 stays even through the four 2x2 poolings, so every scale stays constant: all
    # contrast-structure terms are C2 / C2 = 1 and only the coarsest scale's luminance term
    # (2*50*60 + C1) / (50^2 + 60^2 + C1) remains, raised to its weight 0.1333
    a = np.full((176, 176), 50.0)
    f = a + 10.0
    c1 = (0.01 * 1.0) ** 2  # the published (port's) effective data range is 1
    assert M.ms_ssim(a, a, f) == pytest.approx(2.0 * ((6000 + c1) / (6100 + c1)) ** 0.1333)
    c1 = (0.01 * 255.0) ** 2
    assert M.ms_ssim_corrected(a, a, f) == pytest.approx(((6000 + c1) / (6100 + c1)) ** 0.1333)


def test_qabf_of_identical_step_images():
    s = np.full((16, 16), 100.0)
    s[:, 8:] = 140.0
    # every non-zero Sobel magnitude here is >= 40, and F = A = B: the published G is gF itself (>= 40,
    # so Qg = Tg / (1 + e^(-15 * 39.5)) = Tg) and A = 1 (Qa = Ta / (1 + e^(-22 * 0.2)))
    assert M.qabf(s, s, s) == pytest.approx(TG * TA / (1.0 + math.exp(-4.4)), rel=1e-12)
    # corrected: G = 1 for equal edges -> Qg = Tg / (1 + e^(-15 * 0.5))
    expected = TG / (1.0 + math.exp(-7.5)) * TA / (1.0 + math.exp(-4.4))
    assert M.qabf_corrected(s, s, s) == pytest.approx(expected, rel=1e-12)


def test_qabf_corrected_wraps_orientation():
    i, j = np.mgrid[0:32, 0:32].astype(np.float64)
    a = 20.0 + 5.0 * i + 0.25 * j
    f = 28.0 + 5.0 * i - 0.25 * j
    # gradients at about -87 and +87 degrees: nearly the same orientation. The published formula
    # takes |aA - aF| ~ 175 degrees (Qa ~ 0 inside), the corrected one 5 degrees (Qa ~ 0.95)
    assert M.qabf(a, a, f) < 0.35
    assert M.qabf_corrected(a, a, f) > 0.9


def test_nabf_of_doubled_edges():
    r = 8.0 * np.tile(np.arange(8.0), (8, 1))
    # A = B = ramp of slope 8: Sobel/8 gives g = 8 inside (weight 8^1.5) and 0 in the two mirrored
    # border columns (weight 0.001); F = 2A doubles g inside only. Inside gF > gA = gB, so every
    # inner pixel is an artefact with g ratio 1/2 (Qg = Nrg / 2) and equal orientation (Qa =
    # Nra / (1 + e^-11)): Nabf = (1 - Q) * 2w * 48 / (2w * 48 + 2 * 0.001 * 16)
    q = math.sqrt(NRG / 2.0 * NRA / (1.0 + math.exp(-11.0)))
    w = 8.0 ** 1.5
    assert M.nabf(r, r, 2.0 * r) == pytest.approx((1 - q) * w * 48 / (w * 48 + 0.001 * 16), rel=1e-12)


def test_vif_extremes():
    a = _random((48, 48), 5)
    # F = A = B: gain 1, no distortion, each VIFp = 1 (to ~1e-10, from the eps of the model)
    assert M.vif(a, a, a) == pytest.approx(2.0, abs=1e-9)
    # constant F: no signal reaches F, numerator 0 -> 0
    assert M.vif(a, a, np.full_like(a, 128.0)) == 0.0
    # a source without texture: 0/0, counted as 1.0 as the reference does; F = B adds VIFp(B, B) = 1
    flat = np.full_like(a, 90.0)
    assert M.vif(flat, a, a) == pytest.approx(2.0, abs=1e-9)


def test_vif_min_side():
    assert _vif_min_side() == VIF_MIN_SIDE == 41
    ok = _random((41, 41), 6)
    M.vif(ok, ok, ok)
    small = ok[:40]
    with pytest.raises(ConfigError, match="VIF needs at least 41x41"):
        M.vif(small, small, small)


def test_luminance_is_bt601():
    rgb = np.zeros((1, 3, 3))
    rgb[0, 0, 0] = rgb[0, 1, 1] = rgb[0, 2, 2] = 255.0  # pure red, green, blue
    np.testing.assert_allclose(M.luminance(rgb), [[0.299 * 255, 0.587 * 255, 0.114 * 255]])
    np.testing.assert_allclose(M.luminance(np.full((2, 2, 3), 255.0)), 255.0)


# ---------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def triple() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two textured sources and a fused image, large enough for every metric (MS-SSIM: 161)."""
    a = _random((170, 180), 10)
    b = np.clip(255.0 - a + np.round(_random((170, 180), 11) / 4.0) - 32.0, 0, 255)
    return a, b, np.round((a + b) / 2.0)


def test_evaluate_default_keys_and_types(triple):
    out = M.evaluate(*triple)
    assert tuple(out) == M.PUBLISHED
    assert M.PUBLISHED == ("EN", "SD", "SF", "AG", "MI", "SCD", "VIF", "Qabf", "SSIM", "Nabf",
                           "MS_SSIM", "PSNR", "CC")
    assert all(type(v) is float and math.isfinite(v) for v in out.values())


def test_evaluate_matches_the_functions(triple):
    a, b, f = triple
    out = M.evaluate(a, b, f, metrics=list(M.METRICS))
    for name, info in M.METRICS.items():
        direct = info.fn(a, b, f) if info.uses_sources else info.fn(f)
        assert out[name] == direct, name
        assert info.description and "\n" not in info.description


def test_metrics_are_symmetric_in_the_sources(triple):
    a, b, f = triple
    names = list(M.METRICS)
    forward, swapped = M.evaluate(a, b, f, names), M.evaluate(b, a, f, names)
    for name in names:
        assert swapped[name] == pytest.approx(forward[name], rel=1e-12, abs=1e-12), name
    assert M.mutual_information(a, f) == pytest.approx(M.mutual_information(f, a), rel=1e-12)


def test_fused_equal_to_both_sources_gives_the_extremes(triple):
    a = triple[0]
    out = M.evaluate(a, a, a, metrics=list(M.METRICS))
    assert out["SSIM"] == pytest.approx(2.0)
    assert out["SSIM_corrected"] == pytest.approx(1.0)
    assert out["MS_SSIM"] == pytest.approx(2.0)
    assert out["MS_SSIM_corrected"] == pytest.approx(1.0)
    assert out["CC"] == pytest.approx(1.0)
    assert out["VIF"] == pytest.approx(2.0, abs=1e-9)
    assert out["Nabf"] == 0.0
    assert out["PSNR"] == math.inf
    # MI(A, A) = H(A), in nats, twice
    assert out["MI"] == pytest.approx(2.0 * out["EN"] * math.log(2.0))


def test_fused_equal_to_one_source(triple):
    a, b, _ = triple
    out = M.evaluate(a, b, a, metrics=["SSIM", "SSIM_corrected", "MI", "Nabf", "SCD"])
    # SSIM(F, A) = 1, so the sum is 1 + SSIM(A, B) and the mean (1 + SSIM(A, B)) / 2
    assert out["SSIM"] == pytest.approx(1.0 + M.ssim(b, b, a) / 2.0)
    assert out["SSIM_corrected"] == pytest.approx((1.0 + M.ssim_corrected(b, b, a)) / 2.0)
    assert out["MI"] == pytest.approx(M.en(a) * math.log(2.0) + M.mutual_information(a, b))
    assert out["Nabf"] == 0.0  # gF == gA everywhere, never strictly above both
    assert math.isfinite(out["SCD"])


def test_published_ssim_sits_below_the_corrected_one(triple):
    a, b, f = triple
    # the tiny constants of data range 2 only ever lower SSIM on 0..255 data here
    assert M.ssim(a, b, f) / 2.0 < M.ssim_corrected(a, b, f)


def test_evaluate_takes_colour_and_uint8(triple):
    a, b, f = triple
    rgb = np.stack([b, b, b], axis=-1)  # a grey picture stored as RGB has luma equal to its grey
    out_rgb = M.evaluate(a, rgb, f, metrics=["MI", "SSIM", "CC"])
    out_grey = M.evaluate(a, b, f, metrics=["MI", "SSIM", "CC"])
    for k in out_grey:
        assert out_rgb[k] == pytest.approx(out_grey[k], rel=1e-12)
    out_u8 = M.evaluate(a.astype(np.uint8), b.astype(np.uint8), f.astype(np.uint8), ["EN", "PSNR"])
    assert out_u8 == M.evaluate(a, b, f, ["EN", "PSNR"])


def test_metrics_are_fast_on_a_roadscene_sized_pair():
    import time

    a, b = _random((301, 496), 12), _random((301, 496), 13)
    f = np.maximum(a, b)
    for name in M.METRICS:
        t = time.perf_counter()
        M.evaluate(a, b, f, [name])
        assert time.perf_counter() - t < 1.0, name


# ---------------------------------------------------------------- guards


@pytest.mark.parametrize(
    "ir, vis, fused, match",
    [
        (np.zeros((8, 8)), np.zeros((8, 8)), np.zeros((8, 9)), r"same \(H, W\).*\(8, 9\)"),
        (np.zeros(8), np.zeros(8), np.zeros(8), r"ir must be a grey \(H, W\) image, got shape \(8,\)"),
        (np.zeros((1, 8, 8)), np.zeros((8, 8)), np.zeros((8, 8)), r"got shape \(1, 8, 8\)"),
        (np.zeros((8, 8)), np.full((8, 8), np.nan), np.zeros((8, 8)), r"vis must be finite, got 64 NaN"),
        (np.zeros((8, 8)), np.zeros((8, 8)), np.full((8, 8), np.inf), r"fused must be finite"),
        (np.full((8, 8), -1.0), np.zeros((8, 8)), np.zeros((8, 8)), r"\[0, 255\], got values in \[-1, -1\]"),
        (np.zeros((8, 8)), np.zeros((8, 8)), np.full((8, 8), 256.0), r"multiply a \[0, 1\] image by 255"),
        (np.zeros((8, 8), bool), np.zeros((8, 8)), np.zeros((8, 8)), r"dtype bool"),
        (np.zeros((8, 8), complex), np.zeros((8, 8)), np.zeros((8, 8)), r"dtype complex"),
        (np.zeros((0, 8)), np.zeros((0, 8)), np.zeros((0, 8)), r"empty"),
        (np.zeros((8, 8, 3)), np.full((8, 8, 3), 300.0), np.zeros((8, 8)), r"vis must hold grey levels"),
    ],
)
def test_guards_raise_one_clear_line(ir, vis, fused, match):
    with pytest.raises(ConfigError, match=match) as err:
        M.evaluate(ir, vis, fused, metrics=["EN", "CC"])
    assert "\n" not in str(err.value)


def test_each_metric_guards_its_inputs():
    good = _random((176, 176), 14)
    for info in M.METRICS.values():
        with pytest.raises(ConfigError, match="finite"):
            bad = good.copy()
            bad[3, 3] = np.nan
            info.fn(good, good, bad) if info.uses_sources else info.fn(bad)
        if info.uses_sources:
            with pytest.raises(ConfigError, match="same"):
                info.fn(good, good[:, :-1], good)


def test_unknown_metric_lists_the_known_ones():
    img = np.zeros((8, 8))
    with pytest.raises(ConfigError, match=r"unknown metric\(s\) 'QABF'; choose from EN, SD"):
        M.evaluate(img, img, img, metrics=["EN", "QABF"])


def test_metric_names_must_be_a_list():
    img = np.zeros((8, 8))
    with pytest.raises(ConfigError, match=r"got the string 'EN'; pass \['EN'\]"):
        M.evaluate(img, img, img, metrics="EN")


def test_too_small_for_ms_ssim_says_the_minimum():
    assert MS_SSIM_MIN_SIDE == 161
    img = _random((160, 200), 15)
    with pytest.raises(ConfigError, match="MS_SSIM needs at least 161x161"):
        M.evaluate(img, img, img)
