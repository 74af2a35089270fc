# The Comms Hub's console line protocol (test hooks on the unix board, a service port on a
# board). docs/commshub.md lists every command; one reply line each, except the listings
# (`log`, `devlog`, `alerts`), which end with "end".
import binascii

from firmware.commshub.outage import DEFAULTS
from firmware.lib.console import ZIGBEE_EPOCH_OFFSET, common


def _eui(text):
    try:
        eui = binascii.unhexlify(text.replace(":", ""))
    except ValueError:
        return None
    return eui if len(eui) == 8 else None


def _unix(zigbee):
    return "none" if zigbee is None else "%d" % (zigbee + ZIGBEE_EPOCH_OFFSET)


def handle(app, board, line):
    """Run one console command; returns (or yields) the reply lines."""
    words = line.split()
    if not words:
        return []
    cmd = words[0]
    args = words[1:]
    if cmd == "version":
        from firmware.commshub.app import VERSION
        return ["version %s role=commshub" % VERSION]
    if cmd == "set" and len(args) == 2 and args[0] in DEFAULTS:
        try:
            app.set(args[0], int(args[1]))
        except ValueError:
            return ["error set " + args[0]]
        return ["ok set %s %d" % (args[0], app.settings[args[0]])]
    if cmd == "settings":
        return [" ".join(["settings"] + ["%s=%d" % (k, app.settings[k]) for k in sorted(DEFAULTS)]
                         + ["dno=" + binascii.hexlify(app.dno).decode()])]
    if cmd == "dno" and len(args) == 1:
        eui = _eui(args[0])
        if eui is None:
            return ["error dno eui64"]
        app.dno = eui
        app.save_config()
        return ["ok dno " + binascii.hexlify(eui).decode()]
    if cmd == "devlog":
        return _devlog(app, args)
    if cmd == "alerts":
        return _alerts(app)
    if cmd == "outage":
        o = app.outage
        c = o.counters
        return ["outage mains=%s since=%s charge=%d poa=%d pra=%d sent=%d acked=%d gave-up=%d "
                "dropped=%d queued=%d" % (
                    "on" if o.mains else "off", _unix(o.off_since), max(0, o.charge), c["poa"],
                    c["pra"], c["sent"], c["acked"], c["gave-up"], c["dropped"], len(o.queue))]
    if cmd == "status":
        return ["status eui=%s devices=%d joined=%d rx=%d wan-rx=%d wan-tx=%d up=%d down=%d "
                "rejected=%d boots=%d" % (
                    binascii.hexlify(app.own_eui).decode(), len(app.devices.devices),
                    sum(1 for d in app.devices.devices.values() if d.nwk is not None),
                    app.counters["rx"], app.counters["wan-rx"], app.counters["wan-tx"],
                    app.counters["up"], app.counters["down"], app.rejected_total, app.boots)]
    lines = common(app, board, cmd, args)
    return ["error unknown " + cmd] if lines is None else lines


def _devlog(app, args):
    if not args:
        lines = []
        for d in app.devices.devices.values():
            lines.append("devlog %s nwk=%s tunnel=%d" % (
                binascii.hexlify(d.eui).decode(), "none" if d.nwk is None else "%04x" % d.nwk,
                d.tunnel))
        return lines + ["end"]
    eui = _eui(args[1]) if len(args) >= 2 else None
    if eui is None:
        return ["error devlog eui64"]
    if args[0] == "add" and len(args) == 3:
        try:
            code = binascii.unhexlify(args[2])
        except ValueError:
            code = b""
        result = app.log_add(eui, code)
        return ["%s devlog add %s" % ("ok" if result in ("added", "updated") else "error",
                                      result)]
    if args[0] == "remove" and len(args) == 2:
        return ["ok devlog remove" if app.log_remove(eui) else "error devlog not-in-log"]
    return ["error devlog usage"]


def _alerts(app):
    lines = []
    for e in app.outage.queue:
        lines.append("alert %s seq=%d start=%s end=%s code=%04X due=%s tries=%d flags=%d" % (
            e[0], e[1], _unix(e[2]), _unix(e[3]) if e[3] else "none", e[4], _unix(e[5]), e[6],
            e[7]))
    return lines + ["end"]
