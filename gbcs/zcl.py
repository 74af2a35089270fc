"""ZCL inside GBZ: the ZigBee Cluster Library frames GBCS carries end to end (ZCL r6, SE 1.4).

Little-endian primitives and the attribute data types, the general (profile-wide) commands,
the Smart Energy cluster commands GBCS uses (Price, Metering, Messaging, Prepayment,
Calendar, Device Management, Events), attribute names, and the ZCL frame (header then a
payload chosen by frame type, direction and command id). A command whose layout is not
declared here keeps its bytes in a field named `unparsed`. gbcs.gbz wraps these frames in
GBZ components.
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO

from construct import (
    Array,
    Byte,
    Check,
    Computed,
    Container,
    Enum,
    Float64l,
    FormatField,
    GreedyBytes,
    If,
    IfThenElse,
    Int8sl,
    Int16sl,
    Int16ub,
    Int16ul,
    Int32sl,
    Int32ul,
    Int64sl,
    Int64ul,
    Prefixed,
    Rebuild,
    StreamError,
    Struct,
    Switch,
    len_,
    this,
)

from .primitives import note_noncanonical
from .strict import (
    Construct,
    ExactBytes,
    ItemsToEnd,
    LittleInteger,
    TrailingOptional,
    read_exact,
)

if TYPE_CHECKING:
    from construct import CodeGen
    from construct.expr import ExprMixin

# --------------------------------------------------------------------------------------
# ZCL primitives (little-endian, ZCL r6 2.6.2)
# --------------------------------------------------------------------------------------


class Literal(str):
    """A string constant for this-expressions: construct's compiler emits a condition with
    str(), which would drop a plain string's quotes."""

    def __str__(self) -> str:
        return repr(str(self[:]))


SUCCESS = Literal("success")

_FLOATS = {"<e": struct.Struct("<e"), "<f": struct.Struct("<f")}


def parse_float(stream: BinaryIO, fmt: str) -> float:
    """A half or single precision float, a NaN counted as non-canonical (see ZclFloat)."""
    layout = _FLOATS[fmt]
    value: float = layout.unpack(read_exact(stream, layout.size))[0]
    if value != value:  # NaN
        note_noncanonical()
    return value


class ZclFloat(Construct):
    """A little-endian half (`<e`) or single (`<f`) precision float. A NaN read is counted
    (gbcs.primitives.note_noncanonical): Python's float packs a signalling NaN back
    quietened, and a half-precision NaN's payload not at all, so its bytes may change."""

    def __init__(self, fmt: str):
        super().__init__()
        self.fmt = fmt
        self.layout = _FLOATS[fmt]

    def _parse(self, stream: BytesIO, context: Container, path: str) -> float:
        return parse_float(stream, self.fmt)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        stream.write(self.layout.pack(obj))
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return self.layout.size

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.zcl import parse_float")
        return f"parse_float(io, {self.fmt!r})"


Uint24 = LittleInteger(3)
Uint40 = LittleInteger(5)
Uint48 = LittleInteger(6)
Uint56 = LittleInteger(7)
Int24 = LittleInteger(3, signed=True)
Int40 = LittleInteger(5, signed=True)
Int48 = LittleInteger(6, signed=True)
Int56 = LittleInteger(7, signed=True)
# UTCTime: seconds since 2000-01-01 00:00:00 UTC, little-endian inside ZCL (primer 3.3); its
# own instance of Int32ul's layout so renderers can tell a time from a count (gbcs.naming)
UtcTime = FormatField("<", "L")
# ZCL octet string: one length byte, then the bytes
OctetString = Prefixed(Byte, GreedyBytes)
LongOctetString = Prefixed(Int16ul, GreedyBytes)
# character strings stay bytes: RTDS model identifiers end in a binary EUI (GCS21e)
CharString = Prefixed(Byte, GreedyBytes)
LongCharString = Prefixed(Int16ul, GreedyBytes)
# ZCL Date: year - 1900, month, day of month, day of week (FF = any)
ZclDate = Struct("year_since_1900" / Byte, "month" / Byte, "day" / Byte, "day_of_week" / Byte)
ZclTimeOfDay = Struct("hours" / Byte, "minutes" / Byte, "seconds" / Byte, "hundredths" / Byte)

Unparsed = Struct("unparsed" / GreedyBytes)

ZclStatus = Enum(
    Byte,
    success=0x00,
    failure=0x01,
    not_authorized=0x7E,
    reserved_field_not_zero=0x7F,
    malformed_command=0x80,
    unsup_cluster_command=0x81,
    unsup_general_command=0x82,
    unsup_manuf_cluster_command=0x83,
    unsup_manuf_general_command=0x84,
    invalid_field=0x85,
    unsupported_attribute=0x86,
    invalid_value=0x87,
    read_only=0x88,
    insufficient_space=0x89,
    duplicate_exists=0x8A,
    not_found=0x8B,
    unreportable_attribute=0x8C,
    invalid_data_type=0x8D,
    invalid_selector=0x8E,
    write_only=0x8F,
    inconsistent_startup_state=0x90,
    defined_out_of_band=0x91,
    inconsistent=0x92,
    action_denied=0x93,
    timeout=0x94,
    abort=0x95,
    invalid_image=0x96,
    wait_for_data=0x97,
    no_image_available=0x98,
    require_more_image=0x99,
    notification_pending=0x9A,
    hardware_failure=0xC0,
    software_failure=0xC1,
    calibration_error=0xC2,
    unsupported_cluster=0xC3,
)

