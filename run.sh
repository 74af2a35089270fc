#!/usr/bin/env bash
# Quick start, command 1: the main job (the default feeder scenario). Sets up .venv on first
# use, then runs it.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
exec .venv/bin/gbhan emulate "$@"
