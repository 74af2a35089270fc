"""The GSME's ZCL cluster commands (GBCS's gas commands in GBZ): what each changes in the meter,
and the answer it gives. Where a read SRV shows the change, the change is to the attribute
that read answers from (attributes.json): 6.20.1's MPRN (GCS41 update_site_id) is GCS46's
0702/0307, 7.2 / 7.3's valve (GCS32 / GCS39 change_supply) is GCS33's supply status
0702/0014, 1.5's balances (GCS40a-d credit_adjustment) are GCS60's prepayment credit
remaining 0705/0001 (prepayment mode) and bill to date 0702/0A00 (credit mode). The rest
GCS28 (6.11, 8.1.1 set clock, ASN.1) takes the time within its validity interval.

The device log (ASN.1, as paired_device.py's for an HCALCS or PPMID): 8.7.x joins its GPF
(CS03B, Method B) or a PPMID (CS03C, Method C with a P-256 certificate), 8.8.x unjoins (CS04B,
CS04AC), 8.9 reads it (CS07: each device's EUI and type). It starts with the devices RTDS's
GSME lists (device_log.json: so RTDS's and the catalogue's CS04B find the device they unjoin);
the GPF enters itself at the start.

The billing calendar (Price cluster): 6.8 (GCS25 / GCS25a) publishes the billing period and the
block period with it; 6.2.3 (GCS21d / GCS21k) reads the billing period back (RTDS's meter's
at the start).

The gas configuration GCS21a (6.2.8) reads: 6.6 (GCS23) publishes the conversion factor and
calorific value (Price 0x0302-0x0306), 6.7 (GCS24a) sets the uncontrolled flow threshold
(Metering 0x0B10-0x0B15) and the supply tamper and depletion states (0x0607, 0x0608, which
6.2.4 reads), a value that does not fit its attribute `invalid_value`, nothing changed.

The tariff (1.2.1 GCS01b: the Price cluster's tariff information and price matrix; 1.1.1
GCS01a: the Calendar cluster's calendar, day and week profiles, seasons and special days before
them, and the block thresholds): each command kept as the meter received it (`GasTariff`),
answered success, as RTDS's GSME; a hardware fault fails it and the rest of the message
(RTDS's ERROR responses).

The ZigBee event logs (Events cluster 0x0709; event_logs.json): 6.13 reads the event log (CS10a,
ZCL log 3) or the security log (CS10b, log 4) over a period, a log with nothing in it
`not_found`; 3.3 (CS11) clears the event log (the security log cannot be cleared remotely:
the use-case tables), answering which logs it cleared. The meter logs to its event log what
these commands do that GBCS names an event for (gbcs.alerts): supply armed 8F32, emergency
credit activated 81AB, clock adjusted 8145 / not adjusted 81C6; and to its security log, as
RTDS's GSME's lists them (one of each), the security events: joins succeeded 8F49 or failed
8F48, unjoins succeeded 8F4B or failed 8F4A, the event log cleared 8F52, and each UTRN it
refuses (8F63 not authentic, 8F51 duplicate, 8F5B over the maximum credit, 8F47 over the
maximum balance). The rest
(3.1's message, 3.4's supplier, 3.5's PIN, 2.3's debts, 2.5's
emergency credit) are kept on the meter, for the reads not yet served.

The sampled data logs (Metering get_sampled_data; sampled_data.json, RTDS's meter's): 4.8.1
the half-hour consumption profile (GCS17, sample id 0), 4.10 the gas network data log (GCS18,
id 2), 4.17 the daily consumption log (GCS61, id 1, which the GPF answers from its mirror). A
request names its earliest sample time and how many samples: the samples the log holds in that
window, `not_found` when it holds none there; the DSP's earliest time 0x00000001 (GCS18, as
RTDS's) asks for the most recent samples. 14.1 (GCS31 start_sampling) starts the network data
log again at its interval, empty (this emulator takes no gas samples yet, so 4.10 then finds
none: RTDS's GCS18 NOT_FOUND), answering its sample id; a sample type or interval it cannot
sample 0xFFFF, as a hardware failure does (RTDS's ERROR).

The event and alert behaviours (Device Management; event_configuration.json, RTDS's meter's):
6.2.10 (GCS20r get_event_configuration) reports them, an event id 0xNNFF every event of group
NN; 6.22 (GCS20 set_event_configuration) sets one configuration for a list of events, a group,
the events of a log or those of one configuration; an event the meter does not have is
`not_found` and a start in the future `invalid_value`, nothing changed. The meter logs an event
only where its configuration has it logged.

The meter keeps two calendars (tariff_calendar.json: RTDS's meter's at the start), by ZCL
calendar type: the tariff's (0: 1.1.1 publishes it, 4.11.1 reads it) and the friendly credit
one (3: 2.1 publishes it, 4.13 reads it). A publish_calendar replaces its type's whole calendar
(the old profiles, seasons and special days go); the week profiles and seasons after it, which
name no type, are its. A read names its calendar by the special days' type and, for the
profiles and seasons, by the issuer calendar id: 0xFFFFFFFE the friendly credit one (RTDS's
4.13), any other the tariff's. 4.13 (GCS21b) reads the prepayment configuration (Prepayment
attributes: debt recovery rates, frequencies and shares, which 2.3 sets; caps and thresholds),
the price's trailing digit and the friendly credit calendar; 4.11.1 (GCS21f) the Price
attributes (thresholds, block prices, currency, the standing charge 1.2.1 publishes), the
tariff calendar and the current price (publish_price at the meter's time); each day and week
profile, the seasons and the special days one Calendar publish command each, `not_found` where
the meter holds none.

The snapshots and the debt log (snapshots.json, RTDS's meter's): 4.6.1 (GCS16a) and 4.14
(GCS16b) read the daily read log, 4.4.3 (GCS15c) the billing calendar's snapshots, each one
get_snapshot / get_prepay_snapshot per offset: the snapshot at that offset among those of the
causes taken in the period (a request's cause is a mask: 4.4.2 GCS15b asks for the change of
mode or tariff ones; their count as total_snapshots_found), `not_found` past the last; 4.4.4
(GCS15d) reads the payment-based debt log: the collections of the debt type from the
component's from-date-time to the latest end time, at most the number asked, `not_found` for
none. All encrypted for the reader. 4.4.5 (GCS15e) reads the top-up log (clear), the most
recent first; a UTRN 2.2 credits (prepayment.py) joins it.

Rules where our sources show only success (RTDS) and a hardware failure: arming closes
nothing (an open valve stays open, a closed one becomes armed), a supply status other than
off or armed is `invalid_field`, an unknown credit adjustment or debt type `invalid_field`,
a balance taken outside its attribute's range (bill to date below zero) `invalid_value`, emergency credit selected twice
`failure` (none left to select: ours).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]

from gbcs import asn1
from gbcs.primitives import datetime_to_seconds2000

from ..outcomes import join_entry
from ..paired_device import usable_certificate
from .answer import Asn1Handler, Attributes, Handler
from .prepayment import GasPrepayment

METERING, MESSAGING, PREPAYMENT, DEVICE_MANAGEMENT = 0x0702, 0x0703, 0x0705, 0x0708
PRICE, CALENDAR = 0x0700, 0x0707
PUBLISH_BILLING_PERIOD = 0x09
BILLING_PERIOD_FIELDS = ("provider_id", "issuer_event_id", "billing_period_start_time",
                         "billing_period_duration", "billing_period_duration_type",
                         "tariff_type")  # fmt: skip
BLOCK_PERIOD_FIELDS = ("provider_id", "issuer_event_id", "block_period_start_time",
                       "block_period_duration", "block_period_control",
                       "block_period_duration_type", "tariff_type", "tariff_resolution_period")  # fmt: skip
#: the billing period RTDS's GSME reports (GCS21d): from 2014-01-01, weekly
RTDS_BILLING_PERIOD = dict(zip(BILLING_PERIOD_FIELDS, (0, 473385600, 441849600, 1, 0x22, 0),
                               strict=True))  # fmt: skip
SITE_ID = (METERING, 0x0307)  # the MPRN GCS46 reads
SUPPLY_STATUS = (METERING, 0x0014)  # GCS33's valve: 0 off, 1 armed, 2 on
CREDIT_REMAINING = (PREPAYMENT, 0x0001)  # GCS60: the prepayment mode meter balance
BILL_TO_DATE = (METERING, 0x0A00)  # GCS60: the credit mode meter balance
SUPPLY_OFF, SUPPLY_ARMED, SUPPLY_ON = 0, 1, 2
SET_CLOCK = 0x007F  # GCS28 (ASN.1)
UNCHANGED = 3  # set_supply_status: a state left as it is
EVENTS = 0x0709
EVENT_LOGS = Path(__file__).with_name("event_logs.json")
SAMPLED_DATA = Path(__file__).with_name("sampled_data.json")
EVENT_CONFIGURATION = Path(__file__).with_name("event_configuration.json")
TARIFF_CALENDAR = Path(__file__).with_name("tariff_calendar.json")
SNAPSHOTS = Path(__file__).with_name("snapshots.json")
DEVICE_LOG = Path(__file__).with_name("device_log.json")
PUBLISH_SNAPSHOT, PUBLISH_PREPAY_SNAPSHOT, PUBLISH_DEBT_LOG = 0x06, 0x01, 0x06
PUBLISH_TOP_UP_LOG, TOP_UP_ACCEPTED = 0x05, 0  # consumer_top_up_response's result: accepted
#: a top-up: its UTRN, the credit, when (seconds since 2000)
TopUp = tuple[bytes, int, int]
#: a snapshot: its time (seconds since 2000), its payload type, the payload's fields and, where
#: RTDS's meter numbers it so, its snapshot id (else its offset in the answer)
Snapshot = tuple[Any, ...]
#: a debt collection: time, amount collected, debt type, outstanding debt
Collection = tuple[int, int, int, int]
TARIFF_CALENDAR_TYPE, FRIENDLY_CREDIT = 0, 3  # ZCL calendar types
FRIENDLY_CREDIT_READ = 0xFFFFFFFE  # a get's issuer calendar id naming it (RTDS's 4.13)
STANDING_CHARGE = (PRICE, 0x0301)  # what 4.11.1 reads of 1.2.1's tariff information
PUBLISH_PRICE = 0x00
#: the Calendar cluster's publish commands (server to client) answering its gets
PUBLISH_DAY_PROFILE, PUBLISH_WEEK_PROFILE, PUBLISH_SEASONS, PUBLISH_SPECIAL_DAYS = 1, 2, 3, 4
#: 2.3's debts as the Prepayment attributes 4.13 reads: debt n -> (recovery frequency, amount)
#: for the time-based debts 1 and 2; the payment-based debt 3's share of each top-up
DEBT_ATTRIBUTES = {1: ((PREPAYMENT, 0x0216), (PREPAYMENT, 0x0217)),
                   2: ((PREPAYMENT, 0x0226), (PREPAYMENT, 0x0227))}  # fmt: skip
DEBT_3_SHARE = (PREPAYMENT, 0x0239)
#: each debt's outstanding amount as the Prepayment attribute 4.3 (GCS14) reads
DEBT_AMOUNTS = {1: (PREPAYMENT, 0x0211), 2: (PREPAYMENT, 0x0221), 3: (PREPAYMENT, 0x0231)}
REPORT_EVENT_CONFIGURATION = 0x04
ALL_OF_GROUP = 0xFF  # an event id's low byte: every event of the group
#: set_event_configuration's configuration control: by list, group, log, configuration
BY_LIST, BY_GROUP, BY_LOG, BY_CONFIGURATION = 0, 1, 2, 3
LOG_BITS = 0x07  # an event configuration's log (0: not logged)
GET_SAMPLED_DATA_RESPONSE = 0x07
DAILY_INTERVAL, DAY = 0xFFFF, 86400
NETWORK_DATA, START_SAMPLING_RESPONSE, NOT_SAMPLING = 2, 0x0D, 0xFFFF  # 14.1's log, its answer
MOST_RECENT = 1  # an earliest sample time of 0x00000001: the most recent samples
ALL_LOGS, GENERAL_EVENTS, SECURITY_EVENTS = 0, 3, 4  # ZCL log ids
CLEARABLE = (GENERAL_EVENTS,)  # the security log is not cleared remotely
PUBLISH_EVENT_LOG, CLEAR_EVENT_LOG_RESPONSE = 0x01, 0x02
#: the events the meter logs for what its commands do (gbcs.alerts names them)
SUPPLY_ARMED_EVENT, EMERGENCY_CREDIT_EVENT = 0x8F32, 0x81AB
CLOCK_ADJUSTED_EVENT, CLOCK_NOT_ADJUSTED_EVENT = 0x8145, 0x81C6
#: the security log's events for the device log and CS11 (gbcs.alerts names them)
JOINED_EVENT, JOIN_FAILED_EVENT = 0x8F49, 0x8F48
UNJOINED_EVENT, UNJOIN_FAILED_EVENT = 0x8F4B, 0x8F4A
EVENT_LOG_CLEARED_EVENT = 0x8F52

Event = tuple[int, int, bytes]  # event id, seconds since 2000, event data


@dataclass
class SampledLog:
    """One sampled data log: its first sample's time (seconds since 2000), the interval
    between samples, the samples oldest first, and whether its responses disable the default
    response (RTDS's meter's flag, per log)."""

    start: int
    interval: int
    samples: list[int]
    quiet: bool = True

    @property
    def step(self) -> int:
        """Seconds between samples: a day for the daily log's interval 0xFFFF."""
        return DAY if self.interval == DAILY_INTERVAL else self.interval


