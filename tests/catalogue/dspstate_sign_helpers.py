"""A `--signer CMD` for the catalogue's Node-RED run where the DCC's tool is not installed:
signs the DUIS document on stdin as its RequestID's originator with that user's DCC Boxed
XML key (gbhan's own signer), keeping the counter, and writes it to stdout. Run as a script
(`python dspstate_sign_helpers.py`); only the Supplier's and the DNO's keys are held, as the
DCC's tool holds them; any other user's come as files, GBHAN_SIGN_CERT and GBHAN_SIGN_KEY, as
the runner hands them to the DCC's tool."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from emulator import data
from emulator.backoffice import duis, xmlsig
from gbcs.keystore import Keystore


def main() -> None:
    root = duis.parse(sys.stdin.buffer.read())
    xmlsig.remove_signature(root)
    originator = bytes(duis.parse_request(root).request_id.originator)
    if "GBHAN_SIGN_CERT" in os.environ:
        certificate = x509.load_pem_x509_certificate(
            Path(os.environ["GBHAN_SIGN_CERT"]).read_bytes()
        )
        key = serialization.load_pem_private_key(
            Path(os.environ["GBHAN_SIGN_KEY"]).read_bytes(), None
        )
        signer = xmlsig.Signer(key, certificate)
    else:
        signer = xmlsig.signer_from_keystore(Keystore.open(data.dccboxed_keystore()), originator)
    sys.stdout.buffer.write(duis.to_bytes(xmlsig.sign(root, signer)))


if __name__ == "__main__":
    main()
