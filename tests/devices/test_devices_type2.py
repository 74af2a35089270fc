"""The Type 2 devices of RTDS's household, an IHD and a CAD (emulator/devices/type2.py): each on
the HAN with its own identity, reading the meter's import register and credit over ZigBee SE
(han_reads.py) once the meter has joined it by Method B (CS03B, 8.7.2: RTDS's command,
sent to the ESME for the device); unjoined (CS04B, 8.8.2), never joined, or asking for what
the meter does not serve, it is refused and the meter counts it."""

from __future__ import annotations

import pytest
import zigpy.types as t
import zigpy.zcl.foundation as f
from devices_helpers import RTDS, read_hex
from zigpy.zcl.clusters.smartenergy import Metering

from emulator.backoffice.premises_factory import build_premises
from emulator.clock import Clock
from emulator.devices.esme.consumption import IMPORT_REGISTERS, credit
from emulator.devices.han_reads import METERING
from emulator.devices.keys import SUPPLIER
from emulator.devices.reoriginate import reoriginate
from emulator.devices.type2 import Type2ReadRefused
from emulator.han import zcl
from gbcs import decode

IHD, CAD = bytes.fromhex("00DB1234567890C1"), bytes.fromhex("00DB1234567890C2")
ESME, GPF = bytes.fromhex("00DB1234567890A0"), bytes.fromhex("00DB1234567890A3")
GAS_SUPPLIER = bytes.fromhex("90B3D51F30030000")  # the household's gas meter's Supplier
JOIN = RTDS / "8.7.2_CS03B" / "CS03B_8.7.2_SUCCESS_COMMAND_GBCS.HEX"  # RTDS's: a GPF to a GSME
UNJOIN = RTDS / "8.8.2_CS04B" / "CS04B_8.8.2_SUCCESS_COMMAND_GBCS.HEX"
TYPE_2 = 6  # gbcs.asn1.DEVICE_TYPES


def join(premises, eui: bytes, counter: int, kind: int = TYPE_2, to: bytes = ESME) -> bytes:
    """RTDS's CS03B to the ESME (or the GPF), joining `eui` of GBCS device type `kind`, from
    the device's Supplier."""

    def edit(payload):
        payload.tree.children[1].value = eui
        payload.tree.children[2].value = bytes([kind])

    sender = SUPPLIER if to == ESME else GAS_SUPPLIER
    return reoriginate(read_hex(JOIN), sender, premises.keys.signer(sender),
                       premises.keys.keystore, counter, target=to, edit=edit)  # fmt: skip


def unjoin(premises, eui: bytes, counter: int, to: bytes = ESME) -> bytes:
    def edit(payload):
        payload.tree.value = eui

    sender = SUPPLIER if to == ESME else GAS_SUPPLIER
    return reoriginate(read_hex(UNJOIN), sender, premises.keys.signer(sender),
                       premises.keys.keystore, counter, target=to, edit=edit)  # fmt: skip


def code_of(execution) -> str:
    return str(decode(execution.response).payload.fields.name)


def on_premises(scenario):
    clock = Clock("simulated")

    async def main():
        premises = await build_premises(clock)
        try:
            return await scenario(premises)
        finally:
            await premises.close()

    return clock.run(main)


def meter_reading(premises) -> dict[str, int]:
    store = premises.esme.store
    return {"import_wh": int(store.get(*IMPORT_REGISTERS).value[0].value),
            "credit": credit(store)}  # fmt: skip


def test_the_household_has_an_ihd_and_a_cad_on_the_han_the_meter_has_not_joined():
    async def scenario(premises):
        kinds = {eui: d.kind for eui, d in premises.type2.items()}
        on_han = {bytes.fromhex(e) for e, kind in premises.hub.device_ids.items()
                  if kind == "TYPE_2"}  # fmt: skip
        refused = []
        for device in premises.type2.values():
            with pytest.raises(Type2ReadRefused, match="NOT_AUTHORIZED"):
                await device.refresh()
            refused.append(device.shown)
        return kinds, on_han, refused, premises.esme.stats["han-read:not-authorized"]

    kinds, on_han, refused, counted = on_premises(scenario)
    assert kinds == {IHD: "ihd", CAD: "cad"} and on_han == {IHD, CAD}
    assert refused == [{}, {}] and counted == 2


@pytest.mark.parametrize("eui", [IHD, CAD], ids=["ihd", "cad"])
def test_joined_it_shows_what_the_meter_holds_and_follows_it(eui):
    async def scenario(premises):
        joined = await premises.execute(join(premises, eui, 5000))
        device = premises.type2[eui]
        first, held = await device.refresh(), meter_reading(premises)
        premises.esme.consumption.import_energy(500)
        second, after = await device.refresh(), meter_reading(premises)
        return joined, first, held, second, after, premises.esme.stats["han-read:answered"]

    joined, first, held, second, after, answered = on_premises(scenario)
    assert joined.outcome == "executed" and code_of(joined) == "success"
    assert first == held and second == after
    assert second["import_wh"] == first["import_wh"] + 500
    assert answered == 4  # two attributes, two reads


