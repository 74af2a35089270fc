"""What a day runs on: the in-process DSP (as `gbhan dsp serve` makes it, with the catalogue's
users registered: Import Supplier, Network Operator, Gas Supplier), the RTDS premises behind
it, and each user sending signed DUIS over the DSP's service API in this process, all on one
simulated clock, so 24 hours of requests and device time run in seconds.

The premises is the RTDS household with its GSME waking every `wake_interval_s` (30 minutes,
a battery gas meter's: the household's own profile wakes it every 2 s for catalogue runs)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from emulator import data
from emulator.backoffice import duis, xmlsig
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE, make_dsp
from emulator.backoffice.catalogue import catalogue_user_configs, catalogue_users
from emulator.backoffice.dsp import Dsp
from emulator.backoffice.eligibility import DuisRole
from emulator.backoffice.state import DspState
from emulator.backoffice.users import Deliveries, DuisUser, InProcessTransport
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from emulator.devices.gsme.meter import WAKE_INTERVAL_S
from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import PROFILE, Premises
from emulator.han import Medium
from gbcs.keystore import Keystore

#: a day starts at midnight UTC on the emulator's clock
DAY_START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


class TimedDeliveries(Deliveries):
    """In-process delivery that keeps when each device alert reached its user: (UTC time,
    user EUI, the alert's DUIS document)."""

    def __init__(self, clock: Clock, *users: DuisUser) -> None:
        super().__init__(*users)
        self.clock = clock
        self.alerts: list[tuple[dt.datetime, bytes, bytes]] = []

    async def deliver(self, user, document_: bytes, kind: duis.DocumentKind) -> bool:
        delivered = await super().deliver(user, document_, kind)
        if delivered and kind == duis.DocumentKind.DEVICE_ALERT:
            self.alerts.append((self.clock.utc_now(), bytes(user.eui), document_))
        return delivered


@dataclass
class Rig:
    """A day's DSP, premises and users (role -> DuisUser), and a keystore that opens what the
    devices encrypt for those users (DCC Boxed's and RTDS's key pairs)."""

    clock: Clock
    dsp: Dsp
    premises: Premises
    users: dict[DuisRole, DuisUser]
    reader_keys: Keystore
    delivery: TimedDeliveries


@contextlib.asynccontextmanager
async def rig(clock: Clock, wake_interval_s: float = WAKE_INTERVAL_S) -> AsyncIterator[Rig]:
    """The DSP and premises on `clock` (simulated), torn down afterwards."""
    keystore = data.dccboxed_keystore()
    with tempfile.TemporaryDirectory(prefix="gbhan-day-") as state_dir:
        state = DspState.open(Path(state_dir), [data.rtds_keystore(), keystore],
                              DEFAULT_GBCS_DATE)  # fmt: skip
        premises = None
        try:
            keys = Keystore.open(keystore, clock=DEFAULT_GBCS_DATE)
            for config in catalogue_user_configs(keys):
                state.add_user(config)
            dsp = make_dsp(
                schema_dir=data.duis_schema(), dccboxed=keystore, rtds=data.rtds(),
                rtds_keystore=data.rtds_keystore(), clock=clock,
                wan=Wan(clock, latency_s=0.0), state=state,
            )  # fmt: skip
            profile = json.loads(PROFILE.read_text())
            profile["gas"]["wake_interval_s"] = wake_interval_s
            premises = await Premises.start(
                clock, Medium(clock, seed=1),
                keys=PremisesKeys.open(identities=state.identities), profile=profile,
            )  # fmt: skip
            dsp.attach(premises)
            trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(keystore))
            users = catalogue_users(keys, dsp.schema, trusted, InProcessTransport(dsp))
            delivery = TimedDeliveries(clock, *users.values())
            dsp.delivery = delivery
            reader_keys = Keystore.open(data.rtds_keystore(), clock=DEFAULT_GBCS_DATE)
            yield Rig(clock, dsp, premises, users, reader_keys, delivery)
            await dsp.drain()
        finally:
            if premises is not None:
                await premises.close()
            state.close()
