# Smart Energy Demand Response and Load Control cluster (0x0701), the client side's codec.
#
# ZigBee Smart Energy 1.x (07-5356), D.2 "Demand Response and Load Control Cluster".
# Server (meter/ESI) -> client (load control device): 0x00 Load Control Event,
# 0x01 Cancel Load Control Event, 0x02 Cancel All Load Control Events.
# Client -> server: 0x00 Report Event Status, 0x01 Get Scheduled Events.
# Field order and widths checked against Wireshark's zbee_zcl_se.drlc dissector.
from micropython import const
import struct

from firmware.lib.zcl import ZclError, INVALID_FIELD

CLUSTER = const(0x0701)

# server -> client
CMD_LOAD_CONTROL_EVENT = const(0x00)
CMD_CANCEL_EVENT = const(0x01)
CMD_CANCEL_ALL = const(0x02)
# client -> server
CMD_REPORT_EVENT_STATUS = const(0x00)
CMD_GET_SCHEDULED_EVENTS = const(0x01)

# Device class bits (D.2.2.3.1.1.1)
CLASS_SIMPLE_MISC_LOADS = const(1 << 7)
CLASS_ELECTRIC_VEHICLE = const(1 << 10)

# Event status (D.2.3.3.1.1.1)
STATUS_RECEIVED = const(0x01)
STATUS_STARTED = const(0x02)
STATUS_COMPLETED = const(0x03)
STATUS_OPT_OUT = const(0x04)
STATUS_OPT_IN = const(0x05)
STATUS_CANCELLED = const(0x06)
STATUS_SUPERSEDED = const(0x07)
STATUS_REJECTED_CANCEL_UNDEFINED = const(0xFD)
STATUS_REJECTED_EXPIRED = const(0xFB)
STATUS_REJECTED = const(0xFE)

ADJUSTMENT_UNUSED = const(-128)  # 0x80 as int8
DUTY_CYCLE_UNUSED = const(0xFF)
SETPOINT_UNUSED = const(-0x8000)  # int16 0x8000: "not used" (tshark: FT_INT16)
TEMPERATURE_OFFSET_UNUSED = const(0xFF)
MAX_DURATION_MINUTES = const(1440)

# Load Control Event, 23 bytes: issuer event id, device class, enrollment group, start time,
# duration (min), criticality, cooling/heating offsets, cooling/heating set points,
# average load adjustment %, duty cycle, event control.
_EVENT = "<IHBIHBBBhhbBB"
_EVENT_LEN = const(23)
# Cancel Load Control Event: issuer event id, device class, enrollment group, cancel control,
# effective time.
_CANCEL = "<IHBBI"
_CANCEL_LEN = const(12)
# Report Event Status before the signature: issuer event id, status, status time,
# criticality applied, cooling/heating set point applied, adjustment applied, duty cycle
# applied, event control, signature type; then a 42-byte signature, always present.
_REPORT = "<IBIBhhbBBB"
_SIGNATURE_LEN = const(42)


class LoadControlEvent:
    __slots__ = ("issuer_event_id", "device_class", "enrollment_group", "start_time",
                 "duration_minutes", "criticality", "cooling_offset", "heating_offset",
                 "cooling_setpoint", "heating_setpoint", "load_adjustment", "duty_cycle",
                 "event_control")

    def __init__(self, *fields):
        (self.issuer_event_id, self.device_class, self.enrollment_group, self.start_time,
         self.duration_minutes, self.criticality, self.cooling_offset, self.heating_offset,
         self.cooling_setpoint, self.heating_setpoint, self.load_adjustment, self.duty_cycle,
         self.event_control) = fields

    def fields(self):
        return (self.issuer_event_id, self.device_class, self.enrollment_group,
                self.start_time, self.duration_minutes, self.criticality, self.cooling_offset,
                self.heating_offset, self.cooling_setpoint, self.heating_setpoint,
                self.load_adjustment, self.duty_cycle, self.event_control)

    def target_level(self):
        """The output level (0-100 %) the event asks for: the duty cycle if used, else
        100 % plus the (negative) average load adjustment, else 0 (shed the load)."""
        if self.duty_cycle != DUTY_CYCLE_UNUSED:
            return self.duty_cycle
        if self.load_adjustment != ADJUSTMENT_UNUSED:
            return max(0, min(100, 100 + self.load_adjustment))
        return 0


def parse_load_control_event(payload):
    if len(payload) != _EVENT_LEN:
        raise ZclError("load control event length")
    event = LoadControlEvent(*struct.unpack(_EVENT, payload))
    if event.duration_minutes > MAX_DURATION_MINUTES or event.criticality == 0:
        raise ZclError("load control event field", INVALID_FIELD)
    if event.duty_cycle != DUTY_CYCLE_UNUSED and event.duty_cycle > 100:
        raise ZclError("duty cycle", INVALID_FIELD)
    adj = event.load_adjustment
    if adj != ADJUSTMENT_UNUSED and (adj < -100 or adj > 100):
        raise ZclError("load adjustment", INVALID_FIELD)
    return event


def load_control_event(*fields):
    return struct.pack(_EVENT, *fields)


def parse_cancel_event(payload):
    """(issuer_event_id, device_class, enrollment_group, cancel_control, effective_time)."""
    if len(payload) != _CANCEL_LEN:
        raise ZclError("cancel event length")
    return struct.unpack(_CANCEL, payload)


def cancel_event(issuer_event_id, device_class, enrollment_group, cancel_control,
                 effective_time):
    return struct.pack(_CANCEL, issuer_event_id, device_class, enrollment_group,
                       cancel_control, effective_time)


def parse_cancel_all(payload):
    """The cancel control bitmap."""
    if len(payload) != 1:
        raise ZclError("cancel all length")
    return payload[0]


def report_event_status(issuer_event_id, status, status_time, criticality, adjustment,
                        duty_cycle, event_control):
    """Report Event Status payload, unsigned (signature type 0, signature bytes 0xFF)."""
    return (struct.pack(_REPORT, issuer_event_id, status, status_time, criticality,
                        SETPOINT_UNUSED, SETPOINT_UNUSED, adjustment, duty_cycle,
                        event_control, 0)
            + b"\xff" * _SIGNATURE_LEN)


def parse_report_event_status(payload):
    n = struct.calcsize(_REPORT)
    if len(payload) != n + _SIGNATURE_LEN:
        raise ZclError("report event status length")
    return struct.unpack(_REPORT, payload[:n]) + (bytes(payload[n:]),)


def get_scheduled_events(start_time, number_of_events, issuer_event_id=None):
    if issuer_event_id is None:
        return struct.pack("<IB", start_time, number_of_events)
    return struct.pack("<IBI", start_time, number_of_events, issuer_event_id)


def parse_get_scheduled_events(payload):
    if len(payload) == 5:
        return struct.unpack("<IB", payload) + (None,)
    if len(payload) == 9:
        return struct.unpack("<IBI", payload)
    raise ZclError("get scheduled events length")
