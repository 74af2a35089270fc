"""The one locator of the data gbhan reads: the DCC's published test data (RTDS vectors and
their keystore, the DCC Boxed keystore, the DUIS schema, templates and catalogue).

Every module asks here instead of working out a path of its own, so moving the data is a
change in one place. The data comes in two tiers, both laid out alike::

    rtds/keystore/   keystore/dccboxed-keystore.json   duis/schema/   duis/*_REQUEST_DUIS.XML
    rtds/RTDS-<version>/   duis/catalogue/   duis/responses/   duis/gbcs-mapping-table.json

- What the running program needs (the first line) is package data in ``emulator/dccdata/``,
  so an installed ``gbhan`` carries it;
- what only the tests and benchmarks need (the second line) is the checkout's ``data/``
  folder, which a wheel does not carry.

An item missing from its tier is looked for in the folder ``$GBHAN_DATA`` names (same layout:
a newer RTDS, say), then in the ``shared`` folder beside a checkout. When it is nowhere, the
tier's path is returned all the same, so the caller's error names where it belongs;
`searched` lists every place that was tried.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "PACKAGE_DATA",
    "REPO_DATA",
    "RTDS_VERSION",
    "dccboxed_keystore",
    "duis",
    "duis_catalogue",
    "duis_responses",
    "duis_schema",
    "gbcs_mapping_table",
    "keystore_dir",
    "rtds",
    "rtds_keystore",
    "searched",
]

#: Names a data folder looked in for whatever neither tier holds (e.g. another RTDS release).
ENV_VAR = "GBHAN_DATA"
#: The RTDS release the tests and the conformance sweep read by default.
RTDS_VERSION = "4.5.0"
_HERE = Path(__file__).resolve().parent
#: What the running program needs, shipped inside the package (and so in every wheel).
PACKAGE_DATA = _HERE / "dccdata"
#: What only the tests and benchmarks need: the checkout's data folder (absent when installed).
REPO_DATA = _HERE.parent / "data"
#: Installed, the folder above the package is site-packages: neither of the two folders
#: below is ours there, whatever happens to carry their names.
_IN_CHECKOUT = (_HERE.parent / "pyproject.toml").is_file()
#: The folder our own machines keep beside a checkout; the last place looked.
_BESIDE_CHECKOUT = _HERE.parents[1] / "shared"


def searched(relative: str | Path, tier: Path) -> list[Path]:
    """Where an item (`relative` to a data root) is looked for, in order: its tier, then
    ``$GBHAN_DATA``, then the folder beside the checkout."""
    roots = [tier] if tier == PACKAGE_DATA or _IN_CHECKOUT else []
    override = os.environ.get(ENV_VAR)
    if override:
        roots.append(Path(override).expanduser())
    if _IN_CHECKOUT:
        roots.append(_BESIDE_CHECKOUT)
    return [root / relative for root in roots]


def _find(relative: str | Path, tier: Path) -> Path:
    """The first place that has the item, else its tier's path (for the caller's message)."""
    found = (place for place in searched(relative, tier) if place.exists())
    return next(found, tier / relative)


def rtds(version: str = RTDS_VERSION) -> Path:
    """One RTDS release's folder of GBCS messages (one folder per use case): test data."""
    return _find(Path("rtds") / f"RTDS-{version}", REPO_DATA)


def rtds_keystore() -> Path:
    """The keystore that verifies the RTDS messages (PEM files); the emulated premises and
    the DCC's Access Control Broker use its keys."""
    return _find("rtds/keystore", PACKAGE_DATA)


def keystore_dir() -> Path:
    """The folder of the DCC Boxed keystore (ZAZ1 test PKI) and its JSON schema."""
    return dccboxed_keystore().parent


def dccboxed_keystore() -> Path:
    """DCC Boxed's users and devices, their certificates and test keys (JSON)."""
    return _find("keystore/dccboxed-keystore.json", PACKAGE_DATA)


def duis() -> Path:
    """The DUIS request templates the DSP and the DNO/Supplier clients start from."""
    return _find("duis", PACKAGE_DATA)


def duis_schema() -> Path:
    """The DUIS 5.4 XML schema folder (with the XML signature schema it imports)."""
    return _find("duis/schema", PACKAGE_DATA)


def duis_catalogue() -> Path:
    """The DCC's whole DUIS template catalogue (297 requests): program data, as the web
    console's launcher and `gbhan dsp catalogue` offer every template to an installed gbhan."""
    return _find("duis/catalogue", PACKAGE_DATA)


def duis_responses() -> Path:
    """Real DCC Boxed responses and the certificates that signed them: test data."""
    return _find("duis/responses", REPO_DATA)


def gbcs_mapping_table() -> Path:
    """The DCC's table of GBCS use cases and the SRVs that use them (JSON): test data."""
    return _find("duis/gbcs-mapping-table.json", REPO_DATA)
