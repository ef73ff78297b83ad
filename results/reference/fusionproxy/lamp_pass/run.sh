#!/usr/bin/env bash
# Lamp pass-through (fusionproxy:lamps=camera, fusion/lamps.py): the committed student with the camera's own lit
# lamps pasted over its image at full saturation. No training; needs only the committed weights.
#   1. the perception probe and the light cues (fusion cues) at night in fog, at night and in daytime fog, for the
#      student as is and the rule at two chroma thresholds (0.2, the default, and 0.25): about 10 min on 2 cores
#   2. (DRIVE=1 only) closed loop: the ten held-out night_fog_town05 routes, seeds 0 and 1, 2 workers (about 45 min),
#      then make eval's five fog_town05 routes (seed 0) and the teacher's short night-fog routes 0-4 (seeds 0, 1);
#      the records of the variants driven before (rgb, oracle_clean, the student, the teacher) are taken from their
#      reference folders with --reuse (same keys: copied, not driven again). Extra arguments go to eval.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=results/reference/fusionproxy/lamp_pass
V="fusionproxy,fusionproxy:lamps=camera,fusionproxy:lamps=camera,lamp_chroma=0.25"
for S in night_fog_town05 night_town05 fog_town05; do
  $PY -m fusion perception --scenario $S --variants "rgb,$V,oracle_clean" --out $OUT/perception_$S --json > /dev/null
  $PY -m fusion cues --scenario $S --variants "$V" --out $OUT/cues_$S --json > /dev/null
done
[ "${DRIVE:-0}" = 1 ] || exit 0
$PY -m harness eval --scenario night_fog_town05 --variants "rgb,oracle_clean,fusionproxy,fusionproxy:lamps=camera" \
  --routes all --seeds 0,1 --workers 2 --executor local --backend embedded --out $OUT/night_fog_town05_long --resume \
  --reuse results/reference/fusionproxy/night_fog_town05_long "$@"
# the daytime-fog routes of `make eval` (seed 0) and the teacher's short night-fog routes (seeds 0, 1), records reused
$PY -m harness eval --scenario fog_town05 --variants rgb,fusionproxy,fusionproxy:lamps=camera,oracle_clean \
  --routes shortest:5 --workers 2 --executor local --backend embedded --out $OUT/fog_town05_routes5 --resume \
  --reuse results/reference/eval_fog_town05_routes5 "$@"
$PY -m harness eval --scenario short_night_fog_town05 \
  --variants teacher:k=2,steps=2,rgb,fusionproxy,fusionproxy:lamps=camera,oracle_clean --routes 0-4 --seeds 0,1 \
  --workers 2 --route-timeout 7200 --executor local --backend embedded --out $OUT/short_night_fog_town05 --resume \
  --reuse results/reference/teacher/short_night_fog_town05 "$@"
