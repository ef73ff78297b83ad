#!/usr/bin/env bash
# FusionProxy with the frozen policy's own encoder as the feature backbone (train-student --backbone policy; the
# `policy_backbone` ablation at the committed student's full 5000 steps). Every other setting is the committed
# student's (size s, seed 0, the teacher-ensemble cache a756e699f58de6be).
#   1. train (about 5 min on 2 cores after make fusion-data and make ensemble-cache) and copy the weights here
#   2. the perception probe at night in fog and in daytime fog, beside the committed student (about 1 min)
#   3. (DRIVE=1 only) closed loop, the committed rows' records copied in first (same keys: reused, not driven again):
#      make eval's five fog_town05 routes (seed 0; about 10 min) and the ten held-out night_fog_town05 routes, seeds
#      0 and 1 (about 45 min), 2 workers. Extra arguments go to eval.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=results/reference/fusionproxy/policy_backbone
RUN=${RUN:-runs/student_s_policy}
P="fusionproxy:weights=$OUT/student.pt"
if [ ! -f $RUN/student.pt ]; then
  [ -f data/fusion/manifest.json ] || make fusion-data
  make ensemble-cache  # returns at once when the cache is complete
  $PY -m distill train-student --data data/fusion --size s --steps 5000 --backbone policy --threads 2 --out $RUN
fi
cp $RUN/student.pt $RUN/manifest.json $RUN/train_log.csv $OUT/
for S in fog_town05 night_fog_town05; do
  $PY -m fusion perception --scenario $S --variants "fusionproxy,$P" --json | tail -n 1 > $OUT/perception_$S.json
done
[ "${DRIVE:-0}" = 1 ] || exit 0
mkdir -p $OUT/fog_town05_routes5/records $OUT/night_fog_town05_long/records
cp -n results/reference/eval_fog_town05_routes5/records/*.json $OUT/fog_town05_routes5/records/
cp -n results/reference/fusionproxy/lamp_pass/night_fog_town05_long/records/*.json $OUT/night_fog_town05_long/records/
$PY -m harness eval --scenario fog_town05 --variants "rgb,fusionproxy,$P,oracle_clean" \
  --routes shortest:5 --workers 2 --executor local --backend embedded --out $OUT/fog_town05_routes5 --resume "$@"
$PY -m harness eval --scenario night_fog_town05 --variants "rgb,oracle_clean,fusionproxy,fusionproxy:lamps=camera,$P" \
  --routes all --seeds 0,1 --workers 2 --executor local --backend embedded --out $OUT/night_fog_town05_long --resume "$@"
