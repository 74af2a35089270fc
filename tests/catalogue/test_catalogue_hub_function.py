"""The Comms Hub Function's own GBCS (emulator/devices/hub_function.py): 8.11 Add/Remove
(CCS01/CCS02), 8.9 device log (CCS05/CCS04, CCS06), 6.2.4 identity (ECS26i, ECS26n) and 6.13
event and security logs (ECS35c, ECS35d), from the ACB. The DSP's command from each template equals RTDS's (MAC aside, RTDS's ACB counter);
RTDS's command gets RTDS's response (byte for byte where the state is RTDS's; the device log,
whose entries are this premises' devices, by shape); and the log is the hub's state: a Remove
takes the ESME off the HAN (its next command refused unknown-target, the next read without
it), an Add of an unknown device registers it, a Remove of one never logged is
object_unavailable. Parametrised by template or RTDS file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success
from construct import Container

from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, transform, use_case_for
from gbcs import decode
from gbcs.build import access_request, cosem_spec
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import mac_apdu

HUB = bytes.fromhex("00DB1234567890A2")
ESME = bytes.fromhex("00DB1234567890A0")
USE_CASES = ("CCS01", "CCS02", "CCS05CCS04", "CCS06", "ECS26i", "ECS26n", "ECS35c", "ECS35d")
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("*_REQUEST_DUIS.XML")
                   if p.name.split("_")[0] in USE_CASES)  # fmt: skip
RTDS_COMMANDS = [str(rtds_success(u).relative_to(RTDS)) for u in USE_CASES]
#: the device log reads: their entries are this premises' devices, not RTDS's hub's
DEVICE_LOG_READS = {"CCS05CCS04", "CCS06"}


def test_every_use_case_has_a_template():
    assert {n.split("_")[0] for n in TEMPLATES} == set(USE_CASES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    use_case = name.split("_")[0]
    rtds = decode(read_hex(rtds_success(use_case)))
    other = rtds.header.other_information
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(other.supplementary_remote_party),
                        other.supplementary_remote_party_counter)  # fmt: skip
    ours = transform(duis.parse_request(root), use_case=use_case,
                     acb=AcbContext(ACB_EUI, rtds.counter))  # fmt: skip
    assert ours.via_acb
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    [execution], premises = execute(keys, [read_hex(RTDS / name)])
    assert execution.outcome == "executed", execution.outcome
    assert premises.hub_function.stats["executed"] == 1
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    got, want = decode(execution.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    use_case = name.split("/")[0].split("_")[1]
    if use_case == "ECS26i":  # RTDS's hub says firmware tag 'CSW' here and 'CSW ' in ECS26n
        assert got.payload.data[:2] == want.payload.data[:2]
        assert bytes(got.payload.data[2].value) == b"CSW "
        return
    if use_case not in DEVICE_LOG_READS:
        assert execution.response == expected  # MAC'd with static ECDH: byte for byte
        return
    assert plain(got.payload)["results"] == plain(want.payload)["results"]
    [ours], [theirs] = got.payload.data, want.payload.data
    # RTDS's hub lists its ESME then its GSME: ours every device on the HAN, then the GSME
    # its GPF serves (the GPF is the hub's own, not in the log)
    listed = [bytes(e.value[0].value) for e in ours.value]
    on_han = [bytes.fromhex(e) for e, kind in premises.device_ids.items()
              if kind not in ("CHF", "GPF", "GSME")]  # fmt: skip
    assert listed == [*on_han, premises.gas.gsme.eui]
    assert [bytes(e.value[0].value) for e in theirs.value] == [on_han[0], listed[-1]]
    shape = [f.type for f in theirs.value[0].value]
    assert all([f.type for f in entry.value] == shape for entry in ours.value)
    assert ours.value[0].value[1:8] == theirs.value[0].value[1:8]  # RTDS's link figures


def test_remove_takes_the_meter_off_the_han(keys):
    remove = read_hex(rtds_success("CCS02"))  # RTDS's: the ESME ...A0
    read_log = recounted(keys, read_hex(rtds_success("CCS06")), 2000)
    firmware = read_hex(rtds_success("ECS52"))
    executions, premises = execute(keys, [remove, read_log, firmware])
    assert [e.outcome for e in executions] == ["executed", "executed",
                                               "rejected:unknown-target"]  # fmt: skip
    logged = [bytes(e.value[0].value) for e in decode(executions[1].response).payload.data[0].value]
    assert ESME not in logged and logged
    assert ESME.hex().upper() not in premises.device_ids


def _log_command(keys, counter: int, method: int, value: Container) -> bytes:
    """A CCS01 / CCS02 from the ACB on the Supplier's behalf with the given instruction."""
    rtds = decode(read_hex(rtds_success("CCS01" if method == 1 else "CCS02")))
    header = rtds.header
    header.transaction_id.counter = counter
    specs = [cosem_spec("action", 104, bytes.fromhex("00001E0300FF"), method)]
    content = access_request(counter, specs, [value])
    return mac_apdu(encode_apdu(header, content, b""), keys.keystore)


