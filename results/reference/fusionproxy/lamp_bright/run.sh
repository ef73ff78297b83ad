#!/usr/bin/env bash
# The lamp rule with a brightness floor of 0.7 (fusionproxy:lamps=camera,lamp_bright=0.7) against the default rule
# (lamp_bright=0.45) on the ten held-out night_fog_town05 routes, seeds 0 and 1, 2 workers (about 45 min on 2 cores).
# Why: scripts/lamp_separability.py found the default rule also pastes about 51 pixels a frame on facades away from any
# light at night in fog, and a floor of 0.7 keeps the same lit lamps (91 %) with 0.14 such pixels a frame. The records
# of rgb, oracle_clean, the student and the default rule are taken from ../night_fog_town05_long and ../lamp_pass with
# --reuse (same keys: copied, not driven again). Extra arguments go to eval.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-results/reference/fusionproxy/lamp_bright}/night_fog_town05_long
$PY -m harness eval --scenario night_fog_town05 \
  --variants "rgb,oracle_clean,fusionproxy,fusionproxy:lamps=camera,fusionproxy:lamps=camera,lamp_bright=0.7" \
  --routes all --seeds 0,1 --workers 2 --executor local --backend embedded --out "$OUT" --resume \
  --reuse results/reference/fusionproxy/night_fog_town05_long \
  --reuse results/reference/fusionproxy/lamp_pass/night_fog_town05_long "$@"
$PY -m harness compare --out "$OUT" --base fusionproxy:lamps=camera --json > "$OUT/compare_default_rule.json"
