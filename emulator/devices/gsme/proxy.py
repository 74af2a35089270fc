"""The GPF, the Gas Proxy Function on the Comms Hub: it answers the reads a user may have
answered from its mirror at once (GCS60a 4.18 "reliable": the meter balance as the GSME last
reported it), and holds every command for the GSME until the meter next wakes, then passes it
on and refreshes its mirror from the meter.

The mirror is a copy of the GSME's attributes taken at each of its wake-ups (and at the
start), so a reliable read shows what the meter said then, not what it holds now: the meter
tells the GPF its data whenever it wakes, every wake interval, whether or not a command waits
for it (a wake-up that carries a command refreshes the mirror after the command). Only a
wake-up after the meter's data changed can change the mirror, so the GPF is woken for those
alone (`_meter_changed`): the mirror is the same as at every wake-up, and a long sleep of the
emulator's clock costs nothing.

3.2 (GCS09, change of tenancy) is the GPF's own command in GBCS (RTDS sends it to the GPF):
it keeps the date-time from which a new tenant's data starts.

The mirror also holds the meter's sampled data and snapshots as at its last wake: 4.17 reads
the daily consumption log (GCS61) and 4.14 the prepayment daily read log (GCS16b), both
encrypted for the reader: the sender, or an unknown remote party whose certificate the ACB's
command carries (the templates' URP).

The GPF holds trust anchor cells (devices/credentials.py) for its Supplier and Network
Operator. A role the DCC controls (the household's `dcc_controlled`: RTDS's GPF, whose 6.21
responses name the ACB's certificates in those cells) has the ACB's certificates in its
cells, and 6.21 hands it over: the ACB's CS02bSupplierBySupplier / CS02bNOByNO, signed by
the ACB as that role's party, puts the user's certificates there (answered signed, as RTDS's).
The DCC future-dates 6.21 itself, so one carrying an execution date-time is refused. Who may
send the GPF's other commands is still its GSME's anchors (`GasMeter.anchors`).

The GPF keeps a device log of its own (the PPMIDs and Type 2 devices it serves; at the start
what RTDS's GPF's GCS62 alert lists, gpf_device_log.json, so the DCC's record of it is that
alert) and backs it up to the DCC with a GCS62 alert (MAC'd to the ACB) whenever it changes
(`back_up`); the DCC keeps that backup to restore at a GPF that replaces this one: 8.12.2's
GCS59 from the ACB, whose entries the GPF joins (each answered with a join response code:
success where the entry is already there, incompatible for another type there, the log full)
before it backs the changed log up again.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gbcs import asn1, decode
from gbcs.errors import GbcsError
from gbcs.keystore import DS, KA
from gbcs.message import Message, encode_apdu
from gbcs.roles import ACB_EUI, Role
from gbcs.security import mac_apdu

from ..credentials import MANAGEMENT, PREPAYMENT_TOP_UP, Credentials, TrustAnchors
from ..esme.responses import alert_header
from ..keys import PremisesKeys
from ..outcomes import CommandRejected, EsmeResult, RejectReason, join_entry
from .answer import GbzAnswerer
from .commands import (
    CS03B,
    CS04B,
    DEVICE_LOG_CAPACITY,
    DEVICE_TYPE_CODES,
    JOIN_BAD_METHOD,
    METERING,
    PREPAYMENT,
    PUBLISH_PREPAY_SNAPSHOT,
    UNJOIN_NOT_IN_LOG,
    UNJOIN_OK,
    load_device_log,
    sampled_data,
    snapshot,
)
from .meter import CLEAR_CLUSTERS, LOUD, GasMeter
from .meter import SRVS as METER_SRVS

#: GCS60a meter balance, GCS13a registers (from the mirror), GCS09 change of tenancy, GCS61
#: the daily consumption log, GCS16b the prepayment daily read log (from the mirror)
SRVS = {0x012A: "4.18", 0x0074: "4.1.1", 0x0072: "3.2", 0x00A0: "4.17", 0x0096: "4.14",
        0x00B8: "4.1.4", 0x00B6: "4.1.2", 0x0075: "4.3"}  # fmt: skip
ROLES = {"4.18": {Role.SUPPLIER}, "4.1.1": {Role.SUPPLIER}, "3.2": {Role.SUPPLIER},
         "4.1.4": {Role.SUPPLIER}, "4.1.2": {Role.SUPPLIER}, "4.3": {Role.SUPPLIER},
         "4.17": {Role.SUPPLIER, Role.ACCESS_CONTROL_BROKER},
         "4.14": {Role.SUPPLIER, Role.ACCESS_CONTROL_BROKER}}  # fmt: skip
DEVICE_MANAGEMENT, PUBLISH_CHANGE_OF_TENANCY = 0x0708, "publish_change_of_tenancy"
DATE_STAMPED = {0x012A, 0x0074, 0x00B8, 0x00B6, 0x0075}
ENCRYPTED = {0x0074, 0x00A0, 0x0096, 0x00B8, 0x00B6, 0x0075}  # encrypted for the reader
#: GCS16b's answer carries the GPF's own counter, which its encryption uses (RTDS's 2000)
OWN_COUNTER = {0x0096}
#: 6.21's handovers (CS02bSupplierBySupplier, CS02bNOByNO): from the ACB, signed, the
#: response date-stamped and signed as RTDS's
HANDOVER = {0x0102: "6.21", 0x0103: "6.21"}
ROLES["6.21"] = {Role.ACCESS_CONTROL_BROKER}
#: GCS59 Restore GPF Device Log, from the ACB (8.12.2); GCS62, the GPF's device log backup
#: alert to the ACB, with RTDS's alert code
RESTORE_DEVICE_LOG, BACKUP_DEVICE_LOG, BACKUP_ALERT_CODE = 0x008C, 0x00B2, 0x8071
SRVS[RESTORE_DEVICE_LOG] = "8.12.2"
ROLES["8.12.2"] = {Role.ACCESS_CONTROL_BROKER}
#: Method B join and unjoin of a Type 2 device (CS03B 8.7.2, CS04B 8.8.2): the Supplier's
#: (and the ACB's, GBCS's other sender of CS03B), as at the meters
SRVS[CS03B], SRVS[CS04B] = "8.7.2", "8.8.2"
ROLES["8.7.2"] = {Role.SUPPLIER, Role.ACCESS_CONTROL_BROKER}
ROLES["8.8.2"] = {Role.SUPPLIER}
GPF_DEVICE_LOG = Path(__file__).with_name("gpf_device_log.json")
#: the devices a GPF's log holds (the ones that read the gas data it proxies)
GPF_LOG_TYPES = frozenset({"ppmid", "type_2"})
#: the household's names for the roles the DCC may control at the GPF
DCC_CONTROLLABLE = {"supplier": Role.SUPPLIER, "network_operator": Role.NETWORK_OPERATOR}


def controlled_by_the_dcc(trust: TrustAnchors, roles: Iterable[str]) -> TrustAnchors:
    """`trust` with each of `roles` controlled by the DCC: its cells (digital signing, key
    agreement, a Supplier's top-up) hold the ACB's certificates, as RTDS's GPF's do."""
    acb = int(Role.ACCESS_CONTROL_BROKER)
    ds, ka = trust.cells[(acb, DS, MANAGEMENT)], trust.cells[(acb, KA, MANAGEMENT)]
    for name in roles:
        role = int(DCC_CONTROLLABLE[name])
        for cell in [c for c in trust.cells if c[0] == role]:
            del trust.cells[cell]
        trust.cells[(role, DS, MANAGEMENT)] = ds
        trust.cells[(role, KA, MANAGEMENT)] = ka
        if role == int(Role.SUPPLIER):
            trust.cells[(role, KA, PREPAYMENT_TOP_UP)] = ka
    return trust


class GasProxy:
    """The GPF `eui` for the GSME `gsme`, trusting the anchors its GSME does; the roles
    `dcc_controlled` names ("supplier", "network_operator") the DCC's until 6.21."""

    def __init__(self, eui: bytes, gsme: GasMeter, keys: PremisesKeys,
                 now: Callable[[], dt.datetime], *,
                 dcc_controlled: Iterable[str] = ()) -> None:  # fmt: skip
        self.eui, self.gsme = bytes(eui), gsme
        gsme.commands.device_log.setdefault(self.eui, "gpf")  # the meter's own GPF
        self.mirror = dict(gsme.attributes)
        #: the meter's sampled data logs and snapshots as at its last wake
        self.sampled = copy.deepcopy(gsme.commands.sampled)
        self.snapshots = copy.deepcopy(gsme.commands.snapshots)
        self.tenancy_from: int | None = None  # seconds since 2000 (3.2)
        #: EUI -> device type name (gpf_device_log.json at the start)
        self.device_log: dict[bytes, str] = load_device_log(GPF_DEVICE_LOG)
        #: where its alerts to the DCC go (the premises' on_alert callbacks)
        self.alert_sink: Callable[[bytes], None] | None = None
        self._alert_counter = itertools.count(1)
        commands = {
            (DEVICE_MANAGEMENT, PUBLISH_CHANGE_OF_TENANCY): self._change_of_tenancy,
            (METERING, "get_sampled_data"): lambda p: sampled_data(self.sampled, p),
            (PREPAYMENT, "get_prepay_snapshot"): lambda p: snapshot(
                self.snapshots, PREPAYMENT, PUBLISH_PREPAY_SNAPSHOT, "publish_prepay_snapshot", p),
        }  # fmt: skip
        self.answerer = GbzAnswerer(self.eui, keys, now, attributes=self.mirror,
                                    srvs={**SRVS, **HANDOVER}, roles=ROLES,
                                    date_stamped=DATE_STAMPED | set(HANDOVER),
                                    anchors=gsme.anchors, encrypted=ENCRYPTED,
                                    commands=commands, own_counter=OWN_COUNTER,
                                    clear_clusters=CLEAR_CLUSTERS, loud=LOUD,
                                    critical=HANDOVER,
                                    asn1_commands={RESTORE_DEVICE_LOG: self._restore_device_log,
                                                   CS03B: self._join, CS04B: self._unjoin},
                                    asn1_messages=dict.fromkeys(HANDOVER, self._handover))  # fmt: skip
        provisioned = TrustAnchors.provisioned(keys.keystore, gsme.anchors or keys.anchors)
        self.trust = controlled_by_the_dcc(provisioned, dcc_controlled)
        self.credentials = Credentials(self.eui, self.trust, gsme.clock, now, self._no_alert,
                                       self.answerer.stats, self.answerer.counters.accept)  # fmt: skip
        self.queued = 0  # commands that waited for the GSME to wake
        self.refreshes = 0  # wake-ups at which the meter told the GPF data that had changed
        self._told: asyncio.TimerHandle | None = None  # the wake-up that will tell it
        gsme.attributes.on_change = self._meter_changed

    @property
    def stats(self):
        return self.answerer.stats

    def _handover(self, message: Message) -> bytes:
        """6.21 at the GPF: the replacement now (the DCC holds a future-dated one itself)."""
        if message.payload.fields.execution_date_time is not None:
            raise CommandRejected(RejectReason.MALFORMED)
        return self.credentials.answer(message)

    def _restore_device_log(self, fields: Any) -> bytes:
        """8.12.2 GCS59: each entry of the replaced GPF's backup joined to this GPF's log;
        the outcomes as RTDS's GPF answers them, then the changed log backed up."""
        outcomes, changed = [], False
        for entry in fields.device_log_entries:
            eui, code = bytes(entry.device_id), int(entry.device_type)
            kind = str(entry.get("device_type_name") or code)
            if kind not in GPF_LOG_TYPES or len(eui) != 8:
                result = JOIN_BAD_METHOD
            else:
                held = len(self.device_log)
                result = join_entry(self.device_log, eui, kind, DEVICE_LOG_CAPACITY)
                changed = changed or len(self.device_log) > held
            self.answerer.stats[f"device-log:restore:{result}"] += 1
            outcomes.append(asn1.sequence(
                asn1.sequence(asn1.octet_string(eui), asn1.integer(code)), asn1.integer(result)))  # fmt: skip
        if changed:
            self.back_up()
        return asn1.encode_tree(asn1.sequence(asn1.sequence(*outcomes)))

    def _join(self, fields: Any) -> bytes:
        """8.7.2 CS03B: a Type 2 device joined by Method B (the GPF serves it the gas meter's
        data, han_reads.py); the join response code, and the changed log backed up."""
        method, kind = str(fields.join_method_and_role_name), str(fields.other_device_type_name)
        other = bytes(fields.other_device_id)
        held = len(self.device_log)
        if (method, kind) != ("method_b", "type_2") or len(other) != 8:
            result = JOIN_BAD_METHOD
        else:
            result = join_entry(self.device_log, other, kind, DEVICE_LOG_CAPACITY)
        self.answerer.stats[f"device-log:join:{result}"] += 1
        if len(self.device_log) > held:
            self.back_up()
        return asn1.encode_tree(asn1.integer(result))

    def _unjoin(self, fields: Any) -> bytes:
        """8.8.2 CS04B: the device off the log (and the log backed up), or not_in_log."""
        found = self.device_log.pop(bytes(fields.value), None) is not None
        self.answerer.stats[f"device-log:unjoin:{'ok' if found else 'absent'}"] += 1
        if found:
            self.back_up()
        return asn1.encode_tree(asn1.integer(UNJOIN_OK if found else UNJOIN_NOT_IN_LOG))

    def backup_alert(self) -> bytes:
        """GCS62 to the ACB: the device log as it is now, MAC'd (RTDS's layout)."""
        now = self.answerer.now().strftime("%Y%m%d%H%M%SZ")
        entries = [asn1.sequence(asn1.octet_string(eui), asn1.integer(DEVICE_TYPE_CODES[kind]))
                   for eui, kind in self.device_log.items()]  # fmt: skip
        content = asn1.encode_tree(asn1.sequence(
            asn1.integer(BACKUP_ALERT_CODE), asn1.generalized_time(now), asn1.sequence(*entries)))  # fmt: skip
        header = alert_header(self.eui, ACB_EUI, next(self._alert_counter), BACKUP_DEVICE_LOG)
        return mac_apdu(encode_apdu(header, content, b""), self.answerer.keys.keystore)

    def back_up(self) -> None:
        """Send the device log's backup to the DCC (counted; dropped with no sink yet)."""
        self.answerer.stats[f"alert:{BACKUP_ALERT_CODE:04X}"] += 1
        if self.alert_sink is not None:
            self.alert_sink(self.backup_alert())

    def _no_alert(self, to: bytes, code: int, content: bytes) -> None:
        """Never called: the GPF takes no future-dated replacement (_handover)."""
        self.answerer.stats["credentials:alert-not-sent"] += 1

    def _change_of_tenancy(self, payload: Any) -> str:
        self.tenancy_from = int(payload.implementation_date_time)
        return "success"

    def handle(self, command: bytes) -> EsmeResult:
        """A command for the GPF itself, answered at once from the mirror."""
        return self.answerer.handle(command)

    async def for_gsme(self, command: bytes) -> EsmeResult:
        """A command for the GSME: held until it wakes, then carried out by it. One whose use
        case the GSME does not serve is refused at once (ours: it would only refuse it at
        its wake-up)."""
        try:
            code = decode(command).message_code
        except GbcsError:
            code = None
        if code not in METER_SRVS:
            return self.gsme.handle(command)  # the meter's own refusal, without the wait
        self.queued += 1
        await self.gsme.wait_for_wake()
        result = self.gsme.handle(command)
        self.refresh_mirror()
        return result

    def refresh_mirror(self) -> None:
        """What the meter tells the GPF when it wakes: its attributes, logs and snapshots."""
        self.mirror.clear()
        self.mirror.update(self.gsme.attributes)
        self.sampled = copy.deepcopy(self.gsme.commands.sampled)
        self.snapshots = copy.deepcopy(self.gsme.commands.snapshots)

    def _meter_changed(self) -> None:
        """The meter's data changed: it tells the GPF at its next wake-up (one timer however
        much changes before then; none outside a running loop, where no time passes)."""
        if self._told is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        clock = self.gsme.clock
        self._told = clock.call_later(self.gsme.next_wake() - clock.now(), self._woke)

    def _woke(self) -> None:
        self._told = None
        self.refresh_mirror()
        self.refreshes += 1