# ZCL attribute data types (ZCL r6 table 2-10); the value layout follows from the type.
DataType = Enum(
    Byte,
    no_data=0x00,
    data8=0x08,
    data16=0x09,
    data24=0x0A,
    data32=0x0B,
    data40=0x0C,
    data48=0x0D,
    data56=0x0E,
    data64=0x0F,
    boolean=0x10,
    bitmap8=0x18,
    bitmap16=0x19,
    bitmap24=0x1A,
    bitmap32=0x1B,
    bitmap40=0x1C,
    bitmap48=0x1D,
    bitmap56=0x1E,
    bitmap64=0x1F,
    uint8=0x20,
    uint16=0x21,
    uint24=0x22,
    uint32=0x23,
    uint40=0x24,
    uint48=0x25,
    uint56=0x26,
    uint64=0x27,
    int8=0x28,
    int16=0x29,
    int24=0x2A,
    int32=0x2B,
    int40=0x2C,
    int48=0x2D,
    int56=0x2E,
    int64=0x2F,
    enum8=0x30,
    enum16=0x31,
    semi_float=0x38,
    single_float=0x39,
    double_float=0x3A,
    octet_string=0x41,
    character_string=0x42,
    long_octet_string=0x43,
    long_character_string=0x44,
    array=0x48,
    structure=0x4C,
    set=0x50,
    bag=0x51,
    time_of_day=0xE0,
    date=0xE1,
    utc_time=0xE2,
    cluster_id=0xE8,
    attribute_id=0xE9,
    bacnet_oid=0xEA,
    ieee_address=0xF0,
    security_key_128=0xF1,
    unknown=0xFF,
)

_UNSIGNED = (Byte, Int16ul, Uint24, Int32ul, Uint40, Uint48, Uint56, Int64ul)
_SIGNED = (Int8sl, Int16sl, Int24, Int32sl, Int40, Int48, Int56, Int64sl)
_SIMPLE_VALUES = {
    "no_data": Struct(),
    "boolean": Byte,
    "enum8": Byte,
    "enum16": Int16ul,
    "semi_float": ZclFloat("<e"),
    "single_float": ZclFloat("<f"),
    "double_float": Float64l,
    "octet_string": OctetString,
    "character_string": CharString,
    "long_octet_string": LongOctetString,
    "long_character_string": LongCharString,
    "time_of_day": ZclTimeOfDay,
    "date": ZclDate,
    "utc_time": UtcTime,
    "cluster_id": Int16ul,
    "attribute_id": Int16ul,
    "bacnet_oid": Int32ul,
    # EUI-64s travel little-endian in ZCL; kept as the 8 wire bytes
    "ieee_address": ExactBytes(8),
    "security_key_128": ExactBytes(16),
    "unknown": Struct(),
}
for _i, _width in enumerate(range(8, 72, 8)):
    _SIMPLE_VALUES[f"data{_width}"] = _UNSIGNED[_i]
    _SIMPLE_VALUES[f"bitmap{_width}"] = _UNSIGNED[_i]
    _SIMPLE_VALUES[f"uint{_width}"] = _UNSIGNED[_i]
    _SIMPLE_VALUES[f"int{_width}"] = _SIGNED[_i]

_BAD_TYPE = Struct(Check(False))  # an unknown or (nested) composite data type


def _typed_value(type_key: ExprMixin) -> Switch:
    """The value of a ZCL attribute whose data type is at `type_key`."""
    return Switch(type_key, _SIMPLE_VALUES, default=_BAD_TYPE)


# Array / set / bag: element type, element count (uint16), untagged elements. Structure:
# count, then (type, value) pairs. One level deep: GBCS uses no nested composites.
_ARRAY_VALUE = Struct(
    "element_type" / DataType,
    "count" / Rebuild(Int16ul, len_(this.elements)),
    "elements" / Array(this.count, _typed_value(this.element_type)),
)
_STRUCTURE_VALUE = Struct(
    "count" / Rebuild(Int16ul, len_(this.members)),
    "members"
    / Array(this.count, Struct("data_type" / DataType, "value" / _typed_value(this.data_type))),
)
_ALL_VALUES = dict(_SIMPLE_VALUES)
_ALL_VALUES.update(array=_ARRAY_VALUE, set=_ARRAY_VALUE, bag=_ARRAY_VALUE)
_ALL_VALUES["structure"] = _STRUCTURE_VALUE


def TypedValue(type_key: ExprMixin) -> Switch:
    """Value of a ZCL attribute of the type named by `type_key` (composites one level)."""
    return Switch(type_key, _ALL_VALUES, default=_BAD_TYPE)


# --------------------------------------------------------------------------------------
# ZCL general (profile-wide) commands, ZCL r6 2.5
# --------------------------------------------------------------------------------------

# types whose reportable change is present in a reporting configuration (analog types)
_ANALOG_VALUES = {
    name: sub
    for name, sub in _SIMPLE_VALUES.items()
    if name.startswith(("uint", "int"))
    or name in ("semi_float", "single_float", "double_float", "time_of_day", "date", "utc_time")
}

