"""Plots of an evaluation and of a sweep (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from harness.metrics.rules import INFRACTION_KINDS, OUTSIDE_ROUTE_LANES  # noqa: E402

DPI = 120
LABEL_CHARS = 28  # longest tick label; longer variant names (onnx:/a/long/path.onnx) are shortened


def short_label(name: str) -> str:
    """A variant's name as a plot label: ``onnx:`` by its file name, ``py:`` by its object's name,
    anything else cut to ``LABEL_CHARS`` (the report's tables keep the full names)."""
    name = str(name)
    if name.startswith("onnx:"):
        name = "onnx:" + Path(name[5:]).name
    elif name.startswith("py:"):
        name = "py:" + name.rsplit(":", 1)[-1]
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")  # written whole, then renamed; the format by the suffix
    fig.savefig(tmp, dpi=DPI)
    plt.close(fig)
    tmp.replace(path)
    return path.name


def plot_scores(out: Path, summ: dict) -> str:
    """DS, RC and IS per variant, with the 95 % bootstrap interval as error bars."""
    variants = list(summ["variants"])
    fig, axes = plt.subplots(1, 3, figsize=(3.2 * 3, 3.4))
    x = np.arange(len(variants))
    colors = plt.get_cmap("tab10")(np.arange(len(variants)) % 10)
    for ax, (m, label, top) in zip(axes, (("DS", "driving score [%]", 100), ("RC", "route completion [%]", 100),
                                          ("IS", "infraction penalty", 1.0))):
        mean = np.array([summ["variants"][v][m] for v in variants])
        ci = np.array([summ["variants"][v][f"{m}_ci"] for v in variants])
        ax.bar(x, mean, color=colors, yerr=np.abs(np.stack([mean - ci[:, 0], ci[:, 1] - mean])), capsize=4)
        ax.set_xticks(x, [short_label(v) for v in variants], rotation=30, ha="right")
        ax.set_ylim(0, top * 1.05)
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    n = summ["variants"][variants[0]]["n_routes"] if variants else 0
    fig.suptitle(f"{summ['scenario']}: {summ['agent']}, {n} route x seed pairs per variant (95 % bootstrap CI)", fontsize=10)
    return _save(fig, out / "scores.png")


def plot_infractions(out: Path, summ: dict) -> str | None:
    """Infractions per km by type and variant (types no variant committed are left out)."""
    variants = list(summ["variants"])
    kinds = [k for k in INFRACTION_KINDS if k != OUTSIDE_ROUTE_LANES
             and any(summ["variants"][v]["infraction_counts"].get(k, 0) for v in variants)]
    if not kinds:
        return None
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(kinds) * max(1, len(variants)) / 2), 3.6))
    width = 0.8 / len(variants)
    x = np.arange(len(kinds))
    for i, v in enumerate(variants):
        ax.bar(x + (i - (len(variants) - 1) / 2) * width, [summ["variants"][v]["infractions_per_km"][k] for k in kinds],
               width, label=short_label(v))
    ax.set_xticks(x, [k.replace("_", " ") for k in kinds], rotation=20, ha="right")
    ax.set_ylabel("per km driven")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{summ['scenario']}: infractions per km")
    return _save(fig, out / "infractions_per_km.png")


