#!/usr/bin/env bash
# FusionProxy with the traffic-light pixels weighted in the pixel term, against the committed teacher's mean (issue 23;
# fusion/student/README.md, "The signal lamps"): pure distillation, the default recipe (size s, 5000 steps, seed 0, the
# committed cache) with one change, `--lamp-weight W --lamp-crops 0.5` (pixels the simulator labels traffic light, housing
# and lamp, weigh 1 + W; half the crops are placed over one). The earlier lamp-weighted students learnt from a third,
# lamp-weighted teacher stage or took the clean image at the lamps; this one keeps the committed teacher's housings
# (its light head finds a signal head on 0.85 of the near red frames in fog, the committed student's on 0.24).
#   needs: make fusion-data ensemble-cache
#   1. two trainings, W = 30 and 10, side by side, one thread each (about 20 min together on 2 cores)
#   2. the light cues and the perception probe in daytime fog and at night in fog (a few minutes)
#   3. (DRIVE=1 only) closed loop on make eval's five fog_town05 routes, seed 0, beside the committed rows of
#      ../../eval_fog_town05_routes5 (rgb, fusionproxy, oracle_clean copied by key)
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=results/reference/fusionproxy/tl_weight
for W in 30 10; do
  [ -f runs/student_s_tl$W/student.pt ] || $PY -m distill train-student --data data/fusion --size s --steps 5000 \
    --lamp-weight $W --lamp-crops 0.5 --threads 1 --out runs/student_s_tl$W &
done
wait
for W in 30 10; do cp runs/student_s_tl$W/manifest.json $OUT/student_s_tl${W}_manifest.json; done
V="fusionproxy,fusionproxy:weights=runs/student_s_tl30/student.pt,fusionproxy:weights=runs/student_s_tl10/student.pt"
for S in fog_town05 night_fog_town05; do
  $PY -m fusion cues --scenario $S --variants "$V" --out $OUT/cues_$S --json > /dev/null
  $PY -m fusion perception --scenario $S --variants "rgb,$V,oracle_clean" --out $OUT/perception_$S --json > /dev/null
done
[ "${DRIVE:-0}" = 1 ] || exit 0
$PY -m harness eval --scenario fog_town05 --variants "rgb,$V,oracle_clean" --routes shortest:5 --seeds 0 --workers 2 \
  --executor local --backend embedded --out $OUT/fog_town05_routes5 --resume \
  --reuse results/reference/eval_fog_town05_routes5 "$@"