#: the device log's use cases (ASN.1): joins CS03B (Method B, its GPF) and CS03C (Method C, a
#: PPMID), unjoins CS04B and CS04AC, read CS07
CS03B, CS03C, CS04B, CS04AC, CS07 = 0x000E, 0x00AF, 0x0010, 0x000F, 0x0013
#: (join method, partner type) the GSME accepts
JOINS = {("method_b", "gpf"), ("method_c", "ppmid")}
DEVICE_LOG_CAPACITY = 8  # our figure, as the PPMID's
JOIN_OK, JOIN_BAD_METHOD, JOIN_INCOMPATIBLE, JOIN_LOG_FULL, JOIN_BAD_CERT = 0, 2, 3, 4, 11
UNJOIN_OK, UNJOIN_NOT_IN_LOG = 0, 1
READ_OK, READ_FAILURE = 0, 1
#: gbcs.asn1.DEVICE_TYPES by name
DEVICE_TYPE_CODES = {name: code for code, name in asn1.DEVICE_TYPES.items()}
CLOCK_RELIABLE, CLOCK_UNRELIABLE = 0, 2  # gbcs.asn1.DEVICE_TIME_STATUS
SUPPLY_STATUS_RESPONSE = 0x0C
#: credit_adjustment types -> (the balance, incremental)
ADJUSTMENTS = {0: (CREDIT_REMAINING, True), 1: (CREDIT_REMAINING, False),
               2: (BILL_TO_DATE, False), 3: (BILL_TO_DATE, True)}  # fmt: skip
