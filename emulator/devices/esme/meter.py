"""The ESME (electricity meter) model: accepts GBCS commands, drives its five auxiliary load
control slots over ZCL, and answers with signed or MAC'd GBCS responses.

`Esme` puts the meter's parts together and follows one command through them: decode; which
SRV (checks.py); the acceptance checks (checks.py, access.py); execution by use case (joins
and unjoins: device_log.py; ECS47: slots.py; ECS47a/e: periods.py; the rest object by object:
objects.py, calendar.py); the response, signed or MAC'd (responses.py). Each failed check is a
logged, counted rejection and nothing is executed.

ECS52 (11.2) reads the meter's firmware version (profile `firmware_version`, RTDS's 0123ABCD).
The configuration, tariff, prepayment and supply reads (4.11.2, 4.13, 4.15, 6.2.x, 7.4) read
the attributes store.py holds, and so do the reads GBCS has the meter encrypt for the reader
(4.1.1, 4.1.3, 4.3: protected.py); their SRVs come from store.SRV_OF.
A future-dated calendar activation (ECS46c/d) raises the 8F66 alert (00CC) when it executes
(8F67 if it cannot), signed, to the command's originator, through `alert_sink`; so does a
future-dated firmware activation (11.3 CS06, firmware.py) with the 00CA alert.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from emulator.clock import Clock
from emulator.han.link import InProcessNode
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.message import Message
from gbcs.roles import Role
from gbcs.security import mac_apdu, sign

from ..access import AccessPolicy
from ..credentials import (
    OWN_CREDENTIALS,
    PROVIDE_DETAILS,
    UPDATE_CREDENTIALS,
    Credentials,
    OwnCredentials,
    credential_details,
    party_mac,
)
from ..keys import PremisesKeys
from ..outcomes import CommandRejected, EsmeResult, Outcome, RejectReason, outcome_text
from ..switch_zcl import SwitchError
from . import alert_behaviour
from .calendar import Calendar, PendingActivation
from .checks import ECS47, MeterAccess, command_srv, first_action_selector, placed_anchors
from .consumption import Consumption, generic_alert
from .device_log import JOIN, JOIN_B, UNJOIN, UNJOIN_B, DeviceLog
from .extended import ExtendedValues
from .firmware import ACTIVATE_FIRMWARE, Firmware
from .instructions import InstructionFailed, boolean
from .objects import MeterObjects
from .payment_mode import PaymentMode
from .periods import PERIOD_USE_CASES, ControllerPeriods
from .prepay_config import PrepayConfiguration
from .protected import ProtectedReads
from .responses import FUTURE_DATED_ALERT, Responder
from .slots import AuxiliarySlots, SlotLink
from .store import SRV_OF as STORE_READS
from .store import CosemStore
from .supply import LOCKED_ON_TAMPER, TAMPER_DETECTED, on_tamper
from .tariff import TariffTables
from .timekeeping import MeterClock
from .topup import TopUps

LOGGER = logging.getLogger(__name__)

#: the first alert counter: RTDS's ESME alerts (6.14.2 8F66) carry 2004, 2005
FIRST_ALERT_COUNTER = 2004


class Esme:
    """One meter. `node` is its HAN presence (endpoint 1); slots map to switches."""

    def __init__(
        self,
        eui: bytes,
        node: InProcessNode,
        keys: PremisesKeys,
        clock: Clock,
        *,
        profile: dict,
        policy: AccessPolicy,
        plcs_curtail_level: int = 0,
        zcl_timeout_s: float = 5.0,
        command_route: str = "drlc",
    ) -> None:
        self.eui, self.node, self.keys, self.clock = bytes(eui), node, keys, clock
        self.policy = policy
        self.stats: Counter = Counter()
        self.object_faults: set[bytes] = set()  # OBIS codes whose storage fails (tests)
        #: where alerts go (the premises delivers them to its on_alert callbacks)
        self.alert_sink: Callable[[bytes], None] | None = None
        self._time_base: tuple[dt.datetime, float] | None = None
        self._alert_counter = itertools.count(int(profile.get("alert_counter",
                                                              FIRST_ALERT_COUNTER)))  # fmt: skip
        self.log = DeviceLog(self.eui, profile, self.stats)
        self.aux = AuxiliarySlots(
            self.eui, node, clock, self.log.entries, self.stats, command_route=command_route,
            plcs_curtail_level=plcs_curtail_level, zcl_timeout_s=zcl_timeout_s,
        )  # fmt: skip
        self.access = MeterAccess(self.eui, keys, policy, placed_anchors(profile))
        self.responses = Responder(self.eui, keys, self.utc_now)
        self.responses.mac = party_mac(self.access.trust, keys.keystore, keys.remote_parties)
        self.calendar = Calendar(self.eui, profile, clock, self.utc_now, self._faulty,
                                 self.stats, self.raise_alert)  # fmt: skip
        self.controllers = ControllerPeriods(self.eui, profile, clock, self.utc_now,
                                             self._faulty, self.aux, node, self.stats,
                                             self._limit_alert)  # fmt: skip
        self.store = CosemStore(self.eui, profile)
        self.objects = MeterObjects(profile, self.aux, self.calendar, self.controllers,
                                    self._faulty, self.store,
                                    ProtectedReads(self.eui, self.store, keys.keystore,
                                                   lambda: next(self._alert_counter),
                                                   lambda eui: self.access.trust.ka_key_id(eui),
                                                   keys.remote_parties),
                                    MeterClock(self.eui, self.utc_now, self.set_time,
                                               self.stats))  # fmt: skip
        self.objects.extended = ExtendedValues(self.store, clock, self.utc_now, self._faulty,
                                               self.stats, self.raise_alert)  # fmt: skip
        self.objects.tariff = TariffTables(self.store, clock, self.utc_now, self._faulty,
                                           self.stats, self.raise_alert)  # fmt: skip
        self.objects.topups = TopUps(self.eui, self.store, keys.keystore, self.stats)
        #: the import the world drives through the meter, charged in prepayment mode
        self.consumption = Consumption(self.store, self.utc_now, self.stats,
                                       self._raise_supplier_alert)  # fmt: skip
        self.objects.supply_interlocked = self.consumption.supply_interlocked
        self.objects.payment = PaymentMode(self.store, clock, self.utc_now, self._faulty,
                                           self.stats, self.raise_alert)  # fmt: skip
        self.objects.prepay = PrepayConfiguration(self.store, clock, self.utc_now, self._faulty,
                                                  self.stats, self.raise_alert)  # fmt: skip
        self.firmware = Firmware(profile, self.objects.firmware_version, clock, self.utc_now,
                                 self._raise_asn1_alert, self.stats,
                                 on_version=self._run_version)  # fmt: skip
        self.credentials = Credentials(self.eui, self.access.trust, clock, self.utc_now,
                                       self._raise_asn1_alert, self.stats,
                                       self.access.counters.accept, keys.anchor_placed)  # fmt: skip
        self.own_credentials = OwnCredentials(
            self.eui, keys.keystore, self.responses.signing_key, self.responses.use_signing_key,
            self.stats, lambda usage, der, key: keys.own_certificate_installed(self.eui, usage, der, key),
        )  # fmt: skip

    # --- what the premises, scenarios and tests use ------------------------------------
    @property
    def command_route(self) -> str:
        return self.aux.command_route

    @property
    def plcs_curtail_level(self) -> int:
        return self.aux.plcs_curtail_level

    @property
    def zcl_timeout_s(self) -> float:
        return self.aux.zcl_timeout_s

    @property
    def slots(self) -> dict[int, SlotLink]:
        return self.aux.links

    @property
    def device_log(self) -> dict[bytes, str]:
        """The devices this meter has joined (EUI -> GBCS type name): it talks to no other."""
        return self.log.entries

    @property
    def calendars(self) -> dict[tuple[str, str], Any]:
        return self.calendar.tables

    @property
    def pending_activations(self) -> dict[bytes, PendingActivation]:
        """OBIS -> (due, calendar name, the command, timer), in the order commands set them."""
        return self.calendar.pending

    @property
    def periods(self) -> dict[tuple[int, int], asyncio.TimerHandle]:
        """(controller, direction) -> the timer of its scheduled period."""
        return self.controllers.timers

    @property
    def controller_state(self) -> dict[int, dict]:
        """Controller n -> {"inputState": %, "other-data": ...}: what the meter holds beside
        the switch's own output (ECS61e's JSON)."""
        return self.controllers.state

    def cancel_timers(self) -> None:
        """Drop pending calendar and firmware activations and controller periods (a meter
        replaced)."""
        self.calendar.cancel()
        self.controllers.cancel()
        self.firmware.cancel()
        self.credentials.cancel()
        if self.objects.extended is not None:
            self.objects.extended.cancel()
        if self.objects.payment is not None:
            self.objects.payment.cancel()
        if self.objects.prepay is not None:
            self.objects.prepay.cancel()
        if self.objects.tariff is not None:
            self.objects.tariff.cancel()

    def _run_version(self, version: bytes) -> None:
        """An activated image's version is what ECS52 reads from now on."""
        self.objects.firmware_version = version

    def set_time(self, when: dt.datetime) -> None:
        """Set the meter's clock (the hub synchronises it; tests pin it to RTDS's times)."""
        self._time_base = (when, self.clock.now())

    def utc_now(self) -> dt.datetime:
        if self._time_base is None:
            return self.clock.utc_now()
        base, at = self._time_base
        return base + dt.timedelta(seconds=self.clock.now() - at)

    def attach_slot(
        self, slot: int, nwk: int, role: str, eui: bytes | None = None,
        curtail_level: int | None = None,
    ) -> None:  # fmt: skip
        """Bind a switch to a slot; with its EUI it is also a joined device (an HCALCS-type
        entry: GBCS has no PLCS type). `curtail_level`: the PLCS's configured 7.6 level."""
        self.aux.attach(slot, nwk, role, eui, curtail_level)
        if eui is not None:
            self.log.add(eui, "hcalcs")

    def joined(self, slot: int) -> SlotLink | None:
        """The slot's switch if the meter may command it (present and in the device log)."""
        return self.aux.joined(slot)

    async def command_slot(
        self, slot: int, srv: str, duration: int = 0, level: int | None = None
    ) -> None:
        """Command a slot's switch as SRV 7.5 / 7.6 / 7.8 would (slots.py); SwitchError."""
        await self.aux.command_slot(slot, srv, duration, level)

    async def read_output(self, link: SlotLink) -> tuple[bool, int]:
        """(relay closed?, level %) as a slot's switch reports them; SwitchError."""
        return await self.aux.read_output(link)

    async def set_boost_association(self, slot: int, allowed: bool) -> None:
        """Write a switch's boost association (what ECS62 does for one slot); SwitchError."""
        try:
            await self.objects.boost_association("set", slot, boolean(allowed))
        except InstructionFailed as exc:
            raise SwitchError(f"slot {slot}: {exc.result}") from None

    def raise_alert(
        self, to: bytes, code: int, when: dt.datetime, extra: list[Any],
        message_code: int = FUTURE_DATED_ALERT,
    ) -> bytes:  # fmt: skip
        """A DLMS alert (code, time stamp, then `extra`; 00CC unless `message_code` says
        otherwise), signed by this meter, handed to `alert_sink`; returns its bytes (none: a
        non-critical alert its party's alert behaviours, 6.22, have turned off, counted and
        not sent)."""
        if not alert_behaviour.sends(self.store, code):
            self.stats[f"alert-off:{code:04X}"] += 1
            LOGGER.info("ESME %s: alert %04X not sent (turned off)", self.eui.hex(), code)
            return b""
        return self._deliver(code, self.responses.alert(next(self._alert_counter), to, code,
                                                        when, extra, message_code))  # fmt: skip

    def _limit_alert(self, message_code: int, code: int, extra: list[Any]) -> None:
        """ECS101 / ECS102 (periods.py): the auxiliary controller limit's alert to the meter's
        Supplier, signed."""
        self.raise_alert(self._supplier(), code, self.utc_now(), extra, message_code)

    def _supplier(self) -> bytes:
        """The party the meter's Supplier cells hold now (a Supplier change moves its alerts)."""
        return next(e for e, r in self.access.trust.parties().items() if r == Role.SUPPLIER)

    def tamper(self) -> list[int]:
        """Someone tampers with the meter (the world's event, as a power cut is): 8F3F to its
        Supplier, and where the supply tamper state is Locked the supply disconnected and
        81BE (supply.py). The alert codes sent (an alert its behaviours turn off is not)."""
        self.stats["tamper:detected"] += 1
        codes = [TAMPER_DETECTED]
        if on_tamper(self.store):
            self.stats["supply:locked-on-tamper"] += 1
            LOGGER.info("ESME %s: tamper with the supply tamper state Locked: supply "
                        "disconnected", self.eui.hex())  # fmt: skip
            codes.append(LOCKED_ON_TAMPER)
        return [code for code in codes if self._raise_supplier_alert(code) is not None]

    def _deliver(self, code: int, alert: bytes) -> bytes:
        """Count a raised alert and hand it to `alert_sink` (or say it has nowhere to go)."""
        self.stats[f"alert:{code:04X}"] += 1
        if self.alert_sink is None:
            LOGGER.warning("ESME %s: alert %04X raised with nowhere to go", self.eui.hex(), code)
        else:
            self.alert_sink(alert)
        return alert

    def _raise_supplier_alert(self, code: int) -> bytes | None:
        """A generic alert (GCA / GNCA: consumption.py) to the meter's Supplier, where its
        alert behaviours let it go; sent to `alert_sink`."""
        if not alert_behaviour.sends(self.store, code):
            self.stats[f"alert-off:{code:04X}"] += 1
            return None
        supplier = self._supplier()
        mac = self.responses.mac or (lambda apdu: mac_apdu(apdu, self.keys.keystore))
        alert = generic_alert(self.eui, supplier, next(self._alert_counter), code,
                              self.utc_now(),
                              lambda apdu: sign(apdu, self.responses.signing_key()), mac)  # fmt: skip
        return self._deliver(code, alert)

    def _raise_asn1_alert(
        self, to: bytes, message_code: int, content: bytes | Callable[[int], bytes]
    ) -> bytes:
        """An alert around given content (the activate-firmware alert 00CA; the firmware
        receipt 00CE, whose DLMS content takes the alert's counter), signed, to `alert_sink`."""
        counter = next(self._alert_counter)
        if callable(content):
            content = content(counter)
        return self._deliver(
            message_code, self.responses.signed_alert(counter, to, message_code, content)
        )

    # --- one command ----------------------------------------------------------------------
    async def handle(self, command: bytes) -> EsmeResult:
        """Check and execute one GBCS command; never raises for bad input."""
        use_case, srv, slot = "unknown", None, None
        try:
            message = decode(command)
            use_case = (
                message.use_case.name if message.use_case else f"0x{message.message_code:04X}"
            )
            srv, slot = command_srv(message)
            srv = srv or STORE_READS.get(message.message_code)
            accepted = self.access.check(message, srv)
            response, slot = await self._execute(message, accepted, slot)
        except GbcsError as exc:
            return self._reject(use_case, srv, RejectReason.MALFORMED, str(exc))
        except CommandRejected as exc:
            result = self._reject(use_case, srv, exc.reason, "")
            result.slot = slot
            return result
        self.stats[outcome_text(Outcome.EXECUTED, None)] += 1
        return EsmeResult(use_case, srv, Outcome.EXECUTED, response, slot=slot)

    def _reject(
        self, use_case: str, srv: str | None, reason: RejectReason, detail: str
    ) -> EsmeResult:
        self.stats[outcome_text(Outcome.REJECTED, reason)] += 1
        LOGGER.info(
            "ESME %s rejected %s (%s): %s %s", self.eui.hex(), use_case, srv, reason, detail
        )
        return EsmeResult(use_case, srv, Outcome.REJECTED, reason=reason)

    async def _execute(
        self, message: Message, srv: str, slot: int | None
    ) -> tuple[bytes, int | None]:
        """The response and the slot the command names (ECS47's, or the controller an
        ECS47a/e's script names once execution gets that far)."""
        code = message.message_code
        if code in (JOIN, UNJOIN, JOIN_B, UNJOIN_B):
            return self.responses.seal(message, self.log.answer(message, self.aux.links)), slot
        if code == ACTIVATE_FIRMWARE:
            return self.responses.seal(message, self.firmware.answer(message)), slot
        if code in UPDATE_CREDENTIALS:
            content = self.credentials.answer(message)
            return self.responses.seal(message, content, signed=True), slot
        if code in PROVIDE_DETAILS:
            details = credential_details(message, self.access.trust, self._last_counter)
            return self.responses.seal(message, details), slot
        if code in OWN_CREDENTIALS:
            return self.responses.seal(message, self.own_credentials.answer(message)), slot
        specs = list(zip(message.payload.specifications, message.payload.data, strict=True))
        if code == ECS47:
            slot = first_action_selector(specs) >> 8
            outcomes = await self.aux.ecs47(slot, specs, srv)
        elif code in PERIOD_USE_CASES:
            outcomes, slot = self.controllers.run(code, specs)
        else:
            outcomes = await self.objects.run(message, specs)
        return self.responses.access_response(message, outcomes), slot

    def _last_counter(self, party: bytes) -> int:
        """The last counter accepted from a remote party (what CS02a reports)."""
        return self.access.counters.last.get(bytes(party), 0)

    def _faulty(self, code: bytes) -> bool:
        """The object's storage fails (`object_faults`, set by tests)."""
        return code in self.object_faults
