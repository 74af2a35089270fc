"""1.1.1 Update Import Tariff (Primary Element, critical ECS01a), 1.1.2 Update Import Tariff
(Secondary Element, ECS01c) and 1.2.2 Update Price (Secondary Element, ECS01d) at the ESME
(emulator/devices/esme/tariff.py and extended.py): the DSP's pre-commands from the ten
templates are RTDS's byte for byte; RTDS's commands (ERROR cases with the storage fault they
show) get RTDS's header and payload, signed; a tariff taking effect now is what the next
4.11.1 (ECS24) or 4.11.2 (ECS24b) read shows, table for table; a future-dated one takes effect
at its time, alerting 8F66 per activation object as RTDS's alerts (payload for payload); a
cancellation changes nothing. RTDS's files for these use cases are in vectors/
(vectors/README.md). Parametrised by RTDS file or template variant."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted
from tariff_helpers import rtds_folder

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, device_use_case, transform
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

SUPPLIER = bytes.fromhex("90B3D51F30010000")
#: use case -> (RTDS folder, its template variants)
CASES = {
    "ECS01a": ("1.1.1_ECS01a", ("IMMEDIATE_TOU", "IMMEDIATE_BLOCK", "FUTURE_DATED_TOU_BLOCK",
                                "CANCELLATION_TOU_BLOCK")),
    "ECS01c": ("1.1.2_ECS01c", ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")),
    "ECS01d": ("1.2.2_ECS01d", ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")),
}  # fmt: skip
TEMPLATES = [(u, v) for u, (_folder, variants) in CASES.items() for v in variants]
RTDS_COMMANDS = sorted(f"{CASES[u][0]}/{p.name}" for u in CASES
                       for p in rtds_folder(CASES[u][0]).glob("*_COMMAND_GBCS.HEX"))  # fmt: skip
#: the storage fault each RTDS ERROR case shows: the primary price matrix (at its
#: activation), the secondary one (at its activation), the secondary one's passive attribute
FAULTS = {"ECS01a": "0000131400FF", "ECS01c": "0000131405FF", "ECS01d": "0000131405FF06"}
#: the meter's time when the commands arrive: a day before RTDS's execution date-time
EVE = dt.datetime(2030, 1, 14, 9, 0, tzinfo=dt.UTC)
#: ECS24's gets (4.11.1) that read back each of ECS01a's passive values, in command order
ECS24_OF_ECS01A = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
#: ECS24b's gets (4.11.2) that read back ECS01c's: the price matrix, calendar, special days
ECS24B_OF_ECS01C = [0, 4, 5, 6, 3]


def _rtds(use_case: str, variant: str, kind: str) -> bytes:
    folder = CASES[use_case][0]
    return read_hex(
        rtds_folder(folder) / f"{use_case}_{folder.split('_')[0]}_{variant}_{kind}_GBCS.HEX"
    )


def _request(use_case: str, variant: str, counter: int, edit=None):
    srv = CASES[use_case][0].split("_")[0]
    root = duis.parse(
        (CATALOGUE / f"{use_case}_{srv}_{variant}_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    )
    if edit is not None:
        edit(root)
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case, variant", TEMPLATES)
def test_the_precommand_from_the_template_is_rtds(use_case, variant):
    precommand = _rtds(use_case, variant, "SUCCESS_PRECOMMAND")
    ours = transform(_request(use_case, variant, decode(precommand).counter), use_case=use_case)
    assert ours.critical and ours.user_signs
    assert ours.precommand() == precommand


def test_the_dsp_sends_1_1_1_to_an_esme_as_ecs01a_to_a_gsme_as_gcs01a():
    assert device_use_case("1.1.1", "esme") == "ECS01a"
    assert device_use_case("1.1.1", "gsme") == "GCS01a"
    assert device_use_case("1.1.2", "esme") is None and device_use_case("1.2.2", "esme") is None


@pytest.mark.parametrize(
    "use_case, variant, edit, error",
    [
        ("ECS01a", "IMMEDIATE_TOU",
         lambda r: r.find(f".//{{{duis.SR}}}WeekProfile").remove(
             r.find(f".//{{{duis.SR}}}ReferencedDayName")), "7 days"),
        ("ECS01a", "IMMEDIATE_TOU",
         lambda r: setattr(r.find(f".//{{{duis.SR}}}CurrencyUnits"), "text", "USD"), "currency"),
        ("ECS01a", "IMMEDIATE_TOU",
         lambda r: r.find(f".//{{{duis.SR}}}ThresholdMatrix").remove(
             r.find(f".//{{{duis.SR}}}Thresholds")), "8 rates"),
        ("ECS01a", "IMMEDIATE_TOU",
         lambda r: setattr(r.find(f".//{{{duis.SR}}}TOUTariffAction"), "text", "49"), "range"),
        ("ECS01a", "IMMEDIATE_BLOCK",
         lambda r: setattr(r.find(f".//{{{duis.SR}}}BlockTariffAction"), "text", "9"), "range"),
        ("ECS01c", "IMMEDIATE",
         lambda r: setattr(r.find(f".//{{{duis.SR}}}TOUTariffAction"), "text", "5"), "1..4"),
        ("ECS01d", "IMMEDIATE",
         lambda r: r.find(f".//{{{duis.SR}}}PriceElements").remove(
             r.find(f".//{{{duis.SR}}}ElectricityPriceElement")), "four"),
    ],
)  # fmt: skip
def test_a_template_the_meter_cannot_hold_is_refused(use_case, variant, edit, error):
    with pytest.raises(TransformError, match=error):
        transform(_request(use_case, variant, 1, edit), use_case=use_case).precommand()


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, name):
    folder, file = name.split("/")
    use_case = file.split("_")[0]

    async def fault(premises):
        if "_ERROR_" in file:
            premises.esme.object_faults = {bytes.fromhex(FAULTS[use_case])}

    [execution], _ = execute(keys, [read_hex(rtds_folder(folder) / file)], before=fault)
    assert execution.outcome == "executed", execution.outcome
    expected = decode(read_hex(rtds_folder(folder) / file.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert ("hardware_fault" in str(plain(got.payload))) == ("_ERROR_" in file)
    assert check_message(got, keys.keystore).outcome == "verified"


def _signed(keys, use_case: str, variant: str, counter: int, edit=None) -> bytes:
    precommand = transform(
        _request(use_case, variant, counter, edit), use_case=use_case
    ).precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def _read(keys, element: str, counter: int) -> bytes:
    """RTDS's 4.11.1 (primary) or 4.11.2 (secondary) read, sent with `counter`."""
    path = (rtds_folder("4.11.1_ECS24") / "ECS24_4.11.1_SUCCESS_COMMAND_GBCS.HEX"
            if element == "primary" else
            RTDS / "4.11.2_ECS24b" / "ECS24b_4.11.2_SUCCESS_COMMAND_GBCS.HEX")  # fmt: skip
    return recounted(keys, read_hex(path), counter)


