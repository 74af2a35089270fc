"""The dual-band Comms Hub's sub GHz radio (6.28-6.32, DBCH01-05) and its security details (8.9
ReadSecurityDetails, CCS07) at the Comms Hub Function (emulator/devices/hub_function.py), from
the ACB on the Supplier's behalf. The DSP's command from each template equals RTDS's (MAC
aside, RTDS's ACB counter); RTDS's command gets RTDS's response byte for byte where the
state is RTDS's (the reads of RTDS's hub's settings, channel and channel log, the set and the
scan), CCS07 by shape from this hub's own log (its devices and the link keys they joined with);
the settings 6.28 sets are what 6.30 reads next; a set of the wrong shape is type_unmatched
and changes nothing; a device CCS02 takes off is in the historic log CCS07 returns; the
hub's alerts to the DCC after a set and a scan are RTDS's; RTDS's ERROR cases, with the object
failing, are answered as RTDS's. Parametrised by template or RTDS file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success
from construct import Container, ListContainer
from zigpy.types import EUI64

from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, TransformError, transform
from gbcs import decode
from gbcs.build import access_request, cosem_spec
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import mac_apdu

HUB = bytes.fromhex("00DB1234567890A2")
USE_CASES = ("DBCH01", "DBCH02", "DBCH03", "DBCH04", "DBCH05", "CCS07")
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("*_REQUEST_DUIS.XML")
                   if p.name.split("_")[0] in USE_CASES)  # fmt: skip
RTDS_COMMANDS = sorted(str(p.relative_to(RTDS)) for u in USE_CASES
                       for p in RTDS.glob(f"*_{u}/*_SUCCESS_COMMAND_GBCS.HEX"))  # fmt: skip
SETTINGS = bytes.fromhex("00005E2C0A00")


def test_every_use_case_has_a_template_and_rtds_command():
    assert {n.split("_")[0] for n in TEMPLATES} == set(USE_CASES)
    assert {n.split("/")[0].split("_")[1] for n in RTDS_COMMANDS} == set(USE_CASES)


def _ours(name: str, counter: int | None = None, edit=None):
    use_case = name.split("_")[0]
    rtds = decode(read_hex(rtds_success(use_case)))
    other = rtds.header.other_information
    root = duis.parse((CATALOGUE / name).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes(other.supplementary_remote_party),
                        other.supplementary_remote_party_counter)  # fmt: skip
    request = duis.parse_request(root)
    return rtds, transform(request, use_case="CCS06" if use_case == "CCS07" else None,
                           acb=AcbContext(ACB_EUI, counter or rtds.counter))  # fmt: skip


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    rtds, ours = _ours(name)
    assert ours.via_acb and ours.use_case.name == name.split("_")[0]
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    [execution], premises = execute(keys, [read_hex(RTDS / name)])
    assert execution.outcome == "executed", execution.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    got, want = decode(execution.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    if not name.startswith("8.9_CCS07"):
        assert execution.response == expected  # MAC'd with static ECDH: byte for byte
        return
    assert plain(got.payload)["results"] == plain(want.payload)["results"]
    [log, historic] = got.payload.data
    shape = [f.type for f in want.payload.data[0].value]
    assert [f.type for f in log.value] == shape == [f.type for f in historic.value]
    assert bytes(log.value[1].value) == HUB  # the network's extended PAN ID
    listed = {bytes(e.value[0].value): bytes(e.value[1].value) for e in log.value[2].value}
    on_han = {bytes.fromhex(e) for e, k in premises.device_ids.items()
              if k not in ("CHF", "GPF", "GSME")}  # fmt: skip
    assert set(listed) == on_han and listed
    log_entries = premises.hub_function.hub.coordinator.device_log
    for eui, key in listed.items():  # each the key it joined with, from its install code
        assert key == log_entries.get(EUI64.convert(eui.hex(":"))).link_key and len(key) == 16
    assert list(historic.value[2].value) == []  # nothing taken off yet


def test_settings_set_are_read_back_and_a_scan_is_counted(keys):
    """6.28 from the template (RTDS's values 130, 220 ...), then 6.30 reads them; RTDS's
    own read before it shows RTDS's hub's (125, 200 ...); 6.29 requests a scan."""
    _, setting = _ours("DBCH04_6.28_SUCCESS_REQUEST_DUIS.XML", 5000)
    read = read_hex(rtds_success("DBCH03"))
    scan = recounted(keys, read_hex(rtds_success("DBCH05")), 5002)
    commands = [
        read,
        mac_apdu(setting.unsigned_command(), keys.keystore),
        recounted(keys, read, 5001),
        scan,
    ]
    executions, premises = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 4
    before, _, after, _ = (decode(e.response).payload for e in executions)
    sent = decode(setting.unsigned_command()).payload.data[0]
    assert plain(after.data[0]) == plain(sent) != plain(before.data[0])
    assert [int(v.value) for v in after.data[0].value[4:6]] == [130, 220]
    assert premises.hub_function.channel_scans == 1


def _set_settings(keys, counter: int, value) -> bytes:
    rtds = decode(read_hex(rtds_success("DBCH04")))
    header = rtds.header
    header.transaction_id.counter = counter
    content = access_request(counter, [cosem_spec("set", 1, SETTINGS, 2)], [value])
    return mac_apdu(encode_apdu(header, content, b""), keys.keystore)


def test_a_set_of_another_shape_is_type_unmatched_and_changes_nothing(keys):
    sent = decode(read_hex(rtds_success("DBCH04"))).payload.data[0]
    short = Container(type="structure", value=ListContainer(sent.value[:14]))
    wrong = Container(type="structure", value=ListContainer(
        [*sent.value[:4], Container(type="unsigned", value=1), *sent.value[5:]]))  # fmt: skip
    read = recounted(keys, read_hex(rtds_success("DBCH03")), 6002)
    executions, _ = execute(keys, [_set_settings(keys, 6000, short),
                                   _set_settings(keys, 6001, wrong), read])  # fmt: skip
    results = [plain(decode(e.response).payload)["results"][0]["result"] for e in executions]
    assert results == ["type_unmatched", "type_unmatched", "success"]
    rtds = decode(read_hex(rtds_success("DBCH03", "RESPONSE")))
    assert plain(decode(executions[2].response).payload) == plain(rtds.payload)  # unchanged


def test_a_removed_device_is_in_the_historic_log(keys):
    """CCS02 takes the ESME off: CCS07 lists it in the historic log with its link key, and no
    longer in the device log."""
    esme = bytes.fromhex("00DB1234567890A0")
    before = recounted(keys, read_hex(rtds_success("CCS07")), 6998)
    remove = recounted(keys, read_hex(rtds_success("CCS02")), 6999)
    backup = recounted(keys, read_hex(rtds_success("CCS07")), 7000)
    executions, _ = execute(keys, [before, remove, backup])
    assert [e.outcome for e in executions] == ["executed"] * 3
    logs = [decode(e.response).payload.data for e in (executions[0], executions[2])]

    def entries(log):
        return {bytes(e.value[0].value): bytes(e.value[1].value) for e in log.value[2].value}

    assert esme in entries(logs[0][0]) and esme not in entries(logs[1][0])
    assert entries(logs[1][1]) == {esme: entries(logs[0][0])[esme]}


@pytest.mark.parametrize("channel", ["Channel35", "Channel26"])
def test_a_channel_outside_its_band_is_refused(channel):
    def edit(root):
        group = root.find(f".//{{{duis.SR}}}LowerBandSubGHzChannels27To34")
        group[0].tag = f"{{{duis.SR}}}{channel}"

    with pytest.raises(TransformError):
        _ours("DBCH04_6.28_SUCCESS_REQUEST_DUIS.XML", edit=edit)


HUB_ALERTS = {
    "DBCH04": RTDS / "6.28_DBCH04" / "DBCH04_6.28_NA_SUCCESS_ALERT_DBCH09_GBCS.HEX",
    "DBCH05": RTDS / "NA_DBCH08" / "DBCH08_NA_8F28_ALERT_GBCS.HEX",
}


@pytest.mark.parametrize("use_case", sorted(HUB_ALERTS))
def test_the_hub_alerts_the_dcc_as_rtds_hub(keys, use_case):
    """RTDS's 6.28 set makes the hub alert 8F2A with the settings it now holds (DBCH09), its
    6.29 scan request 8F28 with the assessment (DBCH08): to the ACB, MAC'd, RTDS's alert byte
    for byte (the hub's first alert, at RTDS's time)."""
    raised = []

    async def before(premises):
        result = premises.hub_function.handle(read_hex(rtds_success(use_case)))
        raised.extend(result.alerts)

    execute(keys, [], before=before)
    assert raised == [read_hex(HUB_ALERTS[use_case])]


@pytest.mark.parametrize("use_case", sorted(HUB_ALERTS))
def test_the_premises_passes_the_hubs_alerts_on(keys, use_case):
    """The alerts leave the premises with the command's execution, as the meter's do, for the
    DSP to deliver."""
    [execution], _ = execute(keys, [read_hex(rtds_success(use_case))])
    assert execution.alerts == [read_hex(HUB_ALERTS[use_case])]


def test_a_refused_set_raises_no_alert(keys):
    sent = decode(read_hex(rtds_success("DBCH04"))).payload.data[0]
    short = Container(type="structure", value=ListContainer(sent.value[:14]))
    raised = []

    async def before(premises):
        raised.extend(premises.hub_function.handle(_set_settings(keys, 6000, short)).alerts)

    execute(keys, [], before=before)
    assert raised == []


RTDS_ERRORS = sorted(str(p.relative_to(RTDS)) for u in USE_CASES
                     for p in RTDS.glob(f"*_{u}/*_ERROR_COMMAND_GBCS.HEX"))  # fmt: skip


@pytest.mark.parametrize("name", RTDS_ERRORS)
def test_rtds_error_case_is_answered_as_rtds(keys, name):
    """RTDS's ERROR command with the object it names failing in the hub (its storage): the
    hub answers RTDS's ERROR response byte for byte (hardware_fault, then other_reason for
    the rest, as CCS07's second log), and nothing changes (no alert either)."""
    command = read_hex(RTDS / name)
    first = decode(command).payload.specifications[0]
    raised = []

    async def before(premises):
        premises.hub_function.object_faults.add(bytes(first.instance_id))
        result = premises.hub_function.handle(command)
        raised.append(result)

    execute(keys, [], before=before)
    [result] = raised
    assert result.outcome == "executed" and result.alerts == []
    assert result.response == read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))


