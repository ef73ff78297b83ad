#!/usr/bin/env bash
# The diffusion teacher's committed figures (fusion/teacher/, weights in fusion/teacher/weights/):
# - bench.json: python -m fusion bench --variant teacher (k=8, 4 DDIM steps, 320x160, 2 threads);
# - perception_<scenario>/: the perception probe on 200 held-out frames, teacher beside rgb, thermal, the classical
#   fusions and oracle_clean, with a picture per variant;
# - ensemble_<scenario>.json/.jpg: the K samples' pixel variance by region and the picture grid
#   rgb | thermal | teacher mean | pixel variance | clean target | what the policy marks.
# About 25 min on a 2-core CPU once the probe's frames are cached (3.5 min per scenario to collect them).
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=results/reference/teacher
PY=.venv/bin/python
$PY -m fusion bench --variant teacher --threads 2 --repeats 10 --warmup 2 --json | tail -n 1 > $OUT/bench.json
for S in night_fog_town05 fog_town05; do
  $PY -m fusion perception --scenario $S --variants rgb,thermal,gff,laplacian,luma_average,rgb_enhance,teacher,oracle_clean \
    --out $OUT/perception_$S --json > /dev/null
  $PY -m fusion ensemble --scenario $S --out $OUT --json | tail -n 1 > $OUT/ensemble_$S.json
done