ReadAttributes = Struct(
    "command" / Computed("read_attributes"),
    "attribute_ids" / ItemsToEnd(Int16ul),
)
ReadAttributesResponse = Struct(
    "command" / Computed("read_attributes_response"),
    "records"
    / ItemsToEnd(
        Struct(
            "attribute_id" / Int16ul,
            "status" / ZclStatus,
            "data_type" / If(this.status == SUCCESS, DataType),
            "value" / If(this.status == SUCCESS, TypedValue(this.data_type)),
        )
    ),
)
WriteAttributes = Struct(
    "command" / Computed("write_attributes"),
    "records"
    / ItemsToEnd(
        Struct(
            "attribute_id" / Int16ul,
            "data_type" / DataType,
            "value" / TypedValue(this.data_type),
        )
    ),
)
# All-success is the single status byte 00; failures list (status, attribute id).
WriteAttributesResponse = Struct(
    "command" / Computed("write_attributes_response"),
    "records"
    / ItemsToEnd(
        Struct(
            "status" / ZclStatus,
            "attribute_id" / If(this.status != SUCCESS, Int16ul),
        )
    ),
)
_REPORTING_RECORD = Struct(
    "direction" / Byte,
    "attribute_id" / Int16ul,
    "data_type" / If(this.direction == 0, DataType),
    "minimum_interval" / If(this.direction == 0, Int16ul),
    "maximum_interval" / If(this.direction == 0, Int16ul),
    "reportable_change"
    / If(this.direction == 0, Switch(this.data_type, _ANALOG_VALUES, default=Struct())),
    "timeout_period" / If(this.direction == 1, Int16ul),
)
ConfigureReporting = Struct(
    "command" / Computed("configure_reporting"),
    "records" / ItemsToEnd(_REPORTING_RECORD),
)
ConfigureReportingResponse = Struct(
    "command" / Computed("configure_reporting_response"),
    "records"
    / ItemsToEnd(
        Struct(
            "status" / ZclStatus,
            "direction" / If(this.status != SUCCESS, Byte),
            "attribute_id" / If(this.status != SUCCESS, Int16ul),
        )
    ),
)
ReadReportingConfiguration = Struct(
    "command" / Computed("read_reporting_configuration"),
    "records" / ItemsToEnd(Struct("direction" / Byte, "attribute_id" / Int16ul)),
)
ReadReportingConfigurationResponse = Struct(
    "command" / Computed("read_reporting_configuration_response"),
    "records"
    / ItemsToEnd(
        Struct(
            "status" / ZclStatus,
            "direction" / Byte,
            "attribute_id" / Int16ul,
            "data_type" / If((this.status == SUCCESS) & (this.direction == 0), DataType),
            "minimum_interval" / If((this.status == SUCCESS) & (this.direction == 0), Int16ul),
            "maximum_interval" / If((this.status == SUCCESS) & (this.direction == 0), Int16ul),
            "reportable_change"
            / If(
                (this.status == SUCCESS) & (this.direction == 0),
                Switch(this.data_type, _ANALOG_VALUES, default=Struct()),
            ),
            "timeout_period" / If((this.status == SUCCESS) & (this.direction == 1), Int16ul),
        )
    ),
)
ReportAttributes = Struct(
    "command" / Computed("report_attributes"),
    "records"
    / ItemsToEnd(
        Struct(
            "attribute_id" / Int16ul,
            "data_type" / DataType,
            "value" / TypedValue(this.data_type),
        )
    ),
)
DefaultResponse = Struct(
    "command" / Computed("default_response"),
    "command_id" / Byte,
    "status" / ZclStatus,
)
DiscoverAttributes = Struct(
    "command" / Computed("discover_attributes"),
    "start_attribute_id" / Int16ul,
    "maximum_attribute_ids" / Byte,
)
DiscoverAttributesResponse = Struct(
    "command" / Computed("discover_attributes_response"),
    "discovery_complete" / Byte,
    "records" / ItemsToEnd(Struct("attribute_id" / Int16ul, "data_type" / DataType)),
)

GENERAL_COMMANDS = {
    0x00: ReadAttributes,
    0x01: ReadAttributesResponse,
    0x02: WriteAttributes,
    0x03: WriteAttributes,  # write attributes undivided: same layout
    0x04: WriteAttributesResponse,
    0x05: WriteAttributes,  # write attributes no response: same layout
    0x06: ConfigureReporting,
    0x07: ConfigureReportingResponse,
    0x08: ReadReportingConfiguration,
    0x09: ReadReportingConfigurationResponse,
    0x0A: ReportAttributes,
    0x0B: DefaultResponse,
    0x0C: DiscoverAttributes,
    0x0D: DiscoverAttributesResponse,
}


# --------------------------------------------------------------------------------------
# Smart Energy cluster-specific commands (ZigBee SE 1.4; the GBCS subset)
# --------------------------------------------------------------------------------------


def _command(name: str, *fields: Construct) -> Struct:
    return Struct("command" / Computed(name), *fields)


