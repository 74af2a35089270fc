# The radio bookkeeping the switch and the Comms Hub share: counted rejections, ZCL and XBee
# sequence numbers, a bounded transmit queue, and the dispatch of received API frames.
#
# Rejections are counted in RAM; the event log gets at most one entry about them a minute (a
# flood of bad frames must not wear out the flash): the first rejection after a quiet minute
# in full, the rest as one "reject-summary" line per minute (radio_tick writes it).
#
# A role subclasses RadioApp, calls init_radio(log, counters, clock), calls radio_tick()
# from its tick and implements _on_rx(rx) and
# _on_at_response(response); on_modem_status(status) and on_other_frame(kind, frame) are
# optional hooks (the latter returns False for a frame type the role does not know, which is
# then rejected).

from micropython import const

from firmware.lib import xbee

_TX_QUEUE = const(24)  # frames waiting for the UART; the oldest goes first when full
_REJECT_LOG_MS = const(60000)  # at most one reject entry in the event log per minute


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
                self._on_at_response(xbee.parse_at_response(frame))
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

    def on_other_frame(self, kind, frame):
        return False
