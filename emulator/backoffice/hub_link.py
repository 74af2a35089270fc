"""The DSP's end of one Comms Hub's WAN link: the hub's outage notifications become DUIS
alerts for the premises' Electricity Distributor.

The bytes are the hub's WAN framing (`emulator.backoffice.commshub_wan`, docs/commshub.md). Every frame
but an ACK is acknowledged at once, before the DUIS work, so the hub's resends stop whatever
happens downstream; a notification the DSP cannot use is acknowledged with a non-zero status
(the hub only looks at the seq: a resend would not make it usable) and counted.

- OUTAGE → `DCCAlertMessage` AD1 (`PowerOutageEvent`: the hub, the outage start, the
  premises' MPxN), signed by the DSP, to the premises' Electricity Distributor. One AD1 per
  outage: a seq or an outage start seen before raises nothing.
- RESTORED → the hub's own 8F35/8F36 ECS80-shaped alert as a `DeviceAlertMessage`. It is the
  hub's word (no GBCS signature: the hub has no key for it), taken only because it came over
  this hub's own link, named this hub as originator and agrees with the frame's code and
  times. It is forwarded unchanged, empty signature and all, so the recipient sees a CHF
  alert with no signature, never a verified device alert; `restorations` marks it
  `verified=False`. Delivered only when its GBCS target is the premises' distributor.
- GBCS_UP carrying a device's alert (the meter's ECS80) → a `DeviceAlertMessage` to the user
  the alert names, only once its GBCS signature verifies against the DSP's device keys and
  the device is in the hub's premises. Non-alerts (device responses) are not routed here.

One `HubLink` per hub; its state (duplicates, records, counters) outlives a reconnection, so
`serve_stream` / `serve_fd` may be called again on a new stream.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import os
import select
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from emulator.clock import ZIGBEE_EPOCH
from emulator.errors import EmulatorError
from gbcs import decode, verify
from gbcs.alerts import interpret_dlms
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore

from . import alerts
from . import commshub_wan as wan

log = logging.getLogger(__name__)

RESTORATION_CODES = frozenset({0x8F35, 0x8F36})
REMEMBERED = 512  # seqs / outage starts / device alerts kept per hub for duplicate checks


class FrameRefusal(StrEnum):
    """Why the link refused a frame: the key it is counted under in `HubLink.rejected`."""

    DEVICE_NOT_AT_PREMISES = "device-not-at-premises"
    DEVICE_SIGNATURE = "device-signature"
    GBCS = "gbcs"
    HUB_ALERT_SIGNED = "hub-alert-signed"
    LAYOUT = "layout"
    MISMATCH = "mismatch"
    NO_MPXN = "no-mpxn"
    NOT_AN_ALERT = "not-an-alert"
    RESTORATION_CODE = "restoration-code"
    UNKNOWN_HUB = "unknown-hub"
    UNKNOWN_TYPE = "unknown-type"
    UNREGISTERED_RECIPIENT = "unregistered-recipient"
    WRONG_DIRECTION = "wrong-direction"
    WRONG_HUB = "wrong-hub"
    WRONG_TARGET = "wrong-target"


class AlertSource(StrEnum):
    """Whose word a delivered restoration alert is."""

    HUB = "hub"  # the hub's RESTORED frame: unsigned
    DEVICE = "device"  # a device's alert through GBCS_UP: its signature verified


@dataclass(frozen=True)
class OutageRecord:
    """One AD1 the DSP raised from a hub's notification, with its times (UTC)."""

    hub: bytes
    seq: int
    start: _dt.datetime  # the outage start, as the hub measured it
    sent_at: _dt.datetime  # when the hub sent it (by its clock)
    late: bool  # sent after the hub restarted
    raised_at: _dt.datetime  # the DSP's time: ResponseDateTime of the AD1
    recipient: bytes
    document: bytes


@dataclass(frozen=True)
class RestorationRecord:
    """One restoration alert delivered: whose word it is and whether a signature backs it."""

    source: AlertSource
    originator: bytes
    code: int
    verified: bool
    seq: int
    start: _dt.datetime | None  # the hub's own carries both times in the frame
    end: _dt.datetime | None
    delivered_at: _dt.datetime
    recipient: bytes


class HubFrameRejected(EmulatorError):
    """A frame the link cannot act on: `reason` is the counter, `status` the ACK status."""

    def __init__(self, reason: FrameRefusal, detail: str, status: int = wan.AckStatus.LAYOUT):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.status = reason, status


