#!/usr/bin/env bash
# FusionProxy with the obstacle term alone (issue 23; fusion/student/README.md, "The signal lamps"), with and without its
# phantom guard: two students of the default size s distilled from the committed teacher's ensemble, checked on the
# probe's frames at night in fog, then (DRIVE=1) driven on the long night-fog routes.
#   needs: make fusion-data ensemble-cache   (about 8 + 40 min on 2 cores)
#   1. the two trainings, side by side, one thread each (about 40 min together on 2 cores)
#   2. the perception probe and the light cues at night in fog (a few minutes)
#   3. (DRIVE=1 only) closed loop: the ten held-out night_fog_town05 routes (2 workers); the rgb, oracle_clean and
#      committed-student records are those of ../night_fog_town05_long (same keys), copied in first. Extra arguments
#      go to eval (the committed folder: --seeds 0 --variants rgb,oracle_clean,fusionproxy,fusionproxy:weights=$G).
# W_seg = 0.1 as in ../policy_terms (the obstacle term at the pixel term's size on training crops); no light term
# (that student's light term alone raised the phantom rate from 0.014 to 0.048).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=results/reference/fusionproxy/obstacle_term
S=runs/student_s_seg/student.pt
G=runs/student_s_segguard/student.pt
[ -f $S ] || $PY -m distill train-student --size s --out runs/student_s_seg --w-seg 0.1 --threads 1 &
[ -f $G ] || $PY -m distill train-student --size s --out runs/student_s_segguard --w-seg 0.1 --seg-guard --threads 1 &
wait
cp runs/student_s_seg/manifest.json $OUT/student_s_seg_manifest.json
cp runs/student_s_segguard/manifest.json $OUT/student_s_segguard_manifest.json
V="fusionproxy,fusionproxy:weights=$S,fusionproxy:weights=$G"
$PY -m fusion perception --scenario night_fog_town05 --variants "rgb,$V,oracle_clean" --out $OUT/perception_night_fog_town05 \
  --json > /dev/null
$PY -m fusion cues --scenario night_fog_town05 --variants "$V" --out $OUT/cues_night_fog_town05 --json > /dev/null
[ "${DRIVE:-0}" = 1 ] || exit 0
$PY -m harness eval --scenario night_fog_town05 --variants "rgb,oracle_clean,$V" --routes all --seeds 0,1 --workers 2 \
  --executor local --backend embedded --out $OUT/night_fog_town05_long --resume \
  --reuse results/reference/fusionproxy/night_fog_town05_long "$@"
