#!/usr/bin/env bash
# Does FusionProxy's closed-loop gain need the thermal camera? The misalignment sweeps (../sweep_misalign_px_wide) left
# its DS unchanged up to a 120 px shift. Here the thermal frame is shifted 400 px, out of the 320 px view: the student
# gets the camera and a thermal image of zeros, nothing else changed. The teacher's short night-fog routes 0-4, seeds 0
# and 1, beside the committed rows of ../../teacher/short_night_fog_town05 (rgb and oracle_clean have no thermal camera:
# copied by key). About 20 min on 2 cores. Then, paired against the aligned student on the same routes and seeds:
#   python -m harness compare --out results/reference/fusionproxy/thermal_blank/short_night_fog_town05 \
#     --base fusionproxy --base-out results/reference/teacher/short_night_fog_town05 --variants fusionproxy
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
$PY -m harness eval --scenario short_night_fog_town05 --variants rgb,fusionproxy,oracle_clean --routes 0-4 --seeds 0,1 \
  --misalign-px 400 0 --workers 2 --executor local --backend embedded \
  --out "${OUT:-results/reference/fusionproxy/thermal_blank}/short_night_fog_town05" --resume \
  --reuse results/reference/teacher/short_night_fog_town05 "$@"
