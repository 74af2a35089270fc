"""The console's parts on their own: the event hub's numbering, replay and cut-off of a slow
page; the launcher's body fields and its spoilt signature, judged by the DUIS checks."""

from __future__ import annotations

import asyncio

import pytest
from web_helpers import TEMPLATE_7_6

from emulator import data
from emulator.backoffice import document, duis, xmlsig
from emulator.web.events import EventHub
from emulator.web.launcher import LaunchError, _apply, fields_of, spoil_signature
from gbcs.keystore import Keystore


def test_a_subscriber_gets_what_came_after_its_snapshot_then_live_events_once():
    async def run() -> list[int]:
        hub = EventHub()
        for n in range(5):
            hub.publish("duis", {"n": n})
        got: list[int] = []

        async def follow() -> None:
            async for event in hub.subscribe(after=3):
                got.append(event.id)
                if event.id == 7:
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0)
        hub.publish("premises", {"n": 5})
        hub.publish("duis", {"n": 6})
        await asyncio.wait_for(task, 5)
        return got

    assert asyncio.run(run()) == [4, 5, 6, 7]


def test_a_page_that_falls_behind_is_cut_off_and_close_ends_every_stream():
    async def run() -> tuple[int, list[int], int]:
        hub = EventHub(queue_size=3)
        slow = hub.subscribe()
        waiting = asyncio.create_task(slow.__anext__())
        await asyncio.sleep(0)  # subscribed, waiting for its first event
        for n in range(5):  # it never gets to read: its queue overflows at the fourth
            hub.publish("duis", {"n": n})
        with pytest.raises(StopAsyncIteration):
            await waiting
        reader = hub.subscribe(after=0)
        replayed = [(await reader.__anext__()).id for _ in range(5)]
        last = asyncio.create_task(reader.__anext__())
        await asyncio.sleep(0)
        hub.close()
        with pytest.raises(StopAsyncIteration):
            await last
        return hub.dropped_subscribers, replayed, hub.last_id

    dropped, replayed, last_id = asyncio.run(run())
    assert dropped == 1 and replayed == [1, 2, 3, 4, 5] and last_id == 5


def test_a_quiet_stream_beats_and_then_carries_the_next_event():
    async def run() -> list[int | None]:
        hub = EventHub()
        stream = hub.subscribe(heartbeat_s=0.05)
        beats = [await stream.__anext__(), await stream.__anext__()]
        hub.publish("duis", {})
        event = await stream.__anext__()
        await stream.aclose()
        return [None if b is None else b.id for b in beats] + [event.id if event else None]

    assert asyncio.run(run()) == [None, None, 1]


def test_event_wire_format():
    hub = EventHub()
    event = hub.publish("duis", {"code": "I0"})
    assert event.sse() == b'id: 1\nevent: duis\ndata: {"code": "I0"}\n\n'


def test_the_7_6_template_offers_its_switch_index_and_duration():
    root = duis.parse((data.duis_catalogue() / TEMPLATE_7_6).read_bytes())
    body = duis.parse_request(root).body
    fields = {f["label"]: (f["path"], f["value"]) for f in fields_of(body)}
    assert fields == {
        "DeactivateAuxiliaryLoad/DeactivateALCSHCALCS/@index": ("0@index", "3"),
        "DeactivateAuxiliaryLoad/DeactivateALCSHCALCS/Duration": ("0.0", "60"),
    }
    _apply(body, "0.0", "15")
    _apply(body, "0@index", "2")
    assert {f["value"] for f in fields_of(body)} == {"15", "2"}
    for bad in ("1", "0.5", "0@nothing", "x"):
        with pytest.raises(LaunchError):
            _apply(body, bad, "1")


def test_a_spoilt_signature_is_refused_by_the_duis_checks():
    keys = Keystore.open(data.dccboxed_keystore())
    signer = xmlsig.signer_from_keystore(keys, bytes.fromhex("90B3D51F30020000"))
    root = duis.parse((data.duis_catalogue() / TEMPLATE_7_6).read_bytes())
    duis.set_originator(root, bytes.fromhex("90B3D51F30020000"), 5)
    signed = duis.to_bytes(xmlsig.sign(root, signer))
    schema = duis.load_schema(str(data.duis_schema()))
    trusted = xmlsig.TrustedCertificates.from_keystore(keys)
    assert document.check(signed, schema, trusted).signed
    with pytest.raises(document.Refused) as refused:
        document.check(spoil_signature(signed), schema, trusted)
    assert refused.value.code.value == "E41"