#: change_debt's amount type -> (debt 1..3, incremental)
DEBT_TYPES = {0: (1, False), 1: (1, True), 2: (2, False), 3: (2, True), 4: (3, False),
              5: (3, True)}  # fmt: skip


@dataclass
class Debt:
    """One of the meter's three debts: its outstanding amount and how it is recovered (time
    based at `rate` per hour or day, or `share` of each payment)."""

    amount: int = 0
    method: int = 0
    frequency: int = 0
    rate: int = 0
    share: int = 0


@dataclass
class GasTariff:
    """The tariff the Price and Calendar commands published, each as the meter received it
    (their ZCL payloads; day and week profiles by their ids)."""

    tariff_information: Any = None
    price_matrix: Any = None
    block_thresholds: Any = None
    calendar: Any = None
    day_profiles: dict[int, Any] = field(default_factory=dict)
    week_profiles: dict[int, Any] = field(default_factory=dict)
    seasons: Any = None
    special_days: Any = None


@dataclass
class GasState:
    """What the gas commands set that no served read shows yet."""

    message: bytes | None = None
    supplier_name: bytes = b""
    supplier_contact: bytes = b""
    pin_disabled: bool = False
    customer_id_number: bytes = b""  # 9.1's CIN (GCS36)
    emergency_credit_selected: bool = False
    clock_reliable: bool = True
    billing_period: dict[str, int] = field(default_factory=lambda: dict(RTDS_BILLING_PERIOD))
    block_period: dict[str, int] | None = None
    #: partner certificates Method C joins delivered (EUI -> DER)
    certificates: dict[bytes, bytes] = field(default_factory=dict)
    debts: dict[int, Debt] = field(default_factory=lambda: {n: Debt() for n in (1, 2, 3)})
    tariff: GasTariff = field(default_factory=lambda: load_calendar(TARIFF_CALENDAR_TYPE))
    #: the friendly credit calendar (2.1; 4.13 reads it)
    friendly_credit: GasTariff = field(default_factory=lambda: load_calendar(FRIENDLY_CREDIT))
    #: the price the meter publishes as current (4.11.1)
    current_price: dict[str, Any] | None = field(default_factory=lambda: load_current_price())


