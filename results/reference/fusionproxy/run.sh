#!/usr/bin/env bash
# FusionProxy's committed figures (fusion/student/, weights in fusion/student/weights/), as they were made:
# - short_night_fog_town05/: closed loop on five of the ten short held-out routes (0-4) at night in fog, traffic seed 0:
#   rgb, gff, every student size and oracle_clean (records are kept per route: run again to continue);
# - sweep_misalign_px/, sweep_misalign_deg/: the same routes with the thermal camera shifted (0, 30, 40 px) or rotated
#   (0, 10, 15 deg) against the RGB one, for the default student, gff and rgb (rgb does not read thermal: one record
#   per route serves every value; the aligned condition is the same job as the row above and reuses its record);
# - perception_<scenario>/ and .json: the perception probe on the 200 held-out frames, every size beside rgb, gff and
#   oracle_clean (the teacher's own row on the same frames: results/reference/teacher/), a picture per variant;
# - bench_fusionproxy_<runtime>_<threads>t.json: the default size with ONNX Runtime and torch at 320x160, batch 1, on 1
#   and 2 threads (median of 300 after 30 warm-up calls); bench_compare.json: ONNX Runtime on 2 threads with the
#   teacher ensemble (its defaults, torch) and the policy's perception network timed in the same run (--compare);
# - pareto/: each size timed here in one run (ONNX Runtime, 2 threads, 320x160) against its DS from
#   short_night_fog_town05/, the Pareto front and the default's choice.
# Run alone on the 2-core CPU (other work on the cores changes the speed figures 2-4x). About 75 min.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=results/reference/fusionproxy
PY=.venv/bin/python
make eval SCENARIO=short_night_fog_town05 VARIANTS=rgb,gff,fusionproxy,fusionproxy:size=xs,fusionproxy:size=m,oracle_clean \
  ROUTES=0-4 SEEDS=0 WORKERS=2 OUT=$OUT/short_night_fog_town05
make sweep SCENARIO=short_night_fog_town05 AXIS=misalign_px VALUES=0,30,40 VARIANTS=rgb,gff,fusionproxy ROUTES=0-4 SEEDS=0 \
  WORKERS=2 OUT=$OUT/sweep_misalign_px
make sweep SCENARIO=short_night_fog_town05 AXIS=misalign_deg VALUES=0,10,15 VARIANTS=rgb,gff,fusionproxy ROUTES=0-4 SEEDS=0 \
  WORKERS=2 OUT=$OUT/sweep_misalign_deg
for S in night_fog_town05 fog_town05; do
  $PY -m fusion perception --scenario $S --variants rgb,gff,fusionproxy,fusionproxy:size=xs,fusionproxy:size=m,oracle_clean \
    --out $OUT/perception_$S --json | tail -n 1 > $OUT/perception_$S.json
done
for T in 1 2; do
  for R in onnx torch; do
    $PY -m fusion bench --variant fusionproxy --runtime $R --threads $T --repeats 300 --warmup 30 --json | tail -n 1 \
      > "$OUT/bench_fusionproxy_${R}_${T}t.json"
  done
done
$PY -m fusion bench --variant fusionproxy --runtime onnx --threads 2 --repeats 300 --warmup 30 --compare --json | tail -n 1 \
  > $OUT/bench_compare.json
$PY -m distill pareto --eval $OUT/short_night_fog_town05 --out $OUT/pareto
