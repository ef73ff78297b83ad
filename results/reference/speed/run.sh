#!/usr/bin/env bash
# Speed figures of issue 25 (README, "Speed"). Run from the repository root on a quiet machine:
#   bash results/reference/speed/run.sh [bench|sizes|workers|eval|default|order]   (default: bench sizes workers)
# bench:   bench-sim on fog_town05, this checkout against commit 3f25735, alternating, 5 runs each
#          (each run itself the median of 3 repeats of 400 steps); the old commit is checked out
#          in a git worktree under $BASE_DIR.
# sizes:   bench-sim at 320x160, 640x320 and 1280x640.
# workers: the same small eval (rgb and fusionproxy, routes 0-3, 500 steps each) with 1, 2 and 4
#          workers: route runs per hour.
# eval:    the default make eval of commit 3f25735 (rgb,thermal,oracle_clean on routes 0,2) on both
#          commits, one after the other; wall seconds.
# default: today's default `make eval SCENARIO=fog_town05` (rgb, fusionproxy, oracle_clean on shortest:5),
#          from scratch; wall seconds.
# order:   committed evals' recorded route-run times replayed on 2 and 4 workers, in planned order and in
#          the start order run_jobs uses (longest routes first within a seed); no simulation, seconds.
set -euo pipefail
OUT=results/reference/speed
PY=${PY:-.venv/bin/python}
PYABS=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")  # the venv's python, not the file it links to
BASE=3f25735
BASE_DIR=${BASE_DIR:-/tmp/harness_$BASE}
what=("${@:-bench sizes workers}")
what=(${what[@]})

base_tree() {
  [ -d "$BASE_DIR" ] || git worktree add -f --detach "$BASE_DIR" "$BASE" >/dev/null
}

for w in "${what[@]}"; do
case $w in
bench)
  base_tree
  : > $OUT/bench_sim_alternating.jsonl
  for i in 1 2 3 4 5; do
    for side in base new; do
      dir=.; [ $side = base ] && dir=$BASE_DIR
      (cd $dir && "$PYABS" -m harness bench-sim --scenario fog_town05 --json 2>/dev/null) \
        | "$PYABS" -c "import json,sys; d=json.load(sys.stdin); d['commit']='$side'; print(json.dumps(d))" >> $OUT/bench_sim_alternating.jsonl
    done
  done ;;
sizes)
  : > $OUT/bench_sim_sizes.jsonl
  for size in 320x160 640x320 1280x640; do
    $PY -m harness bench-sim --scenario fog_town05 --size $size --json 2>/dev/null >> $OUT/bench_sim_sizes.jsonl
  done ;;
workers)
  : > $OUT/eval_workers.jsonl
  for n in 1 2 4; do
    rm -rf /tmp/speed_workers_$n
    t0=$(date +%s.%N)
    $PY -m harness eval --scenario fog_town05 --variants rgb,fusionproxy --routes 0-3 --seeds 0 --workers $n \
      --max-steps 500 --out /tmp/speed_workers_$n >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "{\"workers\": $n, \"route_runs\": 8, \"steps_per_run\": 500, \"wall_s\": $(echo "$t1 - $t0" | bc)}" >> $OUT/eval_workers.jsonl
  done ;;
eval)
  base_tree
  : > $OUT/eval_default_3f25735.jsonl
  for side in new base; do
    dir=.; [ $side = base ] && dir=$BASE_DIR
    rm -rf /tmp/speed_eval_$side
    t0=$(date +%s.%N)
    (cd $dir && "$PYABS" -m harness eval --scenario fog_town05 --variants rgb,thermal,oracle_clean --routes 0,2 \
      --workers 2 --out /tmp/speed_eval_$side >/dev/null 2>&1)
    t1=$(date +%s.%N)
    echo "{\"commit\": \"$side\", \"wall_s\": $(echo "$t1 - $t0" | bc)}" >> $OUT/eval_default_3f25735.jsonl
  done ;;
default)
  rm -rf /tmp/speed_default
  t0=$(date +%s.%N)
  make eval SCENARIO=fog_town05 OUT=/tmp/speed_default >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "{\"command\": \"make eval SCENARIO=fog_town05\", \"wall_s\": $(echo "$t1 - $t0" | bc)}" > $OUT/eval_default.jsonl ;;
order)
  : > $OUT/start_order.jsonl
  for run in eval_fog_town05_routes5 eval_fog_town05 fusionproxy/short_night_fog_town05 fusionproxy/night_fog_town05_long \
             zoo_night_fog_town05; do
    for n in 2 4; do
      $PY scripts/replay_start_order.py results/reference/$run --workers $n --json >> $OUT/start_order.jsonl
    done
  done ;;
*) echo "unknown part $w (bench, sizes, workers, eval, default, order)"; exit 2 ;;
esac
done
