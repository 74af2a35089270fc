"""A DUIS user ID with several roles, as DCC Boxed's: the Supplier's ID 90B3D51F30010000 is
also the Export Supplier and an Other User (RTDS's commands the ACB sends for those roles,
ECS21c, ECS39b, ECS50 and GCS36, name it as the party they are for), the network operator's
90B3D51F30020000 also the Gas Transporter (GCS31 names it). A request carries no role: the DSP
takes the one its SRV allows, the target's own Supplier first. So the catalogue's 4.6.2 and
6.20.2 (Export Supplier), 9.1 to the ESME and to the GSME (Other User) and 14.1 (Gas
Transporter) reach the devices through the ACB on the user's behalf and are answered from the
devices' state, which changes: 6.2.7 reads the export MPAN set, the meters hold the CIN the
DCC made, 4.10 finds the network data log restarted empty. 7.16 (ECS47e, whose one GBCS
sender is the Load Controller, a role duis-parser's matrix does not list) is sent by the
catalogue's Load Controller user (gbhan's role LC), signed with RTDS's Load Controller key the
meter holds, and carried out by the meter; the Supplier's 7.16 is E2. Parametrised by
template file name."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE
from lxml import etree

from emulator import data
from emulator.backoffice import duis, nodered, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.catalogue import (
    ANSWERED,
    LOAD_CONTROLLER_EUI,
    REFUSED,
    SUCCESS,
    DeviceVerifier,
    Runner,
    read_template,
    template_sender,
)
from emulator.backoffice.eligibility import (
    BASE_ELIGIBILITY,
    ED,
    ES,
    GS,
    GT,
    IS,
    LC,
    OU,
    Eligibility,
)
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.registry import DNO_EUI, SUPPLIER_EUI, RegisteredUser
from emulator.backoffice.state import DspState
from emulator.backoffice.transform import CUSTOMER_IDENTIFICATION_NUMBER
from emulator.backoffice.userconfig import load_toml
from emulator.backoffice.users import DuisUser, InProcessTransport
from emulator.clock import Clock
from emulator.days.rig import DAY_START, rig
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.security import check_message
from tools import cli

GAS_SUPPLIER = bytes.fromhex("90B3D51F30030000")
#: template -> (the catalogue user that sends it, the role the DSP takes)
SENT_AS = {
    "ECS21c_4.6.2_SUCCESS_REQUEST_DUIS.XML": (SUPPLIER_EUI, ES),
    "ECS39b_6.20.2_SUCCESS_REQUEST_DUIS.XML": (SUPPLIER_EUI, ES),
    "ECS50_9.1_SUCCESS_REQUEST_DUIS.XML": (SUPPLIER_EUI, OU),
    "GCS36_9.1_SUCCESS_REQUEST_DUIS.XML": (SUPPLIER_EUI, OU),
    "GCS31_14.1_SUCCESS_REQUEST_DUIS.XML": (DNO_EUI, GT),
    "ECS47e_7.16_APC_INPUT_SUCCESS_REQUEST_DUIS.XML": (LOAD_CONTROLLER_EUI, LC),
    "ECS47e_7.16_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML": (LOAD_CONTROLLER_EUI, LC),
    # neighbours whose role must not move: the Supplier's own, the Gas Supplier's, the DNO's
    "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML": (SUPPLIER_EUI, IS),
    "GCS18_4.10_SUCCESS_REQUEST_DUIS.XML": (GAS_SUPPLIER, GS),
    "ECS17a_4.2_SUCCESS_REQUEST_DUIS.XML": (DNO_EUI, ED),
}
ANSWERED_AS = [n for n in SENT_AS if "7.16" not in n and n.split("_")[0] in (
    "ECS21c", "ECS39b", "ECS50", "GCS36", "GCS31")]  # fmt: skip
NEW_MPAN = "1900000000027"
EXPORT_MPAN = bytes.fromhex("0100000002FF")  # 1-0:0.0.2.255, the export MPAN ECS39b sets


@pytest.mark.parametrize("name", sorted(SENT_AS))
def test_each_template_is_sent_by_its_user_as_the_role_the_dsp_takes(name):
    template = read_template(CATALOGUE / name)
    sender, role = SENT_AS[name]
    assert template_sender(name, template.originator, template.target, template.srv) == sender
    assert template.role == role


def test_the_role_follows_the_srv_and_the_device():
    supplier = RegisteredUser(SUPPLIER_EUI, IS, "supplier", also=(ES, OU))
    dno = RegisteredUser(DNO_EUI, ED, "dno", also=(GT,))
    roles = Eligibility().roles
    assert supplier.roles == (IS, ES, OU) and dno.roles == (ED, GT)
    assert supplier.acting_role(roles("7.7"), "esme") == IS  # IS, ED, OU: its own Supplier
    assert supplier.acting_role(roles("4.6.2"), "esme") == ES
    assert supplier.acting_role(roles("9.1"), "gsme") == OU
    assert supplier.acting_role(roles("7.16"), "esme") == IS  # LC's: refused as its main role
    assert dno.acting_role(roles("4.1.1"), "esme") == ED
    assert dno.acting_role(roles("4.1.1"), "gsme") == GT  # the gas meter's network party
    assert dno.acting_role(roles("14.1"), "gsme") == GT
    only = RegisteredUser(GAS_SUPPLIER, GS, "gas-supplier")
    assert only.roles == (GS,) and only.acting_role(roles("9.1"), "gsme") == GS


def test_7_16_is_the_load_controllers_alone():
    """Limit APC Level is the Load Controller's (GBCS's one sender of ECS47e); a DCC that
    lets another role send it says so, and no other SRV is the Load Controller's."""
    assert Eligibility().roles("7.16") == {LC}
    assert Eligibility(extra=(("7.16", IS),)).roles("7.16") == {IS, LC}
    assert [srv for srv, roles in BASE_ELIGIBILITY.items() if LC in roles] == ["7.16"]


