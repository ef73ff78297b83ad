#!/usr/bin/env bash
# The do-no-harm check (issue 23): FusionProxy and the best classical fusion of the short routes (gff) left on at clear
# noon, the light the frozen policy was trained in, against the camera alone: short_clear_noon_town05 routes 0-4,
# traffic seeds 0 and 1, 2 workers. About 19 min on 2 cores alone; resumes. (oracle_clean is left out: the clean image
# does not see the weather, so it drives as on the night-fog routes, ../../teacher/short_night_fog_town05.)
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
$PY -m harness eval --scenario short_clear_noon_town05 --variants rgb,gff,fusionproxy --routes 0-4 --seeds 0,1 --workers 2 \
  --executor local --backend embedded --out "${OUT:-results/reference/fusionproxy/short_clear_noon_town05}" --resume "$@"
