"""The gas meter's registers and prepayment values, read as 4.1.1 (GCS13a) is: 4.1.4 the block
counters (GCS13b), 4.1.2 the TOU registers (GCS13c) and 4.3 the prepayment values (GCS14, its
price's trailing digit and currency clear, the prepayment values encrypted), sent to the GSME
(unreliable: answered at its wake-up) or to its GPF (reliable: from the mirror at once),
date-stamped and encrypted for the reader. The DSP's commands from the templates are RTDS's byte
for byte; RTDS's commands are answered with RTDS's header and payload (ciphertext for
ciphertext) but the reading's time; RTDS's ERROR cases (one attribute's hardware failing, the
rest of the message not carried out) too; 2.3's debts are what 4.3 reads next. RTDS's files for
these use cases are in vectors/ (data/rtds does not hold them). Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter, GasProxy
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message
from gbcs.zcl import GENERAL_COMMANDS

VECTORS = Path(__file__).parent / "vectors" / "RTDS-4.5.0"
GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
FOLDERS = {"GCS13b": "4.1.4_GCS13b", "GCS13c": "4.1.2_GCS13c", "GCS14": "4.3_GCS14"}
COMMANDS = sorted(str(p.relative_to(VECTORS)) for folder in FOLDERS.values()
                  for p in VECTORS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("GCS1[34]*_REQUEST_DUIS.XML")
                   if p.name.split("_")[0] in FOLDERS)  # fmt: skip
#: RTDS's ERROR cases: the attribute whose hardware fails
FAULTS = {"GCS13b": (0x0702, 0x0301), "GCS13c": (0x0702, 0x0301), "GCS14": (0x0700, 0x0617)}
DEBT = "2.3_GCS04/GCS04_2.3_SUCCESS_COMMAND_GBCS.HEX"
READ_ATTRIBUTES_RESPONSE = GENERAL_COMMANDS[0x01]


def _devices(keys):
    gsme = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    return gsme, GasProxy(GPF, gsme, keys, lambda: RTDS_TIME)


def test_every_template_has_its_rtds_folder():
    assert len(TEMPLATES) == 9 and len(COMMANDS) == 12


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    use_case, srv = name.split("_")[:2]
    kind = name.removeprefix(f"{use_case}_{srv}_").removesuffix("_REQUEST_DUIS.XML")
    rtds = decode(
        read_hex(VECTORS / FOLDERS[use_case] / f"{use_case}_{srv}_{kind}_COMMAND_GBCS.HEX")
    )
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case=use_case)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    device = "gpf" if bytes(rtds.target) == GPF else "gsme"
    assert use_case_for(srv, device) == use_case


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, name):
    """The GPF answers at once from its mirror, the GSME (here without its wake) from its own
    attributes; the reading's time is the device's clock (RTDS's unreliable reads say 09:00)."""
    gsme, gpf = _devices(keys)
    command = read_hex(VECTORS / name)
    device = gpf if bytes(decode(command).target) == GPF else gsme
    if "_ERROR_" in name:
        device.answerer.attribute_faults = {FAULTS[name.split("/")[0].split("_")[1]]}
    result = device.handle(command)
    assert result.outcome == "executed", result.outcome
    got = decode(result.response)
    want = decode(read_hex(VECTORS / name.replace("_COMMAND_", "_RESPONSE_")))
    ours, theirs = plain(got.header), plain(want.header)
    assert ours.pop("date_time") == "2015-01-01T00:00:00Z" and theirs.pop("date_time")
    assert ours == theirs
    assert plain(got.payload) == plain(want.payload)  # the ciphertext too
    assert check_message(got, keys.keystore).outcome == "verified"


def _prepayment_values(keys, response: bytes) -> dict[int, int]:
    message = decode(response)
    check_message(message, keys.keystore)
    [plaintext] = message.decrypted
    return {r.attribute_id: r.value for r in READ_ATTRIBUTES_RESPONSE.parse(plaintext).records}


def test_the_debts_2_3_sets_are_what_4_3_reads(keys):
    gsme, _gpf = _devices(keys)
    read = read_hex(VECTORS / "4.3_GCS14/GCS14_4.3_SUCCESS_UNRELIABLE_COMMAND_GBCS.HEX")
    before = _prepayment_values(keys, gsme.handle(read).response)
    assert gsme.handle(recounted(keys, read_hex(RTDS / DEBT), 8999)).outcome == "executed"
    after = _prepayment_values(keys, gsme.handle(recounted(keys, read, 9000)).response)
    sent = [c.body.frame.payload for c in decode(read_hex(RTDS / DEBT)).payload.components]
    added = {int(p.debt_amount_type): int(p.debt_amount) for p in sent}  # 1, 3, 5: incremental
    assert after[0x0211] == before[0x0211] + added[1]
    assert after[0x0221] == before[0x0221] + added[3]
    assert after[0x0231] == before[0x0231] + added[5]
    assert after[0x0001] == before[0x0001]  # the credit is another matter


def test_a_debt_taken_below_zero_changes_nothing(keys):
    gsme, _gpf = _devices(keys)
    payload = decode(read_hex(RTDS / DEBT)).payload.components[0].body.frame.payload
    payload.debt_amount = -(10**6)  # debt 1, incremental: far below its 5000
    debts = gsme.commands._handlers()[(0x0705, "change_debt")]
    assert debts(payload) == "invalid_value"
    assert gsme.attributes[(0x0705, 0x0211)] == ("uint32", 5000)
