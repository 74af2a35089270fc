# The unix board: the firmware on the MicroPython unix port, behind pseudo-terminals.
#
# Radio UART and console are pty ends: either inherited fds the parent made non-blocking
# (--radio-fd / --console-fd) or tty paths we open raw with VMIN=0 (--radio / --console), so
# a read returns what is there and never stalls the event loop. The relay is a PinBase pin
# behind machine.Signal (as an active-low relay driver on a real board); the boost button and
# mains sense are console commands; the flash is a folder (--state-dir). Killing the process
# is a power cut.
import sys
import time

import machine

from firmware.lib.radio_app import Tap, bring_up

_ZIGBEE_EPOCH_OFFSET = 946684800
_VMIN = 6
_VTIME = 5


class Clock:
    """Host time; or an RTC that runs from a set value (`--rtc <unix-seconds>`: a Pico's RTC
    restarts at 2021-01-01 at power-up; the meter's time sets it); or simulated time, frozen,
    once the console sets it (`clock <unix-seconds>`, `--clock`)."""

    def __init__(self):
        self.simulated = None
        self.skew_ms = 0  # `advance <ms>` moves the board's ticks (not asyncio's) forward
        self._rtc = None  # (ZigBee seconds, ticks_ms then) of the running RTC
        self.wrap = None  # --ticks-wrap: offset into a 2^30 ms tick period, as on rp2/esp32

    def utc(self):
        if self.simulated is not None:
            return self.simulated
        if self._rtc is not None:
            return self._rtc[0] + self.ticks_diff(self.ticks_ms(), self._rtc[1]) // 1000
        return int(time.time()) - _ZIGBEE_EPOCH_OFFSET

    def set_utc(self, value):
        """Set the RTC (the meter's time): it runs on, unless the clock is simulated."""
        if self.simulated is not None:
            self.simulated = value
        else:
            self._rtc = (value, self.ticks_ms())

    def freeze(self, value):
        """Simulated time: stands still until set again (the console's `clock`)."""
        self.simulated = value

    def ticks_ms(self):
        t = time.ticks_add(time.ticks_ms(), self.skew_ms)
        if self.wrap is None:
            return t
        return (t + self.wrap) & 0x3FFFFFFF  # a 32-bit port's 2^30 ms period

    def ticks_diff(self, a, b):
        if self.wrap is None:
            return time.ticks_diff(a, b)
        return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000

    def advance(self, ms):
        """Time passes for the app's timers at once (a test skips the minute a rule waits)."""
        self.skew_ms += ms

    def ticks_us(self):
        return time.ticks_us()



class _DriverPin(machine.PinBase):
    """A GPIO that only remembers its level: the relay driver's input."""

    def __init__(self):
        self.level = 1  # active-low driver: high = relay released (open)

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0


class Outputs:
    """Relay (via Signal, active low) and the 0-100 % level output (a PWM duty on boards)."""

    def __init__(self, board):
        self.board = board
        self.pin = _DriverPin()
        # Signal takes any PinBase on MicroPython; the stubs only know machine.Pin.
        self.relay_signal = machine.Signal(self.pin, invert=True)  # type: ignore[call-overload]
        self.relay = False
        self.level = 0

    def set(self, relay, level):
        if relay == self.relay and level == self.level:
            return
        self.relay_signal.value(1 if relay else 0)
        self.relay = self.relay_signal.value() == 1
        self.level = level
        self.board.output_changed(self)


