"""The DNO's DUIS client: the ``SrvGateway`` the monitor uses, over the DSP.

Every SRV is a DUIS request built from the DCC's template for it (``emulator.data.duis()``), addressed
to the household's ESME, signed by the sending user and answered through the DSP; the outcome
is read from the device's GBCS response. The client knows nothing of how the premises are
built: it is given the user to send as, the clock, each premises' ESME EUI and how to read
that premises' labels (the switch kinds are the DNO's asset record, not on the wire).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from lxml import etree

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.users import DuisUser, RoundTripFailed
from emulator.grid.gateway import (
    SRV_ADD_BOOST,
    SRV_CURTAIL,
    SRV_READ_LABELS,
    SRV_REMOVE_BOOST,
    SRV_RESTORE,
    GatewayAlert,
    SrvOutcome,
    SrvResult,
    SwitchLabel,
)
from gbcs import decode
from gbcs.errors import GbcsError

__all__ = ["SRV_UNJOIN", "DnoClient", "LabelReader", "dashed", "read_labels", "template"]

#: The Supplier's unjoin of an HCALCS (CS04AC), sent through the same client.
SRV_UNJOIN = "8.8.1"
RTDS_ESME_TEXT = b"00-DB-12-34-56-78-90-A0"
SR = f"{{{duis.SR}}}"

#: premises, the decoded ECS61a payload -> the labelled slots it shows
LabelReader = Callable[[str, Any], tuple[SwitchLabel, ...]]
Edit = Callable[[etree._Element], None]


def dashed(eui: bytes) -> bytes:
    """An EUI-64 as DUIS writes it: ``00-DB-...``."""
    return "-".join(f"{b:02X}" for b in eui).encode()


def template(name: str, esme: bytes) -> bytes:
    """The DCC's success request for ``name``, addressed to ``esme``."""
    path = data.duis() / f"{name}_SUCCESS_REQUEST_DUIS.XML"
    return path.read_bytes().replace(RTDS_ESME_TEXT, dashed(esme))


def _edit(xml: bytes, edit: Edit) -> bytes:
    root = duis.parse(xml)
    edit(root)
    return duis.to_bytes(root)


def _find(root: etree._Element, tag: str) -> etree._Element:
    return next(root.iter(f"{SR}{tag}"))


def _only_slot(tag: str, slot: int) -> Edit:
    """ECS62 requests name all five slots: true for ours, false (unchanged) for the others."""

    def edit(root: etree._Element) -> None:
        for node in root.iter(f"{SR}{tag}"):
            node.text = "true" if int(node.get("index", "0")) == slot else "false"

    return edit


def read_labels(payload: Any, kinds: dict[int, str]) -> tuple[SwitchLabel, ...]:
    """ECS61a: the five labels come first, then the five identifiers, two calendars, and
    each slot's output state as the meter read it from the switch (items 12-16: boolean,
    null where it could not). The DNO learns a boost from that state, not from the switch
    object. ``kinds`` (slot -> "hcalcs"/"plcs") is the DNO's asset record of the premises."""
    items = list(payload.data)
    found = []
    for slot in range(1, 6):
        label = str(items[slot - 1].value or "")
        if label and slot in kinds:
            state = items[11 + slot] if len(items) > 11 + slot else None
            closed = None
            if state is not None and str(state.type) == "boolean":
                closed = bool(state.value)
            found.append(SwitchLabel(slot, label, kinds[slot], closed=closed))
    return tuple(found)


