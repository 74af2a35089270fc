# The Comms Hub application: coordinator of the HAN on its XBee, the device log that decides
# who may join, the GB-HRGP tunnel server that carries GBCS between HAN devices and the WAN,
# and the outage rules (outage.py). Synchronous like the switch app: the board's tasks hand
# it radio frames, WAN frames, console actions and clock ticks; it queues bytes to send on
# the radio (tx_queue) and on the WAN (wan_queue). Bad input is counted, logged and dropped.
from micropython import const
import binascii
import json
import struct

from firmware.commshub import devicelog, gbcs_alert, radio, wan
from firmware.commshub.outage import DEFAULTS, POA, OutageMonitor
from firmware.lib import xbee, zcl
from firmware.lib.radio_app import RadioApp

VERSION = "gbhan-commshub 0.1.0"

PROFILE_SE = const(0x0109)
ENDPOINT = const(1)
CLUSTER_TUNNELING = const(0x0704)
GB_HRGP = const(0x06)
# Tunnelling commands (SE 1.x, client->server / server->client).
_REQUEST_TUNNEL = const(0x00)
_CLOSE_TUNNEL = const(0x01)
_TRANSFER_DATA_C2S = const(0x02)
_REQUEST_TUNNEL_RSP = const(0x00)
_TRANSFER_DATA_S2C = const(0x01)
_TRANSFER_DATA_ERROR_S2C = const(0x02)
_TUNNEL_SUCCESS = const(0x00)
_TUNNEL_PROTOCOL_NOT_SUPPORTED = const(0x03)
_NO_SUCH_TUNNEL = const(0x00)
_WRONG_DEVICE = const(0x01)
MAX_TUNNEL_DATA = const(255)  # no Ready/Ack flow control: one Transfer Data per message
_UNSUPPORTED_CLUSTER = const(0xC3)

DEFAULT_DNO = b"\x90\xb3\xd5\x1f\x30\x02\x00\x00"  # the RTDS Network Operator
# AO=3: explicit Rx indicators and ZDO passthrough (Device_annce, Mgmt_Leave_rsp reach us).
STARTUP_AT = (("AO", b"\x03"), ("SH", b""), ("SL", b""), ("AI", b""), ("VR", b""))

EVENT_JOINED = const(1)
EVENT_LEFT = const(2)
EVENT_REFUSED = const(3)


