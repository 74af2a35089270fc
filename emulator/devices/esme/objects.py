"""The meter's DLMS objects: which object an instruction addresses and what get / set on it
does, for every use case that is a plain list of instructions (ECS46a/c/d, ECS52, ECS61a/c/d/e,
ECS62, ECS70 (the clock: timekeeping.py), and the configuration, tariff, prepayment and supply reads of store.py). Objects the
meter holds (labels, identifiers, boost availability and log, firmware version) live here;
calendar objects in calendar.py; the other attributes the reads name in store.py; objects
that live in a switch (its output, boost association, label) are read or written through
slots.py.

OBIS codes come from gbcs.obis (primer 9.1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]

from gbcs import obis
from gbcs.message import Message

from .. import switch_zcl as sz
from ..switch_zcl import SwitchError
from . import alert_behaviour, blocks
from .calendar import ACTIVATIONS, TABLES, Calendar
from .debt import IC_CHARGE, IC_CREDIT, charge_method, credit_method
from .extended import ACTIVE_OF, ATTRIBUTES, ExtendedValues
from .instructions import (
    IC_DATA,
    IC_DISCONNECT,
    IC_EXTENDED,
    IC_PROFILE,
    NULL,
    InstructionFailed,
    InstructionOutcome,
    InstructionResult,
    boolean,
    item,
)
from .payment_mode import PaymentMode
from .periods import ControllerPeriods
from .prepay_config import PrepayConfiguration
from .protected import GET_PROTECTED_ATTRIBUTES, IC_DATA_PROTECTION, ProtectedReads
from .slots import AuxiliarySlots
from .store import CosemStore
from .supply import IC_SCRIPT_TABLE, SUPPLY_SCRIPTS, run_script
from .tariff import TariffTables
from .timekeeping import CLOCK, IC_CLOCK, MeterClock
from .topup import ENTER, IC_TOKEN_GATEWAY, TOKEN_GATEWAY, TopUps

#: ECS52 (11.2): the firmware version RTDS's ESME reports
RTDS_FIRMWARE_VERSION = "0123ABCD"
LABELS = {obis.switch_label(n): n for n in obis.SWITCHES}
IDENTIFIERS = {obis.switch_identifier(n): n for n in obis.SWITCHES}
CONTROLLER_STATES = {obis.controller_state(n): n for n in obis.SWITCHES}
BOOST_ASSOCIATIONS = {obis.boost_association(n): n for n in obis.SWITCHES}

_HARDWARE_FAULT = InstructionResult.HARDWARE_FAULT
_UNAVAILABLE = InstructionResult.OBJECT_UNAVAILABLE


class MeterObjects:
    """Carries out the instructions of one command, object by object."""

    def __init__(
        self,
        profile: dict,
        slots: AuxiliarySlots,
        calendar: Calendar,
        controllers: ControllerPeriods,
        faulty: Callable[[bytes], bool],
        store: CosemStore,
        protected: ProtectedReads,
        clock: MeterClock,
    ) -> None:
        self.slots, self.calendar, self.controllers, self.faulty = (
            slots, calendar, controllers, faulty)  # fmt: skip
        self.store, self.protected, self.clock = store, protected, clock
        self.labels = {int(k): v for k, v in profile["labels"].items()}
        self.identifiers = {int(k): bytes.fromhex(v) for k, v in profile["identifiers"].items()}
        self.boost_available = bool(profile.get("boost_available", True))
        self.boost_log = [tuple(e) for e in profile.get("boost_log", [])]
        self.firmware_version = bytes.fromhex(profile.get("firmware_version",
                                                          RTDS_FIRMWARE_VERSION))  # fmt: skip
        #: the passive values with activation times (6.4.1's load limit settings)
        self.extended: ExtendedValues | None = None
        #: the tariff switching tables, special days and block thresholds (1.1.1, 1.1.2)
        self.tariff: TariffTables | None = None
        #: the token gateway (2.2's UTRNs)
        self.topups: TopUps | None = None
        #: whether the supply is interlocked for lack of credit (consumption.py)
        self.supply_interlocked: Callable[[], bool] | None = None
        #: the passive account and disablement threshold (1.6's payment mode)
        self.payment: PaymentMode | None = None
        #: the passive prepayment configuration (2.1)
        self.prepay: PrepayConfiguration | None = None

    async def run(self, message: Message, specs: list[Any]) -> list[InstructionOutcome]:
        """Every instruction in order; after a hardware_fault the rest are other_reason."""
        outcomes: list[InstructionOutcome] = []
        failed = False
        for spec, value in specs:
            kind = str(spec.kind)
            if failed:
                outcomes.append((kind, InstructionResult.OTHER_REASON, NULL))
                continue
            try:
                data = await self.instruction(message, spec, value)
                outcomes.append((kind, InstructionResult.SUCCESS, data))
            except InstructionFailed as exc:
                outcomes.append((kind, exc.result, NULL))
                failed = exc.result == _HARDWARE_FAULT
        return outcomes

    async def instruction(self, message: Message, spec: Any, value: Any) -> Any:
        """The data item one instruction answers (null-data for a set); InstructionFailed."""
        kind, ic, code = str(spec.kind), int(spec.class_id), bytes(spec.instance_id)
        attribute = int(spec.attribute_or_method)
        if (ic, code) in ACTIVE_OF and attribute in ATTRIBUTES[ic]:  # ECS28a, ECS01b
            # before the fault check: a faulty object takes its passive value and fails
            # when the activation writes it, as RTDS's ERROR responses show
            if self.extended is None:
                raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
            return self.extended.instruction(message, kind, (ic, code), attribute, value)
        if self.payment is not None and self.payment.serves(ic, code, attribute):  # ECS02/03
            return self.payment.instruction(message, kind, ic, code, attribute, value)
        if self.prepay is not None and self.prepay.serves(ic, code, attribute):  # ECS08(a)
            return self.prepay.instruction(message, kind, ic, code, attribute, value)
        if self.faulty(code) or self.faulty(code + bytes((attribute,))):
            # the object's storage fails, or that one attribute's (OBIS + attribute number)
            raise InstructionFailed(_HARDWARE_FAULT)
        if ic == IC_CLOCK and code == CLOCK:  # ECS70 set clock (6.11, 8.1.1)
            return self.clock.instruction(kind, int(spec.attribute_or_method), value)
        if ic == IC_DATA and code in LABELS:
            return await self._label(kind, LABELS[code], value)
        if ic == IC_DATA and code in IDENTIFIERS:
            if kind == "get":
                return item("octet-string", self.identifiers.get(IDENTIFIERS[code], b""))
            self.identifiers[IDENTIFIERS[code]] = bytes(value.value)
            return NULL
        if ic == IC_DATA and code in CONTROLLER_STATES and kind == "get":
            return item("utf8-string", await self._state_json(CONTROLLER_STATES[code]))
        if ic == IC_DATA and code in BOOST_ASSOCIATIONS:
            return await self.boost_association(kind, BOOST_ASSOCIATIONS[code], value)
        if ic == IC_DATA and code == obis.FIRMWARE_VERSION and kind == "get":  # ECS52
            return item("octet-string", self.firmware_version)
        if ic == IC_DATA and code == obis.BOOST_AVAILABILITY and kind == "get":
            return boolean(self.boost_available)
        if ic == IC_PROFILE and code == obis.BOOST_LOG and kind == "get_with_selection":
            return self._boost_log(spec.selection)
        if self.tariff is not None and TariffTables.handles((ic, code, attribute)):
            return self.tariff.instruction(message, kind, (ic, code, attribute), value)
        table = TABLES.get((ic, code))
        if table is not None:
            if kind == "get":
                return self.calendar.read(table)
            self.calendar.write(table, value)
            return NULL
        if ic == IC_EXTENDED and code in ACTIVATIONS and kind == "set":
            self.calendar.set_activation(code, bytes(value.value), message)
            return NULL
        # switch n's disconnect control: RTDS's 0-n:96.3.10.255 (any 0-n instance of IC 70)
        if ic == IC_DISCONNECT and code[0] == 0 and 1 <= code[1] <= 5 and kind == "get":
            link = self.slots.joined(code[1])
            if link is None:
                raise InstructionFailed(_UNAVAILABLE)
            try:
                relay, _level = await self.slots.read_output(link)
            except SwitchError:
                raise InstructionFailed(_HARDWARE_FAULT) from None
            return boolean(relay)
        method = int(spec.attribute_or_method)
        if (ic, code, kind, method) == (IC_TOKEN_GATEWAY, TOKEN_GATEWAY, "action", ENTER):
            if self.topups is None:
                raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
            self.topups.enter(message, value)  # CS01a: a UTRN credited
            return NULL
        if ic == IC_DATA_PROTECTION and kind == "action" and method == GET_PROTECTED_ATTRIBUTES:
            return self.protected.answer(message, value)  # ECS17b/e, ECS19: encrypted reads
        if ic == IC_SCRIPT_TABLE and code == SUPPLY_SCRIPTS and kind == "action" and method == 1:
            # ECS42/43/44: enable, disable, arm the supply (not while interlocked for credit)
            run_script(self.store, value, self.supply_interlocked)
            return NULL
        if ic == IC_SCRIPT_TABLE and code == blocks.SCRIPTS and kind == "action" and method == 1:
            blocks.run_script(self.store, value)  # ECS05: reset the tariff block counter matrix
            return NULL
        if kind == "get_with_selection" and ic == IC_PROFILE and (ic, code, method) in self.store:
            try:  # ECS35a/b/e/f/g: a log by the range its first column lies in
                return self.store.select(ic, code, method, spec.selection)
            except (ValueError, TypeError, AttributeError, IndexError):
                raise InstructionFailed(_UNAVAILABLE) from None
        if ic == IC_CHARGE and kind == "action" and charge_method(self.store, code, method, value):
            return NULL  # ECS07: a debt's passive unit charge activated, its total adjusted
        if ic == IC_CREDIT and kind == "action" and credit_method(self.store, code, method, value):
            return NULL  # ECS04a: the meter balance adjusted; ECS09: emergency credit invoked
        if (ic, kind, method) == (IC_DATA, "set", 2) and code in alert_behaviour.CONFIGURATIONS:
            alert_behaviour.configure(self.store, code, value)  # ECS25a/a1/a2/a3/b/b3
            return NULL
        if kind == "action" and method == 1 and self.store.resettable(ic, code):
            self.store.reset(ic, code)  # ECS15a/c, ECS28b, ECS29e, ECS57: clear, reset
            return NULL
        return self._stored(kind, (ic, code, method), value)

    def _stored(self, kind: str, key: tuple[int, bytes, int], value: Any) -> Any:
        """An attribute store.py holds: got, or set keeping its type."""
        if key not in self.store or kind not in ("get", "set"):
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        if kind == "get":
            return self.store.get(*key)
        if not self.store.set(*key, value):
            raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        return NULL

    async def _label(self, kind: str, slot: int, value: Any) -> Any:
        if kind == "get":
            return item("visible-string", self.labels.get(slot, ""))
        text = str(value.value)
        link = self.slots.joined(slot)
        if link is not None:  # the switch shows its label too (Basic location, config 0x0000)
            try:
                await self.slots.write_config(link, sz.ATTR_LABEL, sz.T_CHAR_STRING, text)
            except SwitchError:
                raise InstructionFailed(_HARDWARE_FAULT) from None
        self.labels[slot] = text
        return NULL

    async def boost_association(self, kind: str, slot: int, value: Any) -> Any:
        """Get or set whether the boost function controls switch `slot`: the switch holds it
        (config 0xFC00 attribute 0x0001)."""
        link = self.slots.joined(slot)
        if link is None:
            raise InstructionFailed(_UNAVAILABLE)
        try:
            if kind == "get":
                return boolean(bool(await self.slots.read_config(link, sz.ATTR_BOOST_ASSOCIATED)))
            await self.slots.write_config(link, sz.ATTR_BOOST_ASSOCIATED, sz.T_BOOL,
                                          bool(value.value))  # fmt: skip
        except SwitchError:
            raise InstructionFailed(_HARDWARE_FAULT) from None
        return NULL

    def _boost_log(self, selection: Any) -> Any:
        if selection is None or int(selection.selector) != 1:
            raise InstructionFailed(_UNAVAILABLE)
        params = selection.parameters.value
        start, end = int(params[1].value), int(params[2].value)
        entries = ListContainer(
            ListContainer([a, b]) for a, b in self.boost_log if start <= a and b <= end
        )
        description = Container(
            type="structure",
            elements=ListContainer(
                [Container(type="double-long-unsigned"), Container(type="double-long-unsigned")]
            ),
        )
        return item("compact-array", Container(description=description, entries=entries))

    async def _state_json(self, number: int) -> str:
        """ECS61e's state of controller n: {} when none is configured (empty identifier),
        else the output the switch reports, the input level held, and any other data."""
        if not self.identifiers.get(number):
            return "{}"
        held = self.controllers.state.get(number, {})
        output = held.get("outputState", 0)
        link = self.slots.joined(number)
        if link is not None:
            try:
                relay, level = await self.slots.read_output(link)
            except SwitchError:
                raise InstructionFailed(_HARDWARE_FAULT) from None
            output = level if link.role == "plcs" else (100 if relay else 0)
        state = {"outputState": output, "inputState": held.get("inputState", 0)}
        state.update({k: v for k, v in held.items() if k not in state})
        return json.dumps(state)