# Price cluster 0x0700
PRICE_CLIENT = {
    0x00: _command("get_current_price", "command_options" / Byte),
    0x01: _command(
        "get_scheduled_prices",
        "start_time" / UtcTime,
        "number_of_events" / Byte,
    ),
    0x02: _command(
        "price_acknowledgement",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "price_ack_time" / UtcTime,
        "control" / Byte,
    ),
    0x03: _command(
        "get_block_periods",
        "start_time" / UtcTime,
        "number_of_events" / Byte,
        "tariff_type" / Byte,
    ),
    0x04: _command(
        "get_conversion_factor",
        "earliest_start_time" / UtcTime,
        "minimum_issuer_event_id" / Int32ul,
        "number_of_commands" / Byte,
    ),
    0x05: _command(
        "get_calorific_value",
        "earliest_start_time" / UtcTime,
        "minimum_issuer_event_id" / Int32ul,
        "number_of_commands" / Byte,
    ),
    0x06: _command(
        "get_tariff_information",
        "earliest_start_time" / UtcTime,
        "minimum_issuer_event_id" / Int32ul,
        "number_of_commands" / Byte,
        "tariff_type" / Byte,
    ),
    0x07: _command("get_price_matrix", "issuer_tariff_id" / Int32ul),
    0x08: _command("get_block_thresholds", "issuer_tariff_id" / Int32ul),
    0x0B: _command(
        "get_billing_period",
        "earliest_start_time" / UtcTime,
        "minimum_issuer_event_id" / Int32ul,
        "number_of_commands" / Byte,
        "tariff_type" / Byte,
    ),
}
_PUBLISH_PRICE_EXTENSION = Struct(
    "price_ratio" / Byte,
    "generation_price" / Int32ul,
    "generation_price_ratio" / Byte,
    "alternate_cost_delivered" / Int32ul,
    "alternate_cost_unit" / Byte,
    "alternate_cost_trailing_digit" / Byte,
    "number_of_block_thresholds" / Byte,
    "price_control" / Byte,
    "number_of_generation_tiers" / Byte,
    "generation_tier" / Byte,
    "extended_number_of_price_tiers" / Byte,
    "extended_price_tier" / Byte,
    "extended_register_tier" / Byte,
)
PRICE_SERVER = {
    0x00: _command(
        "publish_price",
        "provider_id" / Int32ul,
        "rate_label" / OctetString,
        "issuer_event_id" / Int32ul,
        "current_time" / UtcTime,
        "unit_of_measure" / Byte,
        "currency" / Int16ul,
        "price_trailing_digit_and_price_tier" / Byte,
        "number_of_price_tiers_and_register_tier" / Byte,
        "start_time" / UtcTime,
        "duration_in_minutes" / Int16ul,
        "price" / Int32ul,
        "extension" / TrailingOptional(_PUBLISH_PRICE_EXTENSION),
    ),
    0x01: _command(
        "publish_block_period",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "block_period_start_time" / UtcTime,
        "block_period_duration" / Uint24,
        "block_period_control" / Byte,
        "block_period_duration_type" / Byte,
        "tariff_type" / Byte,
        "tariff_resolution_period" / Byte,
    ),
    0x02: _command(
        "publish_conversion_factor",
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "conversion_factor" / Int32ul,
        "conversion_factor_trailing_digit" / Byte,
    ),
    0x03: _command(
        "publish_calorific_value",
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "calorific_value" / Int32ul,
        "calorific_value_unit" / Byte,
        "calorific_value_trailing_digit" / Byte,
    ),
    0x04: _command(
        "publish_tariff_information",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "issuer_tariff_id" / Int32ul,
        "start_time" / UtcTime,
        "tariff_type_charging_scheme" / Byte,
        "tariff_label" / OctetString,
        "number_of_price_tiers_in_use" / Byte,
        "number_of_block_thresholds_in_use" / Byte,
        "unit_of_measure" / Byte,
        "currency" / Int16ul,
        "price_trailing_digit" / Byte,
        "standing_charge" / Int32ul,
        "tier_block_mode" / Byte,
        "block_threshold_multiplier" / Uint24,
        "block_threshold_divisor" / Uint24,
    ),
    0x05: _command(
        "publish_price_matrix",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "issuer_tariff_id" / Int32ul,
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "sub_payload_control" / Byte,
        "prices" / ItemsToEnd(Struct("tier_block_id" / Byte, "price" / Int32ul)),
    ),
    0x06: _command(
        "publish_block_thresholds",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "issuer_tariff_id" / Int32ul,
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "sub_payload_control" / Byte,
        # per tier: high nibble tier, low nibble number of thresholds, then uint48 each
        "tiers"
        / ItemsToEnd(
            Struct(
                "tier_and_count" / Byte,
                "block_thresholds" / Array(this.tier_and_count & 0x0F, Uint48),
            )
        ),
    ),
    0x07: _command(
        "publish_co2_value",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "tariff_type" / Byte,
        "co2_value" / Int32ul,
        "co2_value_unit" / Byte,
        "co2_value_trailing_digit" / Byte,
    ),
    0x08: _command(
        "publish_tier_labels",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "issuer_tariff_id" / Int32ul,
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "number_of_labels" / Byte,
        "labels" / ItemsToEnd(Struct("tier_id" / Byte, "tier_label" / OctetString)),
    ),
    0x09: _command(
        "publish_billing_period",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "billing_period_start_time" / UtcTime,
        "billing_period_duration" / Uint24,
        "billing_period_duration_type" / Byte,
        "tariff_type" / Byte,
    ),
    0x0E: _command(
        "cancel_tariff",
        "provider_id" / Int32ul,
        "issuer_tariff_id" / Int32ul,
        "tariff_type" / Byte,
    ),
}

# Metering cluster 0x0702
METERING_CLIENT = {
    0x00: _command(
        "get_profile",
        "interval_channel" / Byte,
        "end_time" / UtcTime,
        "number_of_periods" / Byte,
    ),
    0x04: _command(
        "schedule_snapshot",
        "issuer_event_id" / Int32ul,
        "command_index" / Byte,
        "command_count" / Byte,
        "schedules"
        / ItemsToEnd(
            Struct(
                "snapshot_schedule_id" / Byte,
                "snapshot_start_time" / UtcTime,
                "snapshot_schedule" / Uint24,
                "snapshot_payload_type" / Byte,
                "snapshot_cause" / Int32ul,
            )
        ),
    ),
    0x05: _command("take_snapshot", "snapshot_cause" / Int32ul),
    0x06: _command(
        "get_snapshot",
        "earliest_start_time" / UtcTime,
        "latest_end_time" / UtcTime,
        "snapshot_offset" / Byte,
        "snapshot_cause" / Int32ul,
    ),
    0x07: _command(
        "start_sampling",
        "issuer_event_id" / Int32ul,
        "start_sampling_time" / UtcTime,
        "sample_type" / Byte,
        "sample_request_interval" / Int16ul,
        "max_number_of_samples" / Int16ul,
    ),
    0x08: _command(
        "get_sampled_data",
        "sample_id" / Int16ul,
        "earliest_sample_time" / UtcTime,
        "sample_type" / Byte,
        "number_of_samples" / Int16ul,
    ),
    0x0A: _command(
        "reset_load_limit_counter",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
    ),
    0x0B: _command(
        "change_supply",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "request_date_time" / UtcTime,
        "implementation_date_time" / UtcTime,
        "proposed_supply_status" / Byte,
        "supply_control_bits" / Byte,
    ),
    0x0C: _command("local_change_supply", "proposed_supply_status" / Byte),
    0x0D: _command(
        "set_supply_status",
        "issuer_event_id" / Int32ul,
        "supply_tamper_state" / Byte,
        "supply_depletion_state" / Byte,
        "supply_uncontrolled_flow_state" / Byte,
        "load_limit_supply_state" / Byte,
    ),
    0x0E: _command(
        "set_uncontrolled_flow_threshold",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "uncontrolled_flow_threshold" / Int16ul,
        "unit_of_measure" / Byte,
        "multiplier" / Int16ul,
        "divisor" / Int16ul,
        "stabilisation_period" / Byte,
        "measurement_period" / Int16ul,
    ),
}
_SNAPSHOT_HEADER = (
    "snapshot_id" / Int32ul,
    "snapshot_time" / UtcTime,
    "total_snapshots_found" / Byte,
    "command_index" / Byte,
    "total_number_of_commands" / Byte,
    "snapshot_cause" / Int32ul,
    "snapshot_payload_type" / Byte,
)
METERING_SERVER = {
    0x06: _command(
        "publish_snapshot",
        *_SNAPSHOT_HEADER,
        "snapshot_sub_payload"
        / Switch(
            this.snapshot_payload_type,
            {
                # GSME TOU and block registers (GBCS / gbcs-parser): four of each
                6: Struct(
                    "current_summation_delivered" / Uint48,
                    "number_of_tiers_in_use" / Byte,
                    "tariff_tou_register_matrix" / Array(4, Uint48),
                    "number_of_tiers_and_block_thresholds_in_use" / Byte,
                    "tariff_tou_block_counter_matrix" / Array(4, Uint48),
                ),
            },
            default=Unparsed,
        ),
    ),
    0x00: _command(
        "get_profile_response",
        "end_time" / UtcTime,
        "status" / Byte,
        "profile_interval_period" / Byte,
        "number_of_periods_delivered" / Byte,
        "intervals" / ItemsToEnd(Uint24),
    ),
    0x04: _command(
        "schedule_snapshot_response",
        "issuer_event_id" / Int32ul,
        "responses"
        / ItemsToEnd(
            Struct("snapshot_schedule_id" / Byte, "snapshot_schedule_confirmation" / Byte)
        ),
    ),
    0x05: _command(
        "take_snapshot_response",
        "snapshot_id" / Int32ul,
        "snapshot_confirmation" / Byte,
    ),
    0x07: _command(
        "get_sampled_data_response",
        "sample_id" / Int16ul,
        "sample_start_time" / UtcTime,
        "sample_type" / Byte,
        "sample_request_interval" / Int16ul,
        "number_of_samples" / Int16ul,
        "samples" / Array(this.number_of_samples, Uint24),
    ),
    0x0C: _command(
        "supply_status_response",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "implementation_date_time" / UtcTime,
        "supply_status" / Byte,
    ),
    0x0D: _command("start_sampling_response", "sample_id" / Int16ul),
}

