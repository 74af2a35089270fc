"""The ESME's configuration writes of one attribute (3.1, 3.2, 3.5, 6.12, 6.20.1, and the
critical 6.25, 6.26 and 7.12): the DSP's command from each catalogue template equals RTDS's (for a critical
one its pre-command, byte for byte); RTDS's command executed by the emulated meter gets RTDS's
response (a MAC'd one byte for byte, a signed one the same header and payload); and what is
written is the meter's state: the read that shows it returns the new value. Parametrised by
template or RTDS file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.transform import SINGLE_WRITES, TransformError, transform
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

RTDS = data.rtds()
CATALOGUE = data.duis_catalogue()
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
#: the billing calendar's writes have their own tests (test_catalogue_billing_calendar.py:
#: ECS30 has no RTDS case)
WRITES = sorted(set(SINGLE_WRITES) - {"ECS30", "ECS30a"})
TEMPLATES = sorted(
    p.name for p in CATALOGUE.glob("ECS*_REQUEST_DUIS.XML") if p.name.split("_")[0] in WRITES
)
RTDS_COMMANDS = sorted(
    str(p.relative_to(RTDS))
    for use_case in WRITES
    for p in RTDS.glob(f"*_{use_case}/*_SUCCESS_COMMAND_GBCS.HEX")
    if "_TWIN_" not in p.name
)


def read_hex(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def rtds_for(template: str, kind: str) -> Path | None:
    """RTDS's file of the template's own case (SINGLE / TWIN), else its folder's SUCCESS one
    (None: RTDS has no such file, e.g. no PRECOMMAND of a non-critical command)."""
    use_case, srv = template.split("_")[:2]
    folder = next(RTDS.glob(f"{srv}_{use_case}"))
    same = folder / template.replace("_REQUEST_DUIS.XML", f"_{kind}_GBCS.HEX")
    found = [same] if same.exists() else sorted(folder.glob(f"*_SUCCESS_{kind}_GBCS.HEX"))
    return found[0] if found else None


def test_every_write_has_templates_and_rtds_commands():
    assert {n.split("_")[0] for n in TEMPLATES} == set(WRITES)
    assert {p.split("/")[0].split("_")[1] for p in RTDS_COMMANDS} == set(WRITES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    use_case = name.split("_")[0]
    precommand, command = rtds_for(name, "PRECOMMAND"), rtds_for(name, "COMMAND")
    assert command is not None
    rtds = decode(read_hex(command))
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case=use_case)
    assert ours.critical == (precommand is not None)
    if precommand is not None:  # the pre-command the user signs, byte for byte
        assert ours.precommand() == read_hex(precommand)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)


def test_a_dsp_future_dated_write_and_a_bad_value_are_refused():
    root = duis.parse((CATALOGUE / "ECS34_6.12_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    body = root.find(f"{{{duis.SR}}}Body")[0]
    when = body.makeelement(f"{{{duis.SR}}}ExecutionDateTime")
    when.text = "2030-01-01T00:00:00.00Z"
    body.insert(0, when)
    with pytest.raises(TransformError, match="future-dated"):
        transform(duis.parse_request(root))
    root = duis.parse((CATALOGUE / "ECS81_6.25_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}SupplyTamperState").text = "Ajar"
    with pytest.raises(TransformError, match="Locked or Unlocked"):
        transform(duis.parse_request(root))


def execute(keys, commands: list[bytes]):
    clock = Clock("simulated")

    async def run():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(RTDS_TIME)
        try:
            return [await premises.execute(c) for c in commands], premises.esme.stats
        finally:
            await premises.close()

    return clock.run(run)


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    command = read_hex(RTDS / name)
    [execution], stats = execute(keys, [command])
    assert execution.outcome == "executed", execution.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    got, want = decode(execution.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)
    assert check_message(got, keys.keystore).outcome == "verified"
    if want.signature is None:
        assert execution.response == expected  # MAC'd with static ECDH: byte for byte
    else:
        assert got.signature is not None  # signed by the meter, as the critical command was


def recounted(keys, raw: bytes, counter: int) -> bytes:
    """An RTDS command sent again with another counter: re-signed by its originator where it
    was signed, re-MAC'd (the keystore holds both key pairs)."""
    message = decode(raw)
    header = message.header
    header.transaction_id.counter = counter
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    if message.signature:
        apdu = sign(encode_apdu(header, content, None), keys.signer(bytes(message.originator)))
    else:
        apdu = encode_apdu(header, content, b"")
    return mac_apdu(apdu, keys.keystore)


def command_of(use_case: str) -> bytes:
    found = sorted(RTDS.glob(f"*_{use_case}/*_SUCCESS_COMMAND_GBCS.HEX"))
    return read_hex(found[0])


SUPPLIER = bytes.fromhex("90B3D51F30010000")

#: (template, its fields changed, the read that shows the write, the item it returns, that
#: item before and after): values RTDS never writes, so only a real write shows them
READ_BACK = [
    ("ECS39a_6.20.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", {"ImportMPAN": "1999999999999"},
     "ECS40", 0, b"1312345678111", b"1999999999999"),
    ("ECS34_6.12_SUCCESS_REQUEST_DUIS.XML",
     {"LowMediumPowerThreshold": "1000", "MediumHighPowerThreshold": "2000"},
     "ECS26f", 0, [2300, 4600], [1000, 2000]),
    ("ECS81_6.25_SUCCESS_REQUEST_DUIS.XML", {"SupplyTamperState": "Unlocked"},
     "ECS26m", 3, 0xFF, 0x00),
    ("ECS38_7.12_SUCCESS_REQUEST_DUIS.XML", {"RandomisedOffsetLimit": "1234"},
     "ECS26c", 2, 1000, 1234),
]  # fmt: skip


def _value(item):
    value = item.value
    if isinstance(value, list):
        return [_value(v) for v in value]
    return bytes(value) if isinstance(value, bytes | bytearray) else value


def command_from(keys, template: str, fields: dict[str, str], counter: int) -> bytes:
    """The DSP's command for a template with some fields changed, as the Supplier sends it:
    signed where critical, MAC'd."""
    root = duis.parse((CATALOGUE / template).read_bytes())
    for name, text in fields.items():
        root.find(f".//{{{duis.SR}}}{name}").text = text
    duis.set_originator(root, SUPPLIER, counter)
    ours = transform(duis.parse_request(root))
    apdu = sign(ours.precommand(), keys.signer(SUPPLIER)) if ours.critical else (
        ours.unsigned_command())  # fmt: skip
    return mac_apdu(apdu, keys.keystore)


@pytest.mark.parametrize(("template", "fields", "read", "at", "before", "after"), READ_BACK)
def test_a_write_is_read_back(keys, template, fields, read, at, before, after):
    commands = [recounted(keys, command_of(read), 5000),
                command_from(keys, template, fields, 5001),
                recounted(keys, command_of(read), 5002)]  # fmt: skip
    executions, stats = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 3
    first, second = (decode(executions[i].response).payload.data[at] for i in (0, 2))
    assert (_value(first), _value(second)) == (before, after)
