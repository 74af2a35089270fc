# The console line protocol: test hooks on the unix board, a service port on real boards.
#
#   state                 -> relay=<open|closed> level=<0-100> source=<calendar|remote|boost|failsafe>
#   boost                 -> ok boost | refused boost <reason>
#   mains off|on          -> ok mains <off|on>
#   log [N]               -> N lines "log <seq> <unix-time> <kind> <detail>", then "end"
#   version               -> version <firmware> role=<role>
#   clock <unix-seconds>  -> ok clock <unix-seconds>   (simulated time from then on)
#   status                -> status failsafe=.. esme=.. label=.. gen=.. rx=.. rejected=.. mains=.. boost=<association>
#   rejected              -> rejected total=<n> <reason>=<n> ...
#   label <text>          -> ok label <stored text> | error label <reason>
#   commission <EUI64>    -> ok commission <eui64>
#   calendar HHMM:open|closed:LEVEL,... -> ok calendar <n>
#   mem                   -> mem free=<bytes> alloc=<bytes> largest=<bytes> (after a collection)
#   radio                 -> radio state=<wait|ok|quiet|rejected> silent=<n> refused=<n>
#   ping <token>          -> pong <token>   (lets a rig tell a fresh reply from a late one)
#   watch on|off          -> ok watch; while on, every output change prints
#                            "output relay=.. level=.. source=.. t_us=<ticks_us>"
# Anything else: "error unknown <command>". Every reply is one line except `log`.
import binascii
from firmware.lib.console import common
from firmware.switch.labels import LabelError


def state_line(app):
    relay, _, source = app.current
    return "relay=%s level=%d source=%s" % (
        "closed" if relay else "open", app.output_level(), source)


def handle(app, board, line):
    """Run one console command; returns (or yields) the reply lines."""
    words = line.split()
    if not words:
        return []
    cmd = words[0]
    args = words[1:]
    if cmd == "state":
        return [state_line(app)]
    if cmd == "boost":
        refused = app.press_boost()
        return ["refused boost " + refused] if refused else ["ok boost"]
    if cmd == "version":
        from firmware.switch.app import VERSION
        return ["version %s role=%s" % (VERSION, app.role)]
    if cmd == "status":
        return ["status failsafe=%d esme=%s label=%s gen=%d rx=%d rejected=%d mains=%s boost=%d" % (
            1 if app.state.failsafe else 0, binascii.hexlify(app.esme).decode() if app.esme else "none",
            (app.state.label or "<unset>").replace(" ", "_"), app.state.generation,
            app.counters["rx"], app.rejected_total, "on" if app.mains else "off",
            1 if app.state.boost_allowed else 0)]
    if cmd == "label" and args:
        try:
            return ["ok label " + app.set_label(line.split(None, 1)[1])]
        except LabelError as e:
            return ["error label " + str(e)]
    if cmd == "commission" and len(args) == 1:
        try:
            eui = binascii.unhexlify(args[0].replace(":", ""))
        except ValueError:
            eui = b""
        if len(eui) != 8:
            return ["error commission eui64"]
        app.commission(eui)
        return ["ok commission " + binascii.hexlify(eui).decode()]
    if cmd == "calendar" and len(args) == 1:
        try:
            entries = parse_calendar(args[0])
            app.set_calendar(entries)
        except ValueError:
            return ["error calendar"]
        return ["ok calendar %d" % len(entries)]
    if cmd == "radio":  # the bring-up (firmware/lib/radio_setup.py)
        c = app.counters
        return ["radio state=%s silent=%d refused=%d" % (
            app.radio_state, c.get("radio-silent", 0), c.get("radio-refused", 0))]
    if cmd == "watch" and len(args) == 1 and args[0] in ("on", "off"):
        board.watch = args[0] == "on"
        return ["ok watch " + args[0]]
    lines = common(app, board, cmd, args)
    return ["error unknown " + cmd] if lines is None else lines


def parse_calendar(spec):
    """'0700:closed:100,2300:open:0' -> [[420, 1, 100], [1380, 0, 0]]."""
    entries = []  # type: list
    if spec == "none":
        return entries
    for item in spec.split(","):
        parts = item.split(":")
        if len(parts) != 3 or len(parts[0]) != 4 or parts[1] not in ("open", "closed"):
            raise ValueError("calendar entry")
        minute = int(parts[0][:2]) * 60 + int(parts[0][2:])
        entries.append((minute, parts[1] == "closed", int(parts[2])))
    return entries
