"""The GPF, the Gas Proxy Function on the Comms Hub: it answers the reads a user may have
answered from its mirror at once (GCS60a 4.18 "reliable": the meter balance as the GSME last
reported it), and holds every command for the GSME until the meter next wakes, then passes it
on and refreshes its mirror from the meter.

The mirror is a copy of the GSME's attributes taken at each wake-up (and at the start), so a
reliable read shows what the meter said then, not what it holds now.

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
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.keystore import DS, KA
from gbcs.message import Message
from gbcs.roles import Role

from ..credentials import MANAGEMENT, PREPAYMENT_TOP_UP, Credentials, TrustAnchors
from ..keys import PremisesKeys
from ..outcomes import CommandRejected, EsmeResult, RejectReason
from .answer import GbzAnswerer
from .commands import METERING, PREPAYMENT, PUBLISH_PREPAY_SNAPSHOT, sampled_data, snapshot
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
                                    asn1_messages=dict.fromkeys(HANDOVER, self._handover))  # fmt: skip
        provisioned = TrustAnchors.provisioned(keys.keystore, gsme.anchors or keys.anchors)
        self.trust = controlled_by_the_dcc(provisioned, dcc_controlled)
        self.credentials = Credentials(self.eui, self.trust, gsme.clock, now, self._no_alert,
                                       self.answerer.stats, self.answerer.counters.accept)  # fmt: skip
        self.queued = 0  # commands that waited for the GSME to wake

    @property
    def stats(self):
        return self.answerer.stats

    def _handover(self, message: Message) -> bytes:
        """6.21 at the GPF: the replacement now (the DCC holds a future-dated one itself)."""
        if message.payload.fields.execution_date_time is not None:
            raise CommandRejected(RejectReason.MALFORMED)
        return self.credentials.answer(message)

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
        self.mirror.clear()
        self.mirror.update(self.gsme.attributes)
        self.sampled = copy.deepcopy(self.gsme.commands.sampled)
        self.snapshots = copy.deepcopy(self.gsme.commands.snapshots)
        return result
