#!/usr/bin/env bash
# Quick start, command 2: the tests. Sets up .venv on first use, then runs the static checks
# (ruff lint and format, mypy) and pytest on every core. Arguments go to pytest, e.g.
#   ./test.sh -m "not slow"     the fast loop: skips the property and power-cut sweeps and
#                               the whole HIL suite runs
#   ./test.sh -n 0 tests/gbcs   one process (for --pdb, or -x in collection order)
# HYPOTHESIS_PROFILE=fast|ci|default picks the Hypothesis profile (tests/conftest.py).
# A failing static check does not stop the tests; the exit status is non-zero all the same.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
failed=()
check() {
  echo "+ $*" >&2
  "$@" || failed+=("$*")
}
check .venv/bin/ruff check .
check .venv/bin/ruff format --check --output-format concise .  # --diff shows the changes
check .venv/bin/mypy --strict gbcs
check .venv/bin/mypy emulator hil tools
if ((${#failed[@]})); then
  printf 'test.sh: static check failed: %s\n' "${failed[@]}" >&2
fi
# Each test file is one xdist work unit, the longest handed out first, one worker per core
# (two per core starved the whole-suite HIL runs, whose boards answer on real timers)
# (tests/conftest.py says why). pytest's summary line stays the last line of the output.
status=0
.venv/bin/python -m pytest -n "$(nproc)" --dist loadfile --no-loadscope-reorder --durations=20 "$@" \
  || status=$?
if ((status == 0 && ${#failed[@]})); then
  status=1
fi
exit "$status"