class GasCommands:
    """The handlers of the GSME's cluster commands over its `attributes` and `state`;
    `now` is the meter's clock."""

    def __init__(self, attributes: Attributes, now: Callable[[], dt.datetime],
                 event_logs: dict[int, list[Event]] | None = None) -> None:  # fmt: skip
        self.attributes, self.now = attributes, now
        self.state = GasState()
        #: the devices the meter has joined (EUI -> gbcs.asn1 device type name): RTDS's
        #: (device_log.json), its GPF (added by the GPF), a PPMID
        self.device_log: dict[bytes, str] = load_device_log()
        self.device_log_fault = False  # tests: the log cannot be read (RTDS's CS07 ERROR)
        #: ZCL log id -> its events, oldest first
        self.logs: dict[int, list[Event]] = event_logs if event_logs is not None else load_logs()
        #: event id -> its configuration (ZCL: log, WAN / HAN alert, alarm), in RTDS's order
        self.event_configuration: dict[int, int] = load_event_configuration()
        #: (cluster, snapshot cause) -> its snapshots, oldest first; the debt collections
        self.snapshots, self.debt_log = load_snapshots()
        #: the top-ups credited, oldest first
        self.top_ups: list[TopUp] = load_top_ups()
        #: the calendar type the last publish_calendar named (its week profiles and seasons)
        self._calendar_type = TARIFF_CALENDAR_TYPE
        #: ZCL sample id -> its sampled data log
        self.sampled: dict[int, SampledLog] = load_sampled()
        #: clusters whose hardware fails (tests: RTDS's ERROR responses) -> how many more of
        #: their commands are carried out first; then each changes nothing and answers
        #: hardware_failure
        self.faults: dict[int, int] = {}
        #: 1.6's payment mode and 2.2's top-ups (prepayment.py), a refused UTRN's event in
        #: the security log
        self.prepayment = GasPrepayment(attributes, now)
        self.prepayment.on_refused = self.log_security

    def handlers(self) -> dict[tuple[int, str], Handler]:
        """Each command's handler, by (cluster, command id)."""
        return {key: self._guarded(key[0], handler) for key, handler in self._handlers().items()}

    def _guarded(self, cluster: int, handler: Handler) -> Handler:
        def run(payload: Any) -> str | tuple[int, Any] | tuple[int, Any, bool] | list[Any]:
            if cluster in self.faults:
                if self.faults[cluster] <= 0:
                    return self._failed(cluster, payload)
                self.faults[cluster] -= 1
            return handler(payload)

        return run

    def asn1_handlers(self) -> dict[int, Asn1Handler]:
        """The ASN.1 use cases' handlers, by message code."""
        return {
            SET_CLOCK: self._set_clock,
            CS03B: self._join,
            CS03C: self._join,
            CS04B: self._unjoin,
            CS04AC: self._unjoin,
            CS07: self._read_device_log,
        }

    def _join(self, fields: Any) -> bytes:
        """Add the other device to the device log: its GPF by Method B, a PPMID by Method C
        with a usable certificate; the join response code (as paired_device's rules)."""
        method, kind = str(fields.join_method_and_role_name), str(fields.other_device_type_name)
        other = bytes(fields.other_device_id)
        certificate = fields.other_device_certificate
        if (method, kind) not in JOINS or len(other) != 8:
            result = JOIN_BAD_METHOD
        elif method == "method_c" and not usable_certificate(
            None if certificate is None else bytes(certificate)
        ):
            result = JOIN_BAD_CERT
        else:
            result = join_entry(self.device_log, other, kind, DEVICE_LOG_CAPACITY)
        if result == JOIN_OK and certificate is not None:
            self.state.certificates[other] = bytes(certificate)
        self.log_security(JOINED_EVENT if result == JOIN_OK else JOIN_FAILED_EVENT)
        return asn1.encode_tree(asn1.integer(result))

    def _unjoin(self, fields: Any) -> bytes:
        other = bytes(fields.value)
        found = self.device_log.pop(other, None) is not None
        self.state.certificates.pop(other, None)
        self.log_security(UNJOINED_EVENT if found else UNJOIN_FAILED_EVENT)
        return asn1.encode_tree(asn1.integer(UNJOIN_OK if found else UNJOIN_NOT_IN_LOG))

    def _read_device_log(self, fields: Any) -> bytes:
        """The device log's entries (device id, device type), or read_failure."""
        if self.device_log_fault:
            return asn1.encode_tree(asn1.sequence(asn1.integer(READ_FAILURE)))
        entries = [asn1.sequence(asn1.octet_string(eui), asn1.integer(DEVICE_TYPE_CODES[kind]))
                   for eui, kind in self.device_log.items()]  # fmt: skip
        return asn1.encode_tree(asn1.sequence(asn1.integer(READ_OK), asn1.sequence(*entries)))

    def _set_clock(self, fields: Any) -> bytes:
        """GCS28: the meter takes the time (the emulator's clock, as the GPF gives it) when it
        lies within the command's validity interval, and its clock is then reliable;
        otherwise nothing changes and its clock is unreliable. It answers its time and the
        status."""
        now = self.now().astimezone(dt.UTC).replace(microsecond=0)
        start, end = (_generalized(str(fields[n])) for n in ("validity_interval_start",
                                                                "validity_interval_end"))  # fmt: skip
        self.state.clock_reliable = start <= now <= end
        self.log(CLOCK_ADJUSTED_EVENT if self.state.clock_reliable else CLOCK_NOT_ADJUSTED_EVENT)
        status = CLOCK_RELIABLE if self.state.clock_reliable else CLOCK_UNRELIABLE
        return asn1.encode_tree(asn1.sequence(
            asn1.generalized_time(now.strftime("%Y%m%d%H%M%SZ")), asn1.integer(status)))  # fmt: skip

    def _failed(self, cluster: int, payload: Any) -> str | tuple[int, Any]:
        """A command whose hardware failed: hardware_failure, but a clear of the event log,
        which answers that it cleared nothing (RTDS's CS11 ERROR)."""
        if cluster == METERING and payload.command == "start_sampling":
            return START_SAMPLING_RESPONSE, _response("start_sampling_response",
                                                      sample_id=NOT_SAMPLING)  # fmt: skip
        if cluster == EVENTS and payload.command == "clear_event_log_request":
            return CLEAR_EVENT_LOG_RESPONSE, _response("clear_event_log_response",
                                                       cleared_event_logs=0)  # fmt: skip
        return "hardware_failure"

    def _handlers(self) -> dict[tuple[int, str], Handler]:
        return {
            (MESSAGING, "display_message"): self._display_message,
            (DEVICE_MANAGEMENT, "publish_change_of_supplier"): self._change_of_supplier,
            (DEVICE_MANAGEMENT, "request_new_password_response"): self._new_password,
            (DEVICE_MANAGEMENT, "update_site_id"): self._site_id,
            (DEVICE_MANAGEMENT, "update_cin"): self._customer_id,
            (METERING, "change_supply"): self._change_supply,
            (PREPAYMENT, "select_available_emergency_credit"): self._emergency_credit,
            (PREPAYMENT, "change_debt"): self._change_debt,
            (PREPAYMENT, "credit_adjustment"): self._credit_adjustment,
            (EVENTS, "get_event_log"): self._get_event_log,
            (METERING, "get_sampled_data"): self._get_sampled_data,
            (METERING, "start_sampling"): self._start_sampling,
            (METERING, "get_snapshot"): self._get_snapshot(METERING, PUBLISH_SNAPSHOT,
                                                           "publish_snapshot"),
            (PREPAYMENT, "get_prepay_snapshot"): self._get_snapshot(
                PREPAYMENT, PUBLISH_PREPAY_SNAPSHOT, "publish_prepay_snapshot"),
            (PREPAYMENT, "get_debt_repayment_log"): self._get_debt_log,
            (DEVICE_MANAGEMENT, "get_event_configuration"): self._get_event_configuration,
            (DEVICE_MANAGEMENT, "set_event_configuration"): self._set_event_configuration,
            (EVENTS, "clear_event_log_request"): self._clear_event_log,
            (PRICE, "publish_billing_period"): self._billing_period,
            (PRICE, "publish_block_period"): self._block_period,
            (PRICE, "get_billing_period"): self._get_billing_period,
            (PRICE, "publish_conversion_factor"): self._conversion_factor,
            (PRICE, "publish_calorific_value"): self._calorific_value,
            (METERING, "set_uncontrolled_flow_threshold"): self._flow_threshold,
            (METERING, "set_supply_status"): self._supply_states,
            **{(PRICE, f"publish_{name}"): self._keep(name)
               for name in ("tariff_information", "price_matrix", "block_thresholds")},
            **{(CALENDAR, f"publish_{name}"): self._keep(name)
               for name in ("seasons", "special_days")},
            (CALENDAR, "publish_calendar"): self._new_calendar,
            (PRICE, "get_current_price"): self._current_price,
            (CALENDAR, "get_day_profiles"): self._get_profiles("day"),
            (CALENDAR, "get_week_profiles"): self._get_profiles("week"),
            (CALENDAR, "get_seasons"): self._get_kept("seasons", PUBLISH_SEASONS),
            (CALENDAR, "get_special_days"): self._get_kept("special_days", PUBLISH_SPECIAL_DAYS),
            (CALENDAR, "publish_day_profile"): self._keep_profile("day"),
            (CALENDAR, "publish_week_profile"): self._keep_profile("week"),
            **self.prepayment.handlers(),
            (PREPAYMENT, "consumer_top_up"): self._logged_top_up,
            (PREPAYMENT, "get_top_up_log"): self._get_top_up_log,
        }  # fmt: skip

    def _keep(self, name: str) -> Handler:
        """A tariff command kept as the tariff's `name` part."""

        def keep(payload: Any) -> str:
            if name in ("seasons", "special_days"):  # a calendar's part
                setattr(self._calendar(payload.get("calendar_type")), name, payload)
                return "success"
            setattr(self.state.tariff, name, payload)
            if name == "tariff_information":
                self._set(STANDING_CHARGE, int(payload.standing_charge))
            return "success"

        return keep

    def _calendar(self, kind: int | None = None) -> GasTariff:
        """The calendar of a ZCL calendar type (None: the one the last publish_calendar
        named)."""
        if kind is None:
            kind = self._calendar_type
        return self.state.friendly_credit if int(kind) == FRIENDLY_CREDIT else self.state.tariff

    def _read_calendar(self, payload: Any) -> GasTariff:
        """The calendar a get names: by its type (special days), else by its issuer calendar
        id."""
        if payload.get("calendar_type") is not None:
            return self._calendar(payload.calendar_type)
        friendly = int(payload.issuer_calendar_id) == FRIENDLY_CREDIT_READ
        return self.state.friendly_credit if friendly else self.state.tariff

    def _new_calendar(self, payload: Any) -> str:
        """A new calendar of its type: the old one's profiles, seasons and special days go."""
        self._calendar_type = int(payload.calendar_type)
        tariff = self._calendar()
        tariff.calendar, tariff.seasons, tariff.special_days = payload, None, None
        tariff.day_profiles.clear()
        tariff.week_profiles.clear()
        return "success"

    def _current_price(self, payload: Any) -> str | tuple[int, Any, bool]:
        """The price in force, at the meter's time; not_found when it holds none."""
        if self.state.current_price is None:
            return "not_found"
        now = datetime_to_seconds2000(self.now().astimezone(dt.UTC))
        fields = dict(self.state.current_price)
        fields["rate_label"] = bytes.fromhex(fields["rate_label"])
        return PUBLISH_PRICE, _response("publish_price", current_time=now, **fields), True

    def _get_profiles(self, kind: str) -> Handler:
        """The day or week profiles from the start id on, `number_of_…` of them (0: all),
        one publish command each; not_found when the meter holds none of them."""
        response = PUBLISH_DAY_PROFILE if kind == "day" else PUBLISH_WEEK_PROFILE
        plural = "days" if kind == "day" else "weeks"

        def get(payload: Any) -> str | list[Any]:
            profiles = getattr(self._read_calendar(payload), f"{kind}_profiles")
            chosen = [
                profiles[n] for n in sorted(profiles) if n >= int(payload[f"start_{kind}_id"])
            ]
            if int(payload[f"number_of_{plural}"]):
                chosen = chosen[: int(payload[f"number_of_{plural}"])]
            if not chosen:
                return "not_found"
            return [(response, _published(f"publish_{kind}_profile", one), True) for one in chosen]

        return get

    def _get_kept(self, name: str, response: int) -> Handler:
        """The seasons or special days the meter holds, as it was published them."""

        def get(payload: Any) -> str | list[Any]:
            kept = getattr(self._read_calendar(payload), name)
            if kept is None:
                return "not_found"
            return [(response, _published(f"publish_{name}", kept), True)]

        return get

    def _keep_profile(self, kind: str) -> Handler:
        """A day or week profile kept by its id (a later one of the same id replaces it)."""

        def keep(payload: Any) -> str:
            profiles = getattr(self._calendar(payload.get("calendar_type")), f"{kind}_profiles")
            profiles[int(payload[f"{kind}_id"])] = payload
            return "success"

        return keep

    def _store(self, values: dict[tuple[int, int], int]) -> str:
        """Set attributes the meter holds (keeping their types); invalid_value, nothing
        changed, where one does not fit its type."""
        held = {key: self.attributes[key][0] for key in values}
        if not all(_fits_type(held[key], value) for key, value in values.items()):
            return "invalid_value"
        for key, value in values.items():
            self.attributes[key] = (held[key], value)
        return "success"

    def _conversion_factor(self, payload: Any) -> str:
        return self._store({(PRICE, 0x0302): int(payload.conversion_factor),
                            (PRICE, 0x0303): int(payload.conversion_factor_trailing_digit)})  # fmt: skip

    def _calorific_value(self, payload: Any) -> str:
        return self._store({(PRICE, 0x0304): int(payload.calorific_value),
                            (PRICE, 0x0305): int(payload.calorific_value_unit),
                            (PRICE, 0x0306): int(payload.calorific_value_trailing_digit)})  # fmt: skip

    def _flow_threshold(self, payload: Any) -> str:
        return self._store({(METERING, 0x0B10): int(payload.uncontrolled_flow_threshold),
                            (METERING, 0x0B11): int(payload.unit_of_measure),
                            (METERING, 0x0B12): int(payload.multiplier),
                            (METERING, 0x0B13): int(payload.divisor),
                            (METERING, 0x0B14): int(payload.stabilisation_period),
                            (METERING, 0x0B15): int(payload.measurement_period)})  # fmt: skip

    def _supply_states(self, payload: Any) -> str:
        """The supply tamper and depletion states, each left as it is when `unchanged`."""
        changes = {key: int(payload[name]) for key, name in (
            ((METERING, 0x0607), "supply_tamper_state"),
            ((METERING, 0x0608), "supply_depletion_state")) if int(payload[name]) != UNCHANGED}  # fmt: skip
        return self._store(changes)

    def _billing_period(self, payload: Any) -> str:
        self.state.billing_period = _fields(payload, BILLING_PERIOD_FIELDS)
        return "success"

    def _block_period(self, payload: Any) -> str:
        self.state.block_period = _fields(payload, BLOCK_PERIOD_FIELDS)
        return "success"

    def _get_billing_period(self, payload: Any) -> tuple[int, Any]:
        """The billing period in force (6.2.3), as the meter published it."""
        return PUBLISH_BILLING_PERIOD, _response("publish_billing_period",
                                                 **self.state.billing_period)  # fmt: skip

    def log(self, event_id: int, data: bytes = b"") -> None:
        """Add an event to the event log at the meter's time, unless its configuration has
        it not logged."""
        configuration = self.event_configuration.get(event_id)
        if configuration is not None and not configuration & LOG_BITS:
            return
        when = datetime_to_seconds2000(self.now().astimezone(dt.UTC))
        self.logs.setdefault(GENERAL_EVENTS, []).append((event_id, when, data))

    def log_security(self, event_id: int, data: bytes = b"") -> None:
        """Add a security event to the security log at the meter's time: GBCS logs them
        whatever the event configuration says (it names none of them)."""
        when = datetime_to_seconds2000(self.now().astimezone(dt.UTC))
        self.logs.setdefault(SECURITY_EVENTS, []).append((event_id, when, data))

    def _get_event_log(self, payload: Any) -> str | tuple[int, Any, bool]:
        """The events of the log (0: every log) from start to end time, after `event_offset`
        of them, at most `number_of_events` (0: all); `not_found` when none match."""
        log_id = int(payload.event_control_log_id) & 0x0F
        start, end = int(payload.start_time), int(payload.end_time)
        matching = [(n, *event) for n in sorted(self.logs) if log_id in (ALL_LOGS, n)
                    for event in self.logs[n] if start <= event[1] <= end]  # fmt: skip
        chosen = matching[int(payload.event_offset) :]
        if int(payload.number_of_events):
            chosen = chosen[: int(payload.number_of_events)]
        if not chosen:
            return "not_found"
        events = [Container(log_id=n, event_id=event_id, event_time=when, event_data=data)
                  for n, event_id, when, data in chosen]  # fmt: skip
        return PUBLISH_EVENT_LOG, _response(
            "publish_event_log", total_number_of_matching_events=len(matching), command_index=0,
            total_commands=1, log_payload_control=0, events=events), True  # fmt: skip

    def _get_event_configuration(self, payload: Any) -> str | tuple[int, Any]:
        """The configuration of one event, or of every event of a group (0xNNFF)."""
        wanted = int(payload.event_id)
        if wanted & 0xFF == ALL_OF_GROUP:
            events = [(e, c) for e, c in self.event_configuration.items() if e >> 8 == wanted >> 8]
        else:
            events = [(e, c) for e, c in self.event_configuration.items() if e == wanted]
        if not events:
            return "not_found"
        return REPORT_EVENT_CONFIGURATION, _response(
            "report_event_configuration", command_index=0, total_commands=1,
            events=[Container(event_id=e, event_configuration=c) for e, c in events])  # fmt: skip

    def _set_event_configuration(self, payload: Any) -> str:
        """One configuration for the events the control names, from now."""
        if int(payload.start_date_time) > datetime_to_seconds2000(self.now().astimezone(dt.UTC)):
            return "invalid_value"  # a future start: not kept for later (ours)
        control, chosen = int(payload.configuration_control), payload.configuration
        held = self.event_configuration
        if control == BY_LIST:
            events = [int(e) for e in chosen.event_ids]
            if not events or any(e not in held for e in events):
                return "not_found"
        elif control == BY_GROUP:
            events = [e for e in held if e >> 8 == int(chosen.event_group_id) >> 8]
        elif control == BY_LOG:
            events = [e for e, c in held.items() if c & LOG_BITS == int(chosen.log_id)]
        elif control == BY_CONFIGURATION:
            events = [e for e, c in held.items() if c == int(chosen.configuration_value_match)]
        else:
            return "invalid_field"
        if not events:
            return "not_found"
        for event in events:
            held[event] = int(payload.event_configuration)
        return "success"

    def _get_snapshot(self, cluster: int, response: int, name: str) -> Handler:
        """The snapshot at the offset among those of the cause taken in the period."""
        return lambda payload: snapshot(self.snapshots, cluster, response, name, payload)

    def _logged_top_up(self, payload: Any) -> Any:
        """2.2 (prepayment.py), and a UTRN it credits joins the top-up log."""
        answer = self.prepayment.handlers()[(PREPAYMENT, "consumer_top_up")](payload)
        if not isinstance(answer, str) and int(answer[1].result_type) == TOP_UP_ACCEPTED:
            when = datetime_to_seconds2000(self.now().astimezone(dt.UTC))
            self.top_ups.append((bytes(payload.top_up_code), int(answer[1].top_up_value), when))
        return answer

    def _get_top_up_log(self, payload: Any) -> str | tuple[int, Any, bool]:
        """The top-ups from the component's from-date-time (0: the start) to the latest end
        time, the most recent first, at most `number_of_records` (0: all)."""
        since = int(payload.get("from_date_time") or 0)
        chosen = [
            t for t in reversed(self.top_ups) if since <= t[2] <= int(payload.latest_end_time)
        ]
        if int(payload.number_of_records):
            chosen = chosen[: int(payload.number_of_records)]
        if not chosen:
            return "not_found"
        top_ups = [Container(top_up_code=code, top_up_amount=amount, top_up_time=when)
                   for code, amount, when in chosen]  # fmt: skip
        return PUBLISH_TOP_UP_LOG, _response("publish_top_up_log", command_index=0,
                                             total_number_of_commands=1, top_ups=top_ups), True  # fmt: skip

    def _get_debt_log(self, payload: Any) -> str | tuple[int, Any, bool]:
        """The collections of the debt type from the component's from-date-time (0: the start)
        to the latest end time, oldest first, at most `number_of_debts` (0: all)."""
        since = int(payload.get("from_date_time") or 0)
        chosen = [c for c in self.debt_log if c[2] == int(payload.debt_type)
                  and since <= c[0] <= int(payload.latest_end_time)]  # fmt: skip
        if int(payload.number_of_debts):
            chosen = chosen[: int(payload.number_of_debts)]
        if not chosen:
            return "not_found"
        debts = [Container(collection_time=t, amount_collected=a, debt_type=k, outstanding_debt=o)
                 for t, a, k, o in chosen]  # fmt: skip
        return PUBLISH_DEBT_LOG, _response("publish_debt_log", command_index=0,
                                           total_number_of_commands=1, debts=debts), True  # fmt: skip

    def _start_sampling(self, payload: Any) -> tuple[int, Any]:
        """14.1: the network data log starts again at the interval asked, from the start time
        (0: now), empty; 0xFFFF for a sample type or interval the meter cannot sample."""
        interval = int(payload.sample_request_interval)
        if int(payload.sample_type) != 0 or interval == 0 or not int(payload.max_number_of_samples):
            return START_SAMPLING_RESPONSE, _response("start_sampling_response",
                                                      sample_id=NOT_SAMPLING)  # fmt: skip
        start = int(payload.start_sampling_time) or datetime_to_seconds2000(
            self.now().astimezone(dt.UTC))  # fmt: skip
        quiet = self.sampled[NETWORK_DATA].quiet if NETWORK_DATA in self.sampled else False
        self.sampled[NETWORK_DATA] = SampledLog(start, interval, [], quiet)
        return START_SAMPLING_RESPONSE, _response("start_sampling_response", sample_id=NETWORK_DATA)

    def _get_sampled_data(self, payload: Any) -> str | tuple[int, Any, bool]:
        """The samples of the log from the earliest sample time, at most `number_of_samples`
        of them (the window they span); the most recent ones for 0x00000001; `not_found`
        when the log holds none there."""
        return sampled_data(self.sampled, payload)

    def _clear_event_log(self, payload: Any) -> tuple[int, Any]:
        """Empty the log (0: every log) where it may be cleared; the bits of those cleared."""
        log_id = int(payload.log_id)
        cleared = 0
        for n in CLEARABLE:
            if log_id in (ALL_LOGS, n):
                self.logs[n] = []
                cleared |= 1 << n
        if cleared:
            self.log_security(EVENT_LOG_CLEARED_EVENT)
        return CLEAR_EVENT_LOG_RESPONSE, _response("clear_event_log_response",
                                                   cleared_event_logs=cleared)  # fmt: skip

    def _display_message(self, payload: Any) -> str:
        self.state.message = bytes(payload.message)
        return "success"

    def _change_of_supplier(self, payload: Any) -> str:
        self.state.supplier_name = bytes(payload.proposed_provider_name)
        self.state.supplier_contact = bytes(payload.proposed_provider_contact_details)
        return "success"

    def _new_password(self, payload: Any) -> str:
        self.state.pin_disabled = True
        return "success"

    def _customer_id(self, payload: Any) -> str:
        """9.1 (GCS36): the Customer Identification Number the DCC made, which the meter
        shows the consumer (who gives it to the Other User)."""
        self.state.customer_id_number = bytes(payload.customer_id_number)
        return "success"

    def _site_id(self, payload: Any) -> str:
        self.attributes[SITE_ID] = ("octet_string", bytes(payload.site_id))
        return "success"

    def _change_supply(self, payload: Any) -> str | tuple[int, Any]:
        proposed = int(payload.proposed_supply_status)
        kind, current = self.attributes[SUPPLY_STATUS]
        if proposed == SUPPLY_OFF:
            status = SUPPLY_OFF
        elif proposed == SUPPLY_ARMED:
            status = SUPPLY_ARMED if int(current) == SUPPLY_OFF else int(current)
            if status != int(current):
                self.log(SUPPLY_ARMED_EVENT)
        else:
            return "invalid_field"
        self.attributes[SUPPLY_STATUS] = (kind, status)
        return SUPPLY_STATUS_RESPONSE, _response(
            "supply_status_response", provider_id=int(payload.provider_id),
            issuer_event_id=int(payload.issuer_event_id),
            implementation_date_time=int(payload.implementation_date_time),
            supply_status=status)  # fmt: skip

    def _emergency_credit(self, payload: Any) -> str:
        if self.state.emergency_credit_selected:
            return "failure"
        self.state.emergency_credit_selected = True
        self.log(EMERGENCY_CREDIT_EVENT)
        return "success"

    def _change_debt(self, payload: Any) -> str:
        chosen = DEBT_TYPES.get(int(payload.debt_amount_type))
        if chosen is None:
            return "invalid_field"
        number, incremental = chosen
        debt = self.state.debts[number]
        held = self.attributes.get(DEBT_AMOUNTS[number])  # what 4.3 reads, where held
        current = debt.amount if held is None else int(held[1])
        amount = int(payload.debt_amount)
        new = current + amount if incremental else amount
        if held is not None and not _fits(held[0], new):
            return "invalid_value"  # e.g. below zero: nothing changed
        debt.amount = new
        self._set(DEBT_AMOUNTS[number], new)
        debt.method, debt.frequency = int(payload.debt_recovery_method), int(
            payload.debt_recovery_frequency)  # fmt: skip
        debt.rate = int(payload.debt_recovery_amount)
        debt.share = int(payload.debt_recovery_balance_percentage)
        if number in DEBT_ATTRIBUTES:
            frequency, rate = DEBT_ATTRIBUTES[number]
            self._set(frequency, debt.frequency)
            self._set(rate, debt.rate)
        else:
            self._set(DEBT_3_SHARE, debt.share)
        return "success"

    def _set(self, key: tuple[int, int], value: int) -> None:
        """An attribute the meter holds takes a value (its type kept)."""
        if key in self.attributes:
            self.attributes[key] = (self.attributes[key][0], value)

    def _credit_adjustment(self, payload: Any) -> str:
        chosen = ADJUSTMENTS.get(int(payload.credit_adjustment_type))
        if chosen is None:
            return "invalid_field"
        balance, incremental = chosen
        kind, current = self.attributes[balance]
        value = int(payload.credit_adjustment_value)
        new = int(current) + value if incremental else value
        if not _fits(kind, new):  # e.g. bill to date below zero
            return "invalid_value"
        self.attributes[balance] = (kind, new)
        return "success"


