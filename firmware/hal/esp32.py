# ESP32 (e.g. ESP32-DevKitC): relay on GPIO26 (active low driver), PWM level on GPIO25,
# boost button on GPIO27 (to ground), mains sense on GPIO34 (input-only pin, high = mains
# present), radio UART2 on GPIO17 (TX) / GPIO16 (RX) to an XBee 3 in API mode 2, console on
# the USB-UART REPL, littlefs flash at /, hardware watchdog.
import sys

import asyncio
import machine

from firmware.hal.mcu import (Button, Clock, Outputs, Watchdog, board_config, boot_state,
                              mains_present, parse_esme)

DEFAULTS = {
    "role": "hcalcs", "esme": None, "strict_labels": True, "label": None,
    "relay_pin": 26, "relay_active_low": True, "level_pin": 25, "boost_pin": 27,
    "mains_pin": 34, "uart": 2, "uart_tx": 17, "uart_rx": 16, "baud": 115200,
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
        uart = machine.UART(c["uart"], baudrate=c["baud"], tx=c["uart_tx"], rx=c["uart_rx"],
                            rxbuf=1024, timeout=0)
        self.radio_reader = asyncio.StreamReader(uart)
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
        return (self._boost_task(app), self._mains_task(app))

    def reset(self, code=3):
        machine.reset()
