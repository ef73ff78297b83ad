#!/usr/bin/env bash
# FusionProxy with the frozen policy's own encoder as the feature backbone (train-student --backbone policy; the
# `policy_backbone` ablation at the committed student's full 5000 steps). Every other setting is the committed
# student's (size s, seed 0, the teacher-ensemble cache a756e699f58de6be).
#   1. train (about 5 min on 2 cores after make fusion-data and make ensemble-cache) and copy the weights here
#   2. the perception probe and the light cues (fusion cues) at night in fog and in daytime fog, beside the committed
#      student (about 3 min; LIGHT=1 adds the same student trained with the light term)
#   3. (DRIVE=1 only) closed loop on the ten held-out night_fog_town05 routes, seeds 0 and 1, 2 workers: the student
#      with the lamp pass-through, then alone (about 30 min each), then the table with the committed rows, whose
#      records are copied in first (same keys: reused, not driven again); then make eval's five fog_town05 routes
#      (seed 0), the same way (about 20 min). Extra arguments go to eval.
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
  # what makes the policy stop at a light in each image (the third variant: the same student with the light term; it
  # is trained only when LIGHT=1, about 6 min, and its weights stay in runs/)
  V="fusionproxy,$P"
  if [ "${LIGHT:-0}" = 1 ]; then
    [ -f runs/student_s_policy_light/student.pt ] || $PY -m distill train-student --data data/fusion --size s \
      --steps 5000 --backbone policy --w-light 1 --lamp-crops 0.5 --threads 2 --out runs/student_s_policy_light
    V="$V,fusionproxy:weights=runs/student_s_policy_light/student.pt"
  fi
  $PY -m fusion cues --scenario $S --variants "$V" --json | tail -n 1 > $OUT/cues_$S.json
done
[ "${DRIVE:-0}" = 1 ] || exit 0
O=$OUT/night_fog_town05_long
E="--scenario night_fog_town05 --routes all --seeds 0,1 --workers 2 --executor local --backend embedded --out $O --resume
   --reuse results/reference/fusionproxy/night_fog_town05_long --reuse results/reference/fusionproxy/lamp_pass/night_fog_town05_long"
$PY -m harness eval $E --variants "$P,lamps=camera" "$@"
$PY -m harness eval $E --variants "$P" "$@"
$PY -m harness eval $E --variants "rgb,oracle_clean,fusionproxy,fusionproxy:lamps=camera,$P,lamps=camera,$P" "$@"
# make eval's five fog_town05 routes (seed 0), the committed rows' records reused (about 20 min)
O=$OUT/fog_town05_routes5
E="--scenario fog_town05 --routes shortest:5 --workers 2 --executor local --backend embedded --out $O --resume
   --reuse results/reference/eval_fog_town05_routes5"
$PY -m harness eval $E --variants "$P" "$@"
$PY -m harness eval $E --variants "$P,lamps=camera" "$@"
$PY -m harness eval $E --variants "rgb,fusionproxy,$P,$P,lamps=camera,oracle_clean" "$@"
