#!/usr/bin/env bash
# FusionProxy's headline closed loop (issue 23): the frozen RGB policy behind rgb, oracle_clean and the default
# student on the ten held-out night_fog_town05 routes (0-4, 10-14), traffic seeds 0 and 1, two local workers.
# 60 route runs, about 2 h on the 2-core machine. The same route runs are part of the zoo's matrix
# (results/reference/zoo_night_fog_town05, same keys): copying its records in first makes this a report-only run.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
PY=${PY:-.venv/bin/python}
$PY -m harness eval --scenario night_fog_town05 --variants rgb,oracle_clean,fusionproxy --routes all --seeds 0,1 \
  --workers 2 --executor local --backend embedded --out results/reference/fusionproxy/night_fog_town05_long --resume "$@"
