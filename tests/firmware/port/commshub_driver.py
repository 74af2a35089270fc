# Runs on the MicroPython unix port: calls the Comms Hub's codec functions named on stdin
# (one JSON request per line, bytes as "hex:<digits>"), one JSON reply per line.
import json
import sys

from firmware.commshub import devicelog, gbcs_alert, wan

MODULES = {"wan": wan, "gbcs_alert": gbcs_alert, "devicelog": devicelog}


def to_py(value):
    if isinstance(value, str) and value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    if isinstance(value, list):
        return [to_py(v) for v in value]
    return value


def to_json(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "hex:" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def decode_stream(data):
    steps = []
    start = 0
    while start < len(data):
        used, frame, reason = wan.decode(data, start, len(data))
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
    except Exception as e:
        reply = {"error": type(e).__name__, "message": str(e)}
    sys.stdout.write(json.dumps(reply) + "\n")
