#!/usr/bin/env bash
# Choosing between trained policies by driving: each candidate's weights on town05 routes 15-19 at
# clear noon (select_clear_noon_town05: routes no training data comes from and that are not
# evaluation routes), traffic seeds 0 and 1, two simulator processes; about 5 min per seed here.
# Usage: run.sh PERCEPTION_PT_OR_FOLDER...   writes weights_<first 8 hex digits of its hash>_seed<N>.json
# (2026-11-27: seed 0 and the previous weights' seed 1 were driven with a scenario file that differed
# from select_clear_noon_town05.yaml only in its name and absolute paths, so those JSON files name it
# "val15"; weights_1dc80c5a_seed1.json was driven with select_clear_noon_town05 itself.)
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=results/reference/select_clear_noon_town05
for w in "$@"; do
  f=$([ -d "$w" ] && echo "$w/perception.pt" || echo "$w")
  h=$(sha256sum "$f" | cut -c1-8)
  for seed in 0 1; do
    .venv/bin/python -m harness drive --scenario select_clear_noon_town05 --routes all --seed "$seed" --checkpoint "$w" \
      --workers 2 --json | tail -1 > "$OUT/weights_${h}_seed$seed.json"
  done
done
