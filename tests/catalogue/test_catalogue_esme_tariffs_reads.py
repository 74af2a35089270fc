"""The ESME's tariff and register reads beyond test_catalogue_esme_reads.py's success cases:
4.11.1 (ECS24) reads back the prices 1.2.1 set, 4.2 (ECS17a) and 4.16 (ECS17c) read the
registers the meter holds, and RTDS's ERROR cases (an object whose storage fails:
hardware_fault, the gets after it other_reason; the encrypted 4.1.2 (ECS17d) refused at its
data protection object) are answered as RTDS's, header and payload, MAC'd. RTDS's files for
these use cases are in vectors/ (vectors/README.md); parametrised by RTDS folder."""

from __future__ import annotations

import json

import pytest
from catalogue_helpers import CATALOGUE, execute, read_hex, recounted
from tariff_helpers import rtds_folder

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

SUPPLIER = bytes.fromhex("90B3D51F30010000")
#: RTDS folder -> the object whose storage fails in its ERROR case
FAULTY = {
    "4.11.1_ECS24": "0000131404FF",  # the standing charge; the price matrix after it
    "4.2_ECS17a": "0100040800FF",  # the reactive export register
    "4.16_ECS17c": "00005E2C2214",  # the power import collection
    "4.1.2_ECS17d": "00002B0209FF",  # the TOU registers' data protection object
}


@pytest.mark.parametrize("folder", sorted(FAULTY))
def test_rtds_error_is_answered_as_rtds(keys, folder):
    use_case = folder.split("_")[1]
    command = read_hex(
        rtds_folder(folder) / f"{use_case}_{folder.split('_')[0]}_ERROR_COMMAND_GBCS.HEX"
    )
    expected = decode(read_hex(rtds_folder(folder) /
                               f"{use_case}_{folder.split('_')[0]}_ERROR_RESPONSE_GBCS.HEX"))  # fmt: skip

    async def fault(premises):
        premises.esme.object_faults = {bytes.fromhex(FAULTY[folder])}

    [execution], _ = execute(keys, [command], before=fault)
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    assert "hardware_fault" in [r["result"] for r in plain(got.payload)["results"]]
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _prices_command(keys, counter: int) -> bytes:
    """1.2.1's TOU template with a standing charge of 21000, signed and MAC'd."""
    root = duis.parse(
        (CATALOGUE / "ECS01b_1.2.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    )
    root.find(f".//{{{duis.SR}}}StandingCharge").text = "21000"
    duis.set_originator(root, SUPPLIER, counter)
    precommand = transform(duis.parse_request(root), use_case="ECS01b").precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def _charges(response: bytes) -> tuple[int, dict[str, int]]:
    """ECS24's standing charge and the price matrix's non-zero prices by index (hex)."""
    data = decode(response).payload.data
    standing = int(data[15].value[2].value[0].value[1].value)
    table = {bytes(e.value[0].value).hex().upper(): int(e.value[1].value)
             for e in data[16].value[2].value if int(e.value[1].value)}  # fmt: skip
    return standing, table


def test_4_11_1_reads_back_the_prices_1_2_1_set(keys):
    read = read_hex(rtds_folder("4.11.1_ECS24") / "ECS24_4.11.1_SUCCESS_COMMAND_GBCS.HEX")
    [before, update, after], _ = execute(keys, [read, _prices_command(keys, 2000),
                                                recounted(keys, read, 2001)])  # fmt: skip
    assert [e.outcome for e in (before, update, after)] == ["executed"] * 3
    assert _charges(before.response) == (20000, {"01": 2121, "A1": 2289, "A2": 4002,
                                                 "B1": 3546, "B2": 6969})  # fmt: skip
    assert _charges(after.response) == (21000, {"01": 3221, "02": 4327, "03": 5744})


@pytest.mark.parametrize(
    "folder, key, value, index, expected",
    [
        # the active export register: double-long-unsigned 123456
        ("4.2_ECS17a", "3/0100020800FF/2", "060001E240", 0, 123456),
        # the power import collection's active power import
        ("4.16_ECS17c", "1/00005E2C2214/2", "0203060000115C02020F00161B060000000A", 0, 4444),
    ],
)
def test_registers_come_from_the_meters_state(keys, folder, key, value, index, expected):
    profile = json.loads(PROFILE.read_text())
    profile["cosem"] = {key: value}
    command = next(iter(sorted(rtds_folder(folder).glob("*_SUCCESS_COMMAND_GBCS.HEX"))))
    [execution], _ = execute(keys, [read_hex(command)], profile)
    assert execution.outcome == "executed"
    got = decode(execution.response).payload.data[0]
    got = got.value[index].value if got.type == "structure" else got.value
    assert int(got) == expected
