#!/usr/bin/env bash
# FusionProxy's ablations on the real ensemble cache (distill/ablate.py; fusion/student/README.md, "Ablations"): the default
# student recipe (size s) and each of its eleven one-change variants, all at 1200 training steps (a quarter of the committed
# student's 5000), seed 0, trained two at a time with one thread each, exported to ONNX and read by the perception probe on 200 held-out frames of
# night_fog_town05 and fog_town05. About 35 min on 2 cores after the data and the cache (make fusion-data, 5 min;
# make ensemble-cache, 30 min alone; the K=1 cache is built on the way, about 20 min with one thread). Resumes when
# stopped: finished trainings and probes are reused. The closed loop is left out here (--drive none): the committed
# student.pt of each ablation drives with `fusionproxy:weights=results/reference/fusionproxy/ablations/NAME/student.pt`.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
RUN=${RUN:-runs/ablate_1200}
OUT=results/reference/fusionproxy/ablations
[ -f data/fusion/manifest.json ] || make fusion-data
make ensemble-cache  # returns at once when the cache is complete
$PY -m distill ablate --steps 1200 --jobs 2 --threads 1 --drive none --out $RUN "$@"
# the seed-to-seed spread: full and no_pixel_var again with seed 1 (about 8 min)
$PY -m distill ablate --steps 1200 --jobs 2 --threads 1 --seed 1 --only full,no_pixel_var --drive none --out ${RUN}_seed1
# what is committed: the table, its plot, and per ablation its manifest, probe figures, training log and weights
cp $RUN/ablations.json $RUN/ablations.csv $RUN/ablations.png $OUT/
for d in $RUN/*/ ${RUN}_seed1/*/; do
  n=$(basename $d)
  case $d in *_seed1/*) n=${n}_seed1 ;; esac
  [ -f $d/manifest.json ] || continue
  mkdir -p $OUT/$n
  cp $d/manifest.json $d/probe.json $d/student.pt $d/train_log.csv $OUT/$n/
done