def _open_tty(path):
    import termios
    f = open(path, "r+b")
    fd = f.fileno()
    termios.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[6][_VMIN] = 0
    attrs[6][_VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return f


# Comms Hub settings a boot argument may set (--holdup 120 ...), see firmware/commshub.
_HUB_SETTINGS = ("holdup", "dither", "pra_dither", "retry", "retries")


def _parse_args(argv):
    opts = {"role": "hcalcs", "esme": None, "state_dir": "flash", "radio_fd": None,
            "radio": None, "console_fd": None, "console": None, "strict_labels": True,
            "label": None, "wan_fd": None, "wan": None, "clock": None, "rtc": None,
            "ticks_wrap": None, "baud": None}
    for key in _HUB_SETTINGS:
        opts[key] = None
    opts["reset_cause"] = "power"  # the virtual board: "watchdog" after it bit, "soft" (exit 92)
    opts["test_hooks"] = "off"  # "on": the console's `hang` (tests of the watchdog)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--lenient-labels":
            opts["strict_labels"] = False
            i += 1
            continue
        if not arg.startswith("--") or i + 1 >= len(argv):
            raise SystemExit("unix board: bad argument " + arg)
        key = arg[2:].replace("-", "_")
        if key not in opts:
            raise SystemExit("unix board: unknown option " + arg)
        opts[key] = argv[i + 1]
        i += 2
    if opts["role"] not in ("hcalcs", "plcs", "commshub"):
        raise SystemExit("unix board: role must be hcalcs, plcs or commshub")
    return opts


class Board:
    name = "unix"

    def __init__(self, argv=None):
        import asyncio
        opts = _parse_args(sys.argv[1:] if argv is None else argv)
        self.role = opts["role"]
        esme = opts["esme"]
        self.esme = bytes.fromhex(esme.replace(":", "")) if esme else None
        if self.esme is not None and len(self.esme) != 8:
            raise SystemExit("unix board: --esme needs an EUI-64")
        self.strict_labels = opts["strict_labels"]
        self.initial_label = opts["label"]
        self.storage_root = opts["state_dir"]
        self.clock = Clock()
        self.outputs = Outputs(self)
        self.watch = False
        if opts["radio_fd"] is not None:
            radio = open(int(opts["radio_fd"]), "r+b")
        elif opts["radio"] is not None:
            radio = _open_tty(opts["radio"])
        else:
            raise SystemExit("unix board: give --radio-fd or --radio")
        # The line speed is the pty's termios speed: the radio stand-in on the other end
        # reads it and hears nothing at a baud its BD does not match (as a real UART).
        self.radio_fd = radio.fileno()
        self.baud = int(opts["baud"] or 115200)
        self.set_baud(self.baud)
        self.radio_reader = Tap(asyncio.StreamReader(radio))
        self.radio_writer = asyncio.StreamWriter(radio, {})
        if opts["console_fd"] is not None:
            console = open(int(opts["console_fd"]), "r+b")
            self.console_reader = asyncio.StreamReader(console)
            self.console_writer = asyncio.StreamWriter(console, {})
        elif opts["console"] is not None:
            console = _open_tty(opts["console"])
            self.console_reader = asyncio.StreamReader(console)
            self.console_writer = asyncio.StreamWriter(console, {})
        else:
            self.console_reader = asyncio.StreamReader(sys.stdin.buffer)
            self.console_writer = asyncio.StreamWriter(sys.stdout.buffer, {})
        # The board's watchdog is outside the firmware, as the chip's is: the virtual board
        # (emulator/virtual_board.py) takes feeds on a pipe whose fd is in GBHAN_WDT_FD and
        # resets the board when they stop. Without it (`gbhan board run`) there is none.
        import os
        # A rig counting erases: the flash is a littlefs image (firmware/hal/flashcount.py).
        # Names as bytes: a str constant is a qstr for good, and the heap has none to spare.
        fd = os.getenv(b"GBHAN_WEAR".decode())
        if fd:
            name = b"firmware.hal.flashcount".decode()
            __import__(name)
            self.storage_root = sys.modules[name].mount(self, fd)
        fd = os.getenv("GBHAN_WDT_FD")
        self.wdt = None if fd is None else open(int(fd), "wb")
        self.watchdog = self  # start(), feed(), stop()
        self.reset_cause = opts["reset_cause"]
        self.test_hooks = opts["test_hooks"] == "on"
        self.app = None
        for key in _HUB_SETTINGS:  # None unless given: the hub keeps its stored settings
            setattr(self, key, None if opts[key] is None else int(opts[key]))
        if opts["clock"] is not None:  # simulated from boot (a rig restoring power at T)
            self.clock.freeze(int(opts["clock"]) - _ZIGBEE_EPOCH_OFFSET)
        if opts["ticks_wrap"] is not None:  # ticks wrap this many ms after boot
            self.clock.wrap = (0x40000000 - int(opts["ticks_wrap"])
                               + time.ticks_diff(0, time.ticks_ms())) & 0x3FFFFFFF
        if opts["rtc"] is not None:  # an RTC that restarted at this time (a Pico: 2021-01-01)
            self.clock.set_utc(int(opts["rtc"]) - _ZIGBEE_EPOCH_OFFSET)
        if self.role == "commshub":
            if opts["wan_fd"] is not None:
                wan = open(int(opts["wan_fd"]), "r+b")
            elif opts["wan"] is not None:
                wan = _open_tty(opts["wan"])
            else:
                raise SystemExit("unix board: the commshub needs --wan-fd or --wan")
            self.wan_reader = asyncio.StreamReader(wan)
            self.wan_writer = asyncio.StreamWriter(wan, {})

    def power_off(self):
        """The holdup supply is exhausted: the process ends as the board would go dark."""
        raise SystemExit(0)

    def output_changed(self, outputs):
        if self.watch and self.app is not None and self.app.current is not None:
            self.console_writer.write(b"output relay=%s level=%d source=%s t_us=%d\n" % (
                b"closed" if outputs.relay else b"open", outputs.level,
                # The raw ticks on purpose: on unix they are the host's CLOCK_MONOTONIC.
                self.app.current[2].encode(), time.ticks_us()))  # type: ignore[str-format]

    def tasks(self, app):
        """The radio bring-up (boost and mains come from the console)."""
        return (bring_up(app, self),)

    def set_baud(self, baud):
        """The radio UART's speed (9600, 57600, 115200 or 230400 baud here)."""
        import termios
        attrs = termios.tcgetattr(self.radio_fd)
        attrs[4] = attrs[5] = {9600: termios.B9600, 57600: termios.B57600,
                               115200: termios.B115200, 230400: termios.B230400}[baud]
        termios.tcsetattr(self.radio_fd, termios.TCSANOW, attrs)


    def feed_watchdog(self):
        # The rig is the virtual board's watchdog (primer §6): nothing to feed in-process.
        pass

    def start(self):
        self.feed()

    def feed(self):
        try:
            if self.wdt is not None:
                self.wdt.write(b"f")
        except OSError:  # the virtual board is gone (its pipe closed or full)
            pass

    def stop(self):
        try:
            if self.wdt is not None:
                self.wdt.write(b"s")
        except OSError:
            pass
        return True

    def reset(self, code=3):
        raise SystemExit(code)
