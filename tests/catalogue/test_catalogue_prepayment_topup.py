"""2.2 Top Up Device at the ESME (CS01a, emulator/devices/esme/topup.py). The command from the
catalogue template is RTDS's (header and payload); RTDS's SUCCESS and ERROR commands are
answered as RTDS's, MAC'd; the UTRN is checked as GBCS section 14 defines it (check digit,
PTUT form, the MAC from the Supplier's prepayment key, the counter), so RTDS's two UTRNs are
what our minting gives, a valid one is credited to the meter balance the balance read (4.3
ECS19, encrypted) then shows, and a replayed, altered, foreign or too large one is refused
`other_reason` with nothing credited, counted by its GBCS event code."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.devices import utrn as utrns
from emulator.devices.esme.topup import METER_BALANCE, TOKEN_GATEWAY
from emulator.devices.utrn import PTUT_BASE, check_digit
from gbcs import decode
from gbcs.dlms import decode_data
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu

FOLDER = RTDS / "2.2_CS01a"
TEMPLATE = CATALOGUE / "CS01a_2.2_SUCCESS_REQUEST_DUIS.XML"
SUPPLIER = bytes.fromhex("90B3D51F30010000")
ESME = bytes.fromhex("00DB1234567890A0")
POUNDS, PENCE = 1, 0


def mint(keys, counter: int, value: int, value_class: int = POUNDS, meter: bytes = ESME) -> str:
    """A UTRN as the Supplier makes one (GBCS 14)."""
    return utrns.mint(keys.keystore, SUPPLIER, meter, counter, value, value_class)


def command(keys, utrn: str, counter: int) -> bytes:
    """The DSP's CS01a for the template with `utrn`, MAC'd as the DCC sends it."""
    root = duis.parse(TEMPLATE.read_bytes())
    root.find(f".//{{{duis.SR}}}UTRN").text = utrn
    duis.set_originator(root, SUPPLIER, counter)
    built = transform(duis.parse_request(root))
    assert built.use_case.name == "CS01a" and not built.critical
    return mac_apdu(built.unsigned_command(), keys.keystore)


def balance(keys, premises) -> int:
    """The meter balance the meter holds (ECS19's first register)."""
    return int(premises.esme.store.get(*METER_BALANCE).value)


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
def test_rtds_utrns_are_what_gbcs_minting_gives(keys, case):
    rtds = decode(read_hex(FOLDER / f"CS01a_2.2_{case}_COMMAND_GBCS.HEX"))
    utrn = bytes(rtds.payload.data[0].value).decode()
    assert mint(keys, rtds.counter, 10) == utrn  # £10, the command's counter
    assert check_digit(utrn[:19]) == utrn[19]


def test_the_command_from_the_template_is_rtds(keys):
    rtds = decode(read_hex(rtds_success("CS01a")))
    ours = decode(command(keys, bytes(rtds.payload.data[0].value).decode(), rtds.counter))
    assert plain(ours.header) == plain(rtds.header)
    assert plain(ours.payload) == plain(rtds.payload)


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
def test_rtds_command_is_answered_as_rtds(keys, case):
    async def fault(premises):
        if case == "ERROR":  # RTDS's error: the token gateway's hardware fault
            premises.esme.object_faults = {TOKEN_GATEWAY}

    [execution], premises = execute(
        keys, [read_hex(FOLDER / f"CS01a_2.2_{case}_COMMAND_GBCS.HEX")], before=fault
    )
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    expected = decode(read_hex(FOLDER / f"CS01a_2.2_{case}_RESPONSE_GBCS.HEX"))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _read_balance(keys, counter: int) -> bytes:
    return recounted(keys, read_hex(rtds_success("ECS19")), counter)


def _collected(keys, execution) -> list[int]:
    """ECS19's six registers, decrypted for the Supplier."""
    response = decode(execution.response)
    assert check_message(response, keys.keystore).outcome == "verified"
    [plaintext] = response.decrypted
    [collection] = decode_data(plaintext).value
    return [int(v.value) for v in collection.value]


def test_a_top_up_is_credited_and_the_balance_read_shows_it(keys):
    commands = [_read_balance(keys, 9000), command(keys, mint(keys, 7 << 32, 1250, PENCE), 7 << 32),
                _read_balance(keys, 8 << 32)]  # fmt: skip
    (before, top_up, after), premises = execute(keys, commands)
    assert top_up.outcome == "executed"
    assert plain(decode(top_up.response).payload)["results"][0]["result"] == "success"
    first, second = _collected(keys, before), _collected(keys, after)
    assert first == [250000, 95000, 187000, 203000, 243000, 46000]  # RTDS's ECS19's
    assert second == [250000 + 1250 * 1000] + first[1:]  # £12.50 in 10^-5 pounds
    assert balance(keys, premises) == second[0]
    assert premises.esme.stats["utrn:accepted"] == 1


def _refused(keys, utrns: list[str], counters: list[int]):
    """The UTRNs, each in its own command: (results, meter balance, stats)."""
    executions, premises = execute(keys, [command(keys, u, c) for u, c in zip(utrns, counters,
                                                                           strict=True)])  # fmt: skip
    assert [e.outcome for e in executions] == ["executed"] * len(utrns)
    results = [plain(decode(e.response).payload)["results"][0]["result"] for e in executions]
    return results, balance(keys, premises), premises.esme.stats


def test_a_replayed_utrn_is_refused(keys):
    utrn = mint(keys, 3 << 32, 10)
    results, credit, stats = _refused(keys, [utrn, utrn], [3 << 32, 4 << 32])
    assert results == ["success", "other_reason"]
    assert credit == 250000 + 1000000  # once
    assert stats["utrn:refused:8F51"] == 1


def _altered(utrn: str) -> str:
    """The same UTRN with its MAC's last digit changed and a valid check digit again."""
    digits = utrn[:18] + str((int(utrn[18]) + 1) % 10)
    return digits + check_digit(digits)


@pytest.mark.parametrize(
    ("name", "utrn", "counted"),
    [
        (
            "wrong check digit",
            lambda k: (u := mint(k, 3 << 32, 10))[:19] + str((int(u[19]) + 1) % 10),
            "form",
        ),  # noqa: E501
        ("altered MAC", lambda k: _altered(mint(k, 3 << 32, 10)), "8F63"),
        (
            "another meter's",
            lambda k: mint(k, 3 << 32, 10, meter=bytes.fromhex("00DB1234567890A1")),
            "8F63",
        ),  # noqa: E501
        ("over the maximum credit", lambda k: mint(k, 3 << 32, 60), "8F5B"),  # £60 > £50
        ("value class 2", lambda k: str(PTUT_BASE + (3 << 15 | 2 << 13 | 10 << 0) * 2**32), "form"),
    ],  # fmt: skip
)
def test_a_bad_utrn_is_refused_and_credits_nothing(keys, name, utrn, counted):
    text = utrn(keys)
    if len(text) == 19:
        text += check_digit(text)
    results, credit, stats = _refused(keys, [text], [3 << 32])
    assert results == ["other_reason"], name
    assert credit == 250000
    assert stats[f"utrn:refused:{counted}"] == 1


def test_a_counter_older_than_those_kept_is_refused(keys):
    """Five newer UTRNs accepted: the first counter is forgotten, and a UTRN from before the
    oldest kept maps past it, so it no longer verifies (its MAC was for the old counter)."""
    counters = [n << 32 for n in (10, 11, 12, 13, 14, 15)]
    utrns = [mint(keys, c, 1) for c in counters] + [mint(keys, 9 << 32, 1)]
    results, credit, _stats = _refused(keys, utrns, counters + [16 << 32])
    assert results == ["success"] * 6 + ["other_reason"]
    assert credit == 250000 + 6 * 100000
