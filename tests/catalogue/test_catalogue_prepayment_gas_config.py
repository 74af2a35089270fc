"""2.1 Update Prepay Configuration at the GSME (critical GCS05; emulator/devices/gsme/
prepayment.py): the DSP's pre-commands from the three templates are RTDS's byte for byte
(twelve GBZ components, the low credit warning level's dated by its GBZ from-date-time);
RTDS's commands are answered as RTDS's, signed, its ERROR case (the Calendar cluster failing
at the seasons) as RTDS's; the settings now are what 4.13 (GCS21b) reads; future-dated they
take effect at their time with RTDS's six 8F66 alerts; cancelled they stay as they were."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import device_use_case, transform
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

GSME = bytes.fromhex("00DB1234567890A1")
SUPPLIER = bytes.fromhex("90B3D51F30010000")
CALENDAR = 0x0707
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
EVE = dt.datetime(2030, 1, 14, 9, 0, tzinfo=dt.UTC)  # a day before RTDS's date
VARIANTS = ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")
#: the Prepayment attributes GCS21b reads that 2.1 sets: overall debt cap, emergency credit
#: limit and threshold, low credit warning level, maximum credit and credit per top-up
SETTINGS = (0x0006, 0x0010, 0x0011, 0x0031, 0x0021, 0x0022)
BEFORE = (1000000, 1000000, 200000, 500000, 10000000, 5000000)  # RTDS's meter's
AFTER = (100000, 10000000, 100000, 5000000, 25000000, 25000000)  # the templates'


def _file(name: str) -> bytes:
    return read_hex(RTDS / f"2.1_GCS05/GCS05_2.1_{name}_GBCS.HEX")


def _request(variant: str, counter: int):
    root = duis.parse((CATALOGUE / f"GCS05_2.1_{variant}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


def _transform(request):
    return transform(request, use_case=device_use_case("2.1", "gsme"), now=RTDS_TIME)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(variant):
    precommand = _file(f"{variant}_SUCCESS_PRECOMMAND")
    ours = _transform(_request(variant, decode(precommand).counter))
    assert ours.use_case.name == "GCS05" and ours.critical and ours.user_signs
    assert ours.precommand() == precommand


@pytest.mark.parametrize("name", [f"{v}_SUCCESS" for v in VARIANTS] + ["FUTURE_DATED_ERROR"])
def test_rtds_command_is_answered_as_rtds(keys, name):
    meter = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    if name.endswith("ERROR"):  # RTDS's: the calendar fails at its seventh command, seasons
        meter.commands.faults = {CALENDAR: 6}
    result = meter.handle(_file(f"{name}_COMMAND"))
    assert result.outcome == "executed", result
    got, want = decode(result.response), decode(_file(f"{name}_RESPONSE"))
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _settings(keys, meter, counter: int) -> tuple[int, ...]:
    """What 4.13 (RTDS's GCS21b) reads of SETTINGS, as the meter answers it."""
    response = decode(meter.handle(recounted(keys, read_hex(rtds_success("GCS21b")),
                                             counter)).response)  # fmt: skip
    records = {int(r.attribute_id): int(r.value)
               for c in response.payload.components if int(c.cluster_id) == 0x0705
               for r in c.body.frame.payload.records}  # fmt: skip
    return tuple(records[a] for a in SETTINGS)


def _signed(keys, variant: str, counter: int) -> bytes:
    precommand = _transform(_request(variant, counter)).precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def test_settings_now_are_read_back(keys):
    meter = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    assert _settings(keys, meter, 5000) == BEFORE
    assert meter.handle(_signed(keys, "IMMEDIATE", 5001)).outcome == "executed"
    assert _settings(keys, meter, 5002) == AFTER


def run_past_the_date(keys, commands: list[bytes]):
    """The commands on the eve of RTDS's date, then two days: (settings before and after,
    the meter's alerts)."""
    clock = Clock("simulated")

    async def main():
        start = clock.now()
        meter = GasMeter(GSME, keys, clock,
                         lambda: EVE + dt.timedelta(seconds=clock.now() - start))  # fmt: skip
        for command in commands:
            assert meter.handle(command).outcome == "executed"
        before = _settings(keys, meter, 5000)
        await asyncio.sleep(2 * 86400)
        return before, _settings(keys, meter, 5001), meter.alerts

    return clock.run(main)


def test_future_dated_settings_take_effect_at_their_time_and_alert(keys):
    counter = decode(_file("FUTURE_DATED_SUCCESS_PRECOMMAND")).counter
    before, after, alerts = run_past_the_date(keys, [_signed(keys, "FUTURE_DATED", counter)])
    assert (before, after) == (BEFORE, AFTER)

    def key(message):
        return int(message.payload.executed_command.command_id)

    ours = sorted((decode(a) for a in alerts), key=key)
    theirs = sorted((decode(read_hex(p)) for p in RTDS.glob("2.1_GCS05/*_8F66_*")), key=key)
    assert len(ours) == len(theirs) == 6
    for got, want in zip(ours, theirs, strict=True):
        assert check_message(got, keys.keystore).outcome == "verified"
        mine, rtds = plain(got.payload), plain(want.payload)
        if mine["executed_command"]["cluster_id"] == "calendar":
            # RTDS's GCS05 alerts name the calendar commands client to server, though its
            # command sends them server to client: ours names the command as it came
            assert mine["executed_command"]["frame_control"].pop("direction") == "server_to_client"
            rtds["executed_command"]["frame_control"].pop("direction")
        assert mine == rtds


def test_a_cancellation_leaves_the_settings(keys):
    counter = decode(_file("FUTURE_DATED_SUCCESS_PRECOMMAND")).counter
    commands = [_signed(keys, "FUTURE_DATED", counter), _signed(keys, "CANCELLATION", counter + 1)]
    before, after, alerts = run_past_the_date(keys, commands)
    assert (before, after, alerts) == (BEFORE, BEFORE, [])