def load_logs() -> dict[int, list[Event]]:
    """event_logs.json's logs."""
    logs = json.loads(EVENT_LOGS.read_text())["logs"]
    return {int(n): [(int(i), int(t), bytes.fromhex(d)) for i, t, d in events]
            for n, events in logs.items()}  # fmt: skip


def snapshot(snapshots: dict[tuple[int, int], list[Snapshot]], cluster: int, response: int,
             name: str, payload: Any) -> str | tuple[int, Any, bool]:  # fmt: skip
    """get_snapshot / get_prepay_snapshot over `snapshots` (the GSME's, or the GPF's mirror):
    the one at the offset among those of the cause taken in the period."""
    mask = int(payload.snapshot_cause)  # the causes asked for, a bit each
    taken = sorted((s[0], cause, s) for (held, cause), kept in snapshots.items()
                   if held == cluster and cause & mask for s in kept
                   if int(payload.earliest_start_time) <= s[0] <= int(payload.latest_end_time))  # fmt: skip
    offset = int(payload.snapshot_offset)
    if offset >= len(taken):
        return "not_found"
    _when, cause, (when, kind, fields, *numbered) = taken[offset]
    return response, _response(
        name, snapshot_id=numbered[0] if numbered else offset, snapshot_time=when, total_snapshots_found=len(taken),
        command_index=0, total_number_of_commands=1, snapshot_cause=cause,
        snapshot_payload_type=kind, snapshot_sub_payload=_container(fields)), True  # fmt: skip


