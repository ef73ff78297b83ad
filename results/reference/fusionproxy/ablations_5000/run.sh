#!/usr/bin/env bash
# FusionProxy's ablations at the committed student's full budget (5000 steps; fusion/student/README.md, "Ablations"): the
# default recipe (size s, seed 0, cache a756e699f58de6be) and eight of its one-change variants (tau 0.25 and 4 left out
# for time: their 1200-step rows are in ../ablations/), trained two at a time with one thread each (about 24 min a
# student with the EfficientNet backbone, 8 with the policy's encoder), exported to ONNX, read by the perception probe
# on 200 held-out frames of night_fog_town05 and fog_town05, and driven paired beside rgb and oracle_clean on the
# short night-fog routes 0-4, seeds 0 and 1. About 2 h on 2 cores after the data and the caches (make fusion-data, make
# ensemble-cache; the K=1 cache is built on the way). Resumes when stopped: finished trainings, probes and route runs
# are reused. The committed rgb and oracle_clean rows of ../short_night_fog_town05 (seed 0) and
# ../../teacher/short_night_fog_town05 (seeds 0, 1) are the same jobs (same keys), so --drive-reuse takes their records
# instead of driving them (about an hour saved).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
RUN=${RUN:-runs/ablate_5000}
OUT=results/reference/fusionproxy/ablations_5000
[ -f data/fusion/manifest.json ] || make fusion-data
make ensemble-cache  # returns at once when the cache is complete
$PY -m distill ablate --steps 5000 --jobs 2 --threads 1 --drive-seeds 0,1 --out $RUN \
  --drive-reuse results/reference/fusionproxy/short_night_fog_town05 \
  --drive-reuse results/reference/teacher/short_night_fog_town05 \
  --only full,no_pixel_var,uniform_routing,k1,tau_0.5,tau_2,direct,policy_backbone,pixel_only "$@"
# what is committed: the table, its plot, the closed loop's report, and per ablation its manifest, probe figures,
# training log and weights
cp $RUN/ablations.json $RUN/ablations.csv $RUN/ablations.png $OUT/
mkdir -p $OUT/closed_loop
cp $RUN/closed_loop/report.md $RUN/closed_loop/summary.json $RUN/closed_loop/records.csv $RUN/closed_loop/*.png $OUT/closed_loop/
for d in $RUN/*/; do
  n=$(basename $d)
  [ -f $d/manifest.json ] || continue
  mkdir -p $OUT/$n
  cp $d/manifest.json $d/probe.json $d/student.pt $d/train_log.csv $OUT/$n/
done
