#!/usr/bin/env bash
# The committed phantoms.json: what the frozen policy's network marks that is not there, per weather, on
# the selection routes' expert frames (agents/rgb_policy/phantoms.py; about 4 min the first time, frames
# cached in data/phantoms). Pass weights files or folders to measure other weights beside the committed ones.
set -euo pipefail
cd "$(dirname "$0")/../../.."
.venv/bin/python -m agents.rgb_policy.phantoms "$@" --json results/reference/phantoms/phantoms.json