class DnoClient:
    """``SrvGateway`` over the DSP: what the DNO monitor sends, as the DNO's DUIS user."""

    def __init__(
        self,
        user: DuisUser,
        now: Callable[[], float],
        esme_of: Callable[[str], bytes],
        labels: LabelReader,
        timeout_s: float,
    ) -> None:
        self.user = user
        self.now = now
        self.esme_of = esme_of
        self.labels = labels
        self.timeout_s = timeout_s
        self._callbacks: list[Callable[[GatewayAlert], None]] = []
        self._counter = itertools.count(10_000)  # one request counter, whoever sends

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None:
        self._callbacks.append(callback)

    def alert(self, alert: GatewayAlert) -> None:
        """Hand a DSP alert the DNO received (checked by its endpoint) to the listeners."""
        for callback in self._callbacks:
            callback(alert)

    async def send(
        self, srv: str, premises: str, slot: int | None, xml: bytes, *,
        level: int | None = None, user: DuisUser | None = None,
    ) -> SrvOutcome:  # fmt: skip
        """Sign ``xml`` as ``user`` (default the DNO), run it through the DSP and read the
        device's answer. ``level`` is only recorded in the outcome."""
        sender = user if user is not None else self.user
        sent = self.now()
        try:
            answers = await sender.run(sender.prepare(xml, next(self._counter)), self.timeout_s)
        except TimeoutError:
            return SrvOutcome(srv, premises, slot, SrvResult.TIMEOUT, sent, None, level=level)
        except RoundTripFailed as err:
            return SrvOutcome(srv, premises, slot, SrvResult.FAILED, sent, None, str(err),
                              level=level)  # fmt: skip
        elapsed = self.now() - sent
        final = answers[-1]
        if final.code != "I0":
            return SrvOutcome(srv, premises, slot, SrvResult.REJECTED, sent, elapsed, final.code,
                              level=level)  # fmt: skip
        try:
            payload = decode(final.gbcs_payload or b"").payload
        except GbcsError as err:
            return SrvOutcome(srv, premises, slot, SrvResult.UNDECODABLE, sent, elapsed, str(err))
        results = [str(r.result) for r in (getattr(payload, "results", None) or [])]
        if srv == SRV_READ_LABELS:
            results = results[:5]  # the labels; other items may be absent for empty slots
        failure = next((r for r in results if r != "success"), None)
        if failure is not None:
            return SrvOutcome(srv, premises, slot, SrvResult.REJECTED, sent, elapsed, failure,
                              level=level)  # fmt: skip
        labels = self.labels(premises, payload) if srv == SRV_READ_LABELS else ()
        return SrvOutcome(srv, premises, slot, SrvResult.EXECUTED, sent, elapsed,
                          labels=labels, level=level)  # fmt: skip

    # --- SrvGateway ----------------------------------------------------------------------
    async def read_labels(self, premises: str) -> SrvOutcome:
        xml = template("ECS61a_7.7_ALL_OPTIONALS", self.esme_of(premises))
        return await self.send(SRV_READ_LABELS, premises, None, xml)

    async def curtail(
        self, premises: str, slot: int, duration_s: int, level: int | None = None
    ) -> SrvOutcome:
        def edit(root: etree._Element) -> None:
            node = _find(root, "DeactivateALCSHCALCS")
            node.set("index", str(slot))
            duration = node.find(f"{SR}Duration")
            assert duration is not None, "the DCC's 7.6 template has a Duration"
            duration.text = str(max(1, int(duration_s) // 60))

        # DUIS 5.4's 7.6 carries no level: a PLCS goes to the level its meter was configured
        # with at commissioning (docs/grid.md); `level` is the DNO's record of it, sent nowhere.
        xml = _edit(template("ECS47Deactivate_7.6", self.esme_of(premises)), edit)
        return await self.send(SRV_CURTAIL, premises, slot, xml, level=level)

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        def edit(root: etree._Element) -> None:
            _find(root, "ResetALCSHCALCS").set("index", str(slot))

        xml = _edit(template("ECS47Reset_7.8", self.esme_of(premises)), edit)
        return await self.send(SRV_RESTORE, premises, slot, xml)

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        xml = _edit(template("ECS62Remove_7.10", self.esme_of(premises)),
                    _only_slot("RemoveFromBoostButton", slot))  # fmt: skip
        return await self.send(SRV_REMOVE_BOOST, premises, slot, xml)

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        xml = _edit(template("ECS62Add_7.9", self.esme_of(premises)),
                    _only_slot("AddToBoostButton", slot))  # fmt: skip
        return await self.send(SRV_ADD_BOOST, premises, slot, xml)
