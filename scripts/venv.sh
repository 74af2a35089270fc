# Sourced by run.sh and test.sh: make .venv and install gbhan with its test extras,
# again whenever pyproject.toml changes (its hash is kept in .venv/.gbhan-installed).
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -x .venv/bin/python || "$(cat .venv/.gbhan-installed 2>/dev/null)" != "$want" ]]; then
  echo "setting up .venv (one time) ..." >&2
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "gbhan needs Python >= 3.11" >&2; exit 1; }
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e '.[test]' >&2
  # MicroPython stubs for type-checking each board's firmware: kept out of the venv because
  # they shadow CPython modules (time, select ...); tests/firmware/test_fw_types.py uses them.
  for port in rp2 esp32 unix; do
    .venv/bin/python -m pip install -q --target "build/typings/$port" "micropython-$port-stubs" >&2
  done
  echo "$want" > .venv/.gbhan-installed
fi