def _values(response: bytes, indexes: list[int]) -> list:
    data = decode(response).payload.data
    return [plain(data[i]) for i in indexes]


def run(keys, commands: list[bytes], reads: list[bytes], days: float = 0):
    """On the eve of RTDS's execution date-time: the commands, the reads, `days` later the
    reads again (re-counted): (executions, alerts, reads before, reads after)."""
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            executions = [await premises.execute(c) for c in commands]
            before = [(await premises.execute(r)).response for r in reads]
            await asyncio.sleep(days * 86400)
            again = [recounted(keys, r, decode(r).counter + 100) for r in reads]
            after = [(await premises.execute(r)).response for r in again]
            return executions, alerts, before, after
        finally:
            await premises.close()

    return clock.run(main)


def _thresholds(root):
    """A block threshold changed, so the read shows the command's, not RTDS's starting one."""
    root.find(f".//{{{duis.SR}}}BlockThreshold").text = "12345"


@pytest.mark.parametrize("variant", ["IMMEDIATE_TOU", "IMMEDIATE_BLOCK"])
def test_a_primary_tariff_now_is_what_4_11_1_reads_next(keys, variant):
    command = _signed(keys, "ECS01a", variant, 900, _thresholds)
    executions, alerts, _before, [after] = run(keys, [command], [_read(keys, "primary", 901)])
    assert executions[0].outcome == "executed" and alerts == []
    sent = [plain(v) for v in decode(command).payload.data[:15]]
    assert _values(after, ECS24_OF_ECS01A) == sent
    assert sent[4] == {"type": "array", "value": [{"type": "double-long-unsigned", "value": 12345}]
                       + sent[4]["value"][1:]}  # fmt: skip


def test_a_future_dated_primary_tariff_takes_effect_at_its_time_and_alerts(keys):
    command = _signed(keys, "ECS01a", "FUTURE_DATED_TOU_BLOCK", 1008, _thresholds)
    read = _read(keys, "primary", 1100)
    starting = _values(read_hex(rtds_folder("4.11.1_ECS24") / "ECS24_4.11.1_SUCCESS_RESPONSE_GBCS.HEX"),
                       ECS24_OF_ECS01A)  # fmt: skip
    executions, alerts, [before], [after] = run(keys, [command], [read], days=2)
    assert executions[0].outcome == "executed"
    assert _values(before, ECS24_OF_ECS01A) == starting  # not yet
    assert _values(after, ECS24_OF_ECS01A) == [plain(v) for v in decode(command).payload.data[:15]]
    _assert_rtds_alerts(keys, alerts, "1.1.1_ECS01a", 6)


