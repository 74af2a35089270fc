"""The GSME: a battery gas meter that sleeps and wakes on its schedule (every
`wake_interval_s` of the emulator's clock, counted from when the clock started); it hears
its commands only while awake, so the GPF (proxy.py) holds them until then.

Served, from its ZCL attributes (attributes.json, what RTDS's meter reports; a profile's
`attributes` over them): the clear GBZ reads 11.2 firmware version (GCS38), 4.18 meter
balance (GCS60, and GCS60a sent to the meter itself), 6.2.4 identity (GCS21e/m), 6.2.7 MPRN
(GCS46), 6.2.8 gas configuration (GCS21a), 6.2.9 payment mode (GCS21j), 7.4 valve status
(GCS33), and 4.1.1 the registers (GCS13a, encrypted for the reader); and the ZCL cluster
commands (commands.py) 3.1 message (GCS07), 3.4 supplier
(GCS44), 3.5 PIN (GCS11), 6.20.1 MPRN (GCS41), 7.2 / 7.3 valve (GCS32 / GCS39), 2.5
emergency credit (GCS06), 2.3 debts (GCS04), 1.5 balances (GCS40a-d), and 6.11 / 8.1.1 set
clock (GCS28, ASN.1), 6.13 read the event or security log (CS10a / CS10b), 3.3 clear the
event log (CS11), the device log's joins, unjoins and read (CS03B/C, CS04B/AC, CS07), the
billing calendar set (6.8 GCS25 / GCS25a) and read (6.2.3 GCS21d / GCS21k), the gas
configuration (6.6 GCS23, 6.7 GCS24a), the tariff (1.2.1 GCS01b, 1.1.1 GCS01a), the sampled
data logs 4.8.1 (GCS17) and 4.10 (GCS18), encrypted for the reader, the event and alert
behaviours read (6.2.10 GCS20r) and set (6.22 GCS20), the prepayment configuration and
tariff calendar read (4.13 GCS21b), the snapshots (4.6.1 GCS16a, 4.14 GCS16b, 4.4.3 GCS15c)
and debt log (4.4.4 GCS15d) read, encrypted for the reader; the critical ones signed both
ways. Checks and responses: answer.py.

A tariff command starting in the future is kept at once (as received, its start time in it:
GasTariff holds no separate active and pending tariff yet); at its start time the meter alerts
8F66 (future-dated execution, GBZ 00CD, signed) to the command's originator naming it (message
code, counter, cluster, frame control, command id): one alert per command kind, as RTDS's
GCS01a / GCS01b 8F66 files; a cancellation (start never) drops the pending alert of its kind.
Alerts go to `alert_sink`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from construct import Container  # type: ignore[import-untyped]

from emulator.clock import ZIGBEE_EPOCH, Clock
from gbcs.message import Message, encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.roles import Role
from gbcs.security import sign

from ..esme.responses import alert_header
from ..keys import PremisesKeys
from ..outcomes import EsmeResult
from . import prepayment as gas_prepayment
from .answer import Attributes, GbzAnswerer
from .commands import GasCommands

LOGGER = logging.getLogger(__name__)
ATTRIBUTES = Path(__file__).with_name("attributes.json")
#: message code -> SRV of the reads the GSME answers (use-case tables: the Supplier's)
SRVS = {0x0084: "11.2", 0x008D: "4.18", 0x012A: "4.18", 0x009E: "6.2.4", 0x00FB: "6.2.4",
        0x0089: "6.2.7", 0x007B: "6.2.8", 0x00BF: "6.2.9", 0x0082: "7.4",
        0x0074: "4.1.1",
        # the commands (commands.py)
        0x0071: "3.1", 0x0088: "3.4", 0x0073: "3.5", 0x0087: "6.20.1",
        0x0081: "7.2", 0x0085: "7.3", 0x0070: "2.5", 0x006E: "2.3", 0x0086: "1.5",
        0x00B4: "1.5", 0x00C0: "1.5", 0x00C2: "1.5", 0x007F: "6.11",
        # the event logs (commands.py)
        0x0014: "6.13", 0x00A1: "6.13", 0x0015: "3.3",
        # the device log (commands.py)
        0x000E: "8.7.2", 0x00AF: "8.7.1", 0x0010: "8.8.2", 0x000F: "8.8.1", 0x0013: "8.9",
        # the billing calendar (commands.py)
        0x007E: "6.8", 0x00D8: "6.8", 0x009D: "6.2.3", 0x00DA: "6.2.3",
        # the gas configuration (commands.py)
        0x007C: "6.6", 0x00FC: "6.7",
        # the tariff (commands.py)
        0x00A3: "1.2.1", 0x006B: "1.1.1",
        # the sampled data logs (commands.py), encrypted for the reader
        0x0078: "4.8.1", 0x0079: "4.10",
        # the event and alert behaviours (commands.py)
        0x00F1: "6.2.10", 0x00AD: "6.22",
        # the prepayment configuration and tariff calendar (commands.py)
        0x00B5: "4.13",
        # the snapshots and debt log (commands.py), encrypted for the reader
        0x0077: "4.6.1", 0x0096: "4.14", 0x0076: "4.4.3", 0x00C4: "4.4.4",
        # the registers and prepayment values (reads, encrypted for the reader)
        0x00B8: "4.1.4", 0x00B6: "4.1.2", 0x0075: "4.3",
        # the change of mode / tariff snapshots (encrypted) and the top-up log (clear)
        0x00C3: "4.4.2", 0x00C5: "4.4.5",
        # the tariff: Price attributes, the tariff calendar, the current price (commands.py)
        0x009F: "4.11.1",
        # the network data log started (commands.py), by the ACB for the Gas Transporter
        0x0080: "14.1",
        # the Customer Identification Number (commands.py), by the ACB for an Other User
        0x0083: "9.1"}  # fmt: skip
SRVS.update(gas_prepayment.SRVS)  # 1.6, 2.2 (prepayment.py)
ROLES = {srv: {Role.SUPPLIER} for srv in SRVS.values()}
ROLES["14.1"] = {Role.ACCESS_CONTROL_BROKER}  # GCS31: RTDS's, for the Gas Transporter
ROLES["9.1"] = {Role.ACCESS_CONTROL_BROKER}  # GCS36: RTDS's, for an Other User
#: the reads the ACB may send on a user's behalf too (GCS15d, GCS16b: the use-case tables)
ROLES.update({srv: {Role.SUPPLIER, Role.ACCESS_CONTROL_BROKER} for srv in ("4.4.4", "4.14")})
#: the joins, unjoins and device log read the ACB may send too (use-case tables)
ROLES.update({srv: {Role.SUPPLIER, Role.ACCESS_CONTROL_BROKER}
              for srv in ("8.7.1", "8.7.2", "8.8.1", "8.9")})  # fmt: skip
#: the critical ones (SME.C.C in the use-case tables): signed by the Supplier, answered signed
CRITICAL = {0x0081, 0x0085, 0x0070, 0x006E, 0x0086, 0x00B4, 0x00C0, 0x00C2, 0x007F,
            0x00AF, 0x000F, 0x007E, 0x00D8, 0x007C, 0x00FC, 0x00A3, 0x006B}  # fmt: skip
#: GCS60a, GCS13a/b/c, GCS14, GCS01b, GCS01a: as RTDS's
DATE_STAMPED = {0x012A, 0x0074, 0x00B8, 0x00B6, 0x0075, 0x00A3, 0x006B}
#: GCS13a/b/c the registers, GCS14 the prepayment values, GCS17 / GCS18 the sampled data,
#: GCS16a / GCS16b / GCS15c the snapshots, GCS15d the debt log: encrypted for the reader
ENCRYPTED = {0x0074, 0x0078, 0x0079, 0x0077, 0x0096, 0x0076, 0x00C4, 0x00B8, 0x00B6, 0x0075,
             0x00C3}  # fmt: skip
#: GCS14 reads the price's trailing digit and currency clear, the prepayment values
#: encrypted with the default response left enabled (RTDS's)
CLEAR_CLUSTERS, LOUD = {0x0075: {0x0700}}, {0x0075}
QUIET_READS = {0x009F}  # GCS21f's clear read response disables the default response (RTDS's)
#: the future-dated tariff commands (GCS01b, GCS01a): alert 8F66 (GBZ 00CD) when they start
FUTURE_DATED = {0x00A3, 0x006B}
#: and the prepayment commands' (prepayment.py: 1.6's change of payment mode)
CRITICAL |= gas_prepayment.CRITICAL
DATE_STAMPED |= gas_prepayment.DATE_STAMPED
FUTURE_DATED |= gas_prepayment.FUTURE_DATED
FUTURE_DATED_ALERT, ACTIONED = 0x00CD, 0x8F66
#: start times that are no date: now, and a cancellation's never (its matrix one short)
CANCELLED = {0xFFFFFFFF, 0xFFFFFFFE}
NOT_A_DATE = {0, *CANCELLED}
FIRST_ALERT_COUNTER = 3000  # RTDS's GSME's alerts carry 3002...3013
#: a GSME wakes about every 30 minutes (our figure: GBCS leaves it to the device)
WAKE_INTERVAL_S = 1800.0


def gas_anchors(keys: PremisesKeys, supplier: bytes | None) -> dict[bytes, Role] | None:
    """A gas device's trust anchors: the premises' with `supplier` as its only Supplier (the
    gas supplier it was commissioned for: DCC Boxed's Gas Supplier 90B3D51F30030000, where
    RTDS's one Supplier sends both fuels' commands); None (the premises') without one."""
    if supplier is None:
        return None
    anchors: dict[bytes, Role] = {e: r for e, r in keys.anchors.items() if r != Role.SUPPLIER}
    anchors[bytes(supplier)] = Role.SUPPLIER
    return anchors


def load_attributes(entries: dict[str, Any] | None = None) -> Attributes:
    """attributes.json's table, `entries` (same form) over it."""
    table = dict(json.loads(ATTRIBUTES.read_text())["attributes"])
    table.update(entries or {})
    return {(int(key[:4], 16), int(key[5:], 16)): (kind, _value(value))
            for key, (kind, value) in table.items()}  # fmt: skip


class WatchedAttributes(dict):
    """The meter's attributes; `on_change` is told of each one written (the GPF is told the
    meter's data at its next wake-up: proxy.py)."""

    on_change: Callable[[], None] | None = None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if self.on_change is not None:
            self.on_change()


def _value(value: Any) -> Any:
    return bytes.fromhex(value["hex"]) if isinstance(value, dict) else int(value)


class GasMeter:
    """One GSME: `handle(command)` answers while awake; `wait_for_wake()` sleeps until the
    next wake-up (the GPF calls it before passing a command on). `supplier`: the gas
    supplier it trusts instead of the premises' Supplier."""

    def __init__(
        self, eui: bytes, keys: PremisesKeys, clock: Clock, now: Callable[[], dt.datetime], *,
        profile: dict | None = None, wake_interval_s: float = WAKE_INTERVAL_S,
        supplier: bytes | None = None,
    ) -> None:  # fmt: skip
        if wake_interval_s <= 0:
            raise ValueError("a GSME wakes after a positive interval")
        profile = profile or {}
        self.eui, self.clock, self.wake_interval_s = bytes(eui), clock, wake_interval_s
        self.attributes = WatchedAttributes(load_attributes(profile.get("attributes")))
        self.anchors = gas_anchors(keys, supplier)
        self.commands = GasCommands(self.attributes, now)
        supplier_eui = next(e for e, r in (self.anchors or keys.anchors).items()
                            if r == Role.SUPPLIER)  # fmt: skip
        self.commands.prepayment.attach(keys.keystore, self.eui, supplier_eui, clock)
        self.answerer = GbzAnswerer(self.eui, keys, now, attributes=self.attributes,
                                    srvs=SRVS, roles=ROLES, date_stamped=DATE_STAMPED,
                                    anchors=self.anchors, encrypted=ENCRYPTED,
                                    commands=self.commands.handlers(),
                                    asn1_commands=self.commands.asn1_handlers(),
                                    critical=CRITICAL, clear_clusters=CLEAR_CLUSTERS, loud=LOUD,
                                    quiet_reads=QUIET_READS,
                                    on_executed=self._scheduled)  # fmt: skip
        self.wakes = 0
        self.now = now
        #: where the meter's own alerts go (the premises' alert sinks)
        self.alert_sink: Callable[[bytes], None] | None = None
        self._signing_key = keys.device_signing_key(self.eui)
        self._alert_counter = itertools.count(FIRST_ALERT_COUNTER)
        #: future-dated commands not yet started: (due, originator, executed command)
        self.pending: list[tuple[dt.datetime, bytes, Any]] = []
        self.alerts: list[bytes] = []  # every alert raised, in order

    @property
    def stats(self):
        return self.answerer.stats

    def next_wake(self) -> float:
        """The clock time (clock.now()) of the next wake-up."""
        now = self.clock.now()
        return math.floor(now / self.wake_interval_s + 1) * self.wake_interval_s

    async def wait_for_wake(self) -> None:
        await asyncio.sleep(self.next_wake() - self.clock.now())
        self.wakes += 1

    def handle(self, command: bytes) -> EsmeResult:
        return self.answerer.handle(command)

    def _scheduled(self, message: Message, component: Any) -> None:
        """A tariff command with a start time still to come: its 8F66 alert is due then."""
        payload = component.body.frame.payload
        start = payload.get("start_time", payload.get("implementation_date_time"))
        if start is None and component.control.from_date_time:  # GBZ's own (2.1's)
            start = component.body.from_date_time
        if message.message_code not in FUTURE_DATED or start is None:
            return
        frame = component.body.frame
        if int(start) in CANCELLED:  # the pending one of its kind will not start
            self.pending = [e for e in self.pending if (e[2].cluster_id, e[2].command_id)
                            != (int(component.cluster_id), int(frame.command_id))]  # fmt: skip
        if int(start) in NOT_A_DATE:
            return
        due = ZIGBEE_EPOCH + dt.timedelta(seconds=int(start))
        if due <= self.now():
            return
        executed = Container(message_code=int(message.message_code),
                             originator_counter=int(message.counter),
                             cluster_id=int(component.cluster_id),
                             frame_control=frame.frame_control,
                             command_id=int(frame.command_id))  # fmt: skip
        entry = (due, bytes(message.originator), executed)
        self.pending.append(entry)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no clock running (unit tests): raise_due() fires it
            return
        self.clock.call_later((due - self.now()).total_seconds(), self._due, entry)

    def raise_due(self, until: dt.datetime) -> list[bytes]:
        """Every pending alert due by `until`, raised in the order the commands came."""
        due = [entry for entry in self.pending if entry[0] <= until]
        return [self._due(entry) for entry in due]

    def _due(self, entry: tuple[dt.datetime, bytes, Any]) -> bytes:
        if entry not in self.pending:
            return b""
        self.pending.remove(entry)
        when, to, executed = entry
        payload = Container(profile=265, component_count=1, alert_code=ACTIONED,
                            time_stamp=int((when - ZIGBEE_EPOCH).total_seconds()),
                            executed_command=executed, layout="future_dated")  # fmt: skip
        header = alert_header(self.eui, to, next(self._alert_counter), FUTURE_DATED_ALERT)
        alert = sign(encode_apdu(header, encode_payload("gbz-alert", payload), None),
                     self._signing_key)  # fmt: skip
        self.stats[f"alert:{ACTIONED:04X}"] += 1
        self.alerts.append(alert)
        if self.alert_sink is None:
            LOGGER.info("GSME %s: alert %04X (no sink)", self.eui.hex(), ACTIONED)
        else:
            self.alert_sink(alert)
        return alert
