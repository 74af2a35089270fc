# The radio bookkeeping the switch and the Comms Hub share: counted rejections, ZCL and XBee
# sequence numbers, a bounded transmit queue, and the dispatch of received API frames.
#
# Rejections are counted in RAM; the event log gets at most one entry about them a minute (a
# flood of bad frames must not wear out the flash): the first rejection after a quiet minute
# in full, the rest as one "reject-summary" line per minute (radio_tick writes it).
#
# A role subclasses RadioApp, calls init_radio(log, counters, clock), calls radio_tick()
# from its tick and implements _on_rx(rx) and
# _on_at_response(response); on_modem_status(status), on_other_frame(kind, frame) and
# on_radio_up() are optional hooks (on_other_frame returns False for a frame type the role
# does not know, which is then rejected; on_radio_up runs once the bring-up in
# firmware/lib/radio_setup.py has found the radio answering with the right settings).

from micropython import const

from firmware.lib import xbee

_TX_QUEUE = const(24)  # frames waiting for the UART; the oldest goes first when full
_REJECT_LOG_MS = const(60000)  # at most one reject entry in the event log per minute


class Tap:
    """The radio stream as the frame reader sees it; while `_buf` is a bytearray the bytes
    go there instead (the bring-up's command-mode text answers)."""

    def __init__(self, stream):
        self.stream = stream
        self._buf = None

    async def read(self, n):
        chunk = await self.stream.read(n)
        if self._buf is not None and chunk:
            self._buf.extend(chunk)
            return b""
        return chunk


def entries(spec):
    """[(command, value)] of a spec: per setting its two letters and the value."""
    return [(spec[i:i + 2].decode(), spec[i + 2]) for i in range(0, len(spec), 3)]


