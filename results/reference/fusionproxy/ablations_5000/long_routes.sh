#!/usr/bin/env bash
# The dual-signal ablations on the target's own test (issue 23): the ten held-out night_fog_town05 routes (0-4, 10-14),
# traffic seed 0, two local workers, where the short routes (README.md here) could not rank them. Three of the 5000-step
# students of this folder: `full` (the recipe, one-thread retrain) and the two statistics of the method taken away one at
# a time, `no_pixel_var` (no image-variance weighting) and `uniform_routing` (feature layers weighed equally, not by the
# ensemble's feature variance); ABLATIONS="full ... pixel_only" adds others. The rgb, oracle_clean and committed-student
# records are those of ../night_fog_town05_long (same keys, copied, not driven). About 70 min on 2 cores; resumes (run it
# again to continue); `--dry-run` says what is left.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
A=results/reference/fusionproxy/ablations_5000
V=rgb,oracle_clean,fusionproxy
for N in ${ABLATIONS:-full no_pixel_var uniform_routing}; do V=$V,fusionproxy:weights=$A/$N/student.pt; done
$PY -m harness eval --scenario night_fog_town05 --variants "$V" --routes all --seeds 0 --workers 2 --executor local \
  --backend embedded --out "${OUT:-$A/night_fog_town05_long}" --resume --reuse results/reference/fusionproxy/night_fog_town05_long "$@"
