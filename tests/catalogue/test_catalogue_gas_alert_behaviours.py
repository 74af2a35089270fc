"""The gas meter's event and alert behaviours: 6.2.10 reads them (GCS20r get_event_configuration
for every event of group 0x81) and 6.22 sets them (GCS20 set_event_configuration, one command
per configuration). The DSP's commands from the templates are RTDS's byte for byte; RTDS's
commands are answered as RTDS's; what 6.22 sets, 6.2.10 reads back, and the meter logs an event
only where its configuration has it logged. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex
from lxml import etree

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import DEVICE_MANAGEMENT, GENERAL_EVENTS
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import mac_apdu

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
FOLDERS = {"GCS20r": "6.2.10_GCS20r", "GCS20": "6.22_GCS20"}
TEMPLATES = {"GCS20r": "GCS20r_6.2.10", "GCS20": "GCS20_6.22"}
COMMANDS = sorted(str(p.relative_to(RTDS)) for folder in FOLDERS.values()
                  for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
CLOCK_ADJUSTED = 0x8145


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def _rtds(use_case: str, kind: str = "SUCCESS", part: str = "COMMAND"):
    name = f"{TEMPLATES[use_case]}_{kind}_{part}_GBCS.HEX"
    return read_hex(RTDS / FOLDERS[use_case] / name)


def _request(use_case: str, counter: int | None = None, settings: str | None = None):
    rtds = decode(_rtds(use_case))
    root = duis.parse((CATALOGUE / f"{TEMPLATES[use_case]}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    if settings is not None:
        holder = root.find(f".//{{{duis.SR}}}GasSupplierAlertEventSettings")
        for child in list(holder):
            holder.remove(child)
        wrapped = etree.fromstring(f'<sr:X xmlns:sr="{duis.SR}">{settings}</sr:X>')
        holder.extend(list(wrapped))
    duis.set_originator(root, bytes(rtds.originator), counter or rtds.counter)
    return duis.parse_request(root)


def _command(keys, use_case: str, counter: int, settings: str | None = None) -> bytes:
    ours = transform(_request(use_case, counter, settings), use_case=use_case, now=RTDS_TIME)
    return mac_apdu(ours.unsigned_command(), keys.keystore)


def _setting(event: str, wan: bool, han: bool, log: bool, alarm: bool) -> str:
    flags = zip(("WANAlert", "HANAlert", "EventLog", "Alarm"), (wan, han, log, alarm), strict=True)
    inner = "".join(f"<sr:{n}>{'Enable' if on else 'Disable'}</sr:{n}>" for n, on in flags)
    return f"<sr:{event}>{inner}</sr:{event}>"


def _behaviours(response: bytes) -> dict[int, int]:
    frame = decode(response).payload.components[0].body.frame
    assert frame.payload.command == "report_event_configuration"
    return {e.event_id: e.event_configuration for e in frame.payload.events}


@pytest.mark.parametrize("use_case", sorted(FOLDERS))
def test_the_command_from_the_template_is_rtds(use_case):
    rtds = decode(_rtds(use_case))
    ours = transform(_request(use_case), use_case=use_case, now=RTDS_TIME)
    assert not ours.critical
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    assert use_case_for(rtds.use_case.srvs[0], "gsme") == use_case


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(meter, name):
    """RTDS's ERROR: the Device Management cluster's hardware fails (GCS20 at its second
    configuration, the rest not carried out). RTDS's GCS20r ERROR alone sends its default
    response in the command's own direction; ours goes back as every other response does."""
    if "_ERROR_" in name:
        meter.commands.faults[DEVICE_MANAGEMENT] = 1 if "GCS20_" in name else 0
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    got, want = decode(result.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    if "GCS20r" in name and "_ERROR_" in name:
        ours, theirs = plain(got.payload), plain(want.payload)
        for payload in (ours, theirs):
            payload["components"][0]["body"]["frame"]["frame_control"].pop("direction")
        assert ours == theirs
        return
    assert result.response == expected


def test_what_6_22_sets_6_2_10_reads_back(keys, meter):
    before = _behaviours(meter.handle(_command(keys, "GCS20r", 9000)).response)
    assert meter.handle(_command(keys, "GCS20", 9001)).outcome == "executed"
    after = _behaviours(meter.handle(_command(keys, "GCS20r", 9002)).response)
    assert list(after) == list(before)  # the meter's events, in its order
    changed = {e: c for e, c in after.items() if before[e] != c}
    assert changed == {0x81AA: 0x5B, 0x81AB: 0x5B, 0x81C4: 0x5B, 0x81BD: 0x4B, 0x81BE: 0x4B,
                       0x81BF: 0x4B, 0x81C0: 0x4B, 0x8161: 0x43, 0x8162: 0x43, 0x81C6: 0x43}  # fmt: skip


def test_an_event_the_meter_does_not_have_changes_nothing(keys, meter):
    """x8F01 names no event of the meter's: not_found, and the known one beside it keeps its
    configuration."""
    settings = _setting("x8145", True, True, True, True) + _setting("x8F01", True, True, True, True)
    before = dict(meter.commands.event_configuration)
    response = decode(meter.handle(_command(keys, "GCS20", 9003, settings)).response)
    frame = response.payload.components[0].body.frame
    assert frame.payload.status == "not_found"
    assert meter.commands.event_configuration == before


def test_an_event_no_longer_logged_is_not_logged(keys, meter):
    settings = _setting("x8145", wan=True, han=False, log=False, alarm=False)
    assert meter.handle(_command(keys, "GCS20", 9004, settings)).outcome == "executed"
    assert meter.commands.event_configuration[CLOCK_ADJUSTED] == 0x08
    meter.commands.log(CLOCK_ADJUSTED)
    meter.commands.log(0x81AB)  # emergency credit activated: still logged
    assert [event for event, _when, _data in meter.commands.logs[GENERAL_EVENTS]] == [0x81AB]


def test_a_setting_neither_enabled_nor_disabled_is_refused():
    settings = _setting("x8145", True, True, True, True).replace("Disable", "Maybe", 1)
    settings = settings.replace("<sr:Alarm>Enable", "<sr:Alarm>Maybe")
    with pytest.raises(TransformError, match="is not Enable or Disable"):
        transform(_request("GCS20", settings=settings), use_case="GCS20", now=RTDS_TIME)
