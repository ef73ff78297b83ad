#!/usr/bin/env bash
# The lamp pass-through on the teacher (teacher:lamps=camera, fusion/lamps.py): the ensemble mean with the camera's
# own lit lamps pasted over it, as fusionproxy:lamps=camera does for the student. Closed loop on the teacher's short
# night-fog routes (0-4, seeds 0 and 1) beside the variants driven there before, whose records are taken from their
# reference folders with --reuse (same keys: copied, not driven again). The teacher at k=2, steps=2 as in
# results/reference/teacher/short_night_fog_town05 (about 0.2 s a frame; about 10 min a route on one worker).
# WORKERS (default 1) and extra arguments go to eval.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-results/reference/teacher/lamp_pass/short_night_fog_town05}
$PY -m harness eval --scenario short_night_fog_town05 \
  --variants "teacher:k=2,steps=2,lamps=camera,teacher:k=2,steps=2,rgb,fusionproxy,fusionproxy:lamps=camera,oracle_clean" \
  --routes 0-4 --seeds 0,1 --workers ${WORKERS:-1} --route-timeout 7200 --executor local --backend embedded --out $OUT \
  --resume --reuse results/reference/teacher/short_night_fog_town05 \
  --reuse results/reference/fusionproxy/lamp_pass/short_night_fog_town05 "$@"
