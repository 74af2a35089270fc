# The HCALCS / PLCS application: endpoint 1 on the Smart Energy profile, talking to the
# commissioned meter (ESME) through an XBee radio in API mode 2.
#
# Servers: Basic, Identify, On/Off, Level Control (plcs only), and our configuration cluster
# 0xFC00 (label, boost association, calendar). Client: DRLC (0x0701). The app is synchronous:
# the board's tasks hand it radio frames, console actions and clock ticks, and it queues
# radio frames to send. Every rejected input is counted and logged and changes nothing.
from micropython import const
import binascii
import json

from firmware.lib import drlc, xbee, zcl
from firmware.lib.radio_app import RadioApp
from firmware.switch import labels
from firmware.switch.state import ROLE_PLCS, SwitchState

VERSION = "gbhan-switch 0.1.0"

PROFILE_SE = const(0x0109)
ENDPOINT = const(1)

CLUSTER_BASIC = const(0x0000)
CLUSTER_IDENTIFY = const(0x0003)
_CLUSTER_TIME = const(0x000A)  # client: the meter's clock is the switch's wall time
CLUSTER_ON_OFF = const(0x0006)
CLUSTER_LEVEL = const(0x0008)
CLUSTER_DRLC = const(0x0701)
# Manufacturer-specific configuration cluster (ours): the description label, the boost
# association and the calendar, none of which has a standard ZCL home.
CLUSTER_CONFIG = const(0xFC00)

_UNSUPPORTED_CLUSTER = const(0xC3)  # ZCL status UNSUPPORTED_CLUSTER

# On/Off server commands (ZCL 3.8.2.3)
_OFF = const(0x00)
_ON = const(0x01)
_TOGGLE = const(0x02)
_ON_WITH_TIMED_OFF = const(0x42)
# Level Control server commands (ZCL 3.10.2.3)
_MOVE_TO_LEVEL = const(0x00)
_MOVE_TO_LEVEL_WITH_ON_OFF = const(0x04)
# Identify server commands (ZCL 3.5.2.3)
_IDENTIFY = const(0x00)
_IDENTIFY_QUERY = const(0x01)

# Config cluster attributes
ATTR_LABEL = const(0x0000)
ATTR_BOOST_ASSOCIATED = const(0x0001)
ATTR_BOOST_MINUTES = const(0x0002)
ATTR_CALENDAR = const(0x0003)
ATTR_FIRMWARE_VERSION = const(0x0004)
ATTR_LOG_SEQUENCE = const(0x0005)
ATTR_REJECTED = const(0x0006)

# Profile-wide commands that change nothing, so they may come without APS security.
_READ_ONLY = (zcl.READ_ATTRIBUTES, zcl.READ_ATTRIBUTES_RSP, zcl.DEFAULT_RSP)

# Wall time. The Pico's RTC restarts at 2021-01-01 at every power-up (the ESP32's at 2000), so
# a clock before _MIN_VALID_UTC is not wall time: the switch reads the meter's (Time cluster)
# after start-up, on joining and every _TIME_POLL_S (_TIME_RETRY_S until it has it). Until then
# "now" is the last wall time the state record saw plus the seconds since boot, so a timed
# state in force at a power cut ends at most the cut's length late; a state needing the time
# of day (a calendar) or a future start (a scheduled DRLC event) waits for wall time, at the
# fail-safe output. While a timed state runs, the record's "seen" time is refreshed every
# _SEEN_EVERY_S, which bounds the extra lateness after a cut with no warning (no mains sense).
_MIN_VALID_UTC = const(788918400)  # 2025-01-01T00:00:00Z in ZigBee seconds
_TIME_POLL_S = const(21600)
_TIME_RETRY_S = const(60)
_SEEN_EVERY_S = const(30)
_TIME_MASTER_OR_SYNCED = const(0x03)  # TimeStatus bits 0 (master) and 1 (synchronized)

_DEVICE_CLASS = drlc.CLASS_ELECTRIC_VEHICLE | drlc.CLASS_SIMPLE_MISC_LOADS
_MAX_EVENTS = const(4)

# AT commands sent once the radio is up (firmware/lib/radio_setup.py has by then checked AP,
# AO=1 explicit Rx indicators without ZDO passthrough, EE, EO and ZS; docs/firmware.md lists
# them for the radio stand-ins): SH/SL our EUI-64 (for the log); AI association state; VR
# radio firmware version.
STARTUP_AT = ("SH", "SL", "AI", "VR")


def pct_to_zcl(level):
    return (level * 254 + 50) // 100


