# ESP32 (e.g. ESP32-DevKitC): relay on GPIO26 (active low driver), PWM level on GPIO25,
# boost button on GPIO27 (to ground), mains sense on GPIO34 (input-only pin, high = mains
# present), radio UART2 on GPIO32 (TX) / GPIO33 (RX) to an XBee 3 in API mode 2 (not
# GPIO16/17, UART2's usual pins: WROVER modules give them to PSRAM), with "flow": true RTS on
# GPIO18 and CTS on GPIO35 (input-only) to the XBee's RTS/CTS (DIO6/DIO7); console on the
# USB-UART REPL, littlefs flash at /, hardware watchdog. Every pin is free on a DevKitC with
# a WROOM or a WROVER module, and /config.json overrides any of them.
import sys

import asyncio
import machine

from firmware.hal.mcu import (Button, Clock, Outputs, Watchdog, board_config, boot_state,
                              mains_present, parse_esme)

DEFAULTS = {
    "role": "hcalcs", "esme": None, "strict_labels": True, "label": None,
    "relay_pin": 26, "relay_active_low": True, "level_pin": 25, "boost_pin": 27,
    "mains_pin": 34, "uart": 2, "uart_tx": 32, "uart_rx": 33, "baud": 115200,
    "flow": False, "uart_rts": 18, "uart_cts": 35,  # wire them, then set flow
    "state_dir": "/state", "watchdog_ms": 8000,
}


class Board:
    name = "esp32"

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
        if c["flow"]:  # RTS/CTS to the XBee: it pauses while a flash write stalls us
            uart = machine.UART(c["uart"], baudrate=c["baud"], tx=c["uart_tx"],
                                rx=c["uart_rx"], rxbuf=1024, timeout=0, cts=c["uart_cts"],
                                rts=c["uart_rts"], flow=machine.UART.CTS | machine.UART.RTS)
        else:
            uart = machine.UART(c["uart"], baudrate=c["baud"], tx=c["uart_tx"],
                                rx=c["uart_rx"], rxbuf=1024, timeout=0)
        self.uart = uart
        self.baud = c["baud"]
        self.flow = c["flow"]
        from firmware.lib.radio_app import Tap  # after the relay: see main.py
        self.radio_reader = Tap(asyncio.StreamReader(uart))
        self.radio_writer = asyncio.StreamWriter(uart, {})
        self.console_reader = asyncio.StreamReader(sys.stdin)
        self.console_writer = asyncio.StreamWriter(sys.stdout, {})
        self._boost = asyncio.ThreadSafeFlag()
        self.button = Button(c["boost_pin"], self._boost.set)
        self.mains_pin = machine.Pin(c["mains_pin"], machine.Pin.IN)
        self.watchdog = Watchdog(c["watchdog_ms"])  # cannot be stopped once started

    def output_changed(self, outputs):
        pass

    async def _boost_task(self, app):
        while True:
            await self._boost.wait()
            app.press_boost()

    async def _mains_task(self, app):
        # GPIO34-39 have no pull resistors and share an IRQ quirk on some revisions: poll.
        while True:
            app.set_mains(mains_present(self.mains_pin))
            await asyncio.sleep_ms(20)

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
