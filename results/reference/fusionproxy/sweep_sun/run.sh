#!/usr/bin/env bash
# Illumination (issue 23, robustness): the sun altitude swept from noon to night (60, 10, 0, -30 deg) in the 40 m
# fog of short_night_fog_town05, on its five held-out short routes 0-4, traffic seed 0: the camera (rgb), the best
# classical fusion on these routes (gff) and FusionProxy behind the frozen clear-day policy. -30 deg is the scenario
# itself, so its 15 route runs are copied by key from the committed ../../teacher/short_night_fog_town05, not driven.
# --frames 200 first draws frames/sheet.jpg (each altitude's camera, thermal, gff, student and clean views). The teacher
# (teacher:k=2,steps=2) is not in it: its 15 route runs would add about an hour here (a median 469 s a run on these
# routes); VARIANTS=rgb,gff,fusionproxy,teacher:k=2,steps=2 adds it. About 55 min on 2 cores alone (--dry-run says
# what is left); resumes (run it again to continue).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
$PY -m harness sweep --scenario short_night_fog_town05 --axis sun --values 60,10,0,-30 \
  --variants "${VARIANTS:-rgb,gff,fusionproxy}" --routes 0-4 --seeds 0 --workers 2 --executor local --backend embedded --frames 200 \
  --out "${OUT:-results/reference/fusionproxy/sweep_sun}" --resume --reuse results/reference/teacher/short_night_fog_town05 "$@"
