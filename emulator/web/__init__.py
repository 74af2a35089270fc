"""The web console over the emulator's DSP (`gbhan dsp serve`, port 8080): the premises and
their devices live, the DUIS log with each document's verdicts, and a request launcher; and
the feeder page over a scenario run (`gbhan emulate --serve`, `feeder.py`), with the premises
and DUIS log pages over the scenario's own DSP beside it (`dsp_view.py`).
Pages are our own HTML, CSS and JavaScript (static/), with no build step and nothing fetched
from elsewhere; they update from one stream of server-sent events. See docs/web.md.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from emulator import data
from emulator.backoffice.dsp import Dsp
from emulator.devices import Premises
from emulator.smki import client as smki_client
from emulator.smki.errors import SmkiError
from gbcs.keystore import DS, KA, Keystore

from .console import DEFAULT_WEB_PORT, Console, RecordingTransport, Tee, start_site
from .dsp_view import DspView
from .events import Event, EventHub
from .feeder import ControlError, FeederConsole
from .launcher import Launcher, LaunchError
from .records import DuisLog, LogEntry, Verifier

__all__ = [
    "DEFAULT_WEB_PORT",
    "Console",
    "ControlError",
    "DspView",
    "DuisLog",
    "Event",
    "EventHub",
    "FeederConsole",
    "LaunchError",
    "Launcher",
    "LogEntry",
    "RecordingTransport",
    "Tee",
    "Verifier",
    "device_verifier",
    "make_console",
    "start_site",
]


def _smki_fetch(smki_url: str | None) -> Callable[[bytes], list[bytes]] | None:
    if smki_url is None:
        return None

    def fetch(eui: bytes) -> list[bytes]:
        try:
            return [der for _found, der in smki_client.in_use_certificates(smki_url, eui)]
        except SmkiError:
            return []

    return fetch


def make_console(
    dsp: Dsp,
    *,
    live: dict[str, Premises],
    duis_url: str,
    smki_url: str | None,
    rtds_keystore: Path,
    dccboxed_keystore: Path,
    gbcs_date: _dt.datetime,
    persist: Callable[[bytes, str | None], None] | None = None,
    configured: Callable[[], set[bytes]] | None = None,
) -> Console:
    """A console over `dsp` as `gbhan dsp serve` runs it: device responses judged with the
    users' keys (RTDS's and DCC Boxed's keystores at `gbcs_date`) and the devices'
    certificates from the SMKI service at `smki_url`; the launcher signs as DCC Boxed's
    users and sends to `duis_url`."""

    def users() -> Keystore:
        keys = Keystore.open(rtds_keystore, clock=gbcs_date)
        return keys.load(dccboxed_keystore)

    verify_keys = users()
    launcher = Launcher(dsp, Keystore.open(dccboxed_keystore, clock=gbcs_date), duis_url)
    return Console(
        dsp,
        live=live,
        verifier=Verifier(verify_keys, _smki_fetch(smki_url), users=users),
        launcher=launcher,
        persist=persist,
        configured=configured,
    )


def device_verifier(device_keys: Iterable[Keystore], gbcs_date: _dt.datetime) -> Verifier:
    """A verifier for a scenario's DSP, which has no SMKI service beside it: the users' keys
    (RTDS's and DCC Boxed's keystores at `gbcs_date`) and each device's certificates from
    `device_keys`, the keystores its certificates were issued into (`PremisesKeys`)."""

    def users() -> Keystore:
        keys = Keystore.open(data.rtds_keystore(), clock=gbcs_date)
        return keys.load(data.dccboxed_keystore())

    stores = list({id(k): k for k in device_keys}.values())

    def fetch(eui: bytes) -> list[bytes]:
        found = []
        for store in stores:
            for usage in (DS, KA):
                for entry in store.entries(eui, usage, valid_only=False):
                    if entry.certificate_der is not None:
                        found.append(entry.certificate_der)
                    elif entry.certificate is not None:
                        found.append(entry.certificate.public_bytes(Encoding.DER))
        return found

    return Verifier(users(), fetch, source="the device's certificate", users=users)
