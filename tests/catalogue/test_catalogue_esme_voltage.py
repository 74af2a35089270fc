"""The ESME's voltage configuration, 6.5 from the Electricity Distributor (ECS29a resetting
the RMS voltage counters, ECS29c not): the DSP's command from the template is RTDS's (ECS29c:
the same without the resets); RTDS's command gets RTDS's response byte for byte; what it
sets, 6.2.1 (ECS26b) reads back, and ECS29a zeroes the counters 4.10 (ECS23) reads (a
polyphase template's ECS29b / ECS29d: test_catalogue_esme_config_voltage.py)."""

from __future__ import annotations

from catalogue_helpers import CATALOGUE, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.security import mac_apdu


def _request(template: str, counter: int | None = None, edit=None):
    rtds = decode(read_hex(rtds_success("ECS29a")))
    root = duis.parse((CATALOGUE / f"{template}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes(rtds.originator), counter or rtds.counter)
    return duis.parse_request(root)


def test_the_command_from_the_template_is_rtds():
    rtds = decode(read_hex(rtds_success("ECS29a")))
    ours = transform(_request("ECS29a_6.5"), use_case="ECS29a")
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    assert ours.unsigned_command() == encode_apdu(
        rtds.header, rtds.apdu[rtds.content_offset - rtds.apdu_offset : end], b""
    )


def test_without_the_counters_reset_it_is_ecs29c_without_the_actions():
    a = decode(transform(_request("ECS29a_6.5"), use_case="ECS29a").unsigned_command())
    c = transform(_request("ECS29c_6.5"), use_case="ECS29a")  # the DSP names the first form
    assert c.use_case.name == "ECS29c"
    specs = decode(c.unsigned_command()).payload.specifications
    assert [str(s.kind) for s in specs] == ["set"] * 11
    assert [bytes(s.instance_id) for s in specs] == [
        bytes(s.instance_id) for s in a.payload.specifications[:11]]  # fmt: skip


def test_rtds_command_is_answered_with_rtds_response(keys):
    [execution], _ = execute(keys, [read_hex(rtds_success("ECS29a"))])
    assert execution.outcome == "executed", execution.outcome
    assert execution.response == read_hex(rtds_success("ECS29a", "RESPONSE"))


def _values(execution) -> list[int]:
    return [int(d.value) for d in decode(execution.response).payload.data]


def test_the_configuration_set_is_read_back_and_the_counters_reset(keys):
    def edit(root):
        for name, value in (("RMSVoltageSagThreshold", "207"),
                            ("AverageRMSOverVoltageThreshold", "259")):  # fmt: skip
            root.find(f".//{{{duis.SR}}}{name}").text = value

    setting = transform(_request("ECS29a_6.5", counter=5001, edit=edit), use_case="ECS29a")
    read, counters = read_hex(rtds_success("ECS26b")), read_hex(rtds_success("ECS23"))
    commands = [recounted(keys, read, 5000), recounted(keys, counters, 5001),
                mac_apdu(setting.unsigned_command(), keys.keystore),
                recounted(keys, read, 5003), recounted(keys, counters, 5004)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 5
    before, after = _values(executions[0]), _values(executions[3])
    # monitors 1-4 (threshold, period), then the average over and under thresholds
    assert after == [287, 30, 180, 30, 207, 30, 253, 30, 259, 200] != before
    counts_before = [int(d.value) for d in decode(executions[1].response).payload.data[:4:2]]
    counts_after = [int(d.value) for d in decode(executions[4].response).payload.data[:4:2]]
    assert counts_after == [0, 0] and counts_before != counts_after
