"""`gbhan duis verify` against the real DCC Boxed responses and their expected results
(`data/duis/README.md`), run as a user runs it: a subprocess on the files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from backoffice_helpers import CERTS, RESPONSES

REPO = Path(__file__).resolve().parents[2]

DUIS_README = RESPONSES.parent / "README.md"
# The README's "expected result" column, as the verdict line `gbhan duis verify` prints
VERDICT_FOR = {
    "signature valid": "valid",
    "no signature (error acks may be unsigned)": (
        "valid (no signature: an unsigned error acknowledgement)"
    ),
    "must be refused where a signature is required": "invalid: no signature",
    "must be refused": "invalid: schema",
}


def readme_expectations() -> dict[str, str]:
    """file name -> expected verdict prefix, read from the README's table of responses."""
    expected = {}
    for line in DUIS_README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith(".xml`"):
            result = cells[2].split(" (cert")[0]
            expected[cells[0].strip("`")] = VERDICT_FOR[result]
    return expected


EXPECTED = readme_expectations()


def duis_verify(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tools.duis_cmd", "duis", "verify", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_every_response_file_has_an_expected_result():
    assert {p.name for p in RESPONSES.glob("*.xml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_matches_the_readme(name):
    certs = [arg for pem in sorted(CERTS.glob("*.pem")) for arg in ("--cert", str(pem))]
    result = duis_verify(str(RESPONSES / name), *certs)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0] == EXPECTED[name] or lines[0].startswith(EXPECTED[name] + " (")
    assert (result.returncode == 0) == EXPECTED[name].startswith("valid")


def test_signed_response_without_its_certificate_is_an_unknown_certificate():
    result = duis_verify(str(RESPONSES / "readfw-response.xml"))
    assert result.stdout.startswith("invalid: unknown certificate")
    assert result.returncode == 1


def test_unsigned_ack_refused_when_a_signature_is_demanded():
    result = duis_verify(str(RESPONSES / "acknowledgement-error.xml"), "--require-signature")
    assert result.stdout.startswith("invalid: no signature")
    assert result.returncode == 1


def test_each_dsp_certificate_verifies_only_its_own_response():
    fw, inventory = "dsp-xml-sign-261e9ccc.pem", "dsp-xml-sign-0f4889ef.pem"
    ok = duis_verify(str(RESPONSES / "readfw-response.xml"), "--cert", str(CERTS / fw))
    wrong = duis_verify(str(RESPONSES / "readfw-response.xml"), "--cert", str(CERTS / inventory))
    assert ok.stdout.strip() == "valid"
    assert wrong.stdout.startswith("invalid: unknown certificate")


def duis_cmd(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tools.duis_cmd", "duis", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_resigned_template_verifies_with_the_default_keystore(tmp_path, supplier):
    from backoffice_helpers import DUIS

    from emulator.backoffice import duis, xmlsig

    template = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"
    signed = tmp_path / "signed.xml"
    signed.write_bytes(duis.to_bytes(xmlsig.sign(duis.parse(template.read_bytes()), supplier)))
    assert duis_verify(str(signed)).stdout.strip() == "valid"
    assert duis_verify(str(template)).stdout.startswith("invalid: unknown certificate")


def test_transform_prints_the_rtds_precommand():
    from backoffice_helpers import DUIS, RTDS

    result = duis_cmd("transform", str(DUIS / "ECS47Reset_7.8_SUCCESS_REQUEST_DUIS.XML"))
    expected = RTDS / "7.8_ECS47Reset" / "ECS47Reset_7.8_SUCCESS_PRECOMMAND_GBCS.HEX"
    assert result.returncode == 0
    assert result.stdout.strip() == expected.read_text().strip().upper()


def test_transform_refuses_a_join_without_its_partner():
    from backoffice_helpers import DUIS

    result = duis_cmd("transform", str(DUIS / "CS03A1_8.7.1_SUCCESS_REQUEST_DUIS.XML"))
    assert result.returncode == 1 and result.stdout.startswith("error: ")
