"""The ESME's configuration, tariff, prepayment, load-limit, register and supply reads (4.2,
4.11.1, 4.11.2, 4.13, 4.15, 4.16, 6.2.1-6.2.9, 7.4), its encrypted register reads (4.1.1,
4.1.2, 4.1.3, 4.3) and its encrypted
logs and profiles over a period (4.4.2, 4.4.3, 4.6.1, 4.8.1, 4.14 for a known party): the DSP's
command from each catalogue template equals RTDS's (header and payload, MAC aside); RTDS's
command executed by the emulated meter is answered byte for byte with RTDS's response (its
starting data is the meter RTDS shows; MAC and encryption keys from static ECDH, so the same
bytes); the answer comes from the meter's state (a profile value, a write, the meter's own
EUI), and a write of the wrong type changes nothing. Parametrised by template or RTDS file
name."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from construct import Container
from tariff_helpers import rtds_files, rtds_folder

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.transform import (
    FIXED_READS,
    PROTECTED_READS,
    TransformError,
    devices_of,
    transform,
)
from emulator.clock import Clock
from emulator.devices.esme.store import SRV_OF, CosemStore
from emulator.devices.premises import PROFILE, Premises
from gbcs import decode
from gbcs.build import access_request, cosem_spec
from gbcs.dlms import decode_data
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu
from gbcs.usecases import by_name

RTDS = data.rtds()
CATALOGUE = data.duis_catalogue()
ESME = bytes.fromhex("00DB1234567890A0")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
#: the meter's reads (the hub's own, test_catalogue_hub_function.py, left out)
READS = {u: r for u, r in {**FIXED_READS, **PROTECTED_READS}.items() if devices_of(u) == ("esme",)}
#: a read for a later time is the DSP's to hold (DUIS's DSP future-dating: backoffice/future.py,
#: test_backoffice_dsp_future_dated.py), never the transform's to send now; a read for an
#: unknown remote party (URP: the reader's certificate in the request) is
#: test_catalogue_esme_config_urp.py's
FUTURE_DATED = "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML"
UNKNOWN_PARTY = "ECS21b_4.14_URP_SUCCESS_REQUEST_DUIS.XML"
#: the catalogue templates of the reads, by the use case each names
TEMPLATES = sorted(
    p.name
    for p in CATALOGUE.glob("ECS*_REQUEST_DUIS.XML")
    if p.name.split("_")[0] in READS
    and p.name not in (FUTURE_DATED, UNKNOWN_PARTY)
    and p.name.split("_")[1] in by_name(p.name.split("_")[0]).srvs  # not 5.1 schedules of it
)
#: RTDS's success commands of the reads (a twin-element meter's are left to a twin meter)
RTDS_COMMANDS = sorted(
    f"{p.parent.name}/{p.name}"
    for use_case in READS
    for p in rtds_files(f"*_{use_case}/*_SUCCESS_COMMAND_GBCS.HEX")
    if "_TWIN_" not in p.name and "_URP_" not in p.name
)


def read_hex(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def test_every_read_has_templates_and_rtds_commands():
    assert {n.split("_")[0] for n in TEMPLATES} == set(READS)
    assert {p.split("/")[0].split("_")[1] for p in RTDS_COMMANDS} == set(READS)
    # every use case the meter reads is one SRV_OF names, under the SRV the tables give it
    for use_case in READS:
        case = by_name(use_case)
        assert SRV_OF[case.code] in case.srvs


def rtds_command_of(use_case: str) -> Path:
    return rtds_files(f"*_{use_case}/*_SUCCESS_COMMAND_GBCS.HEX")[0]


def rtds_file(name: str) -> Path:
    """'folder/file' of RTDS_COMMANDS, in data/rtds or tests/catalogue/vectors."""
    folder, file = name.split("/")
    return rtds_folder(folder) / file


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    """With RTDS's counter the DSP's command is RTDS's, MAC aside. The use case is the
    template's own: the DSP picks one per SRV for an ESME, the transform builds each."""
    use_case = name.split("_")[0]
    rtds = decode(read_hex(rtds_command_of(use_case)))
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    request = duis.parse_request(root)
    ours = transform(request, use_case=use_case).precommand()
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours == encode_apdu(rtds.header, content, None)


def test_a_dsp_future_dated_read_is_never_built_for_now_by_the_transform():
    request = duis.parse_request(duis.parse((CATALOGUE / FUTURE_DATED).read_bytes()))
    with pytest.raises(TransformError, match="future-dated"):
        transform(request)


def execute(keys, commands: list[bytes], profile: dict | None = None):
    clock = Clock("simulated")

    async def run():
        premises = await Premises.start(clock, keys=keys, profile=profile)
        premises.esme.set_time(RTDS_TIME)  # the time RTDS's date-stamped responses carry
        try:
            return [await premises.execute(c) for c in commands], premises.esme.stats
        finally:
            await premises.close()

    return clock.run(run)