# Messaging cluster 0x0703
_DISPLAY_MESSAGE_FIELDS = (
    "message_id" / Int32ul,
    "message_control" / Byte,
    "start_time" / UtcTime,
    "duration_in_minutes" / Int16ul,
    "message" / OctetString,
    "extended_message_control" / TrailingOptional(Byte),
)
MESSAGING_CLIENT = {
    0x00: _command("get_last_message"),
    0x01: _command(
        "message_confirmation",
        "message_id" / Int32ul,
        "confirmation_time" / UtcTime,
        "extension"
        / TrailingOptional(
            Struct(
                "message_confirmation_control" / Byte,
                "message_response" / OctetString,
            )
        ),
    ),
    0x02: _command("get_message_cancellation", "earliest_implementation_time" / UtcTime),
}
MESSAGING_SERVER = {
    0x00: _command("display_message", *_DISPLAY_MESSAGE_FIELDS),
    0x01: _command("cancel_message", "message_id" / Int32ul, "message_control" / Byte),
    0x02: _command("display_protected_message", *_DISPLAY_MESSAGE_FIELDS),
    0x03: _command("cancel_all_messages", "implementation_date_time" / UtcTime),
}

# Prepayment cluster 0x0705
PREPAYMENT_CLIENT = {
    0x00: _command(
        "select_available_emergency_credit",
        "command_issue_date_time" / UtcTime,
        "originating_device" / Byte,
    ),
    0x02: _command(
        "change_debt",
        "issuer_event_id" / Int32ul,
        "debt_label" / OctetString,
        "debt_amount" / Int32sl,
        "debt_recovery_method" / Byte,
        "debt_amount_type" / Byte,
        "debt_recovery_start_time" / UtcTime,
        "debt_recovery_collection_time" / Int16ul,
        "debt_recovery_frequency" / Byte,
        "debt_recovery_amount" / Int32sl,
        "debt_recovery_balance_percentage" / Int16ul,
    ),
    0x03: _command(
        "emergency_credit_setup",
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "emergency_credit_limit" / Int32ul,
        "emergency_credit_threshold" / Int32ul,
    ),
    0x04: _command(
        "consumer_top_up",
        "originating_device" / Byte,
        "top_up_code" / OctetString,
    ),
    0x05: _command(
        "credit_adjustment",
        "issuer_event_id" / Int32ul,
        "start_time" / UtcTime,
        "credit_adjustment_type" / Byte,
        "credit_adjustment_value" / Int32sl,
    ),
    0x06: _command(
        "change_payment_mode",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "implementation_date_time" / UtcTime,
        "proposed_payment_control_configuration" / Int16ul,
        "cut_off_value" / Int32sl,
    ),
    0x07: _command(
        "get_prepay_snapshot",
        "earliest_start_time" / UtcTime,
        "latest_end_time" / UtcTime,
        "snapshot_offset" / Byte,
        "snapshot_cause" / Int32ul,
    ),
    0x08: _command(
        "get_top_up_log",
        "latest_end_time" / UtcTime,
        "number_of_records" / Byte,
    ),
    0x09: _command("set_low_credit_warning_level", "low_credit_warning_level" / Int32ul),
    0x0A: _command(
        "get_debt_repayment_log",
        "latest_end_time" / UtcTime,
        "number_of_debts" / Byte,
        "debt_type" / Byte,
    ),
    0x0B: _command(
        "set_maximum_credit_limit",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "implementation_date_time" / UtcTime,
        "maximum_credit_level" / Int32ul,
        "maximum_credit_per_top_up" / Int32ul,
    ),
    0x0C: _command(
        "set_overall_debt_cap",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "implementation_date_time" / UtcTime,
        "overall_debt_cap" / Int32sl,
    ),
}
PREPAYMENT_SERVER = {
    0x01: _command(
        "publish_prepay_snapshot",
        *_SNAPSHOT_HEADER,
        "snapshot_sub_payload"
        / Switch(
            this.snapshot_payload_type,
            {
                # debt / credit status (SMETS: accumulated debt register, time debt
                # registers 1 and 2, payment debt register, emergency credit balance,
                # meter balance)
                0: Struct(
                    "accumulated_debt" / Int32sl,
                    "type_1_debt_remaining" / Int32ul,
                    "type_2_debt_remaining" / Int32ul,
                    "type_3_debt_remaining" / Int32ul,
                    "emergency_credit_remaining" / Int32ul,
                    "credit_remaining" / Int32sl,
                ),
            },
            default=Unparsed,
        ),
    ),
    0x02: _command(
        "change_payment_mode_response",
        "friendly_credit" / Byte,
        "friendly_credit_calendar_id" / Int32ul,
        "emergency_credit_limit" / Int32ul,
        "emergency_credit_threshold" / Int32ul,
    ),
    0x03: _command(
        "consumer_top_up_response",
        "result_type" / Byte,
        "top_up_value" / Int32sl,
        "source_of_top_up" / Byte,
        "credit_remaining" / Int32sl,
    ),
    0x05: _command(
        "publish_top_up_log",
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "top_ups"
        / ItemsToEnd(
            Struct(
                "top_up_code" / OctetString,
                "top_up_amount" / Int32sl,
                "top_up_time" / UtcTime,
            )
        ),
    ),
    0x06: _command(
        "publish_debt_log",
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "debts"
        / ItemsToEnd(
            Struct(
                "collection_time" / UtcTime,
                "amount_collected" / Int32ul,
                "debt_type" / Byte,
                "outstanding_debt" / Int32ul,
            )
        ),
    ),
}

