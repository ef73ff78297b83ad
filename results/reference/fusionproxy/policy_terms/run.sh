#!/usr/bin/env bash
# FusionProxy with the terms that read the frozen policy (issue 23; fusion/student/README.md, "The signal lamps"): two
# students of the default size s distilled from the committed teacher's ensemble with the light term (what the
# policy's traffic-light branch reads on the teacher mean) and with the light and obstacle terms (also what its
# obstacle branch reads there), checked on the probe's frames, then driven on the long night-fog routes.
#   needs: make fusion-data ensemble-cache   (about 8 + 40 min on 2 cores)
#   1. the two trainings, side by side, one thread each (about 45 min together on 2 cores)
#   2. the perception probe and the light cues at night in fog (a few minutes)
#   3. (DRIVE=1 only) closed loop: the ten held-out night_fog_town05 routes, seeds 0 and 1 (2 workers); the rgb, oracle_clean and
#      committed-student records are those of ../night_fog_town05_long (same keys), copied in first
# Weights: W_light = 1 (the planned run); W_seg = 0.1, chosen so that the obstacle term starts at the pixel term's
# size on training crops with the committed student (0.038 against 0.044; the light term at W 1: 0.019).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=results/reference/fusionproxy/policy_terms
L=runs/student_s_light/student.pt
LS=runs/student_s_lightseg/student.pt
[ -f $L ] || $PY -m distill train-student --size s --out runs/student_s_light --w-light 1 --lamp-crops 0.5 --threads 1 &
[ -f $LS ] || $PY -m distill train-student --size s --out runs/student_s_lightseg --w-light 1 --w-seg 0.1 --lamp-crops 0.5 \
  --threads 1 &
wait
cp runs/student_s_light/manifest.json $OUT/student_s_light_manifest.json
cp runs/student_s_lightseg/manifest.json $OUT/student_s_lightseg_manifest.json
V="fusionproxy,fusionproxy:weights=$L,fusionproxy:weights=$LS"
$PY -m fusion perception --scenario night_fog_town05 --variants "rgb,$V,oracle_clean" --out $OUT/perception_night_fog_town05 \
  --json > /dev/null
$PY -m fusion cues --scenario night_fog_town05 --variants "$V" --out $OUT/cues_night_fog_town05 --json > /dev/null
# DRIVE=1 drives them (the committed folder: the light + obstacle student, seed 0 only, with
# --variants rgb,oracle_clean,fusionproxy,fusionproxy:weights=$LS --seeds 0 appended; README.md)
[ "${DRIVE:-0}" = 1 ] || exit 0
$PY -m harness eval --scenario night_fog_town05 --variants "rgb,oracle_clean,$V" --routes all --seeds 0,1 --workers 2 \
  --executor local --backend embedded --out $OUT/night_fog_town05_long --resume \
  --reuse results/reference/fusionproxy/night_fog_town05_long "$@"
