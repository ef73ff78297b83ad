#!/usr/bin/env bash
# FusionProxy's GPU speed figures, as one prepared run (issue 23): 640x512, batch 1, on the first CUDA
# device (DEVICE, SIZE override). Later arguments win: --size/--batch after the defaults. Writes one JSON line per configuration to $OUT/gpu_bench.jsonl (default results/gpu_bench).
# Each configuration has RUN_S seconds (default 300; torch.compile's autotuning takes minutes).
# Usage: bash scripts/gpu_bench.sh   (after `make setup`; onnxruntime-gpu and tensorrt are optional)
set -uo pipefail
OUT=${OUT:-results/gpu_bench}
mkdir -p "$OUT"
PY=${PY:-.venv/bin/python}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
run() { timeout "${RUN_S:-300}" "$PY" -m fusion bench --json --size ${SIZE:-640x512} --batch 1 --device ${DEVICE:-cuda} --repeats 500 --warmup 50 "$@" \
          2> >(tail -n 2 >&2) | tail -n 1 | tee -a "$OUT/gpu_bench.jsonl"; }
: > "$OUT/gpu_bench.jsonl"
run --variant fusionproxy --precision fp16 --cuda-graphs
run --variant fusionproxy --precision fp16
run --variant fusionproxy --precision fp32
run --variant fusionproxy:lamps=camera --precision fp16 --cuda-graphs
run --variant fusionproxy --precision fp16 --cuda-graphs --size 320x160
run --variant fusionproxy --precision fp16 --cuda-graphs --batch 8
# kernel fusion, for the 10,000 frames/s at batch 1 (the plain graph replays a kernel or more for each of the
# student's 62 operators, each tiny at this size): NHWC, then
# torch.compile (its own Triton kernels inside our graph; then its own graphs); each line gives its output's largest
# difference to the plain module's
run --variant fusionproxy --precision fp16 --cuda-graphs --channels-last
run --variant fusionproxy --precision fp16 --cuda-graphs --compile max-autotune-no-cudagraphs
run --variant fusionproxy --precision fp16 --cuda-graphs --compile max-autotune-no-cudagraphs --channels-last
run --variant fusionproxy --precision fp16 --compile reduce-overhead
for s in xs m; do [ -f "fusion/student/weights/fusionproxy_$s.pt" ] && run --variant "fusionproxy:size=$s" --precision fp16 --cuda-graphs; done
run --variant fusionproxy --precision fp16 --runtime tensorrt || echo '{"runtime": "tensorrt", "skipped": "tensorrt did not import or build"}' | tee -a "$OUT/gpu_bench.jsonl"
run --variant gff --precision fp16
run --variant teacher --precision fp16 --repeats 30 --warmup 3
run --variant teacher --precision fp16 --repeats 30 --warmup 3 --size 320x160
echo "figures in $OUT/gpu_bench.jsonl"