def test_add_registers_and_remove_of_a_stranger_is_object_unavailable(keys):
    stranger = bytes.fromhex("00DB1234567890FF")
    registration = Container(type="structure", value=[
        Container(type="octet-string", value=stranger), Container(type="enum", value=1),
        Container(type="octet-string", value=bytes(range(16))), Container(type="enum", value=0),
    ])  # fmt: skip
    never = Container(type="octet-string", value=bytes.fromhex("00DB12345678EEEE"))
    commands = [_log_command(keys, 3000, 1, registration), _log_command(keys, 3001, 2, never)]
    executions, premises = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed", "executed"]
    results = [plain(decode(e.response).payload)["results"][0]["result"] for e in executions]
    assert results == ["success", "object_unavailable"]
    assert premises.hub_function.registered == {stranger: (bytes(range(16)), 0)}


def test_a_command_from_no_anchor_is_rejected_and_counted(keys):
    """The Supplier's own CCS06 (not the ACB's): the hub holds no such role for 8.9."""
    rtds = decode(read_hex(rtds_success("CCS06")))
    header = rtds.header
    header.originator = bytes.fromhex("90B3D51F30010000")
    header.other_information.supplementary_remote_party = None
    header.other_information.supplementary_remote_party_counter = None
    end = len(rtds.apdu) - 1
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    command = mac_apdu(encode_apdu(header, content, b""), keys.keystore)
    [execution], premises = execute(keys, [command])
    assert execution.outcome == "rejected:role-not-permitted" and execution.response is None
    assert premises.hub_function.stats["rejected:role-not-permitted"] == 1


@pytest.mark.parametrize(("srv", "device", "use_case"), [
    ("6.2.4", "chf", "ECS26n"), ("6.2.4", "esme", "ECS26m"), ("6.2.4", "gsme", "GCS21m"),
    ("6.2.4", "gpf", None), ("11.2", "gsme", "GCS38"), ("4.18", "gpf", "GCS60a"),
    ("4.18", "gsme", "GCS60"), ("11.2", "hcalcs", "CS08"),
    ("8.9", "chf", "CCS06"), ("8.9", "gsme", "CS07"), ("8.9", "gpf", None),
    ("11.2", "ppmid", "CS08"),
    ("4.1.1", "gpf", "GCS13a"), ("7.7", "esme", "ECS61a"),
])  # fmt: skip
def test_the_use_case_follows_the_device_type(srv, device, use_case):
    assert use_case_for(srv, device) == use_case


@pytest.mark.parametrize("use_case", ["ECS35c", "ECS35d"])
def test_a_log_read_gives_the_entries_in_its_period(keys, use_case):
    """RTDS's period (00:00-09:00) gives RTDS's entries; the first three hours of it, only
    those before 03:00; the DSP picks the log by LogToRead for the hub."""
    rtds = decode(read_hex(rtds_success(use_case)))
    other = rtds.header.other_information
    [name] = [n for n in TEMPLATES if n.startswith(use_case)]
    root = duis.parse((CATALOGUE / name).read_bytes())
    root.find(f".//{{{duis.SR}}}EndDateTime").text = "2014-12-31T03:00:00.00Z"
    duis.set_originator(root, bytes(other.supplementary_remote_party), 7001)
    narrow = transform(duis.parse_request(root), use_case="ECS35c",
                       acb=AcbContext(ACB_EUI, 7001))  # fmt: skip
    assert narrow.use_case.name == use_case
    commands = [
        recounted(keys, read_hex(rtds_success(use_case)), 7000),
        mac_apdu(narrow.unsigned_command(), keys.keystore),
    ]
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed", "executed"]
    whole, early = (list(decode(e.response).payload.data[0].value.entries) for e in executions)
    start = 473299200  # 2014-12-31T00:00:00Z in seconds since 2000
    assert early == [e for e in whole if e[0] <= start + 3 * 3600]
    assert 0 < len(early) < len(whole)
