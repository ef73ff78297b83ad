"""The tables of an evaluation, from records with infractions (pure functions of the records)."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.metrics.records import Infraction, RouteScore
from harness.report.markdown import render
from harness.report.outputs import Planned, infractions_frame, records_frame, summary
from harness.runner.jobs import EvalJob


def _score(ds: float, kinds: tuple[str, ...] = ()) -> RouteScore:
    infs = tuple(Infraction(k, 10 * i, 0.5 * i, 1.0, 2.0, None, 0.6, f"{k} #{i}") for i, k in enumerate(kinds))
    return RouteScore(ds, ds, 1.0, "Completed", 100.0, -1.0, 1000.0, 1000.0 * ds / 100, 0.0, infs)


def _item(variant: str, route: str, ds: float, kinds=()) -> Planned:
    job = EvalJob("clear_town01", route, variant, 0)
    rec = {"quarantined": False, "failure": None, "attempts": 1,
           "result": {"score": _score(ds, kinds).to_dict(), "steps": 100, "wall_s": 1.0, "agent_ms": 10.0,
                      "latency_ms": {"fusion_ms": 0.5}}}
    return Planned(job, f"{variant}{route}", rec)


def test_tables_summary_and_report_from_records_with_infractions():
    items = [_item("rgb", "0", 40.0, ("collisions_vehicle", "red_light")), _item("rgb", "1", 20.0),
             _item("thermal", "0", 60.0, ("collisions_pedestrian",)), _item("thermal", "1", 50.0),
             Planned(EvalJob("clear_town01", "2", "rgb", 0), "missing", None)]
    inf = infractions_frame(items)
    assert list(inf["kind"]) == ["collisions_vehicle", "red_light", "collisions_pedestrian"]
    assert list(inf["time_s"]) == [0.0, 0.5, 0.0]
    rec = records_frame(items)
    assert len(rec) == 4 and rec.loc[0, "n_collisions_vehicle"] == 1
    s = summary(items, n_boot=200)
    assert s["n_planned"] == 5 and not s["complete"]
    assert s["variants"]["rgb"]["n_routes"] == 3 and s["variants"]["rgb"]["DS"] == (40 + 20 + 0) / 3  # missing = 0
    assert s["variants"]["thermal"]["vs_rgb"]["DS"]["n_pairs"] == 2
    assert s["variants"]["thermal"]["vs_rgb"]["DS"]["mean_diff"] == (60 - 40 + 50 - 20) / 2
    text = render(s, [], rec)
    assert "incomplete" in text and "collisions vehicle" in text and "+25.0" in text
    # where the score went: thermal gains 25 points of route completion over the routes both ran
    # (these records' RC equals their DS), and the missing rgb run is not a thermal pair
    loss = s["variants"]["thermal"]["vs_rgb"]["DS_loss"]
    assert loss["n_pairs"] == 2 and loss["loss"] == -25.0 and sum(loss["completion"].values()) == -25.0
    assert "## Where the driving score went (vs `rgb`)" in text and "| `thermal` | -25.0 |" in text


def test_eval_plots_include_where_the_score_went(tmp_path):
    from harness.report.plots import plot_eval

    items = [_item("rgb", "0", 80.0), _item("thermal", "0", 30.0, ("collisions_vehicle",))]
    figs = plot_eval(tmp_path, records_frame(items), summary(items, n_boot=100))
    assert "ds_loss.png" in figs and (tmp_path / "ds_loss.png").stat().st_size > 1000
    assert plot_eval(tmp_path / "..", records_frame(items[:1]), summary(items[:1], n_boot=100)).count("ds_loss.png") == 0


def test_standing_still_by_what_was_ahead_in_summary_records_and_report():
    import dataclasses

    items = [_item("rgb", "0", 80.0), _item("thermal", "0", 30.0), _item("thermal", "1", 10.0)]
    told = {"0": ({"nothing": 190.0, "red_light": 12.0}, "nothing"), "1": ({"actor": 181.0}, "actor")}
    for it in items[1:]:
        stood, by = told[it.job.route_id]
        it.record["result"]["score"] = dataclasses.replace(it.score, standing_s=stood, blocked_by=by).to_dict()
    rec = records_frame(items)
    assert list(rec["stood_nothing_s"]) == [0.0, 190.0, 0.0] and list(rec["blocked_by"]) == ["", "nothing", "actor"]
    s = summary(items, n_boot=100)
    assert s["variants"]["rgb"]["standing_s"] is None  # records that do not say (older ones, another backend)
    assert s["variants"]["thermal"]["standing_s"] == {"runs": 2, "red_light": 6.0, "actor": 90.5, "nothing": 95.0,
                                                      "blocked_by": {"red_light": 0, "actor": 1, "nothing": 1}}
    text = render(s, [], rec)
    assert "## Standing still, and what was ahead" in text and "| `thermal` | 6.0 | 90.5 | 95.0 | 0 / 1 / 1 |" in text
    assert "| `rgb` | 0.0" not in text


def test_long_variant_names_are_short_labels_in_plots():
    from harness.report.plots import LABEL_CHARS, short_label

    assert short_label("onnx:/home/me/models/night/v3/fusion.onnx") == "onnx:fusion.onnx"
    assert short_label("py:mypkg.fusion.models:MyFusion") == "py:MyFusion"
    assert short_label("gff:eps1=0.1,eps2=1e-05,r1=30,r2=9") == "gff:eps1=0.1,eps2=1e-05,r1=…"
    assert len(short_label("x" * 100)) == LABEL_CHARS and short_label("rgb") == "rgb"


def test_compare_pairs_every_variant_with_any_base():
    from harness.report.outputs import compare

    items = [_item("teacher", r, ds) for r, ds in (("0", 80.0), ("1", 40.0))]
    items += [_item("fusionproxy", r, ds, kinds) for r, ds, kinds in (("0", 60.0, ("red_light",)), ("1", 40.0, ()))]
    items += [_item("rgb", "0", 20.0), Planned(EvalJob("clear_town01", "1", "rgb", 0), "rgb1", None)]
    res = compare(items, "teacher", ["fusionproxy", "rgb"], n_boot=500)
    fp, rgb = res["variants"]["fusionproxy"], res["variants"]["rgb"]
    assert res["base"] == "teacher" and fp["n_pairs"] == 2 and fp["n_unrecorded"] == 0
    assert (fp["DS"], fp["base_DS"]) == (50.0, 60.0)
    assert fp["diff"]["DS"]["mean_diff"] == -10.0 and fp["DS_ratio"]["ratio"] == pytest.approx(50 / 60)
    assert fp["DS_loss"]["loss"] == pytest.approx(10.0)  # what the pair lost, split by cause
    assert rgb["n_unrecorded"] == 1 and rgb["DS"] == 10.0  # the missing route counts 0, as in the summary
    only = compare(items, "teacher", ["rgb"], n_boot=100, recorded_only=True)["variants"]["rgb"]
    assert (only["n_pairs"], only["n_unrecorded"], only["DS"], only["base_DS"]) == (1, 0, 20.0, 80.0)
    with pytest.raises(ConfigError, match="have records on no common"):
        compare(items[2:4] + [Planned(EvalJob("clear_town01", "0", "rgb", 0), "r", None)], "fusionproxy", ["rgb"],
                recorded_only=True)


def test_compare_gives_no_ratio_against_a_base_that_scored_nothing():
    from harness.report.outputs import compare

    items = [_item("thermal", "0", 0.0), _item("rgb", "0", 30.0)]
    res = compare(items, "thermal", ["rgb"], n_boot=100)["variants"]["rgb"]
    assert res["DS_ratio"] is None and res["diff"]["DS"]["mean_diff"] == 30.0


def test_compare_takes_the_base_from_another_run():
    """--base-out: a variant against itself before a change (the same label in both runs)."""
    from harness.report.outputs import compare

    before = [_item("teacher", r, ds) for r, ds in (("0", 80.0), ("1", 40.0), ("2", 10.0))]
    after = [_item("teacher", r, ds) for r, ds in (("0", 70.0), ("1", 60.0))] + [_item("rgb", "0", 20.0)]
    res = compare(after, "teacher", ["teacher", "rgb"], n_boot=200, base_items=before)["variants"]
    assert res["teacher"]["n_pairs"] == 2 and (res["teacher"]["DS"], res["teacher"]["base_DS"]) == (65.0, 60.0)
    assert res["teacher"]["diff"]["DS"]["mean_diff"] == 5.0  # route 2 was not planned after: not a pair
    assert res["rgb"]["n_pairs"] == 1 and res["rgb"]["diff"]["DS"]["mean_diff"] == -60.0



def test_partial_run_reports_the_pairs_every_variant_has():
    """While a matrix runs, the headline counts missing runs 0; the extra table averages only over the
    (route, seed) pairs that every variant has a record for, and pairs them to rgb there."""
    items = [_item("rgb", "0", 40.0), _item("rgb", "1", 20.0), _item("rgb", "2", 90.0),
             _item("thermal", "0", 60.0), _item("thermal", "1", 10.0),
             Planned(EvalJob("clear_town01", "2", "thermal", 0), "missing", None)]
    s = summary(items, n_boot=200)
    cp = s["complete_pairs"]
    assert cp["n_pairs"] == 2 and cp["n_planned_pairs"] == 3 and cp["pairs"] == [["0", 0], ["1", 0]]
    assert cp["variants"]["rgb"]["DS"] == 30.0 and cp["variants"]["thermal"]["DS"] == 35.0
    assert s["variants"]["thermal"]["DS"] == pytest.approx(70.0 / 3)  # the headline still counts the missing run 0
    assert cp["variants"]["thermal"]["vs_rgb"]["DS"]["mean_diff"] == 5.0 and "vs_rgb" not in cp["variants"]["rgb"]
    text = render(s, [], records_frame(items))
    assert "## On the route runs every variant has" in text
    assert "2 of the 3 planned (route, seed) pairs have a record for every variant (seed 0: routes 0, 1)" in text
    assert "| `thermal` | 35.0 [" in text and "| +5.0 [" in text
    # none in common yet: said so; a complete run has no such section
    none = summary([_item("rgb", "0", 40.0), Planned(EvalJob("clear_town01", "0", "thermal", 0), "m", None)], n_boot=50)
    assert none["complete_pairs"]["n_pairs"] == 0 and "No (route, seed) pair of the 1 planned" in render(none, [], records_frame([]))
    full = summary(items[:2] + items[3:5], n_boot=50)
    assert full["complete"] and full["complete_pairs"] is None
    assert "every variant has" not in render(full, [], records_frame(items[:2] + items[3:5]))


def test_variant_names_become_one_file_name():
    from harness.report.clips import clip_name
    from harness.report.outputs import file_safe

    for name in ("rgb", "fusionproxy:size=m", "teacher:k=2,steps=2", "gff:eps2=1e-06", "py:mypkg.fusion:MyFusion"):
        assert file_safe(name) == name  # registered names keep their folders
    assert file_safe("onnx:/home/me/models/my.onnx") == "onnx:_home_me_models_my.onnx"
    assert file_safe("fusionproxy:weights=runs/s light/student.pt") == "fusionproxy:weights=runs_s_light_student.pt"
    assert "/" not in clip_name("rgb_policy", "onnx:models/my.onnx", "3", 0)


def test_records_say_what_rendered_them_and_the_report_flags_a_mix():
    items = [_item("rgb", "0", 80.0), _item("thermal", "0", 30.0), _item("thermal", "1", 10.0)]
    items[0].record["result"]["image_source"] = "llvmpipe (LLVM 15.0.6, 256 bits)"
    items[1].record["result"]["image_source"] = "llvmpipe (LLVM 15.0.6, 256 bits)"
    s = summary(items, n_boot=100)  # the third record is older and does not say: left out, not a second source
    assert s["image_sources"] == {"llvmpipe (LLVM 15.0.6, 256 bits)": 2}
    assert "Mixed image sources" not in render(s, [], records_frame(items))
    items[2].record["result"]["image_source"] = "NVIDIA H200/PCIe/SSE2"
    rec = records_frame(items)
    assert list(rec["image_source"]) == ["llvmpipe (LLVM 15.0.6, 256 bits)"] * 2 + ["NVIDIA H200/PCIe/SSE2"]
    s = summary(items, n_boot=100)
    text = render(s, [], rec)
    assert "**Mixed image sources**: 1 run(s) rendered by `NVIDIA H200/PCIe/SSE2`; 2 run(s) rendered by `llvmpipe" in text

