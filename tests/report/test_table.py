"""``harness table``: several eval folders in one table (variants x scenarios), from the same summaries
the reports give; hand-checked means, the best-in-column mark, partial folders, LaTeX escaping."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.metrics.records import RouteScore
from harness.report.outputs import Planned, summary
from harness.report.table import latex, long_frame, markdown, table
from harness.runner.jobs import EvalJob


def _item(scenario: str, variant: str, route: str, ds: float | None) -> Planned:
    job = EvalJob(scenario, route, variant, 0)
    if ds is None:
        return Planned(job, f"{scenario}{variant}{route}", None)
    score = RouteScore(ds, ds, 1.0, "Completed", 100.0, -1.0, 1000.0, 10.0 * ds, 0.0, ())
    rec = {"quarantined": False, "failure": None, "attempts": 1,
           "result": {"score": score.to_dict(), "steps": 100, "wall_s": 1.0, "agent_ms": 10.0, "latency_ms": {}}}
    return Planned(job, f"{scenario}{variant}{route}", rec)


@pytest.fixture(scope="module")
def runs():
    fog = [_item("fog", v, r, ds) for v, r, ds in (("rgb", "0", 60.0), ("rgb", "1", 40.0), ("gff", "0", 20.0),
                                                   ("gff", "1", 30.0), ("oracle_clean", "0", 90.0), ("oracle_clean", "1", 90.0))]
    night = [_item("night_fog", v, r, ds) for v, r, ds in (("rgb", "0", 10.0), ("rgb", "1", 20.0), ("fusionproxy", "0", 50.0),
                                                           ("fusionproxy", "1", None), ("oracle_clean", "0", 80.0),
                                                           ("oracle_clean", "1", 70.0))]
    return [("fog", summary(fog, n_boot=200)), ("night_fog", summary(night, n_boot=200))]


def test_cells_are_the_report_figures_and_best_excludes_the_oracle(runs):
    columns, variants, cells = table(runs)
    assert columns == ["fog", "night_fog"] and variants == ["rgb", "gff", "oracle_clean", "fusionproxy"]
    assert cells["gff", "fog"].mean == 25.0 and cells["gff", "fog"].diff == -25.0
    assert cells["fusionproxy", "night_fog"].mean == 25.0  # a missing run counts 0, as in the report
    assert (cells["fusionproxy", "night_fog"].n_done, cells["fusionproxy", "night_fog"].n_planned) == (1, 2)
    assert ("gff", "night_fog") not in cells
    md = markdown(columns, variants, cells, paired=True)
    assert "| `rgb` | **50.0 [" in md  # best in fog: rgb, not the oracle's 90
    assert "| `fusionproxy` | - | **25.0 [" in md and "(+10.0) (1/2 runs)**" in md
    assert "| `oracle_clean` | 90.0 [90.0, 90.0] (+40.0) |" in md
    frame = long_frame(columns, variants, cells)
    assert len(frame) == 6 and set(frame["column"]) == {"fog", "night_fog"}


def test_recorded_only_uses_the_pairs_every_variant_finished(runs):
    _, _, cells = table(runs, recorded_only=True)
    fp = cells["fusionproxy", "night_fog"]
    assert fp.mean == 50.0 and (fp.n_done, fp.n_planned) == (1, 2) and fp.diff == 40.0
    assert cells["rgb", "night_fog"].mean == 10.0  # route 0 only
    assert cells["rgb", "fog"].mean == 50.0  # a complete folder keeps its figures


def test_latex_escapes_and_marks_partial_cells(runs):
    columns, variants, cells = table(runs, metric="RC")
    tex = latex(columns, variants, cells)
    assert tex.startswith(r"\begin{tabular}{lcc}") and r"\toprule" in tex and tex.rstrip().endswith(r"\end{tabular}")
    assert r"\texttt{oracle\_clean}" in tex and r"night\_fog" in tex and "$^{1/2}$" in tex


def test_bad_input():
    with pytest.raises(ConfigError, match="DS, RC or IS"):
        table([], metric="FPS")
    s = summary([_item("fog", "rgb", "0", 1.0)], n_boot=50)
    with pytest.raises(ConfigError, match="same column"):
        table([("fog", s), ("fog", s)])


def test_plot_draws_every_cell(runs, tmp_path):
    """One bar per (variant, folder) cell, whiskers from its interval, a partial cell labelled k/N; PDF by suffix."""
    import matplotlib.image as mpimg

    from harness.report.plots import plot_table

    columns, variants, cells = table(runs)
    png = plot_table(tmp_path / "t.png", columns, variants, cells)
    img = mpimg.imread(png)
    assert img.shape[0] > 300 and img.shape[1] > 600
    blue = (img[..., 2] > 0.6) & (img[..., 0] < 0.3)  # tab10's first colour: the fog column
    orange = (img[..., 0] > 0.9) & (img[..., 1] > 0.4) & (img[..., 1] < 0.6) & (img[..., 2] < 0.2)
    assert blue.sum() > 500 and orange.sum() > 500, "both folders' bars are drawn"
    assert plot_table(tmp_path / "t.pdf", columns, variants, cells).endswith(".pdf")
    assert (tmp_path / "t.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match="png"):
        plot_table(tmp_path / "t.jpg", columns, variants, cells)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.pdf", "t.png"], "no temporary file left behind"
