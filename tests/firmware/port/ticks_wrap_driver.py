# Runs on the MicroPython unix port: the boards' own timing code (firmware/hal) against a
# stand-in `time` whose ticks_ms wraps at 2^30 ms as on rp2, esp32 and the XBee 3, and
# stand-ins for `machine` and Digi's `xbee` (which the unix port lacks). Prints one JSON line
# of what each part did; test_fw_ticks_wrap.py holds it to account. Usage:
# ticks_wrap_driver.py button|xbee3-button|xbee3-clock < json list of ms steps (on stdin: the
# port makes each argument a qstr, and a long one is fatal)
import json
import sys

import machine as real

PERIOD = 1 << 30  # the ports' TICKS_PERIOD
HALF = PERIOD >> 1
wall = [0]  # ms since the driver started; ticks_ms is this modulo the period


class time:
    @staticmethod
    def ticks_ms():
        return wall[0] % PERIOD

    @staticmethod
    def ticks_diff(a, b):
        return ((a - b + HALF) % PERIOD) - HALF

    @staticmethod
    def ticks_add(a, b):
        return (a + b) % PERIOD

    @staticmethod
    def ticks_us():
        return (wall[0] * 1000) % PERIOD

    @staticmethod
    def gmtime(t=0):
        return (2000, 1, 1, 0, 0, 0, 5, 1)

    @staticmethod
    def time():
        return 0


class Pin(real.PinBase):
    IN, OUT, PULL_UP, IRQ_FALLING, IRQ_RISING = 0, 1, 1, 4, 8
    level = {}  # pin -> level the driver sets

    def __init__(self, n, mode=-1, pull=-1, value=None):
        self.n = n
        self.handler = None

    def value(self, v=None):
        return Pin.level.get(self.n, 1)

    def irq(self, handler=None, trigger=0):
        self.handler = handler


class machine:
    Pin = Pin


class xbee:
    pass


sys.modules["time"] = time
sys.modules["machine"] = machine
sys.modules["xbee"] = xbee

part, steps = sys.argv[1], json.loads(sys.stdin.read())
out = []
if part == "button":
    # Presses on the IRQ, each `step` ms after the one before (starting just before the
    # wrap): which ones count as presses, which as bounces?
    from firmware.hal.mcu import Button

    wall[0] = PERIOD - 20
    pressed = []
    button = Button(2, lambda: pressed.append(wall[0]))
    for step in steps:
        wall[0] += step
        before = len(pressed)
        button.pin.handler(button.pin)
        out.append(len(pressed) > before)
elif part == "xbee3-button":
    # The XBee 3's polled button: the pin goes low (pressed) and high again at each step.
    from firmware.hal import xbee3

    class App:
        presses = 0

        def press_boost(self):
            App.presses += 1

        def set_mains(self, on):
            pass

    class Pins:  # the board's button state only: its constructor wants the radio
        pass

    board = Pins()
    board.boost_pin, board.mains_pin = Pin("D2"), Pin("D3")
    board._boost_level, board._boost_since = 1, time.ticks_ms()
    app = App()
    wall[0] = PERIOD - 20
    for step in steps:
        wall[0] += step
        Pin.level["D2"] = 0
        before = App.presses
        xbee3.Board._poll_pins(board, app)
        wall[0] += step
        Pin.level["D2"] = 1
        xbee3.Board._poll_pins(board, app)
        out.append(App.presses > before)
elif part == "xbee3-clock":
    # The software clock set a little before the wrap, read after each step: UTC seconds.
    from firmware.hal.xbee3 import Clock

    wall[0] = PERIOD - 1500
    clock = Clock()
    clock.set_utc(800000000)
    for step in steps:
        wall[0] += step
        out.append(clock.utc())
print(json.dumps(out))