def load_device_log(path: Path = DEVICE_LOG) -> dict[bytes, str]:
    """A device log file's entries (EUI -> device type name): device_log.json's are the
    devices RTDS's GSME lists as joined."""
    entries = json.loads(path.read_text())["entries"]
    return {bytes.fromhex(eui): str(kind) for eui, kind in entries.items()}


def load_top_ups() -> list[TopUp]:
    """snapshots.json's top-up log."""
    kept = json.loads(SNAPSHOTS.read_text())["top_up_log"]
    return [(str(code).encode("ascii"), int(amount), int(when)) for code, amount, when in kept]


def load_snapshots() -> tuple[dict[tuple[int, int], list[Snapshot]], list[Collection]]:
    """snapshots.json's snapshots by (cluster, cause), and its debt log."""
    kept = json.loads(SNAPSHOTS.read_text())
    clusters = {"metering": METERING, "prepayment": PREPAYMENT}
    snapshots = {(clusters[name], int(cause)): [(int(s[0]), int(s[1]), dict(s[2]), *s[3:])
                                                for s in taken]
                 for name, causes in kept["snapshots"].items()
                 for cause, taken in causes.items()}  # fmt: skip
    debts: list[Collection] = [(int(t), int(a), int(k), int(o)) for t, a, k, o in kept["debt_log"]]
    return snapshots, debts