def test_unjoined_it_is_refused_and_shows_what_it_last_read():
    async def scenario(premises):
        for n, eui in enumerate((IHD, CAD)):
            await premises.execute(join(premises, eui, 5000 + n))
        logged = {e: k for e, k in premises.esme.log.entries.items() if k == "type_2"}
        ihd = premises.type2[IHD]
        before = await ihd.refresh()
        gone = await premises.execute(unjoin(premises, IHD, 5002))
        with pytest.raises(Type2ReadRefused, match="NOT_AUTHORIZED"):
            await ihd.refresh()
        cad = await premises.type2[CAD].refresh()  # the other is still answered
        return logged, before, gone, ihd.shown, cad, premises.esme.stats

    logged, before, gone, shown, cad, stats = on_premises(scenario)
    assert set(logged) == {IHD, CAD}
    assert gone.outcome == "executed" and code_of(gone) == "success"
    assert shown == before and cad["import_wh"] == before["import_wh"]
    assert stats["han-read:not-authorized"] == 1


@pytest.mark.parametrize("kind,code", [(1, "invalid_join_method_and_role")])  # an ESME: no
def test_a_method_b_join_takes_a_type_2_device_only(kind, code):
    async def scenario(premises):
        execution = await premises.execute(join(premises, IHD, 5000, kind))
        with pytest.raises(Type2ReadRefused):
            await premises.type2[IHD].refresh()
        return execution

    execution = on_premises(scenario)
    assert execution.outcome == "executed" and code_of(execution) == code


@pytest.mark.parametrize("frame,expected", [
    # an attribute the meter does not serve (InstantaneousDemand)
    (lambda tsn: zcl.general_command(f.GeneralCommand.Read_Attributes, tsn, from_server=False,
                                     attribute_ids=[t.uint16_t(0x0400)]),
     ("Read_Attributes_rsp", f.Status.UNSUPPORTED_ATTRIBUTE)),
    # a write: the meter's readings are not the reader's to set
    (lambda tsn: zcl.general_command(
        f.GeneralCommand.Write_Attributes, tsn, from_server=False,
        attributes=[f.Attribute(0x0000, f.TypeValue(t.uint8_t(0x25), t.uint48_t(0)))]),
     ("Default_Response", f.Status.UNSUP_GENERAL_COMMAND)),
])  # fmt: skip
def test_what_the_meter_does_not_serve_is_refused(frame, expected):
    async def scenario(premises):
        await premises.execute(join(premises, IHD, 5000))
        ihd = premises.type2[IHD]
        answer = await ihd.node.request(premises.esme.node.nwk, 1, METERING,
                                        frame(ihd.node.next_tsn()))  # fmt: skip
        parsed = zcl.parse(Metering, bytes(answer.data.serialize()))
        status = (parsed.command.status_records[0].status if parsed.name == "Read_Attributes_rsp"
                  else parsed.command.status)  # fmt: skip
        return parsed.name, status

    assert on_premises(scenario) == expected


def test_joined_to_the_gpf_it_reads_the_gas_meter_as_the_gpf_last_had_it():
    """The GPF answers from its mirror (the GSME's last wake-up), not the meter's own state;
    the electricity meter, which has not joined it, still refuses it; unjoined, the GPF too."""

    async def scenario(premises):
        cad = premises.type2[CAD]
        joined = await premises.execute(join(premises, CAD, 5000, to=GPF))
        first = await cad.refresh_gas()
        mirror = dict(premises.gas.mirror)
        with pytest.raises(Type2ReadRefused, match="NOT_AUTHORIZED"):
            await cad.refresh()
        gone = await premises.execute(unjoin(premises, CAD, 5001, to=GPF))
        with pytest.raises(Type2ReadRefused, match="NOT_AUTHORIZED"):
            await cad.refresh_gas()
        return joined, first, mirror, gone, premises.gas.stats, premises.gas.device_log

    joined, first, mirror, gone, stats, log = on_premises(scenario)
    assert code_of(joined) == "success" and code_of(gone) == "success"
    assert first["gas_import"] == mirror[(METERING, 0x0000)][1]
    assert first["gas_credit"] == mirror[(0x0705, 0x0001)][1]
    assert stats["han-read:answered"] == 2 and stats["han-read:not-authorized"] == 1
    assert CAD not in log


@pytest.mark.parametrize("kind,code", [(1, "invalid_join_method_and_role"), (TYPE_2, "success")])
def test_the_gpf_joins_a_type_2_device_only_by_method_b(kind, code):
    async def scenario(premises):
        return await premises.execute(join(premises, IHD, 5000, kind, to=GPF)), premises.gas

    execution, gpf = on_premises(scenario)
    assert execution.outcome == "executed" and code_of(execution) == code
    assert (IHD in gpf.device_log) is (code == "success")
