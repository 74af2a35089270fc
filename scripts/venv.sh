# Sourced by run.sh and test.sh: make .venv and install gbhan with its test extras, at the exact
# versions in constraints.txt, again whenever pyproject.toml or constraints.txt changes (their
# hash is kept in .venv/.gbhan-installed). Upgrading a dependency: pip install -U it in .venv,
# run scripts/freeze-constraints.sh and commit the constraints.txt diff.
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -x .venv/bin/python || "$(cat .venv/.gbhan-installed 2>/dev/null)" != "$want" ]]; then
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "gbhan needs Python >= 3.11" >&2; exit 1; }
  # One installer at a time: test.sh and run.sh may start together on a fresh checkout.
  mkdir -p .venv
  exec {gbhan_venv_lock}>.venv/.gbhan-lock
  if command -v flock >/dev/null 2>&1; then flock "$gbhan_venv_lock"; fi
  if [[ ! -x .venv/bin/python || "$(cat .venv/.gbhan-installed 2>/dev/null)" != "$want" ]]; then
    echo "setting up .venv (one time) ..." >&2
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip >&2
    .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]' >&2
    # MicroPython stubs for type-checking each board's firmware: kept out of the venv because
    # they shadow CPython modules (time, select ...); tests/firmware/test_fw_types.py uses them.
    for port in rp2 esp32 unix; do
      .venv/bin/python -m pip install -q --upgrade -c constraints.txt \
        --target "build/typings/$port" "micropython-$port-stubs" >&2
    done
    echo "$want" > .venv/.gbhan-installed
  fi
  exec {gbhan_venv_lock}>&-
fi
