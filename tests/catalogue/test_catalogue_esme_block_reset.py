"""1.7 Reset Tariff Block Counter Matrix at the ESME (critical ECS05, emulator/devices/esme/
blocks.py): the DSP's pre-command from the catalogue template is RTDS's byte for byte; RTDS's
SUCCESS command is answered with RTDS's header and payload, signed, its ERROR command (the
script table's storage failing) with RTDS's hardware_fault; the meter's counters, fed by its
import, read back by 4.1.3 (ECS17e) as zero after the reset while the TOU-with-blocks
registers stay; only the Import Supplier may send it. RTDS files parametrised by name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.eligibility import BASE_ELIGIBILITY, DuisRole
from emulator.backoffice.transform import transform
from emulator.devices.esme import blocks
from emulator.devices.esme.store import CosemStore
from gbcs import decode
from gbcs.dlms import decode_data
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

ESME = bytes.fromhex("00DB1234567890A0")
SUPPLIER = bytes.fromhex("90B3D51F30010000")
TEMPLATE = CATALOGUE / "ECS05_1.7_SUCCESS_REQUEST_DUIS.XML"
FOLDER = RTDS / "1.7_ECS05"
PRECOMMANDS = sorted(p.name for p in FOLDER.glob("*_PRECOMMAND_GBCS.HEX"))
COMMANDS = sorted(p.name for p in FOLDER.glob("*_COMMAND_GBCS.HEX"))


def test_rtds_has_both_cases():
    assert [n.split("_")[2] for n in COMMANDS] == ["ERROR", "SUCCESS"]
    assert len(PRECOMMANDS) == 2


@pytest.mark.parametrize("name", PRECOMMANDS)
def test_the_precommand_from_the_template_is_rtds(name):
    rtds = decode(read_hex(FOLDER / name))
    root = duis.parse(TEMPLATE.read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    built = transform(duis.parse_request(root))
    assert built.use_case.name == "ECS05" and built.critical and built.user_signs
    assert built.precommand() == read_hex(FOLDER / name)


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    async def fault(premises):
        if "_ERROR_" in name:  # RTDS's ERROR: the script table's execution fails
            premises.esme.object_faults = {blocks.SCRIPTS}

    [execution], _ = execute(keys, [read_hex(FOLDER / name)], before=fault)
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    expected = decode(read_hex(FOLDER / name.replace("_COMMAND_", "_RESPONSE_")))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    # signed, as RTDS's: ECDSA's signature differs each time, so it is verified, not compared
    assert got.signature is not None and check_message(got, keys.keystore).outcome == "verified"


def _reset_command(keys) -> bytes:
    """The catalogue's 1.7 as the Supplier sends it: the DSP's pre-command, signed, MAC'd."""
    root = duis.parse(TEMPLATE.read_bytes())
    duis.set_originator(root, SUPPLIER, 9000)
    precommand = transform(duis.parse_request(root)).precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def _matrix(keys, execution) -> list[int]:
    """The 64 values of the TariffBlockTOURegisterCollection 4.1.3 reads, decrypted."""
    response = decode(execution.response)
    assert check_message(response, keys.keystore).outcome == "verified"
    [collection] = decode_data(response.decrypted[0]).value
    [array] = collection.value
    return [int(v.value) for v in array.value]


def _split(values: list[int]) -> tuple[list[int], list[int]]:
    """(the 32 registers, the 32 counters), block by block, TOU rate 1..8 within a block."""
    registers = [values[blocks.register_index(n, b)] for b in range(1, 5) for n in range(1, 9)]
    counters = [values[blocks.counter_index(n, b)] for b in range(1, 5) for n in range(1, 9)]
    return registers, counters


def test_the_reset_zeroes_the_counters_the_read_shows(keys):
    """12 kWh imported under TOU rate 1 (threshold 10000 Wh): block 1 fills to the threshold,
    block 2 takes the rest; 4.1.3 reads it; ECS05 from the template (signed by the Supplier)
    zeroes every counter, the registers stay, and the next read shows it."""
    start = CosemStore(ESME, {})
    used = sum(blocks.counters(start, 1))
    assert used < 10000  # RTDS's starting counters leave room in block 1

    async def consume(premises):
        premises.esme.consumption.import_energy(12000)

    reset = _reset_command(keys)
    read = read_hex(rtds_success("ECS17e"))
    commands = [recounted(keys, read, 8000), reset, recounted(keys, read, 9001)]
    executions, _ = execute(keys, commands, before=consume)
    assert [e.outcome for e in executions] == ["executed"] * 3
    before_registers, before_counters = _split(_matrix(keys, executions[0]))
    first_block = 10000 - used
    assert before_counters[0] == blocks.counters(start, 1)[0] + first_block
    assert before_counters[8] == blocks.counters(start, 1)[1] + 12000 - first_block
    assert before_registers[0] == blocks.registers(start, 1)[0] + first_block
    answer = decode(executions[1].response)
    assert answer.signature is not None
    assert check_message(answer, keys.keystore).outcome == "verified"
    assert plain(answer.payload)["results"][0]["result"] == "success"
    after_registers, after_counters = _split(_matrix(keys, executions[2]))
    assert after_counters == [0] * 32
    assert after_registers == before_registers


def test_after_the_reset_import_is_charged_in_the_first_block_again(keys):
    """Consumption after ECS05 counts in block 1 from zero."""

    async def consume(premises):
        premises.esme.consumption.import_energy(15000)

    reset = _reset_command(keys)
    [execution], premises = execute(keys, [reset], before=consume)
    assert execution.outcome == "executed"
    store = premises.esme.store
    assert blocks.counters(store, 1) == [0, 0, 0, 0]
    premises.esme.consumption.import_energy(700)
    assert blocks.counters(store, 1) == [700, 0, 0, 0]


def test_an_unsigned_reset_is_refused(keys):
    """ECS05 is critical: RTDS's content MAC'd but not signed by the Supplier is rejected,
    nothing answered."""
    rtds = decode(read_hex(FOLDER / "ECS05_1.7_SUCCESS_PRECOMMAND_GBCS.HEX"))
    content = bytes(rtds.apdu[rtds.content_offset - rtds.apdu_offset :])
    unsigned = mac_apdu(encode_apdu(rtds.header, content, b""), keys.keystore)
    [execution], _ = execute(keys, [unsigned])
    assert execution.outcome.startswith("rejected"), execution.outcome
    assert execution.response is None


def test_only_the_import_supplier_may_send_it():
    assert BASE_ELIGIBILITY["1.7"] == frozenset({DuisRole.IMPORT_SUPPLIER})
