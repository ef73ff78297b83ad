#!/usr/bin/env bash
# FusionProxy's committed figures (fusion/student/, weights in fusion/student/weights/), as they were made:
# - bench_fusionproxy_<runtime>_<threads>t.json: python -m fusion bench --variant fusionproxy with ONNX Runtime and
#   torch at 320x160, batch 1, on 1 and 2 threads (median of 300 after 30 warm-up calls);
# - bench_compare.json: the same with ONNX Runtime on 2 threads, plus the teacher ensemble (its defaults, torch) and
#   the policy's perception network timed in the same run (--compare);
# - perception_<scenario>/ and .json: the perception probe on the 200 held-out frames, fusionproxy beside rgb, gff
#   and oracle_clean (the teacher's own row on the same frames: results/reference/teacher/), a picture per variant;
# - short_night_fog_town05/: closed loop on five of the ten short held-out routes (0-4) at night in fog, traffic seed 0:
#   rgb, gff, fusionproxy and oracle_clean (records are kept per route: run again to continue).
# Run alone on the 2-core CPU (other work on the cores changes the speed figures 2-4x).
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=results/reference/fusionproxy
PY=.venv/bin/python
for T in 1 2; do
  for R in onnx torch; do
    $PY -m fusion bench --variant fusionproxy --runtime $R --threads $T --repeats 300 --warmup 30 --json | tail -n 1 \
      > "$OUT/bench_fusionproxy_${R}_${T}t.json"
  done
done
$PY -m fusion bench --variant fusionproxy --runtime onnx --threads 2 --repeats 300 --warmup 30 --compare --json | tail -n 1 \
  > $OUT/bench_compare.json
for S in night_fog_town05 fog_town05; do
  $PY -m fusion perception --scenario $S --variants rgb,gff,fusionproxy,oracle_clean --out $OUT/perception_$S --json \
    | tail -n 1 > $OUT/perception_$S.json
done
make eval SCENARIO=short_night_fog_town05 VARIANTS=rgb,gff,fusionproxy,oracle_clean ROUTES=0-4 SEEDS=0 WORKERS=2 \
  OUT=$OUT/short_night_fog_town05