def load_calendar(kind: int) -> GasTariff:
    """tariff_calendar.json's calendar of a ZCL calendar type, as a tariff with no prices yet."""
    kept = json.loads(TARIFF_CALENDAR.read_text())["calendars"][str(kind)]
    return GasTariff(
        day_profiles={int(p["day_id"]): _container(p) for p in kept["day_profiles"]},
        week_profiles={int(p["week_id"]): _container(p) for p in kept["week_profiles"]},
        seasons=_container(kept["seasons"]), special_days=_container(kept["special_days"]))  # fmt: skip


def _container(value: Any) -> Any:
    """JSON as the codec's containers."""
    if isinstance(value, dict):
        return Container({k: _container(v) for k, v in value.items()})
    if isinstance(value, list):
        return ListContainer(_container(v) for v in value)
    return value


def _published(command: str, kept: Any) -> Any:
    """A kept publish command's fields, under its name."""
    fields = {k: v for k, v in kept.items() if not str(k).startswith("_") and k != "command"}
    return Container(command=command, **fields)


def load_current_price() -> dict[str, Any]:
    """tariff_calendar.json's current price (its rate label in hex)."""
    return dict(json.loads(TARIFF_CALENDAR.read_text())["current_price"])


def load_event_configuration() -> dict[int, int]:
    """event_configuration.json's table."""
    events = json.loads(EVENT_CONFIGURATION.read_text())["events"]
    return {int(event): int(configuration) for event, configuration in events}


