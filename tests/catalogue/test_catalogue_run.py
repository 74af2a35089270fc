"""The whole DCC DUIS catalogue through an in-process DSP over HTTP, each template as the role
it is written for (emulator/backoffice/catalogue.py), held to `expectations.json`: a ratchet.
Every template listed there must be answered I0 (for a device command: with a device response
that verifies with the device's certificate from the SMKI service, and says what the file
records the device said: "I0>I99>I0 success", "I99>I0 error:hash_mismatch"); every template
not listed must still be refused or fail with a DUIS code, so a variant that starts working
fails the test until it is added to the file. docs/backoffice.md's generated SRV status list
must say what this run says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator import data
from emulator.backoffice import catalogue
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from emulator.backoffice.eligibility import ED, ES, GS, GT, IS, LC, OU
from emulator.backoffice.state import DspState
from emulator.clock import Clock
from emulator.smki.service import SmkiService
from gbcs import decode
from gbcs.keystore import Keystore

HERE = Path(__file__).parent
EXPECTED = json.loads((HERE / "expectations.json").read_text())
SUPPORTED: dict[str, str] = EXPECTED["supported"]
TEMPLATES = catalogue.load_catalogue()
NAMES = [t.name for t in TEMPLATES]
DOC = Path(__file__).resolve().parents[2] / "docs" / "backoffice.md"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("catalogue-state")


@pytest.fixture(scope="module")
def run(state_dir) -> dict[str, catalogue.Result]:
    clock = Clock("wall")
    results = clock.run(
        lambda: catalogue.run_catalogue(TEMPLATES, state_dir=state_dir, clock=clock)
    )
    return {r.file: r for r in results}


def test_the_expectations_name_catalogue_files():
    assert set(SUPPORTED) <= set(NAMES), set(SUPPORTED) - set(NAMES)
    assert len(NAMES) == 297


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", NAMES)
def test_template_outcome(run, name):
    result = run[name]
    assert result.outcome != catalogue.ERROR, result.detail
    if name in SUPPORTED:
        assert result.outcome == catalogue.ANSWERED, (result.codes, result.detail)
        codes, _, device = SUPPORTED[name].partition(" ")
        assert ">".join(result.codes) == codes
        if result.codes[-2:-1] == ("I99",):  # a device's response: checked with its certificate
            assert result.verified is True
            # and what the device said of the command, as the file records it
            assert catalogue.expectation(result) == SUPPORTED[name], result.device
            assert device, f"{name}: expectations.json must say what the device answered"
        else:  # serviceD, answered by the DSP itself
            assert result.verified is None
            assert not device and not result.device
    else:
        assert result.outcome in (catalogue.REFUSED, catalogue.FAILED), (
            f"{name} now gets {result.codes}: add it to expectations.json"
        )
        assert result.code.startswith("E")


@pytest.mark.timeout(600)
def test_docs_status_list_is_this_run(run):
    text = DOC.read_text()
    section = text[text.index(catalogue.STATUS_BEGIN) : text.index(catalogue.STATUS_END)]
    ours = catalogue.status_markdown(list(run.values()))

    def statuses(markdown: str) -> dict[str, tuple[str, str]]:
        rows = [line.split("|") for line in markdown.splitlines() if line.startswith("| ")]
        return {r[1].strip(): (r[2].strip(), r[3].strip()) for r in rows[1:]}

    assert statuses(section) == statuses(ours), (
        "run gbhan dsp catalogue --markdown docs/backoffice.md"
    )


def test_roles_follow_the_originator_and_the_use_case():
    roles = {t.name: t.role for t in TEMPLATES}
    assert roles["ECS52_11.2_SUCCESS_REQUEST_DUIS.XML"] == IS
    assert roles["GCS38_11.2_SUCCESS_REQUEST_DUIS.XML"] == GS
    assert roles["GCS16b_4.14_URP_SUCCESS_REQUEST_DUIS.XML"] == GS  # the second Supplier's EUI
    dno = [t for t in TEMPLATES if t.originator == bytes.fromhex("90B3D51F30020000")]
    assert dno and {t.role for t in dno} == {ED, GT}  # GCS31: the network operator's ID as GT
    load_controller = [t for t in TEMPLATES if t.originator == bytes.fromhex("90B3D51F30010008")]
    assert len(load_controller) == 2 and {t.role for t in load_controller} == {LC}  # 7.16
    assert {t.role for t in TEMPLATES} == {IS, ES, OU, ED, GT, GS, LC}


def test_a_tampered_or_unknown_device_response_does_not_verify(run, state_dir):
    """`verified` means something: a signed response verifies only with the device's
    certificate from the SMKI service (the run's repository, served again), not with one byte
    of its signature changed, nor without SMKI; a MAC'd one not with its MAC changed."""
    signed = run["ECS47Activate_7.5_SUCCESS_REQUEST_DUIS.XML"].response
    maced = run["ECS52_11.2_SUCCESS_REQUEST_DUIS.XML"].response
    assert signed is not None and maced is not None

    def keys() -> Keystore:
        return Keystore.open(data.rtds_keystore(), clock=DEFAULT_GBCS_DATE)

    state = DspState.open(state_dir, [], DEFAULT_GBCS_DATE)
    smki = SmkiService(state.repo, "127.0.0.1", 0).start()
    try:
        with_smki = catalogue.DeviceVerifier(smki.url, keys())
        assert with_smki.verify(signed)
        assert not catalogue.DeviceVerifier(smki.url, keys()).verify(flip(signed, -5))
    finally:
        smki.stop()
        state.close()
    assert not catalogue.DeviceVerifier(None, keys()).verify(signed)
    without = catalogue.DeviceVerifier(None, keys())
    assert without.verify(maced) and not without.verify(flip(maced, -3))


def flip(raw: bytes, at: int) -> bytes:
    changed = bytearray(raw)
    changed[at] ^= 0x01
    return bytes(changed)


def test_status_list_is_written_between_the_markers(run, tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{catalogue.STATUS_BEGIN}\nold\n{catalogue.STATUS_END}\nafter\n")
    catalogue.write_status(doc, list(run.values()))
    text = doc.read_text()
    assert text.startswith("before\n") and text.endswith(f"{catalogue.STATUS_END}\nafter\n")
    assert "old" not in text and "| 7.7 | answered | 1/1 |" in text
    doc.write_text("no markers\n")
    with pytest.raises(catalogue.CatalogueError):
        catalogue.write_status(doc, list(run.values()))


def test_a_distributed_image_comes_after_the_activations_of_the_held_one():
    """11.3's templates name the hash of the image the meter starts with; 11.1 replaces that
    image, so it runs after them (and before what takes the device away)."""
    order = [t.name for t in catalogue.run_order(TEMPLATES)]
    distribute = order.index("11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML")
    activations = [i for i, name in enumerate(order) if name.startswith("CS06_11.3_")]
    assert activations and max(activations) < distribute
    assert distribute < order.index("8.3_DECOMMISSION_DEVICE_REQUEST_DUIS.XML")


@pytest.mark.parametrize(
    "command",
    [
        "CS11_3.3_SUCCESS_REQUEST_DUIS.XML",  # clears the GSME's event log
        "GCS06_2.5_SUCCESS_REQUEST_DUIS.XML",  # emergency credit: 81AB
        "GCS28_6.11_SUCCESS_REQUEST_DUIS.XML",  # the clock set: 8145
        "GCS39_7.3_SUCCESS_REQUEST_DUIS.XML",  # arming the valve: 8F32
    ],
)
def test_the_event_log_is_read_after_the_commands_it_logs(command):
    order = [t.name for t in catalogue.run_order(TEMPLATES)]
    assert order.index(command) < order.index("CS10a_6.13_SUCCESS_REQUEST_DUIS.XML")


def test_the_activations_succeed_at_the_device(run):
    """I0>I99>I0 says the device answered; its answer must be success, not hash_mismatch."""
    immediate = [r for n, r in run.items() if n.startswith("CS06_11.3_IMMEDIATE")]
    assert immediate
    for result in immediate:
        value = decode(result.response).payload.fields.value
        assert int(value.response_code) == 0, (result.file, value)