def _assert_rtds_alerts(keys, alerts: list[bytes], folder: str, count: int) -> None:
    """Our alerts are RTDS's, notification for notification (in any order), each signed."""

    def key(message):
        return bytes(message.payload.notification.value[2].value)

    ours = sorted((decode(a) for a in alerts), key=key)
    theirs = sorted((decode(read_hex(p)) for p in rtds_folder(folder).glob("*_8F66_*_ALERT_*")),
                    key=key)  # fmt: skip
    assert len(ours) == len(theirs) == count
    for got, want in zip(ours, theirs, strict=True):
        assert check_message(got, keys.keystore).outcome == "verified"
        assert plain(got.payload.notification) == plain(want.payload.notification)


def test_a_cancelled_primary_tariff_never_takes_effect(keys):
    future = _signed(keys, "ECS01a", "FUTURE_DATED_TOU_BLOCK", 1008, _thresholds)
    cancel = _signed(keys, "ECS01a", "CANCELLATION_TOU_BLOCK", 1009)
    executions, alerts, [before], [after] = run(keys, [future, cancel],
                                                [_read(keys, "primary", 1100)], days=2)  # fmt: skip
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert alerts == []
    assert _values(after, ECS24_OF_ECS01A) == _values(before, ECS24_OF_ECS01A)


def test_a_secondary_tariff_now_is_what_4_11_2_reads_next(keys):
    command = _signed(keys, "ECS01c", "IMMEDIATE", 900)
    executions, _alerts, _before, [after] = run(keys, [command], [_read(keys, "secondary", 901)])
    assert executions[0].outcome == "executed"
    sent = [plain(v) for v in decode(command).payload.data[:5]]
    assert _values(after, ECS24B_OF_ECS01C) == sent
    # RTDS's starting matrix was 10000/11000/12000/13000: now the template's
    assert [e["value"][1]["value"] for e in sent[0]["value"][2]["value"]] == [
        10100,
        0,
        12300,
        13400,
    ]


@pytest.mark.parametrize("use_case, count", [("ECS01c", 3), ("ECS01d", 1)])
def test_a_future_dated_secondary_change_takes_effect_at_its_time_and_alerts(keys, use_case, count):
    command = _signed(keys, use_case, "FUTURE_DATED", 1003)
    read = _read(keys, "secondary", 1100)
    executions, alerts, [before], [after] = run(keys, [command], [read], days=2)
    assert executions[0].outcome == "executed"
    sent = [plain(v) for v in decode(command).payload.data[: 5 if use_case == "ECS01c" else 1]]
    assert _values(before, ECS24B_OF_ECS01C[: len(sent)]) != sent
    assert _values(after, ECS24B_OF_ECS01C[: len(sent)]) == sent
    _assert_rtds_alerts(keys, alerts, CASES[use_case][0], count)


def test_a_future_dated_tariff_whose_table_fails_alerts_8f67(keys):
    """The switching table's storage fails by the date: its activation alerts 8F67 and the
    calendar stays; the rest takes effect (8F66)."""
    clock = Clock("simulated")
    command = _signed(keys, "ECS01a", "FUTURE_DATED_TOU_BLOCK", 1008)

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            execution = await premises.execute(command)
            premises.esme.object_faults = {bytes.fromhex("00000D0000FF")}
            await asyncio.sleep(2 * 86400)
            return execution, alerts, premises.esme.store.get(20, bytes.fromhex("00000D0000FF"), 5)
        finally:
            await premises.close()

    execution, alerts, days = clock.run(main)
    assert execution.outcome == "executed"
    codes = {bytes(decode(a).payload.notification.value[2].value)[-7:]: int(
        decode(a).payload.notification.value[0].value) for a in alerts}  # fmt: skip
    assert codes.pop(bytes.fromhex("00000D0000FF0A")) == 0x8F67
    assert set(codes.values()) == {0x8F66} and len(codes) == 5
    assert len(days.value) == 2  # RTDS's meter's two day profiles, not the command's three


@pytest.mark.parametrize("action, rate, selector", [("TOUTariffAction", "48", 48),
                                                    ("BlockTariffAction", "8", 108)])  # fmt: skip
def test_a_day_profile_entry_runs_the_script_of_its_rate(action, rate, selector):
    """TOU rates 1..48 are selectors 1..48, block tariff actions 1..8 selectors 101..108."""
    variant = "IMMEDIATE_TOU" if action == "TOUTariffAction" else "IMMEDIATE_BLOCK"

    def edit(root):
        root.find(f".//{{{duis.SR}}}{action}").text = rate

    precommand = transform(_request("ECS01a", variant, 1, edit), use_case="ECS01a").precommand()
    days = decode(precommand).payload.data[2]
    assert int(days.value[0].value[1].value[0].value[2].value) == selector
