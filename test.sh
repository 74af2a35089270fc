#!/usr/bin/env bash
# Quick start, command 2: the tests. Sets up .venv on first use, then runs ruff and pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
