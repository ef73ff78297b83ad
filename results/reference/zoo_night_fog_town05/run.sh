#!/usr/bin/env bash
# The fusion zoo in closed loop at night in fog, beside the distilled student: the frozen RGB policy behind rgb,
# thermal, oracle_clean, the classical fusions (gff, laplacian, luma_average, rgb_enhance) and FusionProxy (the
# default s and the m size) on the 10 held-out town05 routes (0-4, 10-14), traffic seeds 0 and 1, two local
# workers. 180 route runs, about 8 core-hours on a 2-core machine (the classical variants stand still for most of
# their steps). Records are kept per route: run it again to continue where it stopped (it reuses every record);
# `--dry-run` in place of nothing says what is left. It calls the module, not `make eval`, so that it can run from
# a git worktree that shares the checkout's .venv.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
SCENARIO=${SCENARIO:-night_fog_town05}  # results/reference/zoo_fog_town05/run.sh runs this with fog_town05
$PY -m harness eval --scenario "$SCENARIO" \
  --variants rgb,thermal,oracle_clean,gff,laplacian,luma_average,rgb_enhance,fusionproxy,fusionproxy:size=m \
  --routes all --seeds 0,1 --workers 2 --executor local --backend embedded \
  --out "results/reference/zoo_$SCENARIO" --resume "$@"
