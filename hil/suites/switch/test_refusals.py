"""Frames the switch must refuse without moving its output: from a meter it is not
commissioned with, and malformed ones (the vectors file, at the UART and at the ZCL layer)."""

from __future__ import annotations

import time

import pytest

from hil.console import ConsoleTimeout
from hil.han import HanError
from hil.suites.switch import steps
from hil.suites.switch.steps import ON_OFF, relay_is

VECTORS = steps.malformed_vectors()


def _open_relay(dut, han) -> dict[str, str]:
    dut.console.clear_outputs()
    han.request(ON_OFF, steps.on_off("off", han.next_tsn()))
    dut.console.wait_output(relay_is("open"))
    return dut.state()


def test_commands_from_a_non_commissioned_meter_are_refused(dut, han):
    before = _open_relay(dut, han)
    rejected = dut.rejected().get("unauthorised", 0)
    last_seq = int(dut.log(1)[0].split()[1])
    for name in ("on", "toggle"):
        with pytest.raises(HanError):  # no answer at all: a stranger learns nothing
            han.request(
                ON_OFF,
                steps.on_off(name, han.next_tsn(han.stranger)),
                sender=han.stranger,
                timeout=1.0,
            )
    assert dut.state() == before, "a stranger's command moved the output"
    assert dut.rejected().get("unauthorised", 0) == rejected + 2
    # logged: in full, or in the summary the board writes a minute later (flash wear)
    assert steps.logged_refusals(dut, last_seq, "unauthorised") >= 2


def test_unencrypted_commands_from_the_meter_are_refused(dut, han):
    """The commissioned meter's own node, but without APS security (0x91 option 0x20 clear):
    anyone holding the network key can claim the meter's address, so no answer, no output
    change, counted and logged as `unencrypted`. The same command secured then works."""
    before = _open_relay(dut, han)
    refused = dut.rejected().get("unencrypted", 0)
    last_seq = int(dut.log(1)[0].split()[1])
    dut.console.clear_outputs()
    for name in ("on", "toggle"):
        with pytest.raises(HanError):
            han.request(
                ON_OFF, steps.on_off(name, han.next_tsn()), timeout=1.0, aps_encryption=False
            )
    with pytest.raises(HanError):  # a DRLC event that would close it (100 %) is refused too
        han.request(
            steps.DRLC,
            steps.load_control_event(han.next_tsn(), 4242, 1, duty=100),
            timeout=1.0,
            aps_encryption=False,
        )
    assert dut.state() == before, "an unencrypted command moved the output"
    with pytest.raises(ConsoleTimeout):
        dut.console.wait_output(lambda c: True, timeout=0.1)
    assert dut.rejected().get("unencrypted", 0) == refused + 3
    assert steps.logged_refusals(dut, last_seq, "unencrypted") >= 3
    han.request(ON_OFF, steps.on_off("on", han.next_tsn()))  # secured: obeyed
    dut.console.wait_output(relay_is("closed"))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_malformed_frames_are_refused(dut, han, vector):
    before = _open_relay(dut, han)
    counts = dut.rejected()
    dut.console.clear_outputs()
    if vector["layer"] == "uart":
        assert dut.radio.write(bytes.fromhex(vector["hex"])) is not None
        steps.confirm(han)  # a good frame after it: the framer resynchronises on its 0x7E
        reason = vector["reject"]
        deadline = time.monotonic() + 3
        while dut.rejected().get(reason, 0) != counts.get(reason, 0) + 1:
            assert time.monotonic() < deadline, (
                f"{vector['name']} ({vector['why']}): expected one more '{reason}' rejection; "
                f"before {counts}, now {dut.rejected()}"
            )
            time.sleep(0.02)
    else:
        tsn = han.next_tsn()
        frame = bytes.fromhex(vector["hex"].format(tsn=f"{tsn:02x}"))
        answer = han.request(vector["cluster"], frame)
        status = steps.default_status(answer)
        assert status == int(vector["status"], 16), (
            f"{vector['name']} ({vector['why']}): status 0x{status:02x}, expected {vector['status']}"
        )
        assert dut.rejected()["total"] == counts["total"] + 1
    assert dut.state() == before, f"{vector['name']} moved the output"
    with pytest.raises(ConsoleTimeout):  # and no output change on the way
        dut.console.wait_output(lambda c: True, timeout=0.1)
