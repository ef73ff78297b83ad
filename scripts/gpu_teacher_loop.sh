#!/usr/bin/env bash
# The diffusion teacher at its own defaults in closed loop, on a GPU machine (issue 22): on a 2-core CPU the teacher
# drives only as `teacher:k=2,steps=2` (0.94 s a frame at k=8, 4 steps), so whether the smaller ensemble costs driving
# points is an open question there. Here: short_night_fog_town05 routes 0-4, seeds 0 and 1, with
#   1. `teacher` (k=8, 4 DDIM steps: the ensemble cache's K and steps), `rgb` and `oracle_clean` on the same host, so
#      every pair shares its renderer (the GPU's);
#   2. with the time left, `teacher:steps=10`.
# Fusion runs on CUDA in FP32 (the CPU rows' precision). Each stage has its own time limit; the routes that finished
# are kept (one record per route). Writes $OUT/eval.tgz (records, reports, logs) and $OUT/gpu.txt.
# Usage: bash scripts/gpu_teacher_loop.sh (after `make setup`, or with PY and PYTHONPATH pointing at an environment
# that has the project's dependencies). Times: STAGE1_S (default 300) and STAGE2_S (default 150) seconds.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/gpu_teacher}
PY=${PY:-.venv/bin/python}
WORKERS=${WORKERS:-12}
mkdir -p "$OUT"
T=$(mktemp -d); mkdir -p "$T/eval"
export PYTHONUNBUFFERED=1
stage() { echo "== $(date +%T) $*"; }

stage gpu
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc | sed 's/^/cpu cores: /'; } \
  | tee "$OUT/gpu.txt"

E="--scenario short_night_fog_town05 --routes 0-4 --seeds 0,1 --executor local --backend embedded --no-plots"
E="$E --device cuda --precision fp32 --workers $WORKERS"

stage "teacher (k=8, steps=4), rgb, oracle_clean"
timeout "${STAGE1_S:-300}" "$PY" -m harness eval $E --variants teacher,rgb,oracle_clean --out "$T/eval/default" \
  > "$T/eval/default.log" 2>&1 || echo "stage 1 rc=$?"
tail -n 12 "$T/eval/default.log" 2>/dev/null | tr '\r' '\n' | tail -n 12

stage "teacher:steps=10"
timeout "${STAGE2_S:-150}" "$PY" -m harness eval $E --variants teacher:steps=10 --out "$T/eval/steps10" \
  > "$T/eval/steps10.log" 2>&1 || echo "stage 2 rc=$?"
tail -n 12 "$T/eval/steps10.log" 2>/dev/null | tr '\r' '\n' | tail -n 12

tar -czf "$OUT/eval.tgz" -C "$T" eval
stage done
