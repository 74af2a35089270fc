# Runs on the MicroPython unix port: builds the rp2 or esp32 board (firmware/hal) on a
# recording stand-in for `machine` (the unix port has no Pin, PWM, UART or WDT) and prints,
# as JSON, every pin, PWM, UART and WDT operation in order. Usage: boot_relay_driver.py
# rp2|esp32 '<config json>'. The test (test_fw_boot_relay.py) holds the order to account.
import json
import sys

import machine as real

log = []


class Pin(real.PinBase):
    IN, OUT, PULL_UP, IRQ_FALLING, IRQ_RISING = 0, 1, 1, 4, 8

    def __init__(self, n, mode=-1, pull=-1, value=None):
        self.n = n
        self.v = value
        log.append(["pin", n, mode, value])

    def value(self, v=None):
        if v is None:
            return 1 if self.v is None else self.v
        self.v = 1 if v else 0
        log.append(["set", self.n, self.v])

    def irq(self, handler=None, trigger=0):
        log.append(["irq", self.n])


class PWM:
    def __init__(self, pin):
        log.append(["pwm", pin.n])

    def freq(self, hz):
        pass

    def duty_u16(self, duty):
        log.append(["duty", duty])


class UART:
    def __init__(self, *args, **kw):
        log.append(["uart", args[0]])

    def read(self, n=-1):
        return None

    def write(self, data):
        return len(data)


class WDT:
    def __init__(self, timeout=0):
        log.append(["wdt", timeout])

    def feed(self):
        pass


class Mem32:
    def __setitem__(self, address, value):
        log.append(["mem32", address, value])


class machine:
    mem32 = Mem32()
    Pin = Pin
    Signal = real.Signal
    PWM = PWM
    UART = UART
    WDT = WDT
    WDT_RESET = 3

    @staticmethod
    def reset_cause():
        return 1


sys.modules["machine"] = machine

name, config = sys.argv[1], json.loads(sys.argv[2])
if name == "rp2":
    from firmware.hal.rp2 import Board
else:
    from firmware.hal.esp32 import Board
board = Board(config)
log.append(["built", board.reset_cause, board.safe, board.test_hooks])
board.watchdog.start()
log.append(["stopped", board.watchdog.stop()])
print(json.dumps(log))
