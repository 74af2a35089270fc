"""Users by configuration: `[[user]]` TOML files (each bad one refused with the entry and
field named, `vectors/users/*.toml`, the expected message on the first line), and
`gbhan dsp users add|list|remove` on a state directory. DCC Boxed's third user
(00-DB-12-34-56-78-00-04, an Other User) is refused E1 until it is registered; registered
from its TOML file it is accepted for 7.7 (its role may read the switches) and refused E2
for 7.6 (its role may not switch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from backoffice_helpers import DCCBOXED, DUIS, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE

from emulator.backoffice import duis, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.eligibility import DuisRole
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.state import DspState
from emulator.backoffice.userconfig import UserConfigError, load_toml
from emulator.backoffice.users import DuisUser, InProcessTransport
from emulator.clock import Clock
from gbcs.keystore import Keystore
from tools import cli

USERS = Path(__file__).parent / "vectors" / "users"
BAD = sorted(p.name for p in USERS.glob("*.toml") if p.read_text().startswith("# expect:"))
OTHER = bytes.fromhex("00DB123456780004")
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


def other_user_answers(folder: Path, schema, trusted, register: bool) -> dict[str, list[str]]:
    """7.7 and 7.6 from DCC Boxed's third user through a DSP on the state in `folder` with
    the real premises; the codes each got (the final one last)."""
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
            for name, template, counter in (("7.7", TEMPLATE_7_7, 300), ("7.6", TEMPLATE_7_6, 301)):
                answers = await user.submit(user.prepare(template.read_bytes(), counter))
                codes[name] = [a.code for a in answers]
                if codes[name][-1] == "I99":
                    await dsp.drain()
                    codes[name] += [code_of(d.document) for d in dsp.delivered if d.user == OTHER]
            return codes
        finally:
            await premises.close()

    try:
        return clock.run(main)
    finally:
        state.close()


def code_of(document: bytes) -> str:
    return duis.parse(document).findtext(f".//{{{duis.SR}}}ResponseCode") or ""


def test_the_third_user_is_refused_until_registered(tmp_path, schema, trusted):
    assert other_user_answers(tmp_path / "state", schema, trusted, register=False) == {
        "7.7": ["E1"],
        "7.6": ["E1"],
    }


def test_the_third_user_registered_by_configuration(tmp_path, schema, trusted):
    codes = other_user_answers(tmp_path / "state", schema, trusted, register=True)
    assert codes["7.6"] == ["E2"]  # an Other User may not switch
    # accepted and sent on; the meter holds no Other User anchor and refuses it (E21): GBCS
    # has the ACB carry an Other User's commands, which the transform does not do yet
    assert codes["7.7"] == ["I99", "E21"]


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
    assert "90-B3-D5-1F-30-02-00-00  ED   dno" in listed  # DCC Boxed's presets stay
    assert cli.main(["dsp", "users", "remove", "00-DB-12-34-56-78-00-05", *state]) == 0
    assert cli.main(["dsp", "users", "remove", "00-DB-12-34-56-78-00-05", *state]) == 1
    assert cli.main(["dsp", "users", "add", "--eui", "nonsense", "--role", "OU", *state]) == 2
    capsys.readouterr()
    assert cli.main(["dsp", "users", "list", *state]) == 0
    listed = capsys.readouterr().out
    assert "00-DB-12-34-56-78-00-05" not in listed and "00-DB-12-34-56-78-00-04" in listed
