#!/usr/bin/env bash
# The thermal-blank control (run.sh here) on the target's own test: the ten held-out night_fog_town05 routes, traffic
# seed 0, the student with its thermal frame shifted out of view (400 px) beside the committed rows of
# ../night_fog_town05_long (rgb, oracle_clean copied by key). About 25 min on 2 cores alone; resumes. Paired:
#   python -m harness compare --out results/reference/fusionproxy/thermal_blank/night_fog_town05_long \
#     --base fusionproxy --base-out results/reference/fusionproxy/night_fog_town05_long --variants fusionproxy
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
$PY -m harness eval --scenario night_fog_town05 --variants rgb,fusionproxy,oracle_clean --routes all --seeds 0 \
  --misalign-px 400 0 --workers 2 --executor local --backend embedded \
  --out "${OUT:-results/reference/fusionproxy/thermal_blank}/night_fog_town05_long" --resume \
  --reuse results/reference/fusionproxy/night_fog_town05_long "$@"
