#!/usr/bin/env bash
# make eval's five default routes of fog_town05 (shortest:5: routes 0, 2, 10, 11, 12; seed 0) with all five
# comparison variants: rgb, thermal, gff, fusionproxy (s), oracle_clean. 42 min 20 s on this 2-core machine
# (2026-12-02, alone). The records are committed: as it is this only rewrites the report; delete
# records/ to drive again.
set -euo pipefail
cd "$(dirname "$0")/../../.."
make eval SCENARIO=fog_town05 VARIANTS=rgb,thermal,gff,fusionproxy,oracle_clean OUT=results/reference/eval_fog_town05_routes5