# Calendar cluster 0x0707
_CALENDAR_IDS = (
    "provider_id" / Int32ul,
    "issuer_event_id" / Int32ul,
    "issuer_calendar_id" / Int32ul,
)
CALENDAR_CLIENT = {
    0x00: _command(
        "get_calendar",
        "earliest_start_time" / UtcTime,
        "minimum_issuer_event_id" / Int32ul,
        "number_of_calendars" / Byte,
        "calendar_type" / Byte,
        "provider_id" / Int32ul,
    ),
    0x01: _command(
        "get_day_profiles",
        "provider_id" / Int32ul,
        "issuer_calendar_id" / Int32ul,
        "start_day_id" / Byte,
        "number_of_days" / Byte,
    ),
    0x02: _command(
        "get_week_profiles",
        "provider_id" / Int32ul,
        "issuer_calendar_id" / Int32ul,
        "start_week_id" / Byte,
        "number_of_weeks" / Byte,
    ),
    0x03: _command("get_seasons", "provider_id" / Int32ul, "issuer_calendar_id" / Int32ul),
    0x04: _command(
        "get_special_days",
        "start_time" / UtcTime,
        "number_of_events" / Byte,
        "calendar_type" / Byte,
        "provider_id" / Int32ul,
        "issuer_calendar_id" / Int32ul,
    ),
    0x05: _command("get_calendar_cancellation"),
}
CALENDAR_SERVER = {
    0x00: _command(
        "publish_calendar",
        *_CALENDAR_IDS,
        "start_time" / UtcTime,
        "calendar_type" / Byte,
        "calendar_time_reference" / Byte,
        "calendar_name" / OctetString,
        "number_of_seasons" / Byte,
        "number_of_week_profiles" / Byte,
        "number_of_day_profiles" / Byte,
    ),
    0x01: _command(
        "publish_day_profile",
        *_CALENDAR_IDS,
        "day_id" / Byte,
        "total_number_of_schedule_entries" / Byte,
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "calendar_type" / Byte,
        # start time in minutes from midnight; then the price tier, friendly-credit enable
        # or auxiliary-switch state, depending on calendar_type
        "schedule_entries" / ItemsToEnd(Struct("start_time" / Int16ul, "value" / Byte)),
    ),
    0x02: _command(
        "publish_week_profile",
        *_CALENDAR_IDS,
        "week_id" / Byte,
        "day_id_refs_monday_to_sunday" / Array(7, Byte),
    ),
    0x03: _command(
        "publish_seasons",
        *_CALENDAR_IDS,
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "seasons" / ItemsToEnd(Struct("season_start_date" / ZclDate, "week_id_ref" / Byte)),
    ),
    0x04: _command(
        "publish_special_days",
        *_CALENDAR_IDS,
        "start_time" / UtcTime,
        "calendar_type" / Byte,
        "total_number_of_special_days" / Byte,
        "command_index" / Byte,
        "total_number_of_commands" / Byte,
        "special_days" / ItemsToEnd(Struct("date" / ZclDate, "day_id_ref" / Byte)),
    ),
    0x05: _command(
        "cancel_calendar",
        "provider_id" / Int32ul,
        "issuer_calendar_id" / Int32ul,
        "calendar_type" / Byte,
    ),
}

