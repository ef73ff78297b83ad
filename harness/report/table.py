"""One table over several evaluation folders: variants as rows, one column per folder (its scenario),
each cell a metric's mean with its 95 % bootstrap interval and, optionally, the paired difference to
``rgb`` on the same routes, seeds and traffic. Markdown for a README, CSV for a notebook, LaTeX
(booktabs) for a paper. The figures are the ones each folder's report gives (:func:`summary`); a
folder still running is marked with how many of its route runs are recorded."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError

FORMATS = ("md", "csv", "latex")
PLOT_SUFFIXES = (".png", ".pdf", ".svg")  # what --plot draws (harness.report.plots.plot_table)
UPPER_BOUNDS = ("oracle_clean",)  # privileged views: never marked best in a column


@dataclass(frozen=True)
class Cell:
    mean: float
    ci: tuple[float, float]
    n_done: int
    n_planned: int
    diff: float | None = None  # paired difference to rgb
    diff_ci: tuple[float, float] | None = None


def table(runs: list[tuple[str, dict]], metric: str = "DS", recorded_only: bool = False) -> tuple[list[str], list[str], dict]:
    """(columns, variants, {(variant, column): Cell}) from ``runs`` = [(column label, summary)], the
    summaries as :func:`harness.report.outputs.summary` makes them. ``recorded_only``: the figures on
    the (route, seed) pairs every variant of that folder has finished (its ``complete_pairs``) instead
    of the leaderboard's (a missing run counts 0)."""
    if metric not in ("DS", "RC", "IS"):
        raise ConfigError(f"--metric must be DS, RC or IS, got {metric!r}")
    columns = [label for label, _ in runs]
    if len(set(columns)) != len(columns):
        raise ConfigError(f"two folders give the same column {sorted({c for c in columns if columns.count(c) > 1})}; "
                          "name the columns with --labels")
    variants: list[str] = []
    cells: dict[tuple[str, str], Cell] = {}
    for label, summ in runs:
        cp = summ.get("complete_pairs")
        use_cp = recorded_only and cp is not None
        if use_cp and not cp["n_pairs"]:
            continue  # nothing every variant has finished yet: the column stays empty
        for v, s in summ["variants"].items():
            src = cp["variants"][v] if use_cp else s
            d = src.get("vs_rgb", {}).get(metric)
            n_done = cp["n_pairs"] if use_cp else s["n_recorded"]
            n_planned = cp["n_planned_pairs"] if use_cp else s["n_routes"]
            cells[v, label] = Cell(src[metric], tuple(src[f"{metric}_ci"]), n_done, n_planned,
                                   d["mean_diff"] if d else None, tuple(d["ci"]) if d else None)
            if v not in variants:
                variants.append(v)
    return columns, variants, cells


def _best(columns, variants, cells) -> set[tuple[str, str]]:
    best = set()
    for c in columns:
        mine = [(cells[v, c].mean, v) for v in variants if (v, c) in cells and v not in UPPER_BOUNDS]
        if mine:
            top = max(m for m, _ in mine)
            best |= {(v, c) for m, v in mine if m == top}
    return best


def _digits(metric: str) -> int:
    return 3 if metric == "IS" else 1


def _text(cell: Cell, metric: str, paired: bool, latex: bool = False) -> str:
    k = _digits(metric)
    text = f"{cell.mean:.{k}f} [{cell.ci[0]:.{k}f}, {cell.ci[1]:.{k}f}]"
    if paired and cell.diff is not None:
        text += f" ({cell.diff:+.{k}f})"
    if cell.n_done < cell.n_planned:
        text += (f"$^{{{cell.n_done}/{cell.n_planned}}}$" if latex else f" ({cell.n_done}/{cell.n_planned} runs)")
    return text


def markdown(columns, variants, cells, metric: str = "DS", paired: bool = False) -> str:
    best = _best(columns, variants, cells)
    lines = ["| variant | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for v in variants:
        row = []
        for c in columns:
            cell = cells.get((v, c))
            text = "-" if cell is None else _text(cell, metric, paired)
            row.append(f"**{text}**" if (v, c) in best else text)
        lines.append(f"| `{v}` | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _tex(s: str) -> str:
    return s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")


def latex(columns, variants, cells, metric: str = "DS", paired: bool = False) -> str:
    best = _best(columns, variants, cells)
    lines = [r"\begin{tabular}{l" + "c" * len(columns) + "}", r"\toprule",
             "variant & " + " & ".join(_tex(c) for c in columns) + r" \\", r"\midrule"]
    for v in variants:
        row = []
        for c in columns:
            cell = cells.get((v, c))
            text = "--" if cell is None else _text(cell, metric, paired, latex=True)
            row.append(rf"\textbf{{{text}}}" if (v, c) in best else text)
        lines.append(rf"\texttt{{{_tex(v)}}} & " + " & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def long_frame(columns, variants, cells, metric: str = "DS"):
    import pandas as pd

    rows = [{"variant": v, "column": c, "metric": metric, "mean": cell.mean, "ci_low": cell.ci[0], "ci_high": cell.ci[1],
             "vs_rgb": cell.diff, "vs_rgb_ci_low": cell.diff_ci[0] if cell.diff_ci else None,
             "vs_rgb_ci_high": cell.diff_ci[1] if cell.diff_ci else None, "runs_recorded": cell.n_done,
             "runs_planned": cell.n_planned}
            for v in variants for c in columns if (cell := cells.get((v, c))) is not None]
    return pd.DataFrame(rows)
