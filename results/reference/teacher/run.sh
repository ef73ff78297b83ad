#!/usr/bin/env bash
# The diffusion teacher's committed figures (fusion/teacher/, weights in fusion/teacher/weights/):
# - bench.json: python -m fusion bench --variant teacher (k=8, 4 DDIM steps, 320x160, 2 threads);
# - perception_<scenario>/: the perception probe on 200 held-out frames, teacher beside rgb, thermal, the classical
#   fusions and oracle_clean, with a picture per variant;
# - ensemble_<scenario>.json/.jpg: the K samples' pixel variance by region and the picture grid
#   rgb | thermal | teacher mean | pixel variance | clean target | what the policy marks.
#   ensemble_night_fog_town05_steps{2,8}.json: the same at night in fog with 2 and 8 DDIM steps;
# - short_night_fog_town05/, short_fog_town05/: closed loop on short held-out routes 0-4, the teacher as it drives
#   (teacher:k=2,steps=2: 0.2 s a frame on the one thread a drive worker gets) beside rgb, thermal, gff (the classical
#   row), the default student and oracle_clean; records are kept per route: run again to continue. The rgb, gff,
#   fusionproxy and oracle_clean records of seed 0 at night in fog are those of results/reference/fusionproxy/
#   short_night_fog_town05/ (same keys: copy them in first to skip them);
# - perception_night_fog_town05_k2.json: the probe with the teacher as it drives (k=2, 2 steps) beside its default;
# - latency_short_night_fog_town05/: the same routes, seed 0, with --latency measured (the world keeps moving for the
#   module's measured time per frame: ~0.2 s for the teacher), teacher beside rgb and the student (whose records are
#   those of results/reference/fusionproxy/latency_short_night_fog_town05/). Measured time: run it alone.
# About 25 min on a 2-core CPU once the probe's frames are cached (3.5 min per scenario to collect them), and about
# 70 min for each closed-loop scenario and seed (the teacher's five routes take 45 core-minutes of it).
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
# the variance criterion against the number of DDIM steps (k=8; the default above is 4 steps)
for N in 2 8; do
  $PY -m fusion ensemble --scenario night_fog_town05 --k 8 --steps $N --threads 1 --json | tail -n 1 \
    > $OUT/ensemble_night_fog_town05_steps$N.json
done
$PY -m fusion perception --scenario night_fog_town05 --variants teacher:k=2,steps=2,teacher,fusionproxy \
  --out runs/probe_k2_nf --json > /dev/null && cp runs/probe_k2_nf/perception.json $OUT/perception_night_fog_town05_k2.json
for S in short_night_fog_town05 short_fog_town05; do
  SEEDS=0,1
  if [ $S = short_fog_town05 ]; then SEEDS=0; fi  # the daytime fog: seed 0 only so far
  $PY -m harness eval --scenario $S --variants teacher:k=2,steps=2,rgb,thermal,gff,fusionproxy,oracle_clean --routes 0-4 \
    --seeds $SEEDS --workers 2 --route-timeout 7200 --out $OUT/$S --resume
done
$PY -m harness eval --scenario short_night_fog_town05 --variants teacher:k=2,steps=2,rgb,fusionproxy --routes 0-4 --seeds 0 \
  --workers 2 --latency measured --route-timeout 7200 --out $OUT/latency_short_night_fog_town05 --resume