class HubLink:
    """The DSP side of the WAN link of hub `hub` (its EUI-64): decode, acknowledge, alert."""

    def __init__(
        self,
        dsp,
        hub: bytes,
        write: Callable[[bytes], None] | None = None,
        *,
        device_keys: Keystore | None = None,
    ):
        self.dsp, self.hub = dsp, bytes(hub)
        self.write = write  # set by serve_*; bytes to the hub
        self.device_keys = device_keys if device_keys is not None else dsp.acb_keys
        self.decoder = wan.Decoder()
        self.frames: Counter = Counter()  # by frame type name
        self.rejected: Counter = Counter()  # by reason
        self.duplicates = 0
        self.acks_sent = 0
        self.outages: list[OutageRecord] = []
        self.restorations: list[RestorationRecord] = []
        self.events: list[tuple[str, bytes]] = []  # DEVICE_EVENT / HELLO, as told
        self._seqs: deque[int] = deque(maxlen=REMEMBERED)
        self._starts: deque[int] = deque(maxlen=REMEMBERED)
        self._device_alerts: deque[tuple[bytes, int]] = deque(maxlen=REMEMBERED)
        self._skipped = 0

    @property
    def garbage(self) -> int:
        """Bytes skipped on the link (noise, bad length, bad CRC)."""
        return sum(self.decoder.skipped.values())

    # --- bytes in ------------------------------------------------------------------------
    async def receive(self, data: bytes) -> None:
        """Bytes from the hub: every whole frame acknowledged, then acted on, in order."""
        for frame in self.decoder.feed(data):
            await self._frame(frame)
        if self.garbage != self._skipped:
            log.info("hub %s: %d bytes skipped on the WAN link so far %s", self.hub.hex(),
                     self.garbage, dict(self.decoder.skipped))  # fmt: skip
            self._skipped = self.garbage

    def _ack(self, seq: int, status: int) -> None:
        if self.write is None:
            raise RuntimeError("HubLink has no writer: use serve_stream/serve_fd or set write")
        self.write(wan.ack(seq, status))
        self.acks_sent += 1

    async def _frame(self, frame: wan.Frame) -> None:
        try:
            kind = wan.FrameType(frame.kind)
        except ValueError:
            self._reject(frame, HubFrameRejected(FrameRefusal.UNKNOWN_TYPE, f"{frame.kind:#04x}",
                                         wan.AckStatus.UNKNOWN_TYPE))  # fmt: skip
            return
        self.frames[kind.name] += 1
        if kind == wan.FrameType.ACK:
            return  # the hub acknowledging something the DSP sent
        handler = {
            wan.FrameType.OUTAGE: self._outage,
            wan.FrameType.RESTORED: self._restored,
            wan.FrameType.GBCS_UP: self._gbcs_up,
            wan.FrameType.DEVICE_EVENT: self._event,
            wan.FrameType.HELLO: self._event,
        }.get(kind)
        if handler is None:  # a DSP→hub type coming up the link
            self._reject(
                frame,
                HubFrameRejected(
                    FrameRefusal.WRONG_DIRECTION, kind.name, wan.AckStatus.UNKNOWN_TYPE
                ),
            )
            return
        try:
            prepared = handler(frame)
        except HubFrameRejected as exc:
            self._reject(frame, exc)
            return
        self._ack(frame.seq, wan.AckStatus.OK)
        if prepared is not None:
            await prepared

    def _reject(self, frame: wan.Frame, exc: HubFrameRejected) -> None:
        self.rejected[exc.reason] += 1
        log.warning("hub %s: frame %#04x seq=%d refused: %s", self.hub.hex(), frame.kind,
                    frame.seq, exc)  # fmt: skip
        self._ack(frame.seq, exc.status)

    def _seen(self, seq: int) -> bool:
        if seq in self._seqs:
            self.duplicates += 1
            log.info("hub %s: seq %d again (a resend): nothing raised", self.hub.hex(), seq)
            return True
        self._seqs.append(seq)
        return False

    def _premises(self):
        premises = self.dsp.inventory.premises_of(self.hub)
        device = self.dsp.inventory.get(self.hub)
        if premises is None or device.device_type != "chf":
            raise HubFrameRejected(
                FrameRefusal.UNKNOWN_HUB, f"{self.hub.hex()} is no Comms Hub in the inventory"
            )
        return premises

    def _own(self, eui: bytes, what: str) -> None:
        if bytes(eui) != self.hub:
            raise HubFrameRejected(
                FrameRefusal.WRONG_HUB, f"{what} names {eui.hex()}, this link is {self.hub.hex()}"
            )

    # --- OUTAGE → AD1 ----------------------------------------------------------------------
    def _outage(self, frame: wan.Frame):
        try:
            note = wan.parse_outage(frame.payload)
        except wan.WanError as exc:
            raise HubFrameRejected(FrameRefusal.LAYOUT, str(exc)) from None
        self._own(note.hub, "outage")
        premises = self._premises()
        if not premises.mpxn:
            raise HubFrameRejected(
                FrameRefusal.NO_MPXN, f"premises {premises.name} has no MPxN for the AD1"
            )
        if self._seen(frame.seq):
            return None
        if note.start in self._starts:
            self.duplicates += 1
            log.info("hub %s: outage from %s already alerted", self.hub.hex(), note.start_time)
            return None
        self._starts.append(note.start)
        return self._raise_ad1(frame.seq, note, premises)

    async def _raise_ad1(self, seq: int, note: wan.OutageNotification, premises) -> None:
        when = self.dsp.utc_now()
        record = await self.dsp.send_dcc_alert(
            wan.power_outage_alert(note, premises.mpxn, when),
            code=wan.POWER_OUTAGE_ALERT,
            recipient=premises.electricity_distributor,
            subject=self.hub,
            cause=f"Comms Hub {self.hub.hex().upper()} outage notification seq={seq}"
            + (" (late)" if note.late else ""),
        )
        self.outages.append(OutageRecord(
            self.hub, seq, note.start_time, wan.zigbee_time(note.sent_at), note.late, when,
            premises.electricity_distributor, record.document))  # fmt: skip

    # --- RESTORED: the hub's own 8F35/8F36 -------------------------------------------------
    def _restored(self, frame: wan.Frame):
        try:
            note = wan.parse_restored(frame.payload)
        except wan.WanError as exc:
            raise HubFrameRejected(FrameRefusal.LAYOUT, str(exc)) from None
        self._own(note.hub, "restored")
        if note.code not in RESTORATION_CODES:
            raise HubFrameRejected(
                FrameRefusal.RESTORATION_CODE, f"{note.code:04X} is not 8F35/8F36"
            )
        premises = self._premises()
        try:
            message = decode(note.gbcs)
        except GbcsError as exc:
            raise HubFrameRejected(FrameRefusal.GBCS, str(exc)) from None
        if message.cra != "alert" or bytes(message.originator) != self.hub:
            raise HubFrameRejected(FrameRefusal.GBCS, "not an alert originated by this hub")
        if message.signature:
            raise HubFrameRejected(
                FrameRefusal.HUB_ALERT_SIGNED, "the hub's own alert is unsigned by definition"
            )
        _agrees(message, note)
        if bytes(message.target) != premises.electricity_distributor:
            raise HubFrameRejected(
                FrameRefusal.WRONG_TARGET,
                f"alert for {bytes(message.target).hex()}, not the premises' distributor",
            )
        user = self.dsp.users.get(premises.electricity_distributor)
        if user is None:
            raise HubFrameRejected(
                FrameRefusal.UNREGISTERED_RECIPIENT, premises.electricity_distributor.hex()
            )
        if self._seen(frame.seq):
            return None
        alert = alerts.DeviceAlert(bytes(note.gbcs), note.code, self.hub, user.eui)
        record = RestorationRecord(AlertSource.HUB, self.hub, note.code, False, frame.seq,
                                   wan.zigbee_time(note.start), wan.zigbee_time(note.end),
                                   self.dsp.utc_now(), user.eui)  # fmt: skip
        return self._deliver(alert, user, record)

    async def _deliver(self, alert, user, record: RestorationRecord) -> None:
        await self.dsp.deliver_device_alert(alert, user)
        self.restorations.append(record)

    # --- GBCS_UP: a device's alert through the tunnel -----------------------------------------
    def _gbcs_up(self, frame: wan.Frame):
        if len(frame.payload) < 9:
            raise HubFrameRejected(
                FrameRefusal.LAYOUT, f"gbcs-up payload of {len(frame.payload)} bytes"
            )
        source, raw = frame.payload[:8], frame.payload[8:]
        try:
            message = decode(raw)
        except GbcsError as exc:
            raise HubFrameRejected(FrameRefusal.GBCS, str(exc)) from None
        originator = bytes(message.originator)
        if originator != source:
            raise HubFrameRejected(
                FrameRefusal.GBCS, f"tunnelled by {source.hex()}, originated by {originator.hex()}"
            )
        if message.cra != "alert":
            raise HubFrameRejected(
                FrameRefusal.NOT_AN_ALERT,
                f"CRA {message.cra}: device responses are not routed over the hub link",
            )
        device = self.dsp.inventory.get(originator)
        if device is None or device.premises != self._premises().name:
            raise HubFrameRejected(FrameRefusal.DEVICE_NOT_AT_PREMISES, originator.hex())
        try:
            report = verify(message, self.device_keys)
        except GbcsError as exc:
            raise HubFrameRejected(FrameRefusal.DEVICE_SIGNATURE, str(exc)) from None
        if report.signature.status != "verified":
            raise HubFrameRejected(FrameRefusal.DEVICE_SIGNATURE, str(report.signature))
        alert = alerts.read_device_alert(raw)
        user = self.dsp.users.get(alert.recipient)
        if user is None:
            raise HubFrameRejected(FrameRefusal.UNREGISTERED_RECIPIENT, alert.recipient.hex())
        key = (originator, int(message.counter))
        if key in self._device_alerts:
            self.duplicates += 1
            return None
        self._device_alerts.append(key)
        record = RestorationRecord(AlertSource.DEVICE, originator, alert.code, True, frame.seq,
                                   None, None, self.dsp.utc_now(), user.eui)  # fmt: skip
        return self._deliver(alert, user, record)

    def _event(self, frame: wan.Frame):
        self.events.append((wan.FrameType(frame.kind).name, frame.payload))
        return None

    # --- streams ---------------------------------------------------------------------------
    async def serve_stream(self, reader: asyncio.StreamReader, writer) -> None:
        """Serve an asyncio stream pair (e.g. a TCP connection) until it closes."""
        self.write = writer.write
        while data := await reader.read(4096):
            await self.receive(data)
            await writer.drain()

    async def serve_fd(self, fd: int, stop: asyncio.Event | None = None) -> None:
        """Serve a file descriptor (the board's WAN pty) until `stop` is set or it fails."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("hub %s: WAN link closed: %s", self.hub.hex(), exc)
                chunks.put_nowait(None)
                return
            if data:
                chunks.put_nowait(data)

        self.write = lambda data: _write_fd(fd, data)
        loop.add_reader(fd, readable)
        waiter = asyncio.ensure_future((stop or asyncio.Event()).wait())
        try:
            while True:
                getter = asyncio.ensure_future(chunks.get())
                done, _ = await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    return
                data = getter.result()
                if data is None:
                    return
                await self.receive(data)
        finally:
            loop.remove_reader(fd)
            waiter.cancel()


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        select.select([], [fd], [], 5)
        view = view[os.write(fd, view) :]


def _cosem_zigbee(octets: bytes) -> int:
    """A COSEM date-time (UTC, as the hub writes it) as ZigBee UTC seconds."""
    year = octets[0] << 8 | octets[1]
    when = _dt.datetime(year, octets[2], octets[3], octets[5], octets[6], octets[7],
                        tzinfo=_dt.UTC)  # fmt: skip
    return int((when - ZIGBEE_EPOCH).total_seconds())


def _agrees(message, note: wan.RestorationNotification) -> None:
    """The hub's ECS80 and its RESTORED frame must tell the same story."""
    try:
        fields = interpret_dlms(message.message_code, message.payload.notification.value)
        times = (_cosem_zigbee(fields.interruption_time), _cosem_zigbee(fields.restoration_time))
        code = int(fields.alert_code)
    except (GbcsError, AttributeError, TypeError, ValueError, IndexError) as exc:
        raise HubFrameRejected(FrameRefusal.GBCS, f"no restoration fields: {exc}") from None
    if code != note.code or times != (note.start, note.end):
        raise HubFrameRejected(FrameRefusal.MISMATCH, f"GBCS says {code:04X} {times}, the frame "
                       f"{note.code:04X} {(note.start, note.end)}")  # fmt: skip
