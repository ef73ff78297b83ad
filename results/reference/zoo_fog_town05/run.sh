#!/usr/bin/env bash
# The fusion zoo in closed loop in daytime fog (50 m): the night-fog matrix's script (same nine variants, the ten
# held-out town05 routes, seeds 0 and 1, two workers) with fog_town05; records are kept per route, it resumes.
set -euo pipefail
SCENARIO=fog_town05 exec bash "$(dirname "$0")/../zoo_night_fog_town05/run.sh" "$@"
