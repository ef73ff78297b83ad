"""Tests of the radiometric thermal camera model (harness.sensors.thermal) through its public functions.

The gain control on its own is tested in test_thermal_gain.py.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.integrate import quad

from harness.errors import ConfigError
from harness.rig import CameraSpec, ThermalSpec
from harness.semantics import Sem
from harness.sensors.thermal import (
    COUNTS_MAX,
    ThermalCamera,
    ThermalFrame,
    band_radiance,
    brightness_temperature,
    surface_temperature,
)
from harness.weather import Weather, preset

ROADSCENE = Path(__file__).resolve().parents[2].parent / "shared/data/roadscene"
H, W = 160, 320  # the default thermal camera size


def street(h: int = H, w: int = W) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic street: sky on top, buildings, road with a lane line, a pedestrian and two cars."""
    ids = np.full((h, w), Sem.BUILDING, np.uint8)
    inst = np.zeros((h, w), np.int32)
    depth = np.full((h, w), 40.0, np.float32)
    horizon = h // 2
    ids[: h // 4] = Sem.SKY
    depth[: h // 4] = np.inf
    ids[horizon:] = Sem.ROAD
    rows = np.arange(horizon, h, dtype=np.float32)[:, None]
    depth[horizon:] = 2.2 * w / 2 / (rows - horizon + 1)  # flat ground seen from 2.2 m [m]
    ids[horizon:, : w // 8] = Sem.SIDEWALK
    ids[horizon:, w // 2 - 1 : w // 2 + 1] = Sem.ROAD_LINE
    ids[h // 4 : horizon, w * 7 // 8 :] = Sem.VEGETATION
    ids[h // 4 : horizon, w // 3 : w // 3 + 3] = Sem.POLE
    ped = (slice(h * 4 // 10, h * 7 // 10), slice(w // 5, w // 5 + 8))
    ids[ped], inst[ped], depth[ped] = Sem.PEDESTRIAN, 7, 15.0
    for k, x0 in enumerate((w // 2 + 20, w // 2 + 90)):
        car = (slice(h * 45 // 100, h * 65 // 100), slice(x0, x0 + 50))
        ids[car], inst[car], depth[car] = Sem.CAR, 100 + k, 12.0
    return ids, inst, depth


def person_on_wall(distance_m: float, h: int = H, w: int = W):
    """A wall with a pedestrian patch in front of it, everything at one distance [m]."""
    ids = np.full((h, w), Sem.BUILDING, np.uint8)
    inst = np.zeros((h, w), np.int32)
    ids[40:120, 100:160] = Sem.PEDESTRIAN
    inst[40:120, 100:160] = 3
    return ids, inst, np.full((h, w), distance_m, np.float32)


def render(weather: Weather, scene=None, seed: int = 0, rng_seed: int = 1, spec: ThermalSpec | None = None):
    ids, inst, depth = street() if scene is None else scene
    camera = ThermalCamera(spec or ThermalSpec(), seed)
    return camera(ids, inst, depth, weather, np.random.default_rng(rng_seed))


def uniform_spec(**changes) -> ThermalSpec:
    return replace(ThermalSpec(), **changes)


# --------------------------------------------------------------------------------------------------
# Frame contract


def test_frame_shapes_dtypes_and_ranges():
    frame = render(preset("clear"))
    assert isinstance(frame, ThermalFrame)
    assert frame.image.shape == frame.kelvin.shape == frame.counts.shape == (H, W)
    assert (frame.image.dtype, frame.kelvin.dtype, frame.counts.dtype) == (np.uint8, np.float32, np.uint16)
    assert int(frame.counts.max()) <= COUNTS_MAX
    assert 220.0 < float(frame.kelvin.min()) and float(frame.kelvin.max()) < 380.0


def test_large_sensor_works():
    spec = ThermalSpec(camera=CameraSpec(width=1280, height=640, fov=95.0))
    frame = render(preset("night_fog"), scene=street(640, 1280), spec=spec)
    assert frame.image.shape == (640, 1280)
    assert frame.image.min() == 0 and frame.image.max() == 255


def test_other_integer_dtypes_give_the_same_frame():
    ids, inst, depth = street()
    reference = render(preset("clear"), scene=(ids, inst, depth))
    other = render(preset("clear"), scene=(ids.astype(np.int64), inst.astype(np.uint16), depth.astype(np.float64)))
    np.testing.assert_array_equal(reference.counts, other.counts)


# --------------------------------------------------------------------------------------------------
# Determinism and noise


def test_same_seeds_are_bit_identical_and_other_seeds_differ():
    a, b = render(preset("clear")), render(preset("clear"))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.kelvin, b.kelvin)
    assert not np.array_equal(a.counts, render(preset("clear"), seed=5).counts)  # other fixed pattern
    assert not np.array_equal(a.counts, render(preset("clear"), rng_seed=5).counts)  # other temporal noise


def test_fixed_pattern_belongs_to_the_camera():
    weather, (ids, inst, depth) = preset("night"), street()
    camera = ThermalCamera(uniform_spec(netd_mk=0.0), seed=3)
    first = camera(ids, inst, depth, weather, np.random.default_rng(0))
    second = camera(ids, inst, depth, weather, np.random.default_rng(99))
    np.testing.assert_array_equal(first.counts, second.counts)  # no temporal noise: only the pattern
    wall = person_on_wall(5.0)
    flat = render(weather, scene=wall, spec=uniform_spec(netd_mk=0.0, fpn_percent=0.0, blur_sigma_px=0.0))
    patterned = render(weather, scene=wall, spec=uniform_spec(netd_mk=0.0, blur_sigma_px=0.0))
    background = flat.counts[:, :80]
    assert background.std() == 0.0
    assert patterned.counts[:, :80].std() > 1.0


def test_temporal_noise_matches_netd():
    spec = uniform_spec(netd_mk=50.0, fpn_percent=0.0, blur_sigma_px=0.0)
    wall = person_on_wall(1.0)
    night = preset("night")
    # Building at night is air + 1 K: 300 K and 301 K walls.
    warm = [render(replace(night, air_temperature_k=299.0), scene=wall, spec=spec, rng_seed=s) for s in (1, 2)]
    hotter = render(replace(night, air_temperature_k=300.0), scene=wall, spec=spec, rng_seed=3)
    counts_per_k = hotter.counts[:, :80].mean() - warm[0].counts[:, :80].mean()
    diff = warm[0].counts[:, :80].astype(np.float64) - warm[1].counts[:, :80]
    netd_k = diff.std() / math.sqrt(2.0) / counts_per_k
    assert netd_k == pytest.approx(0.050, rel=0.15)


# --------------------------------------------------------------------------------------------------
# Scene physics


def _class_mean(frame: ThermalFrame, ids: np.ndarray, cls: Sem, field: str = "image") -> float:
    return float(getattr(frame, field)[ids == cls].mean())


def test_people_are_hotter_than_road_and_stand_out_at_night():
    ids = street()[0]
    frame = render(preset("night"))
    assert _class_mean(frame, ids, Sem.PEDESTRIAN, "kelvin") > _class_mean(frame, ids, Sem.ROAD, "kelvin") + 10.0
    person = _class_mean(frame, ids, Sem.PEDESTRIAN)
    for background in (Sem.ROAD, Sem.BUILDING, Sem.VEGETATION, Sem.SKY):
        assert person > _class_mean(frame, ids, background) + 40.0, background.name


def test_a_persons_head_is_warmer_than_the_clothed_body():
    ids, inst, _ = person_on_wall(5.0)
    kelvin, emissivity = surface_temperature(ids, inst, preset("night"))
    person = kelvin[40:120, 100:160]
    assert person[:8].mean() > person[20:].mean() + 1.5  # top 15 % of its 80 rows is head
    assert emissivity[ids == Sem.PEDESTRIAN].min() == pytest.approx(0.98)


def test_optics_blur_softens_edges():
    scene = person_on_wall(5.0)
    sharp = uniform_spec(blur_sigma_px=0.0, netd_mk=0.0, fpn_percent=0.0)
    soft = uniform_spec(blur_sigma_px=2.0, netd_mk=0.0, fpn_percent=0.0)
    edge_sharp = np.diff(render(preset("night"), scene=scene, spec=sharp).counts[80].astype(np.int64))
    edge_soft = np.diff(render(preset("night"), scene=scene, spec=soft).counts[80].astype(np.int64))
    assert np.count_nonzero(edge_sharp) == 2  # one step up, one down
    assert np.count_nonzero(edge_soft) > 8
    assert edge_soft.max() < 0.5 * edge_sharp.max()


def test_sky_is_darkest_in_clear_weather():
    weather = preset("clear")
    ids = street()[0]
    frame = render(weather)
    sky = _class_mean(frame, ids, Sem.SKY)
    for cls in set(np.unique(ids).tolist()) - {Sem.SKY}:
        assert sky < _class_mean(frame, ids, Sem(cls)) - 20.0, Sem(cls).name
    assert _class_mean(frame, ids, Sem.SKY, "kelvin") < weather.air_temperature_k - 15.0


def test_clouds_and_fog_warm_the_sky_towards_air_temperature():
    ids, inst, depth = street()
    base = preset("clear")
    deficits = []
    for weather in (base, replace(base, cloudiness=0.9), replace(base, cloudiness=0.9, fog_visibility_m=30.0)):
        kelvin, _ = surface_temperature(ids, inst, weather)
        deficits.append(weather.air_temperature_k - float(kelvin[ids == Sem.SKY].mean()))
    assert deficits[0] > 20.0
    assert deficits[0] > deficits[1] > deficits[2] >= 0.0
    assert deficits[2] < 3.0


def test_sun_warms_asphalt_much_more_than_the_night_and_paint_stays_cooler():
    ids, inst, _ = street()
    for weather, lo, hi in ((preset("clear_noon"), 15.0, 30.0), (preset("night"), 0.0, 5.0)):
        kelvin, emissivity = surface_temperature(ids, inst, weather)
        road = float(kelvin[ids == Sem.ROAD].mean()) - weather.air_temperature_k
        assert lo < road < hi, weather
        line = float(kelvin[ids == Sem.ROAD_LINE].mean()) - weather.air_temperature_k
        assert line < road - 3.0 if not weather.is_night else line == pytest.approx(road, abs=0.5)
        assert abs(float(kelvin[ids == Sem.VEGETATION].mean()) - weather.air_temperature_k) < 2.0
        assert float(emissivity[ids == Sem.ROAD_LINE].mean()) < float(emissivity[ids == Sem.ROAD].mean())


def test_clouds_block_solar_gain():
    ids, inst, _ = street()
    sunny = preset("clear_noon")
    overcast = replace(sunny, cloudiness=1.0)
    hot = surface_temperature(ids, inst, sunny)[0][ids == Sem.ROAD].mean()
    dull = surface_temperature(ids, inst, overcast)[0][ids == Sem.ROAD].mean()
    assert hot - dull > 15.0
    assert dull - overcast.air_temperature_k < 5.0


def test_vehicle_hot_parts_come_from_the_instance_and_some_vehicles_are_parked():
    ids = np.full((H, W), Sem.ROAD, np.uint8)
    inst = np.zeros((H, W), np.int32)
    for k in range(40):  # 40 cars of 20 rows x 12 columns
        r, c = divmod(k, 8)
        block = (slice(r * 30 + 5, r * 30 + 25), slice(c * 40 + 5, c * 40 + 17))
        ids[block], inst[block] = Sem.CAR, 1000 + k
    weather = preset("night")
    kelvin, emissivity = surface_temperature(ids, inst, weather)
    lower_excess = []
    for k in range(40):
        r, c = divmod(k, 8)
        car = kelvin[r * 30 + 5 : r * 30 + 25, c * 40 + 5 : c * 40 + 17]
        lower_excess.append(float(car[-3:].mean() - car[:3].mean()))
    lower_excess = np.array(lower_excess)
    running, parked = lower_excess > 10.0, lower_excess < 0.5
    assert running.sum() >= 20 and parked.sum() >= 3
    assert (running | parked).all()
    assert np.unique(np.round(lower_excess[running], 1)).size > 10  # per-instance variation
    assert emissivity[ids == Sem.CAR].max() == pytest.approx(0.85)
    np.testing.assert_array_equal(kelvin, surface_temperature(ids, inst, weather)[0])  # pure


def test_without_instance_ids_vehicles_have_body_temperature_only():
    ids, inst, _ = street()
    kelvin, _ = surface_temperature(ids, np.zeros_like(inst), preset("night"))
    car = kelvin[ids == Sem.CAR]
    assert car.max() == car.min()


def test_low_emissivity_metal_mirrors_the_cold_sky():
    ids = np.full((H, W), Sem.FENCE, np.uint8)
    ids[:, W // 2 :] = Sem.POLE  # same temperature parameters as the fence, emissivity 0.4 vs 0.9
    scene = (ids, np.zeros((H, W), np.int32), np.full((H, W), 5.0, np.float32))
    frame = render(preset("night"), scene=scene)
    pole, fence = (_class_mean(frame, ids, cls, "kelvin") for cls in (Sem.POLE, Sem.FENCE))
    assert pole == pytest.approx(fence)
    assert _class_mean(frame, ids, Sem.POLE, "counts") < _class_mean(frame, ids, Sem.FENCE, "counts") - 100.0


def test_far_depth_is_sky():
    ids = np.full((H, W), Sem.UNLABELED, np.uint8)
    depth = np.full((H, W), 20.0, np.float32)
    depth[:40] = np.inf
    depth[40:50] = 2e4
    ids[100:] = Sem.SKY
    kelvin, emissivity = surface_temperature(ids, np.zeros((H, W), np.int32), preset("clear"), depth_m=depth)
    assert np.all(kelvin[:50] == kelvin[100, 0])
    assert np.all(emissivity[:50] == 1.0)
    assert kelvin[60, 0] > kelvin[100, 0] + 10.0


# --------------------------------------------------------------------------------------------------
# Atmosphere


def _person_contrast(distance_m: float, weather: Weather) -> tuple[float, float]:
    """(pedestrian minus wall counts, counts noise std on the wall) at one distance."""
    frame = render(weather, scene=person_on_wall(distance_m))
    counts = frame.counts.astype(np.float64)
    person, wall = counts[50:110, 110:150], counts[:, :80]
    return float(person.mean() - wall.mean()), float(wall.std())


def test_fog_leaves_thermal_contrast_where_visible_light_has_none():
    fog = preset("fog")
    distance = 60.0
    near, _ = _person_contrast(0.5, fog)
    far, noise = _person_contrast(distance, fog)
    tau_vis = math.exp(-fog.fog_extinction_per_m * distance)
    transmitted = far / near  # the thermal path transmission tau_ir
    assert transmitted > 20.0 * tau_vis
    assert transmitted < 0.5  # but fog is not transparent in LWIR either
    assert far > 5.0 * noise


def test_person_contrast_falls_with_distance_in_fog():
    contrasts = [_person_contrast(d, preset("night_fog"))[0] for d in (2.0, 15.0, 40.0, 80.0)]
    assert all(a > b for a, b in zip(contrasts, contrasts[1:])), contrasts
    assert contrasts[-1] > 0.0


def test_clear_air_absorbs_a_little_more_when_humid():
    transmitted = {}
    for humidity in (0.1, 0.9):
        weather = replace(preset("night"), relative_humidity=humidity)
        transmitted[humidity] = _person_contrast(300.0, weather)[0] / _person_contrast(1.0, weather)[0]
    assert 0.95 < transmitted[0.1] < 1.0
    assert transmitted[0.9] < transmitted[0.1] - 0.02


def test_dry_air_without_fog_extinction_stays_finite():
    weather = Weather(relative_humidity=0.0, thermal_fog_ratio=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf depth times zero extinction must not make NaN
        frame = render(weather)
    assert np.isfinite(frame.kelvin).all()
    assert frame.image.min() == 0 and frame.image.max() == 255


# --------------------------------------------------------------------------------------------------
# Automatic gain control


@pytest.mark.parametrize("mode", ["plateau", "linear"])
def test_agc_uses_the_8bit_range(mode):
    for name in ("clear", "night", "fog", "night_fog"):
        image = render(preset(name), spec=uniform_spec(agc_mode=mode)).image
        assert image.min() == 0 and image.max() == 255, name
        assert np.unique(image).size >= 32, name


def test_agc_range_is_smoothed_over_frames_and_reset_forgets_it():
    scene = street()
    seasoned = ThermalCamera(ThermalSpec(), seed=0)
    seasoned(*scene, preset("night"), np.random.default_rng(0))
    after_night = seasoned(*scene, preset("clear"), np.random.default_rng(1))
    fresh = render(preset("clear"), seed=0, rng_seed=1)
    np.testing.assert_array_equal(after_night.counts, fresh.counts)  # same radiometry...
    assert not np.array_equal(after_night.image, fresh.image)  # ...but the window is still moving
    seasoned.reset()
    again = seasoned(*scene, preset("clear"), np.random.default_rng(1))
    np.testing.assert_array_equal(again.image, fresh.image)


def test_plateau_agc_keeps_night_surfaces_apart_that_a_linear_window_merges():
    """At night road, walls and trees lie within a few kelvin while the sky is 20+ K colder: a
    linear window spanning the sky squeezes them together; plateau equalisation does not."""
    ids, _, _ = street()
    gap = {}
    for mode in ("plateau", "linear"):
        image = render(preset("night"), spec=uniform_spec(agc_mode=mode)).image.astype(float)
        means = [image[ids == c].mean() for c in (Sem.ROAD, Sem.BUILDING, Sem.VEGETATION)]
        gap[mode] = max(means) - min(means)
    assert gap["plateau"] > 40 and gap["plateau"] > 2 * gap["linear"], gap


def test_plateau_agc_keeps_the_hottest_objects_brightest():
    ids, _, _ = street()
    image = render(preset("night")).image.astype(float)
    assert image[ids == Sem.PEDESTRIAN].mean() > image[ids == Sem.ROAD].mean() > image[ids == Sem.SKY].mean()


def test_agc_does_not_blow_up_a_uniform_scene():
    scene = (np.full((H, W), Sem.BUILDING, np.uint8), np.zeros((H, W), np.int32), np.full((H, W), 5.0, np.float32))
    image = render(preset("night"), scene=scene).image
    assert 80 < image.mean() < 175  # mid grey: noise of 50 mK over a >= 1 K window
    assert image.std() < 40


# --------------------------------------------------------------------------------------------------
# Input checks


def _inputs():
    ids, inst, depth = street()
    return {"class_ids": ids, "instance_ids": inst, "depth_m": depth, "weather": preset("clear"),
            "rng": np.random.default_rng(0)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"class_ids": np.zeros((H, W, 3), np.uint8)}, r"class_ids must be a non-empty 2-D .*got shape \(160, 320, 3\)"),
        ({"instance_ids": np.zeros((H, W - 1), np.int32)}, r"share one \(H, W\) shape.*instance_ids \(160, 319\)"),
        ({"class_ids": np.zeros((H, W), np.float32)}, r"class_ids must have an integer dtype, got float32"),
        ({"instance_ids": np.zeros((H, W), np.float64)}, r"instance_ids must have an integer dtype, got float64"),
        ({"class_ids": np.full((H, W), 300, np.int32)}, r"class_ids must be within 0..255.*got 300..300"),
        ({"depth_m": np.full((H, W), -1.0, np.float32)}, r"depth_m must be >= 0 m and not NaN.*got min -1"),
        ({"depth_m": np.full((H, W), np.nan, np.float32)}, r"depth_m must be >= 0 m and not NaN.*got min nan"),
        ({"depth_m": np.full((H, W), "x")}, r"depth_m must have a real numeric dtype"),
        ({"weather": {"fog_visibility_m": 30}}, r"weather must be a harness.weather.Weather, got dict"),
        ({"rng": 0}, r"rng must be a numpy.random.Generator, got int"),
    ],
)
def test_bad_call_inputs_raise_with_expected_and_got(change, message):
    inputs = _inputs() | change
    with pytest.raises(ValueError, match=message):
        ThermalCamera(ThermalSpec(), 0)(**inputs)


def test_wrong_size_for_the_spec_says_which_size():
    ids, inst, depth = street(80, 160)
    with pytest.raises(ValueError, match=r"expected inputs of shape \(160, 320\).*got \(80, 160\)"):
        ThermalCamera(ThermalSpec(), 0)(ids, inst, depth, preset("clear"), np.random.default_rng(0))


def test_bad_construction_raises_config_error():
    with pytest.raises(ConfigError, match="spec must be a harness.rig.ThermalSpec, got CameraSpec"):
        ThermalCamera(CameraSpec(), 0)
    with pytest.raises(ConfigError, match="seed must be a non-negative int, got -1"):
        ThermalCamera(ThermalSpec(), -1)


# --------------------------------------------------------------------------------------------------
# Planck table


def _planck_quad(kelvin: float) -> float:
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    spectral = lambda lam: 2 * h * c**2 / lam**5 / math.expm1(h * c / (lam * k * kelvin))  # noqa: E731
    return quad(spectral, 8e-6, 14e-6, epsabs=0.0, epsrel=1e-12)[0]


@pytest.mark.parametrize("kelvin", [180.0, 255.55, 300.0, 373.15, 440.0])
def test_band_radiance_matches_numerical_integration(kelvin):
    assert float(band_radiance(np.array([kelvin]))[0]) == pytest.approx(_planck_quad(kelvin), rel=1e-5)


def test_band_radiance_at_300k_is_the_textbook_value():
    assert float(band_radiance(300.0)) == pytest.approx(54.9, abs=0.1)  # [W/(m^2 sr)] 8-14 um


def test_brightness_temperature_inverts_band_radiance():
    temps = np.linspace(160.0, 440.0, 1001)
    np.testing.assert_allclose(brightness_temperature(band_radiance(temps)), temps, atol=0.01)


def test_band_radiance_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        band_radiance(np.array([300.0, np.nan]))


# --------------------------------------------------------------------------------------------------
# Realism against real FLIR frames


def _top_and_bottom_means(image: np.ndarray) -> tuple[float, float]:
    h = image.shape[0]
    return float(image[: h // 10].mean()), float(image[h * 7 // 10 :].mean())


def test_daytime_frame_orders_sky_and_road_like_real_flir_frames():
    files = sorted((ROADSCENE / "ir").glob("*.jpg"))
    if not files:
        pytest.skip(f"real FLIR frames not found in {ROADSCENE / 'ir'} (the shared RoadScene sample)")
    real = [_top_and_bottom_means(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)) for f in files]
    real_gaps = np.array([bottom - top for top, bottom in real])
    assert (real_gaps > 0).mean() >= 0.8  # the statistic holds in real daytime LWIR frames

    top, bottom = _top_and_bottom_means(render(preset("clear")).image)
    assert top < bottom
    assert bottom - top > 0.5 * float(np.median(real_gaps))
