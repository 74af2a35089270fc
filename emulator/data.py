"""The one locator of the data gbhan reads: the DCC's test data (RTDS vectors and their
keystore, the DCC Boxed keystore, the DUIS schema, templates and catalogue).

Every module asks here instead of working out a path of its own, so moving the data is a
change in one place. Today it is the `shared` folder beside a checkout; the environment
variable ``GBHAN_DATA`` names another folder with the same layout (a newer RTDS, a copy
elsewhere). The layout::

    rtds/RTDS-<version>/   rtds/keystore/   keystore/dccboxed-keystore.json
    duis/schema/   duis/*_REQUEST_DUIS.XML   duis/catalogue/
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "RTDS_VERSION",
    "dccboxed_keystore",
    "duis",
    "duis_schema",
    "keystore_dir",
    "root",
    "rtds",
    "rtds_keystore",
]

#: Names a data folder other than the default (the `shared` folder beside the checkout).
ENV_VAR = "GBHAN_DATA"
#: The RTDS release the tests and the conformance sweep read by default.
RTDS_VERSION = "4.5.0"
_BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared"


def root() -> Path:
    """The data folder: ``$GBHAN_DATA`` if set, else the one beside the checkout."""
    override = os.environ.get(ENV_VAR)
    return Path(override).expanduser() if override else _BESIDE_CHECKOUT


def rtds(version: str = RTDS_VERSION) -> Path:
    """One RTDS release's folder of GBCS messages (one folder per use case)."""
    return root() / "rtds" / f"RTDS-{version}"


def rtds_keystore() -> Path:
    """The keystore that verifies the RTDS messages (PEM files)."""
    return root() / "rtds" / "keystore"


def keystore_dir() -> Path:
    """The ZAZ1 test PKI and the DCC Boxed keystore."""
    return root() / "keystore"


def dccboxed_keystore() -> Path:
    """DCC Boxed's users and devices, their certificates and test keys (JSON)."""
    return keystore_dir() / "dccboxed-keystore.json"


def duis() -> Path:
    """The DCC Boxed DUIS request templates (and `catalogue/`, `schema/` below it)."""
    return root() / "duis"


def duis_schema() -> Path:
    """The DUIS 5.4 XML schema folder (with the XML signature schema it imports)."""
    return duis() / "schema"