class HubApp(RadioApp):
    def __init__(self, board, store, log, clock, rand):
        self.board = board
        self.store = store
        self.clock = clock
        self.role = "commshub"
        self.init_radio(log, {"rx": 0, "wan-rx": 0, "wan-tx": 0, "tx": 0, "tx-failed": 0,
                              "tx-dropped": 0, "up": 0, "down": 0}, clock)
        self.wan_queue = []
        self.own_eui = b"\x00" * 8
        self.eui_known = False  # until the radio has told us (SH, then SL) nothing goes out
        self.settings = dict(DEFAULTS)
        self.dno = DEFAULT_DNO
        self.boots = 0
        self.removed = []  # EUIs told to leave after removal from the log: their answer = "left"
        self._load_config()
        for key in DEFAULTS:
            value = getattr(board, key, None)
            if value is not None:
                self.settings[key] = value
        self.boots += 1
        self.save_config()
        self.devices = devicelog.DeviceLog(store, log)
        self.outage = OutageMonitor(store, log, self.settings, rand)
        self.log.append("boot", "%s role=commshub boots=%d devices=%d" % (
            VERSION, self.boots, len(self.devices.devices)))

    # -- configuration ---------------------------------------------------------------------
    def _load_config(self):
        raw = self.store.load("hubcfg")
        try:
            rec = json.loads(raw) if raw is not None else {}
        except ValueError:
            rec = {}
        if not isinstance(rec, dict):
            return
        for key in DEFAULTS:
            if isinstance(rec.get(key), int):
                self.settings[key] = rec[key]
        if rec.get("dno"):
            self.dno = binascii.unhexlify(rec["dno"])
        self.boots = rec.get("boots", 0)

    def save_config(self):
        rec = {}  # type: dict
        rec.update(self.settings)
        rec["dno"] = binascii.hexlify(self.dno).decode()
        rec["boots"] = self.boots
        self.store.save("hubcfg", json.dumps(rec).encode())

    def set(self, key, value):
        if key not in DEFAULTS or value < 0:
            raise ValueError(key)
        self.settings[key] = value  # the monitor shares this dict
        self.save_config()

    # -- start -----------------------------------------------------------------------------
    def start(self):
        fid = 0
        for command, param in STARTUP_AT:
            fid += 1
            self.queue_frame(xbee.at_command(fid, command, param))
        for device in self.devices.devices.values():  # the radio's table follows the log
            self.queue_frame(radio.register_joining(self.next_frame_id(), device.eui,
                                                    device.code))
        self.outage.boot(self.clock.utc())

    # -- radio out -------------------------------------------------------------------------
    def send_han(self, device, cluster, data, profile=PROFILE_SE, ep=ENDPOINT):
        self.counters["tx"] += 1
        nwk = device.nwk if device.nwk is not None else xbee.UNKNOWN_NWK
        self.queue_frame(xbee.tx_explicit(self.next_frame_id(), device.eui, nwk, ep, ep,
                                          cluster, profile, data))

    def send_wan(self, kind, seq, payload):
        self.counters["wan-tx"] += 1
        self.wan_queue.append(wan.encode(kind, seq, payload))

    def wan_ack(self, seq, status):
        self.send_wan(wan.ACK, seq, bytes((status,)))

    # -- radio in --------------------------------------------------------------------------
    def on_other_frame(self, kind, frame):
        if kind != radio.REGISTER_STATUS:
            return False
        fid, status = radio.parse_register_status(frame)
        if status != 0:
            self.log.append("radio", "register frame=%d status=%02x" % (fid, status))
        return True

    def _on_at_response(self, response):
        _, command, status, data = response
        if status != 0:
            self.log.append("radio", "AT %s status=%d" % (command, status))
        elif command == "SH" and len(data) == 4:
            self.own_eui = data + self.own_eui[4:]
        elif command == "SL" and len(data) == 4:
            known = self.own_eui[:4] != b"\x00" * 4
            self.own_eui = self.own_eui[:4] + data
            self.log.append("radio", "eui64=%s" % binascii.hexlify(self.own_eui).decode())
            if known and not self.eui_known:  # SH came first, as sent: we can speak now
                self.eui_known = True
                self.send_wan(wan.HELLO, self._wan_seq(),
                              self.own_eui + struct.pack(">I", self.boots))
                self.tick()

    def _on_rx(self, rx):
        src64, src16, src_ep, dst_ep, cluster, profile, _options, data = rx
        if profile == radio.PROFILE_ZDO:
            self._on_zdo(src64, src16, cluster, data)
            return
        device = self.devices.get(src64)
        if device is None:
            self.reject("not-in-device-log", binascii.hexlify(src64).decode())
            return
        if device.nwk is None:
            self.reject("not-joined", binascii.hexlify(src64).decode())
            return
        if profile != PROFILE_SE or dst_ep != ENDPOINT:
            self.reject("profile", "%04x ep=%d" % (profile, dst_ep))
            return
        device.nwk = src16
        try:
            fc, manufacturer, tsn, command, offset = zcl.parse_header(data)
        except zcl.ZclError:
            self.reject("malformed", "header")
            return
        if fc & zcl.FC_SERVER_TO_CLIENT or not fc & zcl.FC_CLUSTER:
            return  # answers to us (default responses) and general commands: nothing to do
        if cluster != CLUSTER_TUNNELING or manufacturer is not None:
            self.reject("cluster", "%04x" % cluster)
            self._default_rsp(device, cluster, fc, tsn, command, _UNSUPPORTED_CLUSTER)
            return
        self._tunnel_command(device, fc, tsn, command, data[offset:])

    def _default_rsp(self, device, cluster, fc, tsn, command, status):
        if fc & zcl.FC_DISABLE_DEFAULT_RSP and status == zcl.SUCCESS:
            return
        self.send_han(device, cluster, zcl.default_rsp(
            tsn, command, status, zcl.FC_SERVER_TO_CLIENT | zcl.FC_DISABLE_DEFAULT_RSP))

    def _tunnel_command(self, device, fc, tsn, command, payload):
        s2c = zcl.FC_CLUSTER | zcl.FC_SERVER_TO_CLIENT | zcl.FC_DISABLE_DEFAULT_RSP
        if command == _REQUEST_TUNNEL:
            if len(payload) != 6:
                self.reject("malformed", "request-tunnel")
                self._default_rsp(device, CLUSTER_TUNNELING, fc, tsn, command,
                                  zcl.MALFORMED_COMMAND)
                return
            ok = payload[0] == GB_HRGP
            if ok:
                device.tunnel = 1 + list(self.devices.devices).index(device.eui)
            else:
                self.reject("tunnel-protocol", "%02x" % payload[0])
            self.send_han(device, CLUSTER_TUNNELING, zcl.header(s2c, tsn, _REQUEST_TUNNEL_RSP)
                          + struct.pack("<HBH", device.tunnel if ok else 0xFFFF,
                                        _TUNNEL_SUCCESS if ok else _TUNNEL_PROTOCOL_NOT_SUPPORTED,
                                        MAX_TUNNEL_DATA))
            return
        if command in (_CLOSE_TUNNEL, _TRANSFER_DATA_C2S):
            if len(payload) < 2:
                self.reject("malformed", "tunnel")
                self._default_rsp(device, CLUSTER_TUNNELING, fc, tsn, command,
                                  zcl.MALFORMED_COMMAND)
                return
            tunnel = struct.unpack_from("<H", payload)[0]
            if tunnel == 0 or tunnel != device.tunnel:
                self.reject("tunnel-id", "%d" % tunnel)
                if command == _TRANSFER_DATA_C2S:
                    self.send_han(device, CLUSTER_TUNNELING, zcl.header(
                        s2c, tsn, _TRANSFER_DATA_ERROR_S2C) + struct.pack(
                        "<HB", tunnel, _NO_SUCH_TUNNEL if device.tunnel == 0 else _WRONG_DEVICE))
                return
            if command == _CLOSE_TUNNEL:
                device.tunnel = 0
                self._default_rsp(device, CLUSTER_TUNNELING, fc, tsn, command, zcl.SUCCESS)
                return
            self.counters["up"] += 1
            self.send_wan(wan.GBCS_UP, self._wan_seq(), device.eui + payload[2:])
            self._default_rsp(device, CLUSTER_TUNNELING, fc, tsn, command, zcl.SUCCESS)
            return
        self.reject("tunnel-command", "%02x" % command)
        self._default_rsp(device, CLUSTER_TUNNELING, fc, tsn, command, zcl.UNSUP_CLUSTER_COMMAND)

    def _wan_seq(self):
        self.outage.counter += 1  # one sequence space for everything the hub sends
        return (self.outage.counter - 1) & 0xFFFF

    def _on_zdo(self, src64, src16, cluster, data):
        if cluster == radio.DEVICE_ANNCE:
            nwk, eui = radio.parse_device_annce(data)
            device = self.devices.get(eui)
            if device is None or eui != src64:
                # Not in the device log: it must not stay on our network.
                self.reject("not-in-device-log", "join %s" % binascii.hexlify(eui).decode())
                self.queue_frame(radio.register_joining(self.next_frame_id(), eui))
                self.queue_frame(xbee.tx_explicit(
                    self.next_frame_id(), eui, nwk, 0, 0, radio.MGMT_LEAVE_REQ,
                    radio.PROFILE_ZDO, radio.mgmt_leave_req(self.next_tsn(), eui)))
                self.send_wan(wan.DEVICE_EVENT, self._wan_seq(), eui + bytes((EVENT_REFUSED,)))
                return
            device.nwk = nwk
            device.tunnel = 0
            self.log.append("join", "%s nwk=%04x" % (binascii.hexlify(eui).decode(), nwk))
            self.send_wan(wan.DEVICE_EVENT, self._wan_seq(), eui + bytes((EVENT_JOINED,)))
            return
        if cluster == radio.MGMT_LEAVE_RSP:
            self.log.append("leave", "%s status=%02x" % (
                binascii.hexlify(src64).decode(), data[1] if len(data) > 1 else 0xFF))
            if src64 in self.removed:
                self.removed.remove(src64)
                self.send_wan(wan.DEVICE_EVENT, self._wan_seq(), src64 + bytes((EVENT_LEFT,)))
            return
        self.reject("zdo-cluster", "%04x" % cluster)

    # -- device log --------------------------------------------------------------------------
    def log_add(self, eui, install_code):
        result = self.devices.add(eui, install_code)
        if result in (devicelog.ADDED, devicelog.UPDATED):
            self.queue_frame(radio.register_joining(self.next_frame_id(), eui,
                                                    self.devices.get(eui).code))
        return result

    def log_remove(self, eui):
        device = self.devices.remove(eui)
        if device is None:
            return False
        self.queue_frame(radio.register_joining(self.next_frame_id(), eui))
        if device.nwk is not None:
            self.removed = self.removed[-3:] + [eui]
            self.queue_frame(xbee.tx_explicit(
                self.next_frame_id(), eui, device.nwk, 0, 0, radio.MGMT_LEAVE_REQ,
                radio.PROFILE_ZDO, radio.mgmt_leave_req(self.next_tsn(), eui)))
        return True

    # -- WAN in ----------------------------------------------------------------------------
    def on_wan_skipped(self, reason, count):
        self.reject("wan-" + reason, "%d bytes" % count)

    def on_wan(self, frame):
        kind, seq, payload = frame
        self.counters["wan-rx"] += 1
        try:
            self._on_wan(kind, seq, payload)
        except Exception as e:  # noqa: BLE001 - bad WAN input never takes the hub down
            self.reject("fault", repr(e))

    def _on_wan(self, kind, seq, payload):
        if kind == wan.ACK:
            if not self.outage.ack(seq):
                self.counters["wan-ack-other"] = self.counters.get("wan-ack-other", 0) + 1
            return
        if kind == wan.GBCS_DOWN:
            if len(payload) < 9:
                return self._wan_refuse(seq, wan.ERR_LAYOUT, "gbcs-down")
            device = self.devices.get(payload[:8])
            if device is None:
                return self._wan_refuse(seq, wan.ERR_NOT_IN_LOG, "gbcs-down")
            if device.nwk is None or device.tunnel == 0:
                return self._wan_refuse(seq, wan.ERR_NOT_JOINED, "gbcs-down")
            if len(payload) - 8 > MAX_TUNNEL_DATA:
                return self._wan_refuse(seq, wan.ERR_TOO_LONG, "gbcs-down")
            self.counters["down"] += 1
            self.send_han(device, CLUSTER_TUNNELING, zcl.header(
                zcl.FC_CLUSTER | zcl.FC_SERVER_TO_CLIENT | zcl.FC_DISABLE_DEFAULT_RSP,
                self.next_tsn(), _TRANSFER_DATA_S2C) + struct.pack("<H", device.tunnel)
                + payload[8:])
            return self.wan_ack(seq, wan.OK)
        if kind == wan.LOG_ADD:
            if len(payload) not in (24, 26):
                return self._wan_refuse(seq, wan.ERR_LAYOUT, "log-add")
            result = self.log_add(payload[:8], payload[8:])
            if result == devicelog.FULL:
                return self._wan_refuse(seq, wan.ERR_LOG_FULL, "log-add")
            if result == devicelog.BAD_CODE:
                return self._wan_refuse(seq, wan.ERR_LAYOUT, "log-add install code")
            return self.wan_ack(seq, wan.OK)
        if kind == wan.LOG_REMOVE:
            if len(payload) != 8:
                return self._wan_refuse(seq, wan.ERR_LAYOUT, "log-remove")
            if not self.log_remove(payload):
                return self._wan_refuse(seq, wan.ERR_NOT_IN_LOG, "log-remove")
            return self.wan_ack(seq, wan.OK)
        if kind == wan.TIME:
            if len(payload) != 4:
                return self._wan_refuse(seq, wan.ERR_LAYOUT, "time")
            self.clock.set_utc(struct.unpack(">I", payload)[0])
            self.wan_ack(seq, wan.OK)
            return self.tick()
        return self._wan_refuse(seq, wan.ERR_UNKNOWN_TYPE, "type %02x" % kind)

    def _wan_refuse(self, seq, status, detail):
        self.reject("wan-refused", "%s status=%d" % (detail, status))
        self.wan_ack(seq, status)

    # -- power -----------------------------------------------------------------------------
    def set_mains(self, on):
        now = self.clock.utc()
        if on:
            self.outage.mains_restored(now)
        else:
            self.outage.mains_lost(now)
            self.log.flush()
        self.tick()

    def tick(self):
        self.radio_tick()
        due, exhausted = self.outage.tick(self.clock.utc(), self.eui_known)
        if exhausted:
            self.log.append("power", "holdup-exhausted")
            self.log.flush()  # the batch in RAM reaches flash before the board goes dark
            self.board.power_off()
            return
        for entry in due:
            self._send_notification(entry)

    def _send_notification(self, entry):
        now = self.clock.utc()
        kind, seq, start, end, code = entry[0], entry[1], entry[2], entry[3], entry[4]
        if kind == POA:
            self.send_wan(wan.OUTAGE, seq, wan.outage(self.own_eui, start, now, entry[7]))
        else:
            apdu = gbcs_alert.ecs80(seq, self.own_eui, self.dno, code, end, start, end)
            self.send_wan(wan.RESTORED, seq, wan.restored(self.own_eui, code, start, end, apdu))
        self.log.append("alert", "sent %s seq=%d try=%d" % (kind, seq, entry[6]))