def plot_routes(out: Path, records) -> str | None:
    """Driving score per route and variant (mean over seeds): where each variant fails."""
    if records.empty:
        return None
    table = records.pivot_table(index="variant", columns="route", values="DS", aggfunc="mean", sort=False)
    labels = [short_label(v) for v in table.index]
    width = 1.6 + 0.07 * max(map(len, labels)) + 0.7 * table.shape[1]  # [in] labels, cells, colour bar
    fig, ax = plt.subplots(figsize=(max(3.5, width), 1.0 + 0.45 * table.shape[0]))
    im = ax.imshow(table.values, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), labels)
    ax.set_xlabel("route")
    for (i, j), val in np.ndenumerate(table.values):
        if np.isfinite(val):
            ax.text(j, i, f"{val:.0f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="DS")
    return _save(fig, out / "routes_ds.png")


def plot_loss(out: Path, summ: dict) -> str | None:
    """DS points each variant lost (right) or gained (left) against the baseline, one stacked bar
    per variant, one colour per cause (``harness.metrics.attribution``)."""
    from harness.report.markdown import variant_losses

    return plot_loss_bars(out / "ds_loss.png", variant_losses(summ), f"{summ['scenario']}: where the driving score went",
                          f"DS points lost to {summ['baseline']}  (negative: gained)")


def plot_loss_bars(path: Path, losses: dict[str, dict], title: str, xlabel: str) -> str | None:
    """One stacked bar per ``LossAttribution.to_dict()`` in ``losses`` (label -> dict); None when no
    cause moved any score."""
    from harness.report.markdown import loss_columns

    cols = loss_columns(losses)
    if not cols:
        return None
    labels = [short_label(k) for k in losses]
    fig, ax = plt.subplots(figsize=(6.0 + 0.07 * max(map(len, labels)), 1.2 + 0.55 * len(losses)))
    colors = plt.get_cmap("tab10")(np.arange(len(cols)) % 10)
    y = np.arange(len(losses))
    right, left = np.zeros(len(losses)), np.zeros(len(losses))
    for (part, key, label), color in zip(cols, colors):
        v = np.array([d[part].get(key, 0.0) for d in losses.values()])
        start = np.where(v >= 0, right, left)
        ax.barh(y, v, left=start, color=color, label=label, height=0.6)
        right, left = right + np.maximum(v, 0), left + np.minimum(v, 0)
    ax.scatter([d["loss"] for d in losses.values()], y, marker="|", s=400, color="black", zorder=3, label="net loss")
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_eval(out: Path, records, summ: dict) -> list[str]:
    """Every plot of one evaluation (``records``: the records.csv frame); returns the file names."""
    figs = [plot_scores(out, summ), plot_loss(out, summ), plot_infractions(out, summ), plot_routes(out, records)]
    return [f for f in figs if f]


def plot_robustness(out: Path, axis_label: str, table, metric: str = "DS", title: str = "", log_x: bool = False) -> str:
    """``metric`` vs severity, one line per variant, the bootstrap interval as a band.

    ``table``: rows with columns severity, variant, <metric>, <metric>_lo, <metric>_hi; a variant's colour is
    its place in the table, so the DS plot and the paired plot (``dDS``: rows without a value, ``rgb``'s own,
    are left out, with a line at 0) colour each variant alike."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for k, (v, g) in enumerate(table.groupby("variant", sort=False)):
        g = g[g[metric].notna()].sort_values("severity")
        if g.empty:
            continue
        ax.plot(g["severity"], g[metric], marker="o", label=v, color=f"C{k % 10}")
        ax.fill_between(g["severity"], g[f"{metric}_lo"], g[f"{metric}_hi"], alpha=0.15, color=f"C{k % 10}")
    if metric == "dDS":
        ax.axhline(0.0, color="black", linewidth=0.8)
    if log_x:
        ax.set_xscale("log")
        ax.invert_xaxis()  # severity grows to the right: denser fog
    ax.set_xlabel(axis_label)
    ax.set_ylabel({"DS": "driving score [%]", "RC": "route completion [%]", "IS": "infraction penalty",
                   "dDS": "DS minus rgb's, paired [points]"}[metric])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(fig, out / f"robustness_{metric}.png")



def plot_table(path: Path, columns: list[str], variants: list[str], cells: dict, metric: str = "DS") -> str:
    """:func:`harness.report.table.table`'s cells as grouped horizontal bars: a group per variant (in the table's
    order, top down), a bar per folder column, whiskers the 95 % bootstrap interval; a privileged upper bound
    (``oracle_clean``) hatched, a cell still partial marked with its k/N. PNG, PDF or SVG by ``path``'s suffix."""
    from harness.report.table import PLOT_SUFFIXES, UPPER_BOUNDS

    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"--plot writes {', '.join(PLOT_SUFFIXES)}, got {path.name!r}")
    top = 1.0 if metric == "IS" else 100.0
    n_c = len(columns)
    height = 0.8 / max(n_c, 1)
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.32 * n_c * len(variants) + 0.15 * len(variants)))
    colors = plt.get_cmap("tab10")(np.arange(n_c) % 10)
    for k, c in enumerate(columns):
        for i, v in enumerate(variants):
            cell = cells.get((v, c))
            if cell is None:
                continue
            y = i + (k - (n_c - 1) / 2) * height
            err = [[cell.mean - cell.ci[0]], [cell.ci[1] - cell.mean]]
            ax.barh(y, cell.mean, height * 0.9, xerr=err, capsize=2, color=colors[k],
                    hatch="//" if v in UPPER_BOUNDS else None, edgecolor="white" if v in UPPER_BOUNDS else None,
                    label=c if i == next(j for j, w in enumerate(variants) if (w, c) in cells) else None)
            note = f"{cell.mean:.{3 if metric == 'IS' else 1}f}"
            if cell.n_done < cell.n_planned:
                note += f" ({cell.n_done}/{cell.n_planned})"
            ax.text(min(cell.ci[1], top) + 0.01 * top, y, note, va="center", fontsize=7)
    ax.set_yticks(np.arange(len(variants)), [short_label(v) for v in variants])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.12)
    ax.set_xlabel({"DS": "driving score [%]", "RC": "route completion [%]", "IS": "infraction penalty"}[metric]
                  + ", mean and 95 % bootstrap interval")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)
    return str(path)