# Device Management cluster 0x0708
DEVICE_MANAGEMENT_CLIENT = {
    0x00: _command("get_change_of_tenancy"),
    0x01: _command("get_change_of_supplier"),
    0x02: _command("request_new_password", "password_type" / Byte),
    0x03: _command("get_site_id"),
    0x04: _command(
        "report_event_configuration",
        "command_index" / Byte,
        "total_commands" / Byte,
        "events" / ItemsToEnd(Struct("event_id" / Int16ul, "event_configuration" / Byte)),
    ),
    0x05: _command("get_cin"),
}
DEVICE_MANAGEMENT_SERVER = {
    0x00: _command(
        "publish_change_of_tenancy",
        "provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "tariff_type" / Byte,
        "implementation_date_time" / UtcTime,
        "proposed_tenancy_change_control" / Int32ul,
    ),
    0x01: _command(
        "publish_change_of_supplier",
        "current_provider_id" / Int32ul,
        "issuer_event_id" / Int32ul,
        "tariff_type" / Byte,
        "proposed_provider_id" / Int32ul,
        "provider_change_implementation_time" / UtcTime,
        "provider_change_control" / Int32ul,
        "proposed_provider_name" / OctetString,
        "proposed_provider_contact_details" / OctetString,
    ),
    0x02: _command(
        "request_new_password_response",
        "issuer_event_id" / Int32ul,
        "implementation_date_time" / UtcTime,
        "duration_in_minutes" / Int16ul,
        "password_type" / Byte,
        "password" / OctetString,
    ),
    0x03: _command(
        "update_site_id",
        "issuer_event_id" / Int32ul,
        "site_id_time" / UtcTime,
        "provider_id" / Int32ul,
        "site_id" / OctetString,
    ),
    0x04: _command(
        "set_event_configuration",
        "issuer_event_id" / Int32ul,
        "start_date_time" / UtcTime,
        "event_configuration" / Byte,
        "configuration_control" / Byte,
        "configuration"
        / Switch(
            this.configuration_control,
            {
                0: Struct(  # apply by list
                    "number_of_events" / Rebuild(Byte, len_(this.event_ids)),
                    "event_ids" / Array(this.number_of_events, Int16ul),
                ),
                1: Struct("event_group_id" / Int16ul),  # apply by event group
                2: Struct("log_id" / Byte),  # apply by log type
                3: Struct("configuration_value_match" / Byte),  # apply by configuration match
            },
            default=Unparsed,
        ),
    ),
    0x05: _command("get_event_configuration", "event_id" / Int16ul),
    0x06: _command(
        "update_cin",
        "issuer_event_id" / Int32ul,
        "implementation_time" / UtcTime,
        "provider_id" / Int32ul,
        "customer_id_number" / OctetString,
    ),
}

# Events cluster 0x0709
EVENTS_CLIENT = {
    0x00: _command(
        "get_event_log",
        "event_control_log_id" / Byte,
        "event_id" / Int16ul,
        "start_time" / UtcTime,
        "end_time" / UtcTime,
        "number_of_events" / Byte,
        "event_offset" / Int16ul,
    ),
    0x01: _command("clear_event_log_request", "log_id" / Byte),
}
EVENTS_SERVER = {
    0x00: _command(
        "publish_event",
        "log_id" / Byte,
        "event_id" / Int16ul,
        "event_time" / UtcTime,
        "event_control" / Byte,
        "event_data" / OctetString,
    ),
    0x01: _command(
        "publish_event_log",
        "total_number_of_matching_events" / Int16ul,
        "command_index" / Byte,
        "total_commands" / Byte,
        "log_payload_control" / Byte,
        "events"
        / ItemsToEnd(
            Struct(
                "log_id" / Byte,
                "event_id" / Int16ul,
                "event_time" / UtcTime,
                "event_data" / OctetString,
            )
        ),
    ),
    0x02: _command("clear_event_log_response", "cleared_event_logs" / Byte),
}

ClusterId = Enum(
    Int16ub,
    basic=0x0000,
    price=0x0700,
    metering=0x0702,
    messaging=0x0703,
    prepayment=0x0705,
    calendar=0x0707,
    device_management=0x0708,
    events=0x0709,
)

CLUSTER_COMMANDS = {
    "price": (PRICE_CLIENT, PRICE_SERVER),
    "metering": (METERING_CLIENT, METERING_SERVER),
    "messaging": (MESSAGING_CLIENT, MESSAGING_SERVER),
    "prepayment": (PREPAYMENT_CLIENT, PREPAYMENT_SERVER),
    "calendar": (CALENDAR_CLIENT, CALENDAR_SERVER),
    "device_management": (DEVICE_MANAGEMENT_CLIENT, DEVICE_MANAGEMENT_SERVER),
    "events": (EVENTS_CLIENT, EVENTS_SERVER),
}


def command_name(cluster: str | int, frame_type: str, direction: str, command_id: int) -> str:
    """The command's name, e.g. ('metering', 'cluster_specific', 'client_to_server', 0x0B) ->
    'change_supply'; 'unknown' when the layout is not declared here."""
    if frame_type == "profile_wide":
        table = GENERAL_COMMANDS
    elif cluster in CLUSTER_COMMANDS:
        table = CLUSTER_COMMANDS[cluster][direction == "server_to_client"]
    else:
        return "unknown"
    sub = table.get(command_id)
    return sub.subcons[0].subcon.func if sub is not None else "unknown"  # Computed(name)


