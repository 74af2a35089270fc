# Shared parts of the microcontroller boards (rp2, esp32, xbee3): relay through a Signal,
# PWM level output, debounced button, mains sense, RTC clock, watchdog.
# Pins and timings come from /config.json; defaults live in each board module.
import binascii
import time

import machine

_ZIGBEE_EPOCH_OFFSET = 946684800


class Clock:
    """UTC seconds on the 2000 epoch, whatever epoch the port's time.time() uses."""

    def __init__(self):
        # Ports before MicroPython 1.22 count from 2000; newer ones (and unix) from 1970.
        self.offset = _ZIGBEE_EPOCH_OFFSET if time.gmtime(0)[0] == 1970 else 0

    def utc(self):
        return int(time.time()) - self.offset

    def set_utc(self, value):
        t = time.gmtime(value + self.offset)
        # RTC.datetime: (year, month, day, weekday, hours, minutes, seconds, subseconds)
        machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_us(self):
        return time.ticks_us()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)


class Outputs:
    """The relay driver (active low by default) and a PWM level output."""

    def __init__(self, board, relay_pin, level_pin, active_low=True, pwm_hz=1000,
                 duty_max=65535):
        self.board = board
        # The released level is set before the pin becomes an output: Pin(n, OUT) alone
        # drives the pad's reset value (low) for a moment, i.e. an active-low relay ON.
        # (Between reset and this line the pad is an input: fit a pull-up on the driver.)
        self.relay_signal = machine.Signal(
            machine.Pin(relay_pin, machine.Pin.OUT, value=1 if active_low else 0),
            invert=active_low)
        self.duty_max = duty_max
        self.pwm = None
        if level_pin is not None:
            self.pwm = machine.PWM(machine.Pin(level_pin))
            self.pwm.freq(pwm_hz)
        self.relay = False
        self.level = 0
        self._write_level(0)

    def _write_level(self, level):
        if self.pwm is not None:
            self.pwm.duty_u16(level * self.duty_max // 100)

    def set(self, relay, level):
        if relay == self.relay and level == self.level:
            return
        self.relay_signal.value(1 if relay else 0)
        # With the relay open the level output carries no load: drive it to 0.
        self._write_level(level if relay else 0)
        self.relay = relay
        self.level = level


class Watchdog:
    """machine.WDT, started by main.py once the loop runs (not while the app boots) and fed
    only while every task is on time. MicroPython cannot stop a started WDT; on the RP2040
    and RP2350 `ctrl`, the WATCHDOG CTRL register, has an ENABLE bit (30) that can be
    cleared (datasheet; not tried on a board here), so Ctrl-C leaves no reset race there."""

    def __init__(self, ms, ctrl=None):
        self.ms = ms
        self.ctrl = ctrl
        self.wdt = None

    def start(self):
        if self.wdt is None:
            self.wdt = machine.WDT(timeout=self.ms)

    def feed(self):
        if self.wdt is not None:
            self.wdt.feed()

    def stop(self):
        """True once no watchdog runs. Also at a safe boot after a soft reset, which leaves
        the hardware watchdog of the run before running."""
        if self.ctrl is not None:
            machine.mem32[self.ctrl | 0x3000] = 1 << 30  # the atomic bit-clear alias
            return True
        return self.wdt is None


class Button:
    """A push button to ground with a pull-up; presses debounced in the IRQ handler."""

    debounce_ms = 50

    def __init__(self, pin, on_press):
        self.pin = machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self.on_press = on_press  # called from the IRQ: must only set a flag
        self._last = time.ticks_ms()
        self.pin.irq(self._irq, machine.Pin.IRQ_FALLING)

    def _irq(self, pin):
        now = time.ticks_ms()
        # ticks wrap (2^30 ms on 32-bit ports): a press more than half a period after the
        # last one shows as negative, and must count as long ago, not as a bounce
        d = time.ticks_diff(now, self._last)
        if d < 0 or d >= self.debounce_ms:
            self._last = now
            self.on_press()


def boot_state(board, c):
    """Why the board started ("watchdog" or "power"), whether config "safe_pin" is held low
    (safe boot: main.py leaves the app unstarted), and config "test_hooks" (the console's
    `hang`, for a bench's watchdog tests; off unless set)."""
    board.reset_cause = "watchdog" if machine.reset_cause() == machine.WDT_RESET else "power"
    board.test_hooks = c.get("test_hooks") is True
    pin = c.get("safe_pin")
    board.safe = pin is not None and machine.Pin(
        pin, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0


def mains_present(pin, active_high=True):
    return (pin.value() == 1) == active_high


def board_config(config, defaults):
    """defaults overlaid by the /config.json values."""
    merged = dict(defaults)
    for key in config:
        merged[key] = config[key]
    return merged


def parse_esme(text):
    if not text:
        return None
    raw = binascii.unhexlify(text.replace(":", ""))
    return raw if len(raw) == 8 else None
