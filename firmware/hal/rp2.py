# Raspberry Pi Pico W (RP2040): relay on GP15 (active low driver), PWM level on GP16,
# boost button on GP14 (to ground), mains sense on GP13 (high = mains present, from a
# supply monitor), radio UART0 on GP0/GP1 to an XBee 3 in API mode 2 at 115200 baud (with
# "flow": true in /config.json, RTS/CTS on GP3/GP2 to the XBee's RTS/CTS, DIO6/DIO7),
# console on USB CDC (the REPL's stdin/stdout), littlefs flash at /, hardware watchdog.
import sys

import asyncio
import machine

from firmware.hal.mcu import (Button, Clock, Outputs, Watchdog, board_config, boot_state,
                              mains_present, parse_esme)

DEFAULTS = {
    "role": "hcalcs", "esme": None, "strict_labels": True, "label": None,
    "relay_pin": 15, "relay_active_low": True, "level_pin": 16, "boost_pin": 14,
    "mains_pin": 13, "uart": 0, "uart_tx": 0, "uart_rx": 1, "baud": 115200,
    "flow": False, "uart_cts": 2, "uart_rts": 3,  # UART0's CTS/RTS pins; wire them, set flow
    "state_dir": "/state", "watchdog_ms": 8000,  # the RP2040 allows at most 8388 ms
}


class Board:
    name = "rp2"

    def __init__(self, config):
        c = board_config(config, DEFAULTS)
        # The relay first: released before anything else on the board is touched.
        self.outputs = Outputs(self, c["relay_pin"], c["level_pin"], c["relay_active_low"])
        boot_state(self, c)
        self.role = c["role"]
        self.esme = parse_esme(c["esme"])
        self.strict_labels = c["strict_labels"]
        self.initial_label = c["label"]
        self.storage_root = c["state_dir"]
        self.clock = Clock()
        self.watch = False
        self.app = None
        tx, rx = machine.Pin(c["uart_tx"]), machine.Pin(c["uart_rx"])
        if c["flow"]:  # RTS/CTS to the XBee: it pauses while a flash erase has interrupts off
            uart = machine.UART(c["uart"], baudrate=c["baud"], tx=tx, rx=rx, rxbuf=1024,
                                timeout=0, cts=machine.Pin(c["uart_cts"]),
                                rts=machine.Pin(c["uart_rts"]),
                                flow=machine.UART.CTS | machine.UART.RTS)
        else:
            uart = machine.UART(c["uart"], baudrate=c["baud"], tx=tx, rx=rx, rxbuf=1024,
                                timeout=0)
        self.uart = uart
        self.baud = c["baud"]
        self.flow = c["flow"]
        from firmware.lib.radio_app import Tap  # after the relay: see main.py
        self.radio_reader = Tap(asyncio.StreamReader(uart))
        self.radio_writer = asyncio.StreamWriter(uart, {})
        self.console_reader = asyncio.StreamReader(sys.stdin)
        self.console_writer = asyncio.StreamWriter(sys.stdout, {})
        self._boost = asyncio.ThreadSafeFlag()
        self._mains = asyncio.ThreadSafeFlag()
        self.button = Button(c["boost_pin"], self._boost.set)
        self.mains_pin = machine.Pin(c["mains_pin"], machine.Pin.IN)
        self.mains_pin.irq(lambda pin: self._mains.set(),
                           machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING)
        # WATCHDOG CTRL: RP2040 at 0x40058000, RP2350 at 0x400D8000 (their datasheets)
        self.watchdog = Watchdog(c["watchdog_ms"], 0x400D8000 if "RP2350" in getattr(
            sys.implementation, "_machine", "") else 0x40058000)

    def output_changed(self, outputs):
        pass

    async def _boost_task(self, app):
        while True:
            await self._boost.wait()
            app.press_boost()

    async def _mains_task(self, app):
        app.set_mains(mains_present(self.mains_pin))
        while True:
            await self._mains.wait()
            app.set_mains(mains_present(self.mains_pin))

    def tasks(self, app):
        # The radio bring-up checks what a switch needs; with flow control wired, also that
        # the XBee honours our RTS (D6=1) and drives CTS (D7=1).
        spec = b"AP\x02AO\x01EE\x01EO\x02ZS\x02" + (b"D6\x01D7\x01" if self.flow else b"")
        from firmware.lib.radio_app import bring_up
        return (self._boost_task(app), self._mains_task(app), bring_up(app, self, spec))

    def set_baud(self, baud):
        """The radio UART's speed (the bring-up looks for a radio at the factory 9600)."""
        self.uart.init(baudrate=baud)

    def reset(self, code=3):
        machine.reset()
