#!/usr/bin/env bash
# FusionProxy with the frozen policy's own encoder as the feature backbone (train-student --backbone policy; the
# `policy_backbone` ablation at the committed student's full 5000 steps). Every other setting is the committed
# student's (size s, seed 0, the teacher-ensemble cache a756e699f58de6be).
#   1. train (about 5 min on 2 cores after make fusion-data and make ensemble-cache) and copy the weights here
#   2. the perception probe at night in fog and in daytime fog, beside the committed student (about 1 min)
#   3. (DRIVE=1 only) closed loop on the ten held-out night_fog_town05 routes, seeds 0 and 1, 2 workers: the student
#      with the lamp pass-through, then alone (about 45 min each), then the table with the committed rows, whose
#      records are copied in first (same keys: reused, not driven again). Extra arguments go to eval. Daytime fog is
#      not driven again: the fourth session drove the same recipe there (DS 24.0 against the committed 27.5).
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
O=$OUT/night_fog_town05_long
mkdir -p $O/records
cp -n results/reference/fusionproxy/night_fog_town05_long/records/*.json $O/records/
cp -n results/reference/fusionproxy/lamp_pass/night_fog_town05_long/records/*.json $O/records/
E="--scenario night_fog_town05 --routes all --seeds 0,1 --workers 2 --executor local --backend embedded --out $O --resume"
$PY -m harness eval $E --variants "$P,lamps=camera" "$@"
$PY -m harness eval $E --variants "$P" "$@"
$PY -m harness eval $E --variants "rgb,oracle_clean,fusionproxy,fusionproxy:lamps=camera,$P,lamps=camera,$P" "$@"
