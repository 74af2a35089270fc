# The radio bookkeeping the switch and the Comms Hub share: counted rejections, ZCL and XBee
# sequence numbers, a bounded transmit queue, and the dispatch of received API frames.
#
# A role subclasses RadioApp, calls init_radio(log, counters) and implements _on_rx(rx) and
# _on_at_response(response); on_modem_status(status) and on_other_frame(kind, frame) are
# optional hooks (the latter returns False for a frame type the role does not know, which is
# then rejected).

from micropython import const

from firmware.lib import xbee

_TX_QUEUE = const(24)  # frames waiting for the UART; the oldest goes first when full


class RadioApp:
    def init_radio(self, log, counters):
        self.log = log  # the event log every rejection goes to
        self.tx_queue = []
        self.tsn = 0
        self.frame_id = 0
        self.rejected = {}
        self.rejected_total = 0
        self.counters = counters

    # -- bookkeeping -----------------------------------------------------------------------
    def reject(self, reason, detail=""):
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self.rejected_total += 1
        self.log.append("reject", reason if not detail else reason + " " + detail)

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