def test_a_restored_device_log_is_the_hubs(keys):
    """RTDS's CCS03 (8.12.1 restore_pan: a replaced hub's extended PAN ID and its ESME's and
    GSME's link keys) is answered with RTDS's response byte for byte; the backup CCS07 then
    takes shows the restored PAN ID, the GSME (not on this HAN) with the restored key and the
    ESME (joined here) with the key it joined this hub with."""
    command = read_hex(rtds_success("CCS03"))
    restored = decode(command).payload.data[0]
    pan = bytes(restored.value[0].value)
    keys_restored = {bytes(e.value[0].value): bytes(e.value[1].value)
                     for e in restored.value[1].value}  # fmt: skip
    backup = recounted(keys, read_hex(rtds_success("CCS07")), 9000)
    executions, premises = execute(keys, [command, backup])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert executions[0].response == read_hex(rtds_success("CCS03", "RESPONSE"))
    log = decode(executions[1].response).payload.data[0]
    assert bytes(log.value[1].value) == pan == bytes.fromhex("0000000000000140")
    listed = {bytes(e.value[0].value): bytes(e.value[1].value) for e in log.value[2].value}
    gsme, esme = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A0")
    assert listed[gsme] == keys_restored[gsme]
    joined = premises.hub_function.hub.coordinator.device_log.get(EUI64.convert(esme.hex(":")))
    assert listed[esme] == joined.link_key != keys_restored[esme]


def test_the_rtds_restore_error_case_is_answered_as_rtds(keys):
    command = read_hex(next(RTDS.glob("*_CCS03/*_ERROR_COMMAND_GBCS.HEX")))
    raised = []

    async def before(premises):
        premises.hub_function.object_faults.add(bytes.fromhex("00001E0300FF"))
        raised.append(premises.hub_function.handle(command))

    execute(keys, [], before=before)
    assert raised[0].response == read_hex(
        next(RTDS.glob("*_CCS03/*_ERROR_RESPONSE_GBCS.HEX")))  # fmt: skip
