#!/usr/bin/env bash
# The issue-3 figures: the privileged expert and the frozen RGB policy (behind the fusion variants
# rgb, oracle_clean, thermal) on the 10 held-out town05 routes (0-4 and 10-14), traffic seed 0, two
# simulator processes.
# Each line writes <name>.json (the final JSON line of `harness drive --json`) and <name>.log; the route
# records go to results/drive/agents/<name> (a killed row continues where it stopped when run again).
# About 90 minutes on a 2-core machine (routes 10-14 alone: 56 min); pass names to run only those.
# SEED=N (default 0) drives with traffic seed N and writes <name>_seed<N>.json/.log (seed 0: <name>.json).
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=results/reference/agents
SEED=${SEED:-0}
SUFFIX=$([ "$SEED" = 0 ] && echo "" || echo "_seed$SEED")
ONLY=("$@")  # optional: names to run, e.g. policy_clear_rgb
run() {  # name scenario agent [variant]
  if [ ${#ONLY[@]} -gt 0 ] && [[ ! " ${ONLY[*]} " =~ " $1 " ]]; then return; fi
  .venv/bin/python -m harness drive --scenario "$2" --agent "$3" ${4:+--variant "$4"} --routes 0-4,10-14 --seed "$SEED" \
    --workers 2 --out "results/drive/agents/$1$SUFFIX" --resume --json 2> "$OUT/$1$SUFFIX.log" | tail -1 > "$OUT/$1$SUFFIX.json"
}
run expert_clear clear_town05 expert
run policy_clear_rgb clear_town05 rgb_policy rgb
run policy_night_fog_rgb night_fog_town05 rgb_policy rgb
run policy_night_fog_oracle_clean night_fog_town05 rgb_policy oracle_clean
run policy_clear_thermal clear_town05 rgb_policy thermal
# clear noon (sun 70 deg): the light of the privileged clean image, so oracle_clean compares like for like
run expert_clear_noon clear_noon_town05 expert
run policy_clear_noon_rgb clear_noon_town05 rgb_policy rgb