def load_sampled() -> dict[int, SampledLog]:
    """sampled_data.json's logs."""
    logs = json.loads(SAMPLED_DATA.read_text())["logs"]
    return {int(n): SampledLog(int(log["start"]), int(log["interval"]),
                               [int(v) for v in log["samples"]],
                               bool(log["disable_default_response"]))
            for n, log in logs.items()}  # fmt: skip


def sampled_data(logs: dict[int, SampledLog], payload: Any) -> str | tuple[int, Any, bool]:
    """get_sampled_data over `logs` (the GSME's, or the GPF's mirror of them)."""
    log = logs.get(int(payload.sample_id))
    wanted, earliest = int(payload.number_of_samples), int(payload.earliest_sample_time)
    if log is None or int(payload.sample_type) != 0 or not log.samples or wanted == 0:
        return "not_found"
    count, step = len(log.samples), log.step
    if earliest == MOST_RECENT:
        first = max(count - wanted, 0)
    else:
        end = earliest + wanted * step  # the window the request spans
        first = max(-(-(earliest - log.start) // step), 0)  # the first at or after earliest
        wanted = (end - log.start - 1) // step + 1 - first
    if wanted <= 0:
        return "not_found"
    chosen = log.samples[first : first + wanted]
    if not chosen:
        return "not_found"
    return GET_SAMPLED_DATA_RESPONSE, _response(
        "get_sampled_data_response", sample_id=int(payload.sample_id),
        sample_start_time=log.start + first * step, sample_type=0,
        sample_request_interval=log.interval, number_of_samples=len(chosen),
        samples=chosen), log.quiet  # fmt: skip


def _generalized(text: str) -> dt.datetime:
    """A GeneralizedTime 'YYYYMMDDhhmmssZ' as a UTC instant."""
    return dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)


def _fits_type(kind: str, value: int) -> bool:
    """`value` fits a ZCL integer, enum or bitmap type (uint8, enum8, bitmap16, int32 ...)."""
    if kind.startswith(("enum", "bitmap")):
        return 0 <= value < 1 << int(kind.lstrip("enumbitap"))
    return _fits(kind, value)


def _fits(kind: str, value: int) -> bool:
    """`value` fits a ZCL integer type such as int32 or uint32."""
    bits = int(kind.lstrip("uint"))
    if kind.startswith("u"):
        return 0 <= value < 1 << bits
    return -(1 << (bits - 1)) <= value < 1 << (bits - 1)


def _fields(payload: Any, names: tuple[str, ...]) -> dict[str, int]:
    return {name: int(payload[name]) for name in names}


def _response(command: str, **fields: Any) -> Any:
    return Container(command=command, **fields)
