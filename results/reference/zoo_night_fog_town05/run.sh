#!/usr/bin/env bash
# The fusion zoo in closed loop at night in fog: the frozen RGB policy behind rgb, thermal, oracle_clean and
# the classical fusions (gff, laplacian, luma_average, rgb_enhance) on the 10 held-out town05 routes
# (0-4, 10-14), traffic seeds 0 and 1, two local workers. 140 route runs, about 7 core-hours on a 2-core
# machine (the classical variants stand still for most of their steps). Records are kept per route: run it
# again to continue where it stopped (it reuses every record).
set -euo pipefail
cd "$(dirname "$0")/../../.."
make eval SCENARIO=night_fog_town05 VARIANTS=rgb,thermal,oracle_clean,gff,laplacian,luma_average,rgb_enhance \
  ROUTES=all SEEDS=0,1 WORKERS=2 OUT=results/reference/zoo_night_fog_town05
