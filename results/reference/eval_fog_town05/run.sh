#!/usr/bin/env bash
# The issue-4 reference evaluation: the frozen RGB policy behind rgb, thermal and oracle_clean on
# fog_town05 routes 0-2, seed 0, two local workers (about 6 min on this 2-core machine). The records
# are committed, so as it is this only rewrites the outputs; delete records/ to run again from scratch.
set -euo pipefail
cd "$(dirname "$0")/../../.."
make eval SCENARIO=fog_town05 ROUTES=0-2 OUT=results/reference/eval_fog_town05