def _edited_mpan(tmp_path):
    root = duis.parse((CATALOGUE / "ECS39b_6.20.2_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    node = root.find(f".//{{{duis.SR}}}ExportMPAN")
    assert node is not None
    node.text = NEW_MPAN
    path = tmp_path / "ECS39b_6.20.2_SUCCESS_REQUEST_DUIS.XML"
    path.write_bytes(duis.to_bytes(root))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The family's templates through the in-process DSP and the RTDS premises as the
    catalogue's users send them, with reads before and after: (results by label, the
    premises' state after)."""
    folder = tmp_path_factory.mktemp("roles")
    plan = [
        ("mpan before", CATALOGUE / "ECS40_6.2.7_SINGLE_SUCCESS_REQUEST_DUIS.XML"),
        ("ECS39b", _edited_mpan(folder)),
        ("mpan after", CATALOGUE / "ECS40_6.2.7_SINGLE_SUCCESS_REQUEST_DUIS.XML"),
        ("ECS21c", CATALOGUE / "ECS21c_4.6.2_SUCCESS_REQUEST_DUIS.XML"),
        ("ECS50", CATALOGUE / "ECS50_9.1_SUCCESS_REQUEST_DUIS.XML"),
        ("GCS36", CATALOGUE / "GCS36_9.1_SUCCESS_REQUEST_DUIS.XML"),
        ("network before", CATALOGUE / "GCS18_4.10_SUCCESS_REQUEST_DUIS.XML"),
        ("GCS31", CATALOGUE / "GCS31_14.1_SUCCESS_REQUEST_DUIS.XML"),
        ("network after", CATALOGUE / "GCS18_4.10_SUCCESS_REQUEST_DUIS.XML"),
        ("ECS47e input", CATALOGUE / "ECS47e_7.16_APC_INPUT_SUCCESS_REQUEST_DUIS.XML"),
        ("ECS47e output", CATALOGUE / "ECS47e_7.16_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML"),
    ]
    templates = [(label, read_template(path)) for label, path in plan]
    supplier_7_16 = dataclasses.replace(templates[-1][1], role=IS)  # the Supplier's user sends
    templates.append(("ECS47e supplier", supplier_7_16))
    clock = Clock("simulated", start_utc=DAY_START)

    async def main():
        async with rig(clock, wake_interval_s=2.0) as r:
            runner = Runner(r.users, DeviceVerifier(None, r.reader_keys), timeout_s=60.0)
            results = {}
            for index, (label, template) in enumerate(templates):
                results[label] = await runner.run_one(template, index)
            esme_cin = bytes(r.premises.esme.store.get(1, CUSTOMER_IDENTIFICATION_NUMBER, 2).value)
            assert r.premises.gas is not None
            gsme_cin = r.premises.gas.gsme.commands.state.customer_id_number
            # the meter's signature, checked with the certificate the premises issued it
            signed = {label: check_message(decode(results[label].response),
                                           r.premises.keys.keystore).outcome
                      for label in ("ECS47e input", "ECS47e output")}  # fmt: skip
            to_supplier = [etree.fromstring(d).findtext(f".//{{{duis.SR}}}AlertCode")
                           for _when, eui, d in r.delivery.alerts if eui == SUPPLIER_EUI]  # fmt: skip
            return results, {"esme cin": esme_cin, "gsme cin": gsme_cin, "signed": signed,
                             "supplier alerts": to_supplier}  # fmt: skip

    return clock.run(main)


@pytest.mark.parametrize("name", ANSWERED_AS)
def test_the_family_is_answered_by_the_device_through_the_acb(run, name):
    results, _state = run
    result = results[name.split("_")[0]]
    assert (result.outcome, result.codes, result.device) == (ANSWERED, ("I99", "I0"), SUCCESS)
    assert result.role == SENT_AS[name][1].value and result.verified
    response = decode(result.response)
    assert bytes(response.target) == bytes.fromhex("90B3D51F30000002")  # the ACB's answer
    other = response.header.other_information
    assert bytes(other.supplementary_remote_party) == SENT_AS[name][0]  # for the user


def test_6_2_7_reads_the_export_mpan_the_export_supplier_set(run):
    results, _state = run

    def mpan(label: str) -> bytes:
        assert results[label].device == SUCCESS
        return bytes(decode(results[label].response).payload.data[1].value)

    assert mpan("mpan before") == b"1312345678333" and mpan("mpan after") == NEW_MPAN.encode()


def test_the_meters_hold_the_cin_the_dcc_made(run):
    _results, state = run
    for kept in (state["esme cin"], state["gsme cin"]):
        assert len(kept) == 4 and kept.isdigit()


def test_4_10_finds_the_network_data_log_restarted(run):
    results, _state = run
    assert results["network before"].device == SUCCESS
    assert results["network after"].device == "not_found"


@pytest.mark.parametrize("label", ["ECS47e input", "ECS47e output"])
def test_7_16_from_the_load_controller_is_carried_out_by_the_meter(run, label):
    """Critical: the Load Controller signs the pre-command (I0), the meter checks it with the
    Load Controller cell and answers the Load Controller itself, signed."""
    result = run[0][label]
    assert (result.outcome, result.codes, result.device) == (ANSWERED, ("I0", "I99", "I0"), SUCCESS)
    assert result.role == LC.value and run[1]["signed"][label] == "verified"
    response = decode(result.response)
    assert bytes(response.target) == LOAD_CONTROLLER_EUI and response.use_case.name == "ECS47e"


def test_the_supplier_is_told_of_each_limit(run):
    """The meter tells its Supplier of each Load Controller limit (ECS101 8F86 processed,
    ECS102 8F87 ended: the catalogue's 2015 periods are over, so at once) as DUIS device
    alerts."""
    alerts = run[1]["supplier alerts"]
    assert alerts.count("8F86") == 2 and alerts.count("8F87") == 2


def test_the_supplier_may_not_send_7_16(run):
    """The Supplier is refused E2 before anything is sent (the meter would refuse it too)."""
    result = run[0]["ECS47e supplier"]
    assert (result.outcome, result.codes, result.role) == (REFUSED, ("E2",), IS.value)


# --- a configured user ID with several roles (userconfig: role = ["OU", "ES"]) ----------------

USERS = Path(__file__).resolve().parents[1] / "backoffice" / "vectors" / "users"
OTHER = bytes.fromhex("00DB123456780004")
GBCS_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def test_a_users_file_may_give_a_user_id_several_roles(tmp_path):
    [user] = load_toml(USERS / "two_roles.toml")
    assert (user.eui, user.roles, user.name) == (OTHER, (OU, ES), "other")
    state = DspState.open(tmp_path / "state", [], GBCS_DATE)
    try:
        state.add_user(user)
        [kept] = state.users()
    finally:
        state.close()
    assert kept.roles == (OU, ES)  # kept in dsp.db as "OU,ES"


def test_users_add_takes_several_roles_and_list_shows_them(tmp_path, capsys):
    state = ["--state-dir", str(tmp_path / "state")]
    assert cli.main(["dsp", "users", "add", "--eui", "00DB123456780004", "--role", "OU,ES",
                     "--name", "other", *state]) == 0  # fmt: skip
    assert "00-DB-12-34-56-78-00-04 OU,ES other" in capsys.readouterr().out
    assert cli.main(["dsp", "users", "list", *state]) == 0
    listed = capsys.readouterr().out
    assert "00-DB-12-34-56-78-00-04  OU,ES  other" in listed
    assert "90-B3-D5-1F-30-01-00-00  IS,ES,OU  supplier" in listed
    assert cli.main(["dsp", "users", "add", "--eui", "00DB123456780004", "--role", "OU,OU",
                     *state]) == 2  # fmt: skip
    assert "role OU given twice" in capsys.readouterr().err


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """6.20.2 (the Export Supplier's), 9.1 (an Other User's) and 7.6 (the Import Supplier's)
    from DCC Boxed's third user ID registered as Other User and Export Supplier: the codes
    each got and the meter's export MPAN afterwards."""
    folder = tmp_path_factory.mktemp("configured")
    state = DspState.open(folder / "state", [data.rtds_keystore(), data.dccboxed_keystore()],
                          GBCS_DATE)  # fmt: skip
    for user in load_toml(USERS / "two_roles.toml"):
        state.add_user(user)
    keys = Keystore.open(data.dccboxed_keystore(), clock=GBCS_DATE)
    trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(data.dccboxed_keystore()))
    schema = duis.load_schema(str(data.duis_schema()))
    any_time = Keystore.open(data.dccboxed_keystore(), check_validity=False)
    clock = Clock("wall", start_utc=GBCS_DATE)
    mpan = _edited_mpan(folder)

    async def main():
        dsp = make_dsp(schema_dir=data.duis_schema(), dccboxed=data.dccboxed_keystore(),
                       rtds=data.rtds(), rtds_keystore=data.rtds_keystore(), clock=clock,
                       state=state)  # fmt: skip
        premises = await build_premises(clock, identities=state.identities)
        dsp.attach(premises)
        user = DuisUser("other", OTHER, OU, xmlsig.signer_from_keystore(keys, OTHER),
                        any_time.ds_private_key(OTHER), schema, trusted,
                        InProcessTransport(dsp))  # fmt: skip
        codes = {}
        try:
            for label, path, counter in (
                ("6.20.2", mpan, 400),
                ("9.1", CATALOGUE / "ECS50_9.1_SUCCESS_REQUEST_DUIS.XML", 401),
                ("7.6", CATALOGUE / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML", 402),
            ):
                request = user.prepare(path.read_bytes(), counter)
                answers = await user.submit(request)
                codes[label] = [a.code for a in answers]
                if codes[label][-1] == "I99":
                    await dsp.drain()
                    rid = str(duis.parse_request(duis.parse(request)).request_id)
                    codes[label] += [
                        duis.response_code_of(duis.parse(d.document))
                        for d in dsp.delivered
                        if d.user == OTHER and rid.encode() in d.document
                    ]
            kept = bytes(premises.esme.store.get(1, EXPORT_MPAN, 2).value)
            return codes, kept
        finally:
            await premises.close()

    try:
        return clock.run(main)
    finally:
        state.close()


def test_a_configured_user_sends_as_each_of_its_roles(configured):
    codes, kept = configured
    assert codes == {"6.20.2": ["I99", "I0"], "9.1": ["I99", "I0"], "7.6": ["E2"]}
    assert kept == NEW_MPAN.encode()  # set by the Export Supplier role, through the ACB


def test_the_node_red_run_sends_them_as_the_same_roles(tmp_path):
    """As the DCC's Node-RED node sends them, each document signed by a per-document signer
    program (a stand-in for the DCC's tool, which holds the Supplier's and the DNO's XML keys
    and is handed the Load Controller's: gbhan's signer as a script): the same user IDs,
    roles and answers."""
    names = sorted(ANSWERED_AS) + ["ECS47e_7.16_APC_INPUT_SUCCESS_REQUEST_DUIS.XML"]
    script = Path(__file__).with_name("dspstate_sign_helpers.py")
    signer = nodered.CommandSigner([sys.executable, str(script)])
    clock = Clock("wall")
    results = clock.run(lambda: nodered.run_catalogue_signed(
        [read_template(CATALOGUE / n) for n in names], signer, state_dir=tmp_path,
        clock=clock))  # fmt: skip
    got = {r.file: (r.role, r.codes, r.device, r.verified) for r in results}
    assert got == {
        **{n: (SENT_AS[n][1].value, ("I99", "I0"), SUCCESS, True) for n in ANSWERED_AS},
        "ECS47e_7.16_APC_INPUT_SUCCESS_REQUEST_DUIS.XML": (
            "LC",
            ("I0", "I99", "I0"),
            SUCCESS,
            True,
        ),
    }, [r.detail for r in results]