def zcl_to_pct(level):
    return (min(level, 254) * 100 + 127) // 254


class Config:
    def __init__(self, role, esme=None, strict_labels=True, vocabulary=()):
        self.role = role
        self.esme = esme  # 8 bytes, MSB first (XBee order), or None
        self.strict_labels = strict_labels
        self.vocabulary = list(vocabulary)


class SwitchApp(RadioApp):
    def __init__(self, config, store, log, clock, outputs):
        self.config = config
        self.role = config.role
        self.store = store
        self.clock = clock  # .utc() -> ZigBee UTC seconds, .ticks_ms()
        self.outputs = outputs  # .set(relay, level)
        self.state = SwitchState(config.role)
        self.events = []  # scheduled or active DRLC events: [fields, start, end, active]
        self.esme = config.esme
        self.esme_nwk = xbee.UNKNOWN_NWK
        self.esme_ep = ENDPOINT
        self.init_radio(log, {"rx": 0, "tx": 0, "tx-failed": 0, "tx-dropped": 0, "commits": 0},
                        clock)
        self.own_eui = b""
        self.mains = True
        self.identify_until = 0
        self.current = None  # (relay, level, source) now driven on the outputs
        self._ramp = None  # (from_level, to_level, t0_ms, duration_ms)
        self.time_valid = clock.utc() >= _MIN_VALID_UTC  # a battery-backed or host clock
        # [ms since boot (summed tick by tick, safe across the ticks wrap), ticks then]
        self._mono = [0, clock.ticks_ms()]
        # [the record's last seen wall time ("now" until the meter's is read), the seen time
        #  last saved, the second since boot of the last Time read we sent (-1: none yet)]
        self._t = [0, 0, -1]
        self._load()

    # -- persistence ------------------------------------------------------------------
    def _load(self):
        raw = self.store.load("state")
        record = None
        if raw is not None:
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
        if isinstance(record, dict):
            self.state.from_record(record)
            self.events = [e for e in record.get("events", []) if len(e) == 4]
            self._t[0] = int(record.get("seen", 0))
            if self.esme is None and record.get("esme"):
                self.esme = binascii.unhexlify(record["esme"])
        self.log.append("boot", "%s role=%s gen=%d%s" % (
            VERSION, self.role, self.state.generation, "" if record else " fresh"))
        if not self.state.label:
            self.log.append("label-missing")

    def commit(self):
        self.state.generation += 1
        record = self.state.to_record()
        record["events"] = self.events
        record["esme"] = binascii.hexlify(self.esme).decode() if self.esme else ""
        self._t[1] = record["seen"] = self.now()
        self.store.save("state", json.dumps(record).encode())
        self.counters["commits"] += 1

    # -- time -------------------------------------------------------------------------
    def uptime_s(self):
        mono = self._mono
        t = self.clock.ticks_ms()
        mono[0] += self.clock.ticks_diff(t, mono[1])
        mono[1] = t
        return mono[0] // 1000

    def now(self):
        """ZigBee UTC seconds: the board's clock once it is wall time, else the record's last
        seen time plus the seconds since boot (never ahead of the true time)."""
        if self.time_valid:
            return self.clock.utc()
        return self._t[0] + self.uptime_s()

    def request_time(self):
        """Read the meter's Time (0x0000) and TimeStatus (0x0001) attributes."""
        self._t[2] = self.uptime_s()
        self.send(_CLUSTER_TIME, zcl.read_attributes(self.next_tsn(), (0x0000, 0x0001)))

    def _on_time(self, records):
        value = None
        status = None
        for attr, st, type_id, v in records:
            if st != zcl.SUCCESS:
                continue
            if attr == 0x0000 and type_id == zcl.T_UTC_TIME:
                value = v
            elif attr == 0x0001:
                status = v
        if value is None or value < _MIN_VALID_UTC or value == 0xFFFFFFFF:
            self.reject("time-invalid", "%r" % value)
            return
        if status is not None and not status & _TIME_MASTER_OR_SYNCED:
            self.reject("time-unsynchronised", "status=%02x" % status)
            return
        first = not self.time_valid
        self.clock.set_utc(value)
        self.time_valid = True
        self.log.append("time", "utc=%d from meter%s" % (value, " (first)" if first else ""))
        self.tick()  # what ran out while the clock was behind ends now
        if first:
            self.commit()

    # -- output -----------------------------------------------------------------------
    def start(self):
        """After boot: drive the fail-safe output; the radio bring-up calls on_radio_up()."""
        self.apply("boot")

    def on_radio_up(self):
        """The radio answers with the right settings: who are we, ask the meter for events
        and the time (a silent radio never gets here: nothing goes out as if joined)."""
        for command in STARTUP_AT:
            self.queue_frame(xbee.at_command(self.next_frame_id(), command))
        self.request_scheduled_events()
        self.request_time()

    def apply(self, cause):
        """Drive the outputs from the state machine; log and report any change."""
        relay, level, source = self.state.output(self.now(), self.time_valid)
        if self.current is not None and self.current == (relay, level, source):
            return False
        previous = self.current
        self.current = (relay, level, source)
        self.outputs.set(relay, self._ramp_level(level))
        self.log.append("transition", "relay=%s level=%d source=%s cause=%s" % (
            "closed" if relay else "open", level, source, cause))
        if previous is not None and (previous[0] != relay or previous[1] != level):
            self.report_state()
        return True

    def output_level(self):
        """The level the output shows now (it ramps during a Level Control transition)."""
        return self.outputs.level

    def report_state(self):
        if self.current is None:
            return
        relay, level, _ = self.current
        fc = zcl.FC_SERVER_TO_CLIENT | zcl.FC_DISABLE_DEFAULT_RSP
        self.send(CLUSTER_ON_OFF, zcl.report_attributes(
            self.next_tsn(), ((0x0000, zcl.T_BOOL, relay),), fc))
        if self.role == ROLE_PLCS:
            self.send(CLUSTER_LEVEL, zcl.report_attributes(
                self.next_tsn(), ((0x0000, zcl.T_UINT8, pct_to_zcl(level)),), fc))

    # -- radio out ----------------------------------------------------------------------
    def send(self, cluster, zcl_frame, dst_ep=None):
        if self.esme is None:
            return
        self.counters["tx"] += 1
        # APS-secured with the meter's link key, as the meter's commands to us must be.
        self.queue_frame(xbee.tx_explicit(
            self.next_frame_id(), self.esme, self.esme_nwk, ENDPOINT,
            self.esme_ep if dst_ep is None else dst_ep, cluster, PROFILE_SE, zcl_frame,
            options=xbee.TX_OPT_APS_ENCRYPTION))

    def request_scheduled_events(self):
        """Get Scheduled Events (DRLC client 0x01): the GB meter logs this as HECS01."""
        self.send(CLUSTER_DRLC, zcl.header(zcl.FC_CLUSTER, self.next_tsn(),
                                           drlc.CMD_GET_SCHEDULED_EVENTS)
                  + drlc.get_scheduled_events(0, 0))

    # -- radio in ---------------------------------------------------------------------------
    def on_modem_status(self, status):
        if status == 0x02:  # joined: the meter may be reachable now
            self.request_scheduled_events()
            self.request_time()

    def _on_at_response(self, response):
        _, command, status, data = response
        if status != 0:
            self.log.append("radio", "AT %s status=%d" % (command, status))
        elif command == "SH":
            self.own_eui = data + self.own_eui[-4:] if len(self.own_eui) == 8 else data
        elif command == "SL":
            self.own_eui = (self.own_eui[:4] if len(self.own_eui) >= 4 else b"") + data
            self.log.append("radio", "eui64=%s" % binascii.hexlify(self.own_eui).decode())
        elif command == "AI" and data == b"\x00":
            self.request_scheduled_events()
            self.request_time()

    def _on_rx(self, rx):
        src64, src16, src_ep, dst_ep, cluster, profile, options, data = rx
        if self.esme is None or src64 != self.esme:
            self.reject("unauthorised", binascii.hexlify(src64).decode())
            return
        if profile != PROFILE_SE:
            self.reject("profile", "%04x" % profile)
            return
        if dst_ep != ENDPOINT:
            self.reject("endpoint", "%d" % dst_ep)
            return
        try:
            fc, manufacturer, tsn, command, offset = zcl.parse_header(data)
        except zcl.ZclError:
            self.reject("malformed", "header")
            return
        secured = options & xbee.RX_OPT_APS_ENCRYPTED
        if not secured and (fc & zcl.FC_CLUSTER or command not in _READ_ONLY):
            # The sender address alone proves nothing: any holder of the network key can
            # claim it. Only the meter's link key (APS security) does, so anything that can
            # change the switch must carry it; a plain read is answered and changes nothing.
            self.reject("unencrypted", "cluster=%04x cmd=%02x" % (cluster, command))
            return
        if secured:
            self.esme_nwk = src16
            self.esme_ep = src_ep
        payload = data[offset:]
        try:
            if fc & zcl.FC_CLUSTER:
                status = self._cluster_command(cluster, fc, manufacturer, tsn, command, payload)
            else:
                status = self._general_command(cluster, fc, manufacturer, tsn, command, payload,
                                               secured)
        except zcl.ZclError as e:
            status = e.status
            self.reject("malformed", "cluster=%04x cmd=%02x %s" % (cluster, command, e))
        else:
            if status is not None and status != zcl.SUCCESS:
                self.reject("status-%02x" % status, "cluster=%04x cmd=%02x" % (cluster, command))
        if status is None:
            return  # answered already (or nothing to answer)
        if status == zcl.SUCCESS:
            if secured:
                self.confirmed("frame from meter")
            if fc & zcl.FC_DISABLE_DEFAULT_RSP:
                return
        # Default Response: direction opposite to the request's.
        rsp_fc = (zcl.FC_SERVER_TO_CLIENT if not fc & zcl.FC_SERVER_TO_CLIENT else 0)
        self.send(cluster, zcl.default_rsp(tsn, command, status, rsp_fc | zcl.FC_DISABLE_DEFAULT_RSP,
                                           manufacturer))

    def confirmed(self, cause):
        """The commissioned meter is there: leave the fail-safe state."""
        if self.state.failsafe:
            self.state.failsafe = False
            self.apply("meter-confirmed: " + cause)

    # -- general (profile-wide) commands ------------------------------------------------
    def _general_command(self, cluster, fc, manufacturer, tsn, command, payload, secured):
        """`secured` False: an unencrypted read, answered without taking the sender for
        the meter (no fail-safe exit, its address not learnt)."""
        if manufacturer is not None and cluster != CLUSTER_CONFIG:
            return zcl.UNSUP_MANUF_GENERAL_COMMAND
        if cluster == _CLUSTER_TIME and command == zcl.READ_ATTRIBUTES_RSP:
            records = zcl.parse_read_attributes_rsp(payload)
            if not secured:  # anyone with the network key could set our clock
                self.reject("unencrypted", "cluster=%04x cmd=%02x" % (cluster, command))
            else:
                self._on_time(records)
            return None
        if command == zcl.DEFAULT_RSP:
            # An answer to our report or request, on any cluster (a meter without a Time
            # server says so in one): never answered, or two devices would ping-pong.
            zcl.parse_default_rsp(payload)
            if secured:
                self.confirmed("default response")
            return None
        table = self._attributes(cluster)
        if table is None:
            return _UNSUPPORTED_CLUSTER
        rsp_fc = zcl.FC_DISABLE_DEFAULT_RSP | (
            zcl.FC_SERVER_TO_CLIENT if not fc & zcl.FC_SERVER_TO_CLIENT else 0)
        if command == zcl.READ_ATTRIBUTES:
            records = []
            for attr in zcl.parse_read_attributes(payload):
                entry = table.get(attr)
                if entry is None:
                    records.append((attr, zcl.UNSUPPORTED_ATTRIBUTE, None, None))
                else:
                    records.append((attr, zcl.SUCCESS, entry[0], entry[1]))
            self.send(cluster, zcl.read_attributes_rsp(tsn, records, rsp_fc))
            if secured:
                self.confirmed("read attributes")
            return None
        if command in (zcl.WRITE_ATTRIBUTES, zcl.WRITE_ATTRIBUTES_UNDIVIDED,
                       zcl.WRITE_ATTRIBUTES_NO_RSP):
            failures = self._write_attributes(cluster, table,
                                              zcl.parse_attribute_records(payload),
                                              command == zcl.WRITE_ATTRIBUTES)
            if failures:
                self.reject("write-attributes", "cluster=%04x" % cluster)
            else:
                self.confirmed("write attributes")
            if command != zcl.WRITE_ATTRIBUTES_NO_RSP:
                self.send(cluster, zcl.write_attributes_rsp(tsn, failures, rsp_fc))
            return None
        if command == zcl.READ_ATTRIBUTES_RSP:
            zcl.parse_read_attributes_rsp(payload)
            return None
        return zcl.UNSUP_GENERAL_COMMAND

    def _attributes(self, cluster):
        """{attribute id: (type, value)} of one of our clusters, or None."""
        relay, level, _ = self.current or (False, 0, "")
        if cluster == CLUSTER_BASIC:
            return {
                0x0000: (zcl.T_UINT8, 3),  # ZCL version
                0x0001: (zcl.T_UINT8, 1),  # application version
                0x0003: (zcl.T_UINT8, 1),  # hardware version
                0x0004: (zcl.T_CHAR_STRING, "gbhan"),
                0x0005: (zcl.T_CHAR_STRING, self.role.upper()),
                0x0007: (zcl.T_ENUM8, 0x01),  # power source: mains, single phase
                0x0010: (zcl.T_CHAR_STRING, self.state.label[:16]),  # location description
                0x4000: (zcl.T_CHAR_STRING, VERSION),  # software build id (CS08 read)
            }
        if cluster == CLUSTER_IDENTIFY:
            remaining = max(0, self.identify_until - self.now())
            return {0x0000: (zcl.T_UINT16, remaining)}
        if cluster == CLUSTER_ON_OFF:
            return {0x0000: (zcl.T_BOOL, relay)}
        if cluster == CLUSTER_LEVEL and self.role == ROLE_PLCS:
            return {0x0000: (zcl.T_UINT8, pct_to_zcl(self.output_level())),
                    0x0001: (zcl.T_UINT16, self._remaining_transition())}
        if cluster == CLUSTER_DRLC:
            return {0x0000: (zcl.T_UINT8, 0), 0x0001: (zcl.T_UINT8, 0),
                    0x0002: (zcl.T_UINT8, 0), 0x0003: (zcl.T_UINT16, _DEVICE_CLASS)}
        if cluster == CLUSTER_CONFIG:
            st = self.state
            return {
                ATTR_LABEL: (zcl.T_CHAR_STRING, st.label),
                ATTR_BOOST_ASSOCIATED: (zcl.T_BOOL, st.boost_allowed),
                ATTR_BOOST_MINUTES: (zcl.T_UINT16, st.boost_minutes),
                ATTR_CALENDAR: (zcl.T_OCTET_STRING, encode_calendar(st.calendar)),
                ATTR_FIRMWARE_VERSION: (zcl.T_CHAR_STRING, VERSION),
                ATTR_LOG_SEQUENCE: (zcl.T_UINT32, self.log.next_seq - 1),
                ATTR_REJECTED: (zcl.T_UINT32, self.rejected_total),
            }
        return None

    def _write_attributes(self, cluster, table, records, undivided_ok):
        """Check every record first, then apply all of them and commit once."""
        writable = {CLUSTER_IDENTIFY: (0x0000,),
                    CLUSTER_CONFIG: (ATTR_LABEL, ATTR_BOOST_ASSOCIATED, ATTR_BOOST_MINUTES,
                                     ATTR_CALENDAR)}.get(cluster, ())
        failures = []
        changes = []
        for attr, type_id, value in records:
            entry = table.get(attr)
            if entry is None:
                failures.append((zcl.UNSUPPORTED_ATTRIBUTE, attr))
            elif attr not in writable:
                failures.append((zcl.READ_ONLY, attr))
            elif type_id != entry[0]:
                failures.append((zcl.INVALID_DATA_TYPE, attr))
            else:
                try:
                    changes.append((attr, self._check_value(cluster, attr, value)))
                except ValueError:
                    failures.append((zcl.INVALID_VALUE, attr))
        if failures:
            return failures  # all or nothing: a bad record changes nothing
        for attr, value in changes:
            if cluster == CLUSTER_IDENTIFY:
                self.identify_until = self.now() + value
            elif attr == ATTR_LABEL:
                self.state.label = value
                self.log.append("label", value)
            elif attr == ATTR_BOOST_ASSOCIATED:
                self.state.boost_allowed = value
                self.log.append("boost-association", "on" if value else "off")
            elif attr == ATTR_BOOST_MINUTES:
                self.state.boost_minutes = value
            elif attr == ATTR_CALENDAR:
                self.state.calendar = value
                self.log.append("calendar", "%d entries" % len(value))
        if cluster == CLUSTER_CONFIG:
            self.commit()
            self.apply("config written")
        return []

    def _check_value(self, cluster, attr, value):
        if cluster == CLUSTER_CONFIG:
            if attr == ATTR_LABEL:
                return labels.check_label(value, self.config.vocabulary,
                                          self.config.strict_labels)
            if attr == ATTR_BOOST_MINUTES and not 1 <= value <= 1440:
                raise ValueError("boost minutes")
            if attr == ATTR_CALENDAR:
                return decode_calendar(value)
        return value

    # -- cluster-specific commands -----------------------------------------------------
    def _cluster_command(self, cluster, fc, manufacturer, tsn, command, payload):
        if manufacturer is not None and cluster != CLUSTER_CONFIG:
            return zcl.UNSUP_MANUF_CLUSTER_COMMAND
        to_server = not fc & zcl.FC_SERVER_TO_CLIENT
        if cluster == CLUSTER_ON_OFF and to_server:
            return self._on_off(command, payload)
        if cluster == CLUSTER_LEVEL and to_server:
            if self.role != ROLE_PLCS:
                return _UNSUPPORTED_CLUSTER
            return self._level(command, payload)
        if cluster == CLUSTER_IDENTIFY and to_server:
            return self._identify(tsn, command, payload)
        if cluster == CLUSTER_DRLC and not to_server:
            return self._drlc(command, payload)
        if cluster in (CLUSTER_BASIC, CLUSTER_ON_OFF, CLUSTER_IDENTIFY, CLUSTER_CONFIG,
                       CLUSTER_DRLC) or (cluster == CLUSTER_LEVEL and self.role == ROLE_PLCS):
            return zcl.UNSUP_CLUSTER_COMMAND
        return _UNSUPPORTED_CLUSTER

    def _remote(self, relay, level, until, cause):
        # Act first, then commit, then (the caller) answer: the load responds without waiting
        # for flash, and an answer still means "in flash". A cut between the two leaves the
        # state before, which is what a reboot then restores.
        self.state.command(relay, level, until, cause)
        self.confirmed(cause)
        self.apply(cause)
        self.commit()

    def _on_off(self, command, payload):
        now = self.now()
        relay, level, _ = self.state.output(now) if not self.state.failsafe else \
            self._last_commanded(now)
        if command in (_OFF, _ON, _TOGGLE):
            if payload:
                raise zcl.ZclError("on/off payload")
            if command == _TOGGLE:
                closed = not relay
            else:
                closed = command == _ON
            if self.role == ROLE_PLCS and closed and level == 0:
                level = 100  # on with nothing to show would look like off
            self._remote(closed, level, 0, "on-off %s" % ("on" if closed else "off"))
            return zcl.SUCCESS
        if command == _ON_WITH_TIMED_OFF:
            _control, on_time, _off_wait = parse_on_with_timed_off(payload)  # tenths of a s
            until = 0 if on_time in (0, 0xFFFF) else now + (on_time + 9) // 10
            self._remote(True, level if level else 100, until, "on-off timed-on")
            return zcl.SUCCESS
        return zcl.UNSUP_CLUSTER_COMMAND

    def _last_commanded(self, now):
        """What the switch would do without the fail-safe (the base for a relative command)."""
        self.state.failsafe = False
        try:
            return self.state.output(now, self.time_valid)
        finally:
            self.state.failsafe = True

    def _level(self, command, payload):
        if command not in (_MOVE_TO_LEVEL, _MOVE_TO_LEVEL_WITH_ON_OFF):
            return zcl.UNSUP_CLUSTER_COMMAND
        level, transition, _mask, _override = parse_move_to_level(payload)
        target = zcl_to_pct(level)  # transition: tenths of a second, 0xFFFF = default
        now = self.now()
        relay, level, _ = self._last_commanded(now) if self.state.failsafe else \
            self.state.output(now, self.time_valid)
        if command == _MOVE_TO_LEVEL_WITH_ON_OFF:
            relay = target > 0
        start_level = self.outputs.level
        self._ramp = None
        if transition not in (0, 0xFFFF) and start_level != target:
            # The output moves from where it is now; apply() and the tick follow this ramp.
            self._ramp = (start_level, target, self.clock.ticks_ms(), transition * 100)
        self._remote(relay, target, 0, "level %d" % target)
        return zcl.SUCCESS

    def _remaining_transition(self):
        if self._ramp is None:
            return 0
        start, target, t0, duration = self._ramp
        left = duration - self.clock.ticks_diff(self.clock.ticks_ms(), t0)
        return max(0, left // 100)

    def _identify(self, tsn, command, payload):
        if command == _IDENTIFY:
            if len(payload) != 2:
                raise zcl.ZclError("identify length")
            self.identify_until = self.now() + (payload[0] | (payload[1] << 8))
            return zcl.SUCCESS
        if command == _IDENTIFY_QUERY:
            if payload:
                raise zcl.ZclError("identify query payload")
            remaining = self.identify_until - self.now()
            if remaining > 0:
                self.send(CLUSTER_IDENTIFY, zcl.header(
                    zcl.FC_CLUSTER | zcl.FC_SERVER_TO_CLIENT | zcl.FC_DISABLE_DEFAULT_RSP,
                    tsn, 0x00) + bytes((remaining & 0xFF, remaining >> 8)))
                self.confirmed("identify query")
                return None
            return zcl.SUCCESS
        return zcl.UNSUP_CLUSTER_COMMAND

    # -- DRLC client ----------------------------------------------------------------------
    def _report_event(self, fields, status):
        event = drlc.LoadControlEvent(*fields)
        applied = event.target_level() if status == drlc.STATUS_STARTED else 0
        self.send(CLUSTER_DRLC, zcl.header(zcl.FC_CLUSTER, self.next_tsn(),
                                           drlc.CMD_REPORT_EVENT_STATUS)
                  + drlc.report_event_status(
                      event.issuer_event_id, status, self.now(), event.criticality,
                      event.load_adjustment, event.duty_cycle, event.event_control))
        self.log.append("drlc", "event=%d status=%02x level=%d" % (
            event.issuer_event_id, status, applied))

    def _drlc(self, command, payload):
        if command == drlc.CMD_LOAD_CONTROL_EVENT:
            event = drlc.parse_load_control_event(payload)
            if not event.device_class & _DEVICE_CLASS:
                # Not for our class of load (D.2.4.2.1): ignored, but counted and logged.
                self.reject("drlc-device-class", "%04x" % event.device_class)
                return None
            # Our utility enrollment group is 0, which takes events for every group.
            self._schedule_event(event)
            return zcl.SUCCESS
        if command == drlc.CMD_CANCEL_EVENT:
            issuer, _cls, _group, _control, _effective = drlc.parse_cancel_event(payload)
            for entry in self.events:
                if entry[0][0] == issuer:
                    self._end_event(entry, drlc.STATUS_CANCELLED, "drlc cancel %d" % issuer)
                    return zcl.SUCCESS
            # Unknown event: say so in a Report Event Status (D.2.3.3.1), change nothing.
            self.reject("drlc-cancel-unknown", "%d" % issuer)
            self._report_event((issuer, 0, 0, 0, 0, 0, 0xFF, 0xFF, -32768, -32768,
                                drlc.ADJUSTMENT_UNUSED, drlc.DUTY_CYCLE_UNUSED, 0),
                               drlc.STATUS_REJECTED_CANCEL_UNDEFINED)
            return zcl.SUCCESS
        if command == drlc.CMD_CANCEL_ALL:
            drlc.parse_cancel_all(payload)
            for entry in list(self.events):
                self._end_event(entry, drlc.STATUS_CANCELLED, "drlc cancel-all")
            self.events = []
            self.commit()
            self.confirmed("drlc cancel-all")
            self.apply("drlc cancel-all")
            return zcl.SUCCESS
        return zcl.UNSUP_CLUSTER_COMMAND

    def _schedule_event(self, event):
        now = self.now()
        for entry in self.events:
            if entry[0][0] == event.issuer_event_id:
                return  # a repeat of an event we hold already
        start = event.start_time if event.start_time else now
        end = start + event.duration_minutes * 60
        if end <= now:
            self._report_event(event.fields(), drlc.STATUS_REJECTED_EXPIRED)
            return
        self._report_event(event.fields(), drlc.STATUS_RECEIVED)
        # A newer event replaces the ones it overlaps (D.2.4.1.2, "superseded").
        for entry in list(self.events):
            if entry[1] < end and start < entry[2]:
                self._end_event(entry, drlc.STATUS_SUPERSEDED, "drlc superseded")
        self.events.append([list(event.fields()), start, end, 0])
        if len(self.events) > _MAX_EVENTS:
            self._end_event(self.events[0], drlc.STATUS_SUPERSEDED, "drlc table full")
        self.commit()
        self.confirmed("drlc event")
        self.run_events(now)

    def _end_event(self, entry, status, cause):
        if entry in self.events:
            self.events.remove(entry)
        remote = self.state.remote
        if entry[3] and remote is not None and remote[3] == "drlc %d" % entry[0][0]:
            self.state.reset_to_calendar()
        self._report_event(entry[0], status)
        self.commit()
        self.apply(cause)

    def run_events(self, now):
        """Start events whose time has come and complete those that have run out."""
        for entry in list(self.events):
            fields, start, end, active = entry
            if now >= end:
                self._end_event(entry, drlc.STATUS_COMPLETED, "drlc completed %d" % fields[0])
            elif not active and now >= start and (self.time_valid or not fields[3]):
                # (a start time in the future needs wall time; "now" events start at once)
                entry[3] = 1
                event = drlc.LoadControlEvent(*fields)
                level = event.target_level()
                if self.role == ROLE_PLCS:
                    relay = level > 0
                else:
                    relay = level >= 100  # a binary switch sheds the load for any curtailment
                self.state.command(relay, level, end, "drlc %d" % fields[0])
                self.apply("drlc start %d" % fields[0])
                self.commit()
                self._report_event(fields, drlc.STATUS_STARTED)

    # -- board events ----------------------------------------------------------------------
    def tick(self):
        """Called a few times a second and after the clock is set."""
        self.radio_tick()
        now = self.now()
        t = self._t
        if t[2] >= 0 and self.uptime_s() - t[2] >= (
                _TIME_POLL_S if self.time_valid else _TIME_RETRY_S):
            self.request_time()
        causes = self.state.expire(now)
        remote = self.state.remote
        if not causes and now - t[1] >= _SEEN_EVERY_S and (
                self.events or self.state.boost_until or (remote is not None and remote[2])):
            self.commit()  # the seen time a restart without wall time resumes from
        if causes:
            self.commit()
        self.run_events(now)
        if causes:
            self.apply(", ".join(causes))
        else:
            self.apply("calendar")
        self._advance_ramp()

    def _ramp_level(self, target):
        """The level to show now: part way along a running transition to `target`, else
        `target` itself (a different target ends the transition)."""
        if self._ramp is None:
            return target
        start, to_level, t0, duration = self._ramp
        elapsed = self.clock.ticks_diff(self.clock.ticks_ms(), t0)
        if to_level != target or elapsed >= duration:
            self._ramp = None
            return target
        return start + (to_level - start) * elapsed // duration

    def _advance_ramp(self):
        if self._ramp is not None and self.current is not None:
            self.outputs.set(self.current[0], self._ramp_level(self.current[1]))

    def press_boost(self):
        refused = self.state.press_boost(self.now())
        if refused:
            self.log.append("boost-refused", refused)
            return refused
        # The consumer overrides a running DRLC event: tell the meter they opted out
        # (participation is voluntary, DCP 371).
        for entry in self.events:
            if entry[3]:
                self._report_event(entry[0], drlc.STATUS_OPT_OUT)
        self.commit()
        self.apply("boost button")
        return None

    def set_mains(self, present):
        if present == self.mains:
            return
        self.mains = present
        self.log.append("power", "mains-restored" if present else "mains-lost")
        if not present:
            self.commit()  # everything that must survive is on flash before the hold-up ends
            self.log.flush()

    def set_label(self, text):
        label = labels.check_label(text, self.config.vocabulary, self.config.strict_labels)
        self.state.label = label
        self.commit()
        self.log.append("label", label)
        return label

    def commission(self, esme):
        self.esme = esme
        self.commit()
        self.log.append("commissioned", binascii.hexlify(esme).decode())

    def set_calendar(self, entries):
        self.state.set_calendar(entries)
        self.commit()
        self.log.append("calendar", "%d entries" % len(entries))
        self.apply("calendar changed")


def encode_calendar(calendar):
    out = bytearray()
    for minute, relay, level in calendar:
        out += bytes((minute & 0xFF, minute >> 8, 1 if relay else 0, level))
    return bytes(out)


def decode_calendar(raw):
    """Calendar attribute: 4 bytes per entry (minute of day u16 LE, relay u8, level u8)."""
    if len(raw) % 4 or len(raw) > 4 * 24:
        raise ValueError("calendar length")
    entries = []
    for i in range(0, len(raw), 4):
        minute = raw[i] | (raw[i + 1] << 8)
        if minute >= 1440 or raw[i + 2] > 1 or raw[i + 3] > 100:
            raise ValueError("calendar entry")
        entries.append([minute, raw[i + 2], raw[i + 3]])
    entries.sort(key=lambda e: e[0])
    return entries


def parse_on_with_timed_off(payload):
    """(on/off control, on time, off wait time) of On/Off 0x42 (ZCL 3.8.2.3.6)."""
    if len(payload) != 5:
        raise zcl.ZclError("on with timed off length")
    return (payload[0], payload[1] | (payload[2] << 8), payload[3] | (payload[4] << 8))


def parse_move_to_level(payload):
    """(level, transition time, options mask, options override) of Level Control 0x00/0x04;
    the options fields (ZCL rev 6) are optional."""
    if len(payload) not in (3, 5):
        raise zcl.ZclError("move to level length")
    if len(payload) == 5:
        return payload[0], payload[1] | (payload[2] << 8), payload[3], payload[4]
    return payload[0], payload[1] | (payload[2] << 8), None, None