# Attribute names (ZCL Basic, SE Price / Metering / Prepayment): every attribute RTDS reads,
# plus their close neighbours; a name for logs and renderers, the wire carries only the id.
ATTRIBUTE_NAMES = {
    "basic": {
        0x0000: "zcl_version",
        0x0001: "application_version",
        0x0002: "stack_version",
        0x0003: "hw_version",
        0x0004: "manufacturer_name",
        0x0005: "model_identifier",
        0x0006: "date_code",
        0x0007: "power_source",
    },
    "price": {
        0x0100: "block_1_threshold",
        0x0101: "block_2_threshold",
        0x0102: "block_3_threshold",
        0x0202: "threshold_multiplier",
        0x0203: "threshold_divisor",
        0x0301: "standing_charge",
        0x0302: "conversion_factor",
        0x0303: "conversion_factor_trailing_digit",
        0x0304: "calorific_value",
        0x0305: "calorific_value_unit",
        0x0306: "calorific_value_trailing_digit",
        0x0400: "no_tier_block_1_price",
        0x0401: "no_tier_block_2_price",
        0x0402: "no_tier_block_3_price",
        0x0403: "no_tier_block_4_price",
        0x0615: "unit_of_measure",
        0x0616: "currency",
        0x0617: "price_trailing_digit",
    },
    "metering": {
        0x0000: "current_summation_delivered",
        0x0014: "supply_status",
        0x0100: "current_tier_1_summation_delivered",
        0x0102: "current_tier_2_summation_delivered",
        0x0104: "current_tier_3_summation_delivered",
        0x0106: "current_tier_4_summation_delivered",
        0x0205: "remaining_battery_life_in_days",
        0x0206: "current_meter_id",
        0x0300: "unit_of_measure",
        0x0301: "multiplier",
        0x0302: "divisor",
        0x0307: "site_id",
        0x0607: "supply_tamper_state",
        0x0608: "supply_depletion_state",
        0x0700: "current_no_tier_block_1_summation_delivered",
        0x0701: "current_no_tier_block_2_summation_delivered",
        0x0702: "current_no_tier_block_3_summation_delivered",
        0x0703: "current_no_tier_block_4_summation_delivered",
        0x0A00: "bill_to_date_delivered",
        0x0B10: "uncontrolled_flow_threshold",
        0x0B11: "uncontrolled_flow_threshold_unit_of_measure",
        0x0B12: "uncontrolled_flow_multiplier",
        0x0B13: "uncontrolled_flow_divisor",
        0x0B14: "flow_stabilisation_period",
        0x0B15: "flow_measurement_period",
    },
    "prepayment": {
        0x0000: "payment_control_configuration",
        0x0001: "credit_remaining",
        0x0002: "emergency_credit_remaining",
        0x0005: "accumulated_debt",
        0x0006: "overall_debt_cap",
        0x0010: "emergency_credit_limit",
        0x0011: "emergency_credit_threshold",
        0x0021: "max_credit_limit",
        0x0022: "max_credit_per_top_up",
        0x0031: "low_credit_warning_level",
        0x0040: "cut_off_value",
        0x0211: "debt_amount_1",
        0x0216: "debt_recovery_frequency_1",
        0x0217: "debt_recovery_amount_1",
        0x0221: "debt_amount_2",
        0x0226: "debt_recovery_frequency_2",
        0x0227: "debt_recovery_amount_2",
        0x0231: "debt_amount_3",
        0x0239: "debt_recovery_top_up_percentage_3",
    },
}


def attribute_name(cluster: str | int, attribute_id: int) -> str:
    """Name of a ZCL attribute, e.g. ('metering', 0x0205) -> 'remaining_battery_life_in_days';
    'attribute_0xNNNN' when not in the table."""
    names = ATTRIBUTE_NAMES.get(str(cluster), {})
    return names.get(attribute_id, f"attribute_0x{attribute_id:04X}")


# --------------------------------------------------------------------------------------
# ZCL frame: header then payload (ZCL r6 2.4)
# --------------------------------------------------------------------------------------

_FRAME_TYPES = {0: "profile_wide", 1: "cluster_specific"}
_DIRECTIONS = {0: "client_to_server", 1: "server_to_client"}
_FRAME_TYPE_BITS = {v: k for k, v in _FRAME_TYPES.items()}
_DIRECTION_BITS = {v: k for k, v in _DIRECTIONS.items()}


def parse_frame_control(stream: BinaryIO) -> Container:
    raw = stream.read(1)
    if len(raw) != 1:
        raise StreamError("stream ended inside the ZCL frame control")
    return frame_control_fields(raw[0])


def _frame_control(value: int) -> dict[str, str | int | bool]:
    return {
        "frame_type": _FRAME_TYPES.get(value & 0x03, value & 0x03),
        "manufacturer_specific": bool(value & 0x04),
        "direction": _DIRECTIONS[(value >> 3) & 1],
        "disable_default_response": bool(value & 0x10),
        "reserved": value >> 5,
    }


# every frame control byte's fields, worked out once (a Container is made from the dict)
_FRAME_CONTROLS = [_frame_control(value) for value in range(256)]


def frame_control_fields(value: int) -> Container:
    return Container(_FRAME_CONTROLS[value])


def frame_control_byte(obj: Any) -> int:
    """The frame control byte of its named fields (FrameControl and gbz's writer)."""
    frame_type = _FRAME_TYPE_BITS.get(obj.frame_type, obj.frame_type)
    value: int = (
        int(frame_type) & 0x03
        | (0x04 if obj.manufacturer_specific else 0)
        | _DIRECTION_BITS[obj.direction] << 3
        | (0x10 if obj.disable_default_response else 0)
        | (obj.get("reserved", 0) & 0x07) << 5
    )
    return value


class FrameControl(Construct):
    """ZCL frame control byte: frame type (bits 0-1), manufacturer specific (2), direction
    (3), disable default response (4), reserved (5-7), as named fields."""

    def _parse(self, stream: BytesIO, context: Container, path: str) -> Container:
        return parse_frame_control(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        stream.write(bytes((frame_control_byte(obj),)))
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return 1

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.zcl import parse_frame_control")
        return "parse_frame_control(io)"


def _direction_switch(cluster_tables: tuple[dict[int, Construct], dict[int, Construct]]) -> Switch:
    client, server = cluster_tables
    return Switch(
        this.frame_control.direction,
        {
            "client_to_server": Switch(this.command_id, client, default=Unparsed),
            "server_to_client": Switch(this.command_id, server, default=Unparsed),
        },
    )


_CLUSTER_PAYLOAD = Switch(
    this._._.cluster_id,  # ZclFrame -> component body -> component
    {name: _direction_switch(tables) for name, tables in CLUSTER_COMMANDS.items()},
    default=Unparsed,
)

_ZCL_HEADER = (
    "frame_control" / FrameControl(),
    "manufacturer_code" / If(this.frame_control.manufacturer_specific, Int16ul),
    "sequence" / Byte,
    "command_id" / Byte,
)

# A clear ZCL frame; manufacturer-specific cluster commands are not knowable: unparsed.
ZclFrame = Struct(
    *_ZCL_HEADER,
    "payload"
    / Switch(
        this.frame_control.frame_type,
        {
            "profile_wide": Switch(this.command_id, GENERAL_COMMANDS, default=Unparsed),
            "cluster_specific": IfThenElse(
                this.frame_control.manufacturer_specific, Unparsed, _CLUSTER_PAYLOAD
            ),
        },
        default=Unparsed,
    ),
)
