"""The SMKI repository (SEC Appendix O, as amended by MP147): every certificate the emulator
knows, a web service as DCC Boxed serves it, weekly full and daily incremental extracts
(national and per party), and a sync client that restores a local copy from them.

Modules: `records` (one record), `store` (SQL storage), `sources` (keystores),
`testpki` and `population` (generated devices), `xmlrecords` (the web service's
elements), `service` (HTTP), `gzstream`, `extracts`, `sync`. `docs/smki.md` explains.
"""

from .errors import ExtractError, SmkiError, SyncError
from .extracts import DELTA, FULL, ManifestEntry, write_extract
from .population import load_test_pki, populate
from .records import Record
from .service import InvalidRequest, SmkiService
from .sources import load_keystores
from .store import Repository
from .sync import SyncReport, sync
from .testpki import TestPki

__all__ = [
    "DELTA",
    "FULL",
    "ExtractError",
    "InvalidRequest",
    "ManifestEntry",
    "Record",
    "Repository",
    "SmkiError",
    "SmkiService",
    "SyncError",
    "SyncReport",
    "TestPki",
    "load_keystores",
    "load_test_pki",
    "populate",
    "sync",
    "write_extract",
]
