#!/usr/bin/env bash
# Everything this project measures on a GPU machine, as one prepared run (issues 23 and 25):
#   1. the fusion modules' speed on CUDA (scripts/gpu_bench.sh: FP16, FP32, CUDA graphs, 640x512 and 320x160);
#   2. the embedded simulator on the NVIDIA EGL device (bench-sim at three sizes, and with the privileged views);
#   3. the CUDA tests (pytest -m gpu);
#   4. the same frames rendered there as PNGs (compare them with a CPU render: scripts/compare_renders.py);
#   5. a closed-loop check: short_night_fog_town05 route 0, seed 0, fusion on CUDA and on the CPU, and the full teacher
#      (k=8, steps=10), which is too slow to drive on a CPU; compare the scores with the committed CPU records.
# Writes at most eight files into $OUT (default results/gpu_checks): gpu.txt, gpu_bench.jsonl, sim.jsonl,
# pytest.log, renders.tgz, eval.tgz, all.log. Each stage has its own time limit, so one that breaks or hangs
# costs its own minutes only. Usage: bash scripts/gpu_checks.sh (after `make setup`, or with PY and PYTHONPATH
# pointing at an environment that has the project's dependencies).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/gpu_checks}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
T=$(mktemp -d)
export PYTHONUNBUFFERED=1
stage() { echo "== $(date +%T) $*"; }

stage fusion bench
OUT="$OUT" PY="$PY" timeout 300 bash scripts/gpu_bench.sh   # writes gpu.txt (nvidia-smi's line) and gpu_bench.jsonl
nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/gpu.txt"

stage bench-sim
: > "$OUT/sim.jsonl"
for args in "--size 320x160" "--size 320x160 --privileged" "--size 640x320" "--size 1280x640"; do
  timeout 120 "$PY" -m harness bench-sim --scenario fog_town05 --repeats 5 --steps 200 --json $args 2>/dev/null \
    | tail -n 1 | tee -a "$OUT/sim.jsonl"
done

stage tests
timeout 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/fusion > "$OUT/pytest.log" 2>&1; echo "pytest rc=$?"
tail -n 3 "$OUT/pytest.log"

stage renders
for sc in fog_town05 night_fog_town05 clear_town05; do
  timeout 120 "$PY" -m harness render --scenario "$sc" --step 100 --seed 0 --out "$T/renders/$sc" \
    --variants rgb,thermal,fusionproxy,oracle_clean --json 2>/dev/null | tail -n 1
done
tar -czf "$OUT/renders.tgz" -C "$T" renders

stage closed loop
# fusion on CUDA (and the full teacher), then the student with fusion on the CPU: rendering is the GPU's in both. One
# eval at a time: two at once oversubscribe the cores (each sizes its torch threads for an otherwise idle machine),
# the likely reason (not measured) the first run's teacher route did not finish.
E="--scenario short_night_fog_town05 --routes 0 --seeds 0 --executor local --backend embedded --no-plots --route-timeout 300"
timeout 330 "$PY" -m harness eval $E --variants fusionproxy,fusionproxy:lamps=camera,oracle_clean,teacher \
  --device cuda --workers 4 --out "$T/eval/cuda" > "$T/eval_cuda.log" 2>&1
timeout 200 "$PY" -m harness eval $E --variants fusionproxy --device cpu --workers 1 --out "$T/eval/cpu" \
  > "$T/eval_cpu.log" 2>&1
tail -n 5 "$T/eval_cuda.log" "$T/eval_cpu.log"
cp "$T"/eval_*.log "$T/eval/" 2>/dev/null
tar -czf "$OUT/eval.tgz" -C "$T" eval
stage done
