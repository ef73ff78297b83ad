#!/usr/bin/env bash
# The light-term teacher (README.md here; fusion/teacher/README.md, "A third stage with a light term"): trained, probed,
# read by `fusion cues` and driven on short_night_fog_town05 routes 0-4, seed 0, beside the committed rows.
# About 17 min of training, 5 min of probe and cues, and 27 min of driving (2 workers) on this 2-core CPU; needs
# data/fusion (`make fusion-data`, ~8 min). The candidate weights are swapped in for the run only and put back.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
OUT=results/reference/teacher/light_term
PY=.venv/bin/python
W=fusion/teacher/weights/teacher.pt
$PY -m distill train-teacher --data data/fusion --out runs/teacher_light --threads 2 --init $W \
  --steps 2000 --lr 1e-3 --warmup 50 --w-light 1 --lamp-crops 0.5
cp $W runs/teacher_committed.pt
trap 'cp runs/teacher_committed.pt '$W EXIT  # the committed teacher back, whatever happens below
cp runs/teacher_light/teacher.pt $W
$PY -m fusion perception --scenario night_fog_town05 --variants teacher:k=2,steps=2,teacher --out runs/probe_tl_nf --json \
  > /dev/null && cp runs/probe_tl_nf/perception.json $OUT/perception_night_fog_town05.json
$PY -m fusion cues --scenario night_fog_town05 --variants teacher --out $OUT/cues_night_fog_town05 --json > /dev/null
# the committed rgb, fusionproxy and oracle_clean records of the same routes and seed (same keys) are reused
E=$OUT/short_night_fog_town05
$PY -m harness eval --scenario short_night_fog_town05 --variants teacher:k=2,steps=2,rgb,fusionproxy,oracle_clean --routes 0-4 \
  --seeds 0 --workers 2 --route-timeout 7200 --out $E --resume --reuse results/reference/teacher/short_night_fog_town05
$PY -m harness compare --out $E --base teacher:k=2,steps=2 --base-out results/reference/teacher/short_night_fog_town05 \
  --variants teacher:k=2,steps=2 --json | tail -n 1 | $PY -m json.tool > $E/compare_committed_teacher.json