async def bring_up(app, board, spec=b"AP\x02AO\x01EE\x01EO\x02ZS\x02"):
    """At boot: ask the radio for every setting `spec` names at once (API mode, 0x08 frames;
    a second try after a second). All as wanted: say so, and the app goes on (on_radio_up).
    A setting to change, or no answer from a radio never heard at all (perhaps in
    transparent mode, or at another baud), loads firmware/lib/radio_setup.py, which sets and
    saves, looks for it in command mode, or reports and retries, and once the radio is right
    resets the board (exit 92 on unix), which then boots on this resident path: loading the
    module and dropping it left the heap too fragmented for the app's larger commits. A radio that speaks API frames but leaves questions
    unanswered is asked again later (5 s, doubling to 5 min), the frames flowing meanwhile.

    The default spec is a switch's: API mode 2 (AP first: the question that tells a silent
    radio apart), explicit Rx (AO=1), encryption (EE=1) with a centralised trust centre (EO=2),
    the ZigBee PRO stack profile (ZS=2). Bytes, not strings: a new string is a qstr, and
    qstrs cost heap for good."""
    import asyncio
    pending = app._pending
    delay = 5000
    while True:
        for _ in (0, 1):
            for command, value in entries(spec):
                pending[command] = None
                app.queue_frame(xbee.at_command(app.next_frame_id(), command))
            board.tx_ready.set()
            for _ in range(50):
                await asyncio.sleep_ms(20)
                if all(pending.values()):
                    break
            if all(pending.values()):
                break
        answered = all(pending.values())
        right = answered
        for command, value in entries(spec):
            r = pending[command]
            right = right and not r[2] and int.from_bytes(r[3], "big") == value
        pending.clear()
        if right:
            board.console_writer.s.write(  # unsolicited console lines: the rig keeps them apart
                ("radio: ok %s\n" % " ".join("%s=%d" % w for w in entries(spec))).encode())
            app.radio_state = "ok"
            app.on_radio_up()
            return
        if answered or not app.counters["rx"]:
            import sys
            import firmware.lib
            try:
                __import__("firmware.lib.radio_setup")  # a long string: no qstr till needed
            except MemoryError:
                pass  # reported below, and tried again later
            else:
                await sys.modules.pop("firmware.lib.radio_setup").bring_up(
                    app, board, entries(spec))
                firmware.lib.__dict__.pop("radio_setup", None)  # dropped: not needed again
                return
        if answered:  # (only when radio_setup could not be loaded)
            key, why = "radio-refused", "settings to change, no memory to change them"
        elif app.counters["rx"]:
            key, why = "radio-silent", "API frames but no answer to AT"
        else:
            key, why = "radio-silent", "no answer to AT (check wiring, API mode; no memory " \
                "to look for it in command mode)"
        app.counters[key] = app.counters.get(key, 0) + 1
        board.console_writer.s.write(
            ("radio: %s; retry in %d s\n" % (why, delay // 1000)).encode())
        await asyncio.sleep_ms(delay)
        delay = min(delay * 2, 300000)


class RadioApp:
    def init_radio(self, log, counters, clock):
        self.log = log  # the event log every rejection goes to
        self.clock = clock  # the board clock: ticks_ms/ticks_diff time the reject minute
        self.tx_queue = []
        self.tsn = 0
        self.frame_id = 0
        self.rejected = {}
        self.rejected_total = 0
        self.counters = counters
        self.quiet = {}  # rejections since the last reject entry that the log has not seen
        self.quiet_total = 0
        self._reject_logged = None  # ticks_ms of the last reject entry, within the minute
        self._pending = {}  # AT command -> its 0x88 answer, for the bring-up waiting on it
        self.radio_state = "wait"  # the bring-up checks; then "ok", or "quiet"/"rejected"

    # -- bookkeeping -----------------------------------------------------------------------
    def reject(self, reason, detail=""):
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self.rejected_total += 1
        if self._reject_logged is None or reason == "fault":  # a bug is never summarised
            self.log.append("reject", reason if not detail else reason + " " + detail)
            self._reject_logged = self.clock.ticks_ms()
        else:
            self.quiet[reason] = self.quiet.get(reason, 0) + 1
            self.quiet_total += 1

    def radio_tick(self):
        """From the board's tick: a minute after the last reject entry, the summary of the
        rejections since, or (none) the next rejection may be logged in full again. Run
        every tick, so the stored ticks never age past half the tick period."""
        if self._reject_logged is not None and self.clock.ticks_diff(
                self.clock.ticks_ms(), self._reject_logged) >= _REJECT_LOG_MS:
            if self.quiet_total:
                parts = ["n=%d" % self.quiet_total]
                for reason in sorted(self.quiet):
                    parts.append("%s=%d" % (reason, self.quiet[reason]))
                self.log.append("reject-summary", " ".join(parts))
                self.quiet = {}
                self.quiet_total = 0
                self._reject_logged = self.clock.ticks_ms()
            else:
                self._reject_logged = None
        self.log.tick()

    def next_tsn(self):
        self.tsn = (self.tsn + 1) & 0xFF
        return self.tsn

    def next_frame_id(self):
        self.frame_id = self.frame_id % 255 + 1
        return self.frame_id

    def queue_frame(self, frame_data):
        if len(self.tx_queue) >= _TX_QUEUE:
            self.tx_queue.pop(0)
            self.counters["tx-dropped"] += 1
        self.tx_queue.append(xbee.encode(frame_data))

    # -- radio in --------------------------------------------------------------------------
    def on_skipped(self, reason, count):
        """Bytes the framer skipped (noise, bad checksum ...): one rejection per run."""
        self.reject("uart-" + reason, "%d bytes" % count)

    def on_frame(self, frame):
        self.counters["rx"] += 1
        kind = frame[0]
        try:
            if kind == xbee.RX_EXPLICIT:
                self._on_rx(xbee.parse_rx_explicit(frame))
            elif kind == xbee.AT_RESPONSE:
                response = xbee.parse_at_response(frame)
                if response[1] in self._pending:
                    self._pending[response[1]] = response
                else:
                    self._on_at_response(response)
            elif kind == xbee.TX_STATUS:
                if xbee.parse_tx_status(frame)[3] != 0:
                    self.counters["tx-failed"] += 1
            elif kind == xbee.MODEM_STATUS:
                status = xbee.parse_modem_status(frame)
                self.log.append("radio", "modem-status=%02x" % status)
                self.on_modem_status(status)
            elif not self.on_other_frame(kind, frame):
                self.reject("frame-type", "%02x" % kind)
        except xbee.FrameError as e:
            self.reject("frame-layout", str(e))
        except Exception as e:  # noqa: BLE001 - a device rejects and carries on, never resets
            # A bug or a memory squeeze, not a bad frame: keep the evidence, stay up.
            self.reject("fault", repr(e))

    def _on_rx(self, rx):
        raise NotImplementedError  # each role serves its own clusters

    def _on_at_response(self, response):
        raise NotImplementedError

    def on_modem_status(self, status):
        pass

    def on_radio_up(self):
        pass

    def on_other_frame(self, kind, frame):
        return False
