"""Users by configuration: `[[user]]` TOML files (each bad one refused with the entry and
field named, `vectors/users/*.toml`, the expected message on the first line), and
`gbhan dsp users add|list|remove` on a state directory. DCC Boxed's third user
(00-DB-12-34-56-78-00-04, an Other User) is refused E1 until it is registered; registered
from its TOML file it is accepted for 7.7 (its role may read the switches) and refused E2
for 7.6 (its role may not switch). The meter holds no anchor for an Other User: the ACB
sends its 7.7 on its behalf (ACB originator and counter, the user and its counter as
supplementary remote party), the meter accepts it as the ACB's, and its MAC'd response to
the ACB comes back to the user, verifying; in process and over HTTP with `gbhan dsp serve`
and the user added with `gbhan dsp users add`."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from pathlib import Path

import pytest
from backoffice_helpers import DCCBOXED, DUIS, RTDS, SCHEMA, free_port
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE
from test_backoffice_dsp_state import serve

from emulator.backoffice import duis, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.eligibility import DuisRole
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.state import DspState
from emulator.backoffice.userconfig import UserConfigError, load_toml
from emulator.backoffice.users import DuisUser, Endpoint, HttpTransport, InProcessTransport
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.roles import ACB_EUI
from gbcs.security import check_message
from tools import cli

USERS = Path(__file__).parent / "vectors" / "users"
BAD = sorted(p.name for p in USERS.glob("*.toml") if p.read_text().startswith("# expect:"))
OTHER = bytes.fromhex("00DB123456780004")
ESME = bytes.fromhex("00DB1234567890A0")
TEMPLATE_7_7 = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
TEMPLATE_7_6 = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"


@pytest.mark.parametrize("name", BAD)
def test_a_bad_users_file_is_refused_naming_the_entry(name):
    path = USERS / name
    expected = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    with pytest.raises(UserConfigError) as refused:
        load_toml(path)
    assert expected in str(refused.value)


def test_the_third_user_file_reads_as_an_other_user():
    [user] = load_toml(USERS / "dccboxed_other_user.toml")
    assert (user.eui, user.role, user.name) == (OTHER, DuisRole.OTHER_USER, "other")
    assert user.xml_certificates == () and user.gbcs_certificates == ()


def other_user_answers(folder: Path, schema, trusted, register: bool, requests=None):
    """7.7 and 7.6 from DCC Boxed's third user through a DSP on the state in `folder` with
    the real premises; the codes each got (the final one last), and the documents delivered
    to the user and the commands sent to the premises."""
    state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    if register:
        for user in load_toml(USERS / "dccboxed_other_user.toml"):
            state.add_user(user)
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    any_time = Keystore.open(DCCBOXED, check_validity=False)  # its GBCS certificate's dates
    clock = Clock("wall", start_utc=GBCS_DATE)

    async def main():
        dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                       rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
        premises = await build_premises(clock, identities=state.identities)
        dsp.attach(premises)
        user = DuisUser("other", OTHER, DuisRole.OTHER_USER,
                        xmlsig.signer_from_keystore(keys, OTHER), any_time.ds_private_key(OTHER),
                        schema, trusted, InProcessTransport(dsp))  # fmt: skip
        codes = {}
        try:
            for name, template, counter in requests or (
                ("7.7", TEMPLATE_7_7, 300),
                ("7.6", TEMPLATE_7_6, 301),
            ):
                answers = await user.submit(user.prepare(template.read_bytes(), counter))
                codes[name] = [a.code for a in answers]
                if codes[name][-1] == "I99":
                    await dsp.drain()
                    codes[name] += [code_of(d.document) for d in dsp.delivered if d.user == OTHER]
            delivered = [d.document for d in dsp.delivered if d.user == OTHER]
            return codes, delivered, [c for _rid, c in dsp.sent_to_premises]
        finally:
            await premises.close()

    try:
        return clock.run(main)
    finally:
        state.close()


def code_of(document: bytes) -> str:
    return duis.parse(document).findtext(f".//{{{duis.SR}}}ResponseCode") or ""


def test_the_third_user_is_refused_until_registered(tmp_path, schema, trusted):
    codes, delivered, sent = other_user_answers(tmp_path / "state", schema, trusted, False)
    assert codes == {"7.7": ["E1"], "7.6": ["E1"]}
    assert delivered == [] and sent == []


def acb_round_trip(command: bytes, document: bytes, counter: int) -> None:
    """The command the ACB sent for the Other User, and the device response it got back."""
    sent = decode(command)
    assert bytes(sent.originator) == ACB_EUI and bytes(sent.target) == ESME
    assert sent.signature in (None, b"")  # 7.7 is not critical: MAC'd only
    other = sent.header.other_information
    assert bytes(other.supplementary_remote_party) == OTHER
    assert other.supplementary_remote_party_counter == counter
    payload = duis.parse(document).findtext(f".//{{{duis.SR}}}GBCSPayload")
    response = decode(base64.b64decode(payload))
    assert bytes(response.originator) == ESME and bytes(response.target) == ACB_EUI
    assert response.counter == sent.counter
    assert bytes(response.header.other_information.supplementary_remote_party) == OTHER
    # MAC'd for the ACB: the RTDS keystore holds the ACB's KA key and the meter's certificate
    keys = Keystore.open(RTDS_KEYSTORE, check_validity=False)
    assert check_message(response, keys).outcome == "verified"


def test_the_third_user_registered_by_configuration(tmp_path, schema, trusted):
    codes, delivered, sent = other_user_answers(tmp_path / "state", schema, trusted, True)
    assert codes["7.6"] == ["E2"]  # an Other User may not switch
    assert codes["7.7"] == ["I99", "I0"]  # carried by the ACB, executed, answered
    assert len(sent) == 1 and [code_of(d) for d in delivered] == ["I0"]
    acb_round_trip(sent[0], delivered[0], 300)


@pytest.mark.parametrize(
    "template",
    ["ECS61c_7.11_SUCCESS_REQUEST_DUIS.XML", "ECS61d_7.14_SUCCESS_REQUEST_DUIS.XML",
     "ECS61e_7.15_SUCCESS_REQUEST_DUIS.XML", "ECS52_11.2_SUCCESS_REQUEST_DUIS.XML"],
)  # fmt: skip
def test_the_third_user_reads_what_its_role_may_through_the_acb(
    tmp_path, schema, trusted, template
):
    """The other reads an Other User may send (DUIS role table) at the meter, each carried
    by the ACB (7.14 already is, on anyone's behalf) and answered with a verifying response."""
    codes, delivered, sent = other_user_answers(
        tmp_path / "state", schema, trusted, True, [("read", DUIS / template, 320)]
    )
    assert codes["read"] == ["I99", "I0"]
    acb_round_trip(sent[0], delivered[0], 320)


def test_the_third_user_over_http(tmp_path, schema, trusted):
    """Added with `gbhan dsp users add` (its endpoint too), then `gbhan dsp serve` on that
    state: its 7.7 is answered I0 at its endpoint with the meter's verifying response."""
    state, listen = tmp_path / "state", free_port()
    assert cli.main(["dsp", "users", "add", "--eui", "00-DB-12-34-56-78-00-04", "--role", "OU",
                     "--name", "other", "--endpoint", f"http://127.0.0.1:{listen}/",
                     "--state-dir", str(state)]) == 0  # fmt: skip
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    any_time = Keystore.open(DCCBOXED, check_validity=False)
    server, url, _smki = serve(state, None)

    async def main():
        transport = HttpTransport(url)
        user = DuisUser("other", OTHER, DuisRole.OTHER_USER,
                        xmlsig.signer_from_keystore(keys, OTHER), any_time.ds_private_key(OTHER),
                        schema, trusted, transport)  # fmt: skip
        endpoint = Endpoint(user)
        await endpoint.start("127.0.0.1", listen)
        try:
            return await user.run(user.prepare(TEMPLATE_7_7.read_bytes(), 310), 30)
        finally:
            await transport.close()
            await endpoint.stop()

    try:
        answers = asyncio.run(main())
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert [a.code for a in answers] == ["I99", "I0"]
    response = decode(answers[-1].gbcs_payload)
    assert bytes(response.target) == ACB_EUI
    assert bytes(response.header.other_information.supplementary_remote_party) == OTHER
    assert response.header.other_information.supplementary_remote_party_counter == 310
    rtds = Keystore.open(RTDS_KEYSTORE, check_validity=False)
    assert check_message(response, rtds).outcome == "verified"


def test_users_add_list_remove_on_a_state_directory(tmp_path, capsys):
    state = ["--state-dir", str(tmp_path / "state")]
    assert cli.main(["dsp", "users", "add", "--from", str(USERS / "dccboxed_other_user.toml"),
                     *state]) == 0  # fmt: skip
    assert cli.main(["dsp", "users", "add", "--eui", "00DB123456780005", "--role", "ED",
                     "--name", "dno2", "--endpoint", "http://127.0.0.1:9/", *state]) == 0  # fmt: skip
    assert cli.main(["dsp", "users", "list", *state]) == 0
    listed = capsys.readouterr().out
    assert "00-DB-12-34-56-78-00-04  OU   other" in listed
    assert "00-DB-12-34-56-78-00-05  ED   dno2" in listed and "http://127.0.0.1:9/" in listed
    assert "90-B3-D5-1F-30-02-00-00  ED,GT  dno" in listed  # DCC Boxed's presets stay
    assert "90-B3-D5-1F-30-01-00-00  IS,ES,OU  supplier" in listed  # a user ID, three roles
    assert cli.main(["dsp", "users", "remove", "00-DB-12-34-56-78-00-05", *state]) == 0
    assert cli.main(["dsp", "users", "remove", "00-DB-12-34-56-78-00-05", *state]) == 1
    assert cli.main(["dsp", "users", "add", "--eui", "nonsense", "--role", "OU", *state]) == 2
    capsys.readouterr()
    assert cli.main(["dsp", "users", "list", *state]) == 0
    listed = capsys.readouterr().out
    assert "00-DB-12-34-56-78-00-05" not in listed and "00-DB-12-34-56-78-00-04" in listed
