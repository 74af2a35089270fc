# Runs on the MicroPython unix port (bench/firmware_wear.py starts it): the switch app on a
# littlefs image with the Pico's flash geometry, held in RAM by a block device that counts
# erases per block (firmware/hal/flashcount.py, which the unix board uses too). Prints one
# JSON line of figures.
#
# argv: role, commands, warmup, flood_frames, flood_rate (frames/s), command_gap_s
import json
import sys

import vfs

from firmware.hal.flashcount import BLOCKS, PROG, CountingFlash
from firmware.lib import xbee_radio
from firmware.lib.eventlog import EventLog
from firmware.lib.storage import Store
from firmware.switch.app import Config, SwitchApp

ESME = bytes.fromhex("00124b0001a2b3c4")
STRANGER = bytes.fromhex("00124b0001ffee01")


class SimClock:
    """Simulated time: the bench moves it; the app reads it as the board clock."""

    def __init__(self):
        self.ms = 0
        self.base = 800000000  # ZigBee UTC seconds, 2025

    def utc(self):
        return self.base + self.ms // 1000

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        return a - b


class Outputs:
    def __init__(self):
        self.relay = False
        self.level = 0

    def set(self, relay, level):
        self.relay = relay
        self.level = level


def frame(src, cluster, zcl, options=0x21):
    return xbee_radio.rx_explicit(src, 0, 1, 1, cluster, 0x0109, options, zcl)


def advance(app, clock, ms, step=100):
    """Let simulated time pass with the board's tick running every `step` ms."""
    end = clock.ms + ms
    while clock.ms < end:
        clock.ms += step
        app.tick()
        app.tx_queue.clear()


def main():
    role, commands, warmup, flood, rate, gap = sys.argv[1:7]
    commands, warmup, flood, rate, gap = int(commands), int(warmup), int(flood), int(rate), int(gap)
    flash = CountingFlash(BLOCKS)
    vfs.VfsLfs2.mkfs(flash, progsize=PROG)
    vfs.mount(vfs.VfsLfs2(flash, progsize=PROG), "/flash")
    clock = SimClock()
    root = "/flash/state"
    store = Store(root)
    log = EventLog(root + "/log", clock.utc, clock)
    app = SwitchApp(Config(role, ESME, False, ()), store, log, clock, Outputs())
    app.start()
    app.set_label("Electric Vehicle Charger")
    tsn = 0

    def command(on):
        nonlocal tsn
        tsn = (tsn + 1) & 0xFF
        app.on_frame(frame(ESME, 0x0006, bytes((0x01, tsn, 0x01 if on else 0x00))))
        app.tx_queue.clear()

    for i in range(warmup):
        command(i % 2 == 0)
        advance(app, clock, gap * 1000, 1000)
    first = flash.total()
    programs = flash.programs
    for i in range(commands):
        command(i % 2 == 1)
        advance(app, clock, gap * 1000, 1000)
    per_command = (flash.total() - first) / commands
    programs_per_command = (flash.programs - programs) / commands

    # The flood: bad frames (a stranger's On) at `rate` per second, the tick running.
    advance(app, clock, 120000, 1000)
    first = flash.total()
    step = 1000 // rate
    bad = frame(STRANGER, 0x0006, b"\x01\x00\x01")
    for i in range(flood):
        app.on_frame(bad)
        clock.ms += step
        if i % rate == 0:
            app.tick()
        app.tx_queue.clear()
    advance(app, clock, 120000, 1000)
    per_rejected = (flash.total() - first) / flood
    log.close()
    vfs.umount("/flash")

    # The reference, same flash and geometry: one 96-byte record written in place into a
    # 12 KB file, as the fixed-slot log did for every entry.
    vfs.mount(vfs.VfsLfs2(flash, progsize=PROG), "/flash")
    f = open("/flash/ref.bin", "wb")
    f.write(b"\x00" * 12288)
    f.close()
    first = flash.total()
    f = open("/flash/ref.bin", "r+b")
    for i in range(100):
        f.seek((i % 128) * 96)
        f.write(b"\x01" * 96)
        f.flush()
    f.close()
    ref = (flash.total() - first) / 100
    vfs.umount("/flash")
    print(
        json.dumps(
            {
                "erases_per_command": per_command,
                "programs_per_command": programs_per_command,
                "erases_per_rejected_frame": per_rejected,
                "reference_erases_per_in_place_record": ref,
                "rejected_counted": app.rejected_total,
                "max_block_erases": max(flash.erases),
                "total_erases": flash.total(),
            }
        )
    )


main()
