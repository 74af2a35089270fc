"""Key choice by what the devices trust: with the RTDS and DCC Boxed keystores merged into one
Keystore, in either order, the ACB still MACs and the users still sign with the pairs the
emulated premises hold (DCC Boxed's second-generation Z1b pairs come first in its JSON), and
a 7.6 (user-signed, ACB-MAC'd) and a 7.7 (ACB-MAC'd) reach the real ESME and are executed."""

from __future__ import annotations

import pytest
from backoffice_helpers import DCCBOXED, DUIS, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE

from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.keychoice import DeviceTrust, KeyChoiceError, mac_for_device
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.users import Deliveries, InProcessTransport, make_user
from emulator.clock import Clock
from gbcs.keystore import DS, KA, Keystore
from gbcs.roles import ACB_EUI
from gbcs.security import mac_apdu

ORDERS = {"rtds-first": (RTDS_KEYSTORE, DCCBOXED), "dccboxed-first": (DCCBOXED, RTDS_KEYSTORE)}
UNSIGNED_7_7 = RTDS / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_COMMAND_GBCS.HEX"


def merged(order: str) -> Keystore:
    return Keystore.open(*ORDERS[order], clock=GBCS_DATE)


def test_dccboxed_first_puts_an_untrusted_acb_pair_first():
    """The hazard this guards against: the first pair is not the one the devices hold."""
    keys, trust = merged("dccboxed-first"), DeviceTrust.rtds()
    first, _ = keys.key_pairs(ACB_EUI, KA)[0]
    assert not trust.trusts(ACB_EUI, KA, first.key_id)
    assert trust.trusts(ACB_EUI, KA, trust.pair(keys, ACB_EUI, KA)[0].key_id)


@pytest.mark.parametrize("order", ORDERS)
def test_chosen_mac_equals_the_rtds_only_mac(order):
    """GBCS MACs are deterministic: the chosen pair gives the bytes the RTDS keystore alone
    gives with gbcs.security.mac_apdu."""
    command = bytes.fromhex(UNSIGNED_7_7.read_text().strip())
    apdu = command[command.index(b"\xdf") : -12]  # the DF APDU inside DD, without the MAC
    expected = mac_apdu(apdu, Keystore.open(RTDS_KEYSTORE, clock=GBCS_DATE))
    assert expected == command
    assert mac_for_device(apdu, merged(order), DeviceTrust.rtds()) == expected


@pytest.mark.parametrize("order", ORDERS)
def test_users_sign_with_the_key_the_devices_trust(order):
    keys, rtds = merged(order), Keystore.open(RTDS_KEYSTORE, clock=GBCS_DATE)
    for eui in ("90B3D51F30010000", "90B3D51F30020000"):
        chosen = DeviceTrust.rtds().signing_key(keys, eui).public_key()
        assert chosen.public_numbers() == rtds.ds_public_keys(eui)[0].public_key.public_numbers()


def test_several_trusted_pairs_are_an_error_not_a_guess():
    keys = merged("dccboxed-first")
    trust_everything = DeviceTrust.from_keystore(keys)
    with pytest.raises(KeyChoiceError, match="2 of the 2 valid DS"):
        trust_everything.pair(keys, ACB_EUI, DS)
    with pytest.raises(KeyChoiceError, match="none of"):
        DeviceTrust(frozenset()).pair(keys, ACB_EUI, KA)


@pytest.mark.parametrize("order", ORDERS)
def test_merged_keystores_work_end_to_end_with_the_real_premises(order, schema, trusted):
    clock = Clock("simulated", start_utc=GBCS_DATE)
    keys = merged(order)

    async def go():
        dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS, rtds_keystore=RTDS_KEYSTORE,
                       clock=clock, gbcs_date=GBCS_DATE, acb_keys=keys)  # fmt: skip
        dsp.gbcs_keys = keys
        premises = await build_premises(clock)
        dsp.attach(premises)
        dno = make_user("dno", keys, schema, trusted, InProcessTransport(dsp))
        dsp.delivery = Deliveries(dno)
        answers = []
        for counter, name in enumerate(("ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML",
                                        "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"), 5000):  # fmt: skip
            answers.append(await dno.run(dno.prepare((DUIS / name).read_bytes(), counter), 60))
        await dsp.drain()
        stats = dict(premises.esme.stats)
        await premises.close()
        return answers, stats

    answers, stats = clock.run(go)
    assert [[a.code for a in run] for run in answers] == [["I0", "I99", "I0"], ["I99", "I0"]]
    assert all(run[-1].gbcs_payload for run in answers)
    assert stats.get("executed") == 2
    assert not [k for k in stats if k.startswith("rejected:")]
