# The heap the switch takes once booted, the same script on any port: its modules (the .mpy
# tree) and a started SwitchApp on a clock and outputs that do nothing. bench/heap32/run_wasm.mjs
# runs it on the wasm32 port; the unix port runs it directly (docs/firmware.md, Memory).
# ruff: noqa: E402  (the imports are what is measured: they come after the first reading)
import gc
import sys

gc.collect()
base = gc.mem_alloc()
import asyncio  # noqa: F401  (the firmware's loop)

gc.collect()
after_asyncio = gc.mem_alloc()
from firmware.lib import drlc, eventlog, radio_app, storage, xbee, zcl  # noqa: F401
from firmware.lib.eventlog import EventLog
from firmware.lib.storage import Store
from firmware.switch import console, labels, state  # noqa: F401
from firmware.switch.app import Config, SwitchApp
from firmware.switch.labels import load_vocabulary


class Clock:
    def utc(self):
        return 850000000

    def ticks_ms(self):
        return 0

    def ticks_us(self):
        return 0

    def ticks_diff(self, a, b):
        return a - b


class Outputs:
    def set(self, relay, level):
        pass


root = getattr(sys, "argv", ["m", "/fw"])[1:2] or ["/fw"]
root = root[0]
clock = Clock()
vocabulary = load_vocabulary(root + "/firmware/switch/labels.txt")
app = SwitchApp(
    Config("hcalcs", b"\x00\x12\x4b\x00\x01\xa2\xb3\xc4", True, vocabulary),
    Store(root + "/state"),
    EventLog(root + "/state/log", clock.utc, clock),
    clock,
    Outputs(),
)
app.start()
gc.collect()
import micropython

print("asyncio", after_asyncio - base, "firmware", gc.mem_alloc() - after_asyncio)
micropython.qstr_info()
