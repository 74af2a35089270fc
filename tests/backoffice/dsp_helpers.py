"""Building a DSP for tests, users signing templates as themselves, and a premises test
double that answers each command with the RTDS RESPONSE of the RTDS command it matches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from backoffice_helpers import DCCBOXED, RTDS

from emulator import data
from emulator.backoffice import duis, xmlsig
from emulator.backoffice.dsp import Dsp
from emulator.backoffice.inventory import rtds_inventory
from emulator.backoffice.registry import dcc_boxed_registry
from emulator.backoffice.routing import Router
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore

RTDS_KEYSTORE = data.rtds_keystore()
# DCC Boxed's GBCS organisation certificates expired in January 2026: a date they held.
GBCS_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def dsp_keystores() -> tuple[Keystore, Keystore]:
    """The DSP's GBCS keys (users', ACB's), as `gbhan dsp serve` assembles them."""
    from emulator.backoffice.assembly import acb_keystore, users_keystore

    return users_keystore(DCCBOXED, GBCS_DATE), acb_keystore(RTDS_KEYSTORE, GBCS_DATE)


def content_of(data: bytes) -> tuple[int, bytes, bytes]:
    """(message code, target, DF content without header, signature or MAC) of a command."""
    message = decode(data)
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    start = message.content_offset - message.apdu_offset
    return message.message_code, bytes(message.target), bytes(message.apdu[start:end])


def rtds_responses() -> dict[tuple[int, bytes], tuple[str, bytes]]:
    """Every RTDS SUCCESS command and pre-command by code, target and content, and by code
    and target alone → (folder, RESPONSE)."""
    table = {}
    for command in sorted(RTDS.glob("*/*_SUCCESS_*COMMAND_GBCS.HEX")):
        response = Path(str(command).replace("_PRECOMMAND_", "_RESPONSE_").replace(
            "_COMMAND_", "_RESPONSE_"))  # fmt: skip
        if not response.exists():
            continue
        data = bytes.fromhex(command.read_text().strip())
        answer = (command.parent.name, bytes.fromhex(response.read_text().strip()))
        table.setdefault(content_of(data), answer)
        # ACB commands' DLMS invoke ids carry the ACB's counter: also by code and target
        message = decode(data)
        table.setdefault((message.message_code, bytes(message.target)), answer)
    return table


@dataclass
class Execution:
    use_case: str
    outcome: str
    response: bytes | None
    alerts: list[bytes] = field(default_factory=list)
    switch: dict = field(default_factory=dict)
    latency_s: float = 0.0


class RtdsPremises:
    """Test double of emulator.devices.premises.Premises: answers a command with the RTDS
    RESPONSE of the RTDS command carrying the same content; records what it received."""

    TABLE: dict | None = None

    def __init__(self, device_ids, alerts: list[bytes] | None = None):
        if RtdsPremises.TABLE is None:
            RtdsPremises.TABLE = rtds_responses()
        self.device_ids = [bytes(d) for d in device_ids]
        self.received: list[bytes] = []
        self.extra_alerts = alerts or []
        self.callbacks = []

    def on_alert(self, callback) -> None:
        self.callbacks.append(callback)

    async def execute(self, command: bytes) -> Execution:
        self.received.append(bytes(command))
        message = decode(command)
        found = self.TABLE.get(content_of(command)) or self.TABLE.get(
            (message.message_code, bytes(message.target))
        )
        if found is None:
            return Execution(message.use_case.name, "rejected:unknown command", None)
        return Execution(found[0], "executed", found[1], list(self.extra_alerts))


def build_dsp(schema, trusted, dsp_signer, keys=None, *, wan=None, clock=None, **kwargs):
    """A DSP on the RTDS population with DCC Boxed's Supplier and DNO and one RTDS premises."""
    clock = clock or Clock("wall", start_utc=GBCS_DATE)
    keys, acb_keys = keys or dsp_keystores()
    inventory = rtds_inventory(RTDS)
    users = kwargs.pop("users", None) or dcc_boxed_registry(Keystore.open(DCCBOXED))
    dsp = Dsp(
        schema=schema,
        trusted=trusted,
        signer=dsp_signer,
        gbcs_keys=keys,
        acb_keys=acb_keys,
        users=users,
        inventory=inventory,
        router=Router(wan or Wan(clock, latency_s=0.0)),
        clock=clock,
        utc_now=lambda: GBCS_DATE,
        **kwargs,
    )
    premises = RtdsPremises(inventory.devices)
    dsp.attach(premises)
    return dsp, premises


def signed_as(path, eui: str, signer: xmlsig.Signer, counter: int | None = None) -> bytes:
    """A template as that user sends it: originator replaced, re-signed."""
    root = duis.parse(Path(path).read_bytes())
    duis.set_originator(root, bytes.fromhex(eui), counter)
    return duis.to_bytes(xmlsig.sign(root, signer))


async def with_real_premises(schema, trusted, dsp_signer, clock, wan=None):
    """A DSP (as `build_dsp`) routed to the emulated RTDS premises instead of the test double,
    on `clock`: (dsp, premises); the caller closes the premises."""
    from emulator.backoffice.premises_factory import build_premises

    dsp, _double = build_dsp(schema, trusted, dsp_signer, wan=wan, clock=clock)
    dsp.router = Router(dsp.router.wan)
    premises = await build_premises(clock)
    dsp.attach(premises)
    return dsp, premises


def supplier_on_real_premises(schema, trusted, dsp_signer, gbcs_keys, scenario, *,
                              wan_latency_s: float = 0.0):  # fmt: skip
    """`scenario(dsp, premises, supplier)`, a coroutine, on a simulated clock from GBCS_DATE:
    a DSP routed to the emulated RTDS premises (`with_real_premises`), DCC Boxed's Supplier
    sending in process and receiving its answers; the DSP drained and the premises closed
    after. What the scenario returns."""
    from emulator.backoffice.users import Deliveries, InProcessTransport, make_user

    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def go():
        wan = Wan(clock, latency_s=wan_latency_s)
        dsp, premises = await with_real_premises(schema, trusted, dsp_signer, clock, wan)
        supplier = make_user("supplier", gbcs_keys, schema, trusted, InProcessTransport(dsp))
        dsp.delivery = Deliveries(supplier)
        try:
            return await scenario(dsp, premises, supplier)
        finally:
            await dsp.drain()
            await premises.close()

    return clock.run(go)
