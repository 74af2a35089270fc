# MicroPython manifest: freezes gbhan's firmware into a MicroPython build for an rp2 or esp32
# board, so its bytecode and names run from flash instead of the heap (docs/firmware.md,
# "A frozen build"). From a MicroPython source tree:
#
#   make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/gbhan/firmware/manifest.py
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/gbhan/firmware/manifest.py
#
# then flash the port's firmware image, and put on the board's filesystem a one-line
# /main.py (`import firmware.main`), /config.json and firmware/switch/labels.txt (a data file:
# frozen modules carry no data files). Not built here: no MicroPython source tree or board
# toolchain in this workplace; the calls below are the manifest API of MicroPython 1.20+.
# `include`, `package` and `module` are given by MicroPython's makemanifest.py.

include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821  the port's own frozen modules (asyncio)

# The whole package: the unix and xbee3 boards' modules freeze too but are never imported
# on rp2/esp32 (main.py picks the board), and an unimported frozen module costs no RAM.
package("firmware", base_path="..", opt=3)  # noqa: F821  opt=3: no asserts or line numbers
