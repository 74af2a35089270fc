"""The model switch takes commands only APS-secured with the meter's link key: the meter's
network address alone is what anyone holding the network key can claim."""

from __future__ import annotations

import pytest
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.devices import switch_zcl as sz
from emulator.devices.premises import Premises
from emulator.han import zcl
from emulator.han.link import RequestError
from emulator.han.medium import packet_to

SLOT = 3


def _frames(tsn: int) -> dict[str, tuple[int, bytes]]:
    """Frames that would open a closed switch (or change its boost association)."""
    return {
        "off": (0x0006, sz.on_off(tsn, False)),
        "drlc-event": (0x0701, sz.load_control_event(tsn, 9, 30, 0)),
        "boost-association": (
            sz.CONFIG_CLUSTER,
            sz.write_attribute(tsn, sz.ATTR_BOOST_ASSOCIATED, sz.T_BOOL, False),
        ),
    }


@pytest.mark.parametrize("kind", ["off", "drlc-event", "boost-association"])
def test_unencrypted_frame_from_the_meter_address_is_refused(keys, kind):
    clock = Clock()

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        meter, unit = premises.esme.node, premises.switches[SLOT]
        before = (await unit.state(), unit.boost_allowed)
        cluster, frame = _frames(meter.next_tsn())[kind]
        try:  # from the commissioned meter's own node and address, without APS security
            await meter.request(int(unit.node.nwk), 1, cluster, frame, timeout=2.0)
            answered = True
        except RequestError:
            answered = False
        after = (await unit.state(), unit.boost_allowed)
        refused = dict(unit.rejected)
        # the same frame secured is obeyed: the test above could have failed
        cluster, frame = _frames(meter.next_tsn())[kind]
        await meter.request(int(unit.node.nwk), 1, cluster, frame, aps_encryption=True)
        secured = (await unit.state(), unit.boost_allowed)
        return before, answered, after, refused, secured

    before, answered, after, refused, secured = clock.run(main)
    assert before[0].relay == "closed" and before[1] is True
    assert answered is False
    assert after == before
    assert refused == {"unencrypted": 1}
    assert secured != before


def test_unencrypted_read_is_answered_and_changes_nothing(keys):
    clock = Clock()

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        meter, unit = premises.esme.node, premises.switches[SLOT]
        unit.failsafe = True  # as after a reboot: the meter not heard yet
        frame = sz.read_attributes(meter.next_tsn(), [sz.ON_OFF_ATTR])
        answer = await meter.request(int(unit.node.nwk), 1, 0x0006, frame)
        return unit, zcl.parse(OnOff, bytes(answer.data.serialize()))

    unit, answer = clock.run(main)
    assert answer.name == "Read_Attributes_rsp"
    assert unit.failsafe is True  # an unsecured read proves nothing about the meter
    assert dict(unit.rejected) == {}


def test_the_meter_refuses_an_unsecured_answer(keys):
    """The meter's side of the same rule: a switch's answer must come back APS-secured."""
    clock = Clock()

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        unit = premises.switches[SLOT]
        # the switch node answers in the clear (its reply no longer mirrors the request)
        node = unit.node

        async def plain_reply(to, data, *, ack=True):
            return await node.send(
                packet_to(int(to.src.address), to.src_ep, to.cluster_id, data, src_ep=to.dst_ep)
            )

        node.reply = plain_reply
        try:
            await premises.esme.command_slot(SLOT, "7.6", 30)
            failed = None
        except sz.SwitchError as exc:
            failed = str(exc)
        return failed, premises.esme.stats["switch-answer-unencrypted"]

    failed, counted = clock.run(main)
    assert failed is not None and "not APS-secured" in failed
    assert counted == 1
