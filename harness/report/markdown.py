"""``report.md``: the tables a reader wants first, and the plots next to them."""

from __future__ import annotations

from pathlib import Path

from harness.metrics.attribution import END_CAUSES, END_LABELS
from harness.metrics.rules import INFRACTION_KINDS, OUTSIDE_ROUTE_LANES


def _ci(v: dict, m: str, digits: int = 1) -> str:
    lo, hi = v[f"{m}_ci"]
    return f"{v[m]:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _ms(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _pts(x: float) -> str:
    return "0" if abs(x) < 0.05 else f"{x:+.1f}"


def loss_columns(losses: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(part, key, label) of every cause that moved some variant's score, completion causes first."""
    cols = [("completion", c, f"ended {END_LABELS.get(c, c)}") for c in END_CAUSES
            if any(abs(d["completion"].get(c, 0.0)) >= 0.05 for d in losses.values())]
    kinds = [k for k in (*INFRACTION_KINDS, "other") if any(abs(d["penalties"].get(k, 0.0)) >= 0.05 for d in losses.values())]
    return cols + [("penalties", k, k.replace("_", " ")) for k in kinds]


def variant_losses(summ: dict) -> dict[str, dict]:
    """Variant -> its ``vs_rgb.DS_loss`` (``LossAttribution.to_dict()``), for the variants that have one."""
    return {n: v["vs_rgb"]["DS_loss"] for n, v in summ["variants"].items() if "DS_loss" in v.get("vs_rgb", {})}


def loss_section(summ: dict) -> list[str]:
    """Where each variant's driving score went relative to the baseline (``harness.metrics.attribution``)."""
    losses = variant_losses(summ)
    if not losses:
        return []
    cols = loss_columns(losses)
    lines = ["", f"## Where the driving score went (vs `{summ['baseline']}`)", "",
             (f"Mean DS points lost to `{summ['baseline']}` on the same routes and seeds, split by cause: route completion "
              "by how the route ended, penalties by infraction kind. The parts add up to the drop; negative: points gained."), "",
             "| variant | DS lost | " + " | ".join(label for _, _, label in cols) + " |", "|---|---|" + "---|" * len(cols)]
    for name, d in losses.items():
        lines.append(f"| `{name}` | {d['loss']:+.1f} | " + " | ".join(_pts(d[part].get(key, 0.0)) for part, key, _ in cols) + " |")
    return lines


def standing_section(summ: dict) -> list[str]:
    """How long each variant's ego stood still, by what the ground truth had in front of it."""
    told = {n: v["standing_s"] for n, v in summ["variants"].items() if v.get("standing_s")}
    if not told:
        return []
    lines = ["", "## Standing still, and what was ahead", "",
             ("Seconds per route run the ego stood still (below 0.1 m/s), by what the ground truth had within 12 m "
              "ahead: a stop line at red or yellow, a vehicle or pedestrian in its path, or nothing (the expert would "
              "have driven on: the agent stopped for something its sensors made up). Blocked: route runs that ended "
              "blocked, by what was ahead in the final 180 s: nothing when the way was free for over 5 s of it "
              "(a wait through a green), else the longer of the two."), "",
             "| variant | at a red light s | behind an actor s | nothing ahead s | blocked: red light / actor / nothing |",
             "|---|---|---|---|---|"]
    for name, d in told.items():
        b = d["blocked_by"]
        lines.append(f"| `{name}` | {d['red_light']:.1f} | {d['actor']:.1f} | {d['nothing']:.1f} | "
                     f"{b['red_light']} / {b['actor']} / {b['nothing']} |")
    return lines


def complete_pairs_section(summ: dict) -> list[str]:
    """A partial run's figures on the route runs every variant has finished (``outputs.complete_pairs``)."""
    cp = summ.get("complete_pairs")
    if not cp:
        return []
    lines = ["", "## On the route runs every variant has", ""]
    if not cp["n_pairs"]:
        return lines + [f"No (route, seed) pair of the {cp['n_planned_pairs']} planned has a record for every variant yet."]
    by_seed: dict = {}
    for route, seed in cp["pairs"]:
        by_seed.setdefault(seed, []).append(str(route))
    where = "; ".join(f"seed {s}: route{'s' if len(r) > 1 else ''} {', '.join(r)}" for s, r in by_seed.items())
    base = summ["baseline"]
    verb = "has" if cp["n_pairs"] == 1 else "have"
    lines += [(f"{cp['n_pairs']} of the {cp['n_planned_pairs']} planned (route, seed) pairs {verb} a record for every "
               f"variant ({where}). Means over those pairs alone with 95 % bootstrap intervals"
               + (f", paired to `{base}`" if base else "") + ": how each variant drove where all of them drove, "
               "while the table above counts the runs still missing as 0."), ""]
    head = "| variant | DS | RC | IS | success |" + (f" ΔDS vs {base} |" if base else "")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for name, v in cp["variants"].items():
        row = f"| `{name}` | {_ci(v, 'DS')} | {_ci(v, 'RC')} | {_ci(v, 'IS', 3)} | {100 * v['success_rate']:.0f} % |"
        if base:
            d = v.get("vs_rgb", {}).get("DS")
            row += f" {d['mean_diff']:+.1f} [{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}] |" if d else " (baseline) |"
        lines.append(row)
    return lines


def render(summ: dict, figures: list[str], records) -> str:
    vs = summ["variants"]
    lines = [f"# Evaluation: {summ['scenario']}", ""]
    lines.append(f"Agent `{summ['agent']}`; routes {', '.join(summ['routes'])}; seeds {', '.join(map(str, summ['seeds']))}; "
                 f"{summ['n_done']} of {summ['n_planned']} planned runs recorded"
                 + ("." if summ["complete"] else " (incomplete: missing runs count 0, as on the leaderboard)."))
    sources = summ.get("image_sources") or {}
    if len(sources) > 1:
        lines += ["", "**Mixed image sources**: " + "; ".join(f"{n} run(s) rendered by `{s}`" for s, n in sources.items())
                  + ". Renderers draw the same scene a few pixels apart and routes can end differently, so paired "
                  "differences are cleanest from one; re-drive the others into a fresh `--out` on one machine kind."]
    reused = summ.get("reused_from") or {}
    if reused:
        lines += ["", "Copied by job key from earlier runs (`--reuse`), not driven here: "
                  + "; ".join(f"{n} run(s) from `{src}`" for src, n in reused.items()) + " (column `reused_from` of "
                  "`records.csv`)."]
    lines += ["", "Means over every planned route x seed with 95 % bootstrap intervals. Paired differences "
              f"are to `{summ['baseline']}` on the same routes, seeds and traffic." if summ["baseline"] else "", ""]
    head = "| variant | DS | RC | IS | success | "
    head += f"ΔDS vs {summ['baseline']} | " if summ["baseline"] else ""
    head += "fusion ms | policy step ms |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for name, v in vs.items():
        row = f"| `{name}` | {_ci(v, 'DS')} | {_ci(v, 'RC')} | {_ci(v, 'IS', 3)} | {100 * v['success_rate']:.0f} % | "
        if summ["baseline"]:
            d = v.get("vs_rgb", {}).get("DS")
            row += (f"{d['mean_diff']:+.1f} [{d['ci'][0]:+.1f}, {d['ci'][1]:+.1f}] | " if d else "(baseline) | ")
        lat = v["latency_ms"]
        row += f"{_ms(lat.get('fusion_ms'))} | {_ms(lat.get('agent_ms'))} |"
        lines.append(row)
    lines += complete_pairs_section(summ)
    kinds = [k for k in INFRACTION_KINDS if any(v["infraction_counts"].get(k, 0) for v in vs.values())]
    if kinds:
        lines += ["", "## Infractions per km driven", "",
                  "| variant | km | " + " | ".join(k.replace("_", " ") for k in kinds) + " |",
                  "|---|---|" + "---|" * len(kinds)]
        for name, v in vs.items():
            cells = [(f"{v['infractions_per_km'][k]:.3f} km" if k == OUTSIDE_ROUTE_LANES
                      else f"{v['infractions_per_km'][k]:.2f} ({v['infraction_counts'][k]})") for k in kinds]
            lines.append(f"| `{name}` | {v['km_driven']:.2f} | " + " | ".join(cells) + " |")
        lines += ["", "Cells: per km (count); outside route lanes: km driven outside them."]
    lines += loss_section(summ)
    lines += standing_section(summ)
    lines += ["", "## Latency", "", "Medians over routes of the per-frame medians (this machine, wall clock).", "",
              "| variant | registration ms | fusion ms | observation delay ms | agent step ms |", "|---|---|---|---|---|"]
    for name, v in vs.items():
        lat = v["latency_ms"]
        lines.append(f"| `{name}` | {_ms(lat.get('register_ms'))} | {_ms(lat.get('fusion_ms'))} | "
                     f"{_ms(lat.get('observation_delay_ms'))} | {_ms(lat.get('agent_ms'))} |")
    quarantined = [(n, q) for n, v in vs.items() for q in v["quarantined"]]
    if quarantined:
        lines += ["", "## Quarantined runs", "", "Failed on every attempt; recorded as crashed routes (score 0).", ""]
        lines += [f"- `{n}` route {q['route']} seed {q['seed']}: {q['failure']}" for n, q in quarantined]
    if not records.empty:
        lines += ["", "## Routes", "", "| route | seed | variant | DS | RC | IS | status |", "|---|---|---|---|---|---|---|"]
        for r in records.sort_values(["route", "seed"], kind="stable").itertuples():
            lines.append(f"| {r.route} | {r.seed} | `{r.variant}` | {r.DS:.1f} | {r.RC:.1f} | {r.IS:.3f} | {r.status} |")
    if figures:
        lines += ["", "## Plots", ""] + [f"![{f}]({f})" for f in figures]
    lines += ["", "Files: `records.csv`, `infractions.csv`, `summary.json`, `simulation_results.json` (all variants), "
              "`<variant>/simulation_results.json` (CARLA leaderboard format per variant; a `/` in a variant's name is `_` in "
              "its folder's).", ""]
    return "\n".join(lines)


def write_report(path: Path, summ: dict, figures: list[str], records) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(summ, figures, records), encoding="utf-8")
    tmp.replace(path)
    return path
