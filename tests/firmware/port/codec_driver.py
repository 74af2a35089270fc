# Runs on the MicroPython unix port: calls firmware functions named on stdin, one JSON
# request per line, and prints one JSON reply per line. Bytes travel as "hex:<digits>".
import json
import sys

import scenarios  # noqa: E402  (tests/firmware/port/scenarios.py, beside this script)

from firmware.lib import drlc, eventlog, storage, xbee, xbee_radio, zcl  # noqa: F401
from firmware.switch import app, labels, state  # noqa: F401

MODULES = {
    "xbee": xbee,
    "xbee_radio": xbee_radio,
    "zcl": zcl,
    "drlc": drlc,
    "app": app,
    "labels": labels,
    "scenarios": scenarios,
}


def to_py(value):
    if isinstance(value, str) and value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    if isinstance(value, list):
        return [to_py(v) for v in value]
    return value


def to_json(value):
    if isinstance(value, (bytes, bytearray)):
        return "hex:" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if hasattr(value, "fields"):
        return to_json(value.fields())
    return value


def decode_stream(data):
    """Every decode() step over a whole stream: [used, frame or None, reason]."""
    steps = []
    start = 0
    while start < len(data):
        used, frame, reason = xbee.decode(data, start, len(data))
        if used == 0:
            break
        steps.append([used, frame, reason])
        start += used
    return steps


while True:
    line = sys.stdin.readline()
    if not line:
        break
    request = json.loads(line)
    try:
        if request["call"] == "decode_stream":
            result = decode_stream(to_py(request["args"][0]))
        else:
            module, name = request["call"].split(".")
            result = getattr(MODULES[module], name)(*to_py(request["args"]))
        reply = {"ok": to_json(result)}
    except Exception as e:  # reported to the test, which decides what is expected
        reply = {"error": type(e).__name__, "status": getattr(e, "status", None), "message": str(e)}
    sys.stdout.write(json.dumps(reply) + "\n")