#: use cases whose RTDS response shows another meter's values than the one the meter starts
#: with (it holds one value per attribute): RTDS's ECS26d a one-entry billing calendar where
#: ECS26l has four, ECS26e a firmware tag 'CSW' where ECS26m has 'CSW '
OTHER_METER = {"ECS26d", "ECS26e"}


def _types(tree):
    """The A-XDR types of a decoded payload's data, values left out and an array's entries
    as the distinct types they have (their number is state)."""
    if isinstance(tree, dict):
        if tree.get("type") == "array":
            entries = [_types(v) for v in tree["value"]]
            return {"array": [e for i, e in enumerate(entries) if e not in entries[:i]]}
        return {k: _types(v) for k, v in tree.items() if k != "value" or isinstance(v, list)}
    if isinstance(tree, list):
        return [_types(v) for v in tree]
    return tree


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    command = read_hex(rtds_file(name))
    [execution], stats = execute(keys, [command])
    assert execution.outcome == "executed", execution.outcome
    assert stats["executed"] == 1
    expected = read_hex(rtds_file(name.replace("_COMMAND_", "_RESPONSE_")))
    got, want = decode(execution.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    if name.split("/")[0].split("_")[1] in OTHER_METER:
        assert plain(got.payload)["results"] == plain(want.payload)["results"]
        assert _types(plain(got.payload)["data"]) == _types(plain(want.payload)["data"])
        return
    assert plain(got.payload) == plain(want.payload)
    assert execution.response == expected  # MAC'd with static ECDH: byte for byte


def _data(response: bytes) -> list:
    return list(decode(response).payload.data)


def test_answers_come_from_the_meters_state(keys):
    """A profile's own value is what the read returns (not RTDS's), and the identity is the
    meter's EUI."""
    profile = json.loads(PROFILE.read_text())
    mine = copy.deepcopy(profile)
    model = "gbhan-ESME"
    mine["cosem"] = {"1/0000600104FF/2": "09" + bytes([len(model)]).hex() + model.encode().hex()}
    command = read_hex(rtds_command_of("ECS26e"))
    [ours], _ = execute(keys, [command], mine)
    [theirs], _ = execute(keys, [command], profile)
    identity, _kind, model_read = _data(ours.response)[:3]
    assert bytes(identity.value) == ESME
    assert bytes(model_read.value) == model.encode()
    assert bytes(_data(theirs.response)[2].value) == b"ATGTypeX"


def test_a_write_keeps_its_type_or_changes_nothing():
    store = CosemStore(ESME, {})
    key = (1, bytes.fromhex("00005E2C0000"), 2)  # randomisation offset, long-unsigned
    assert store.get(*key).value == 200
    assert store.set(*key, Container(type="long-unsigned", value=300))
    assert store.get(*key).value == 300
    assert not store.set(*key, Container(type="visible-string", value="300"))
    assert store.get(*key).value == 300
    with pytest.raises(KeyError):
        store.get(1, bytes.fromhex("0000000000FF"), 2)


def test_an_unknown_attribute_is_object_undefined(keys):
    """A read naming an attribute the meter does not hold gets object_undefined for that
    instruction and the rest still answered, the command accepted: RTDS's ECS26c with its
    second get asking attribute 3, re-MAC'd by the Supplier (whose KA key the keystore holds)."""
    rtds = decode(read_hex(rtds_command_of("ECS26c")))
    specs = [cosem_spec("get", 1, bytes.fromhex(code), attribute)
             for code, attribute in (("00005E2C0000", 2), ("00005E2C0002", 3),
                                     ("00005E2C0001", 2))]  # fmt: skip
    content = access_request(rtds.counter, specs, [Container(type="null-data", value=None)] * 3)
    command = mac_apdu(encode_apdu(rtds.header, content, b""), keys.keystore)
    [execution], stats = execute(keys, [command])
    assert execution.outcome == "executed" and stats["executed"] == 1
    results = [r["result"] for r in plain(decode(execution.response).payload)["results"]]
    assert results == ["success", "object_undefined", "success"]


def test_an_encrypted_read_carries_the_meters_registers(keys):
    """The import registers the meter holds (a profile's, not RTDS's), encrypted for the
    reader: the Supplier's key pair opens them, the MAC verifies, the values are the state."""
    registers = "0204" + "0600003039" + "02020F00161E" + "0600000007" + "02020F001620"
    profile = json.loads(PROFILE.read_text())
    profile["cosem"] = {"1/00005E2C220A/2": registers}
    [execution], _ = execute(keys, [read_hex(rtds_command_of("ECS17b"))], profile)
    response = decode(execution.response)
    report = check_message(response, keys.keystore)
    assert report.outcome == "verified", str(report)
    assert response.decrypted == [bytes.fromhex("0201" + registers)]
    assert decode_data(bytes.fromhex(registers)).value[0].value == 12345
