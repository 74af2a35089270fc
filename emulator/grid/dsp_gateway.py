"""The real path behind the DNO monitor: DNO client → DSP (in process) → WAN → Comms Hub →
ESME → HCALCS/PLCS, one ``Premises`` per household that has a switch.

Every SRV is a DUIS request built from the DCC's template for it (``shared/duis``), addressed
to that household's ESME, signed by the DNO (XML signature; GBCS signature of the pre-command
for critical ones) and answered through the DSP; the outcome is read from the device's GBCS
response. The Supplier's unjoin goes the same way, and the DSP's N65 alert reaches the monitor
through the DNO's endpoint. Each household gets its own EUIs and a KA certificate from the
test PKI so the ACB's MAC verifies at its meter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator import data
from emulator.grid.consent import ConsentRegister
from emulator.grid.gateway import (
    SRV_ADD_BOOST,
    SRV_CURTAIL,
    SRV_READ_LABELS,
    SRV_REMOVE_BOOST,
    SRV_RESTORE,
    SWITCHING_SRVS,
    GatewayAlert,
    SrvOutcome,
    SwitchLabel,
)
from emulator.grid.plant import SwitchingSeen
from emulator.grid.population import Population, PremisesPlan

log = logging.getLogger(__name__)

RTDS_ESME_TEXT = b"00-DB-12-34-56-78-90-A0"
#: DCC Boxed's GBCS organisation certificates expired in January 2026: runs are dated inside
#: their validity, as the back office's own tests do.
RUN_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"


class HanUnavailable(RuntimeError):
    """The real DSP + Premises path cannot be built here (missing package, or unsupported)."""


def esme_eui(index: int) -> bytes:
    """Household ``index``'s ESME: distinct from every RTDS device (00DB1234...)."""
    return bytes.fromhex(f"00DB5A{index:04X}0000A0")


def hub_eui(index: int) -> bytes:
    return bytes.fromhex(f"00DB5A{index:04X}0000A2")


def _dashed(eui: bytes) -> bytes:
    return "-".join(f"{b:02X}" for b in eui).encode()


@dataclass
class Site:
    plan: PremisesPlan
    premises: object  # emulator.devices.premises.Premises
    esme: bytes


def _template(name: str, esme: bytes) -> bytes:
    path = data.duis() / f"{name}_SUCCESS_REQUEST_DUIS.XML"
    return path.read_bytes().replace(RTDS_ESME_TEXT, _dashed(esme))


def _edit(xml: bytes, edit: Callable) -> bytes:
    from emulator.backoffice import duis

    root = duis.parse(xml)
    edit(root)
    return duis.to_bytes(root)


def _only_slot(tag: str, slot: int) -> Callable:
    """ECS62 requests name all five slots: true for ours, false (unchanged) for the others."""

    def edit(root) -> None:
        for node in root.iter(f"{SR}{tag}"):
            node.text = "true" if int(node.get("index")) == slot else "false"

    return edit


class DspGateway:
    """``SrvGateway`` over the DSP: what the DNO monitor sends, as the DNO's DUIS client."""

    def __init__(self, feeder: DspFeederHan, timeout_s: float) -> None:
        self.feeder = feeder
        self.timeout_s = timeout_s
        self._callbacks: list[Callable[[GatewayAlert], None]] = []
        self._counter = itertools.count(10_000)

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None:
        self._callbacks.append(callback)

    def alert(self, alert: GatewayAlert) -> None:
        for callback in self._callbacks:
            callback(alert)

    async def _run(self, user, srv: str, premises: str, slot: int | None, xml: bytes,
                   level: int | None = None) -> SrvOutcome:  # fmt: skip
        from emulator.backoffice.users import RoundTripFailed
        from gbcs import decode
        from gbcs.errors import GbcsError

        feeder = self.feeder
        sent = feeder.now()
        try:
            answers = await user.run(user.prepare(xml, next(self._counter)), self.timeout_s)
        except TimeoutError:
            return SrvOutcome(srv, premises, slot, False, "timeout", sent, None, level=level)
        except RoundTripFailed as err:
            return SrvOutcome(srv, premises, slot, False, f"failed:{err}", sent, None, level=level)
        elapsed = feeder.now() - sent
        final = answers[-1]
        if final.code != "I0":
            return SrvOutcome(srv, premises, slot, False, f"rejected:{final.code}", sent,
                              elapsed, level=level)  # fmt: skip
        labels: tuple[SwitchLabel, ...] = ()
        status = "executed"
        try:
            payload = decode(final.gbcs_payload or b"").payload
        except GbcsError as err:
            return SrvOutcome(srv, premises, slot, False, f"undecodable:{err}", sent, elapsed)
        results = [str(r.result) for r in (getattr(payload, "results", None) or [])]
        if srv == SRV_READ_LABELS:
            results = results[:5]  # the labels; other items may be absent for empty slots
        if any(r != "success" for r in results):
            status = "rejected:" + next(r for r in results if r != "success")
        if srv == SRV_READ_LABELS and status == "executed":
            labels = feeder.labels_from(premises, payload)
        return SrvOutcome(srv, premises, slot, status == "executed", status, sent, elapsed,
                          labels=labels, level=level)  # fmt: skip

    async def read_labels(self, premises: str) -> SrvOutcome:
        site = self.feeder.sites[premises]
        xml = _template("ECS61a_7.7_ALL_OPTIONALS", site.esme)
        return await self._run(self.feeder.dno, SRV_READ_LABELS, premises, None, xml)

    async def curtail(self, premises: str, slot: int, duration_s: int, level: int | None = None):
        site = self.feeder.sites[premises]

        def edit(root) -> None:
            node = next(root.iter(f"{SR}DeactivateALCSHCALCS"))
            node.set("index", str(slot))
            node.find(f"{SR}Duration").text = str(max(1, int(duration_s) // 60))

        # DUIS 5.4's 7.6 carries no level: a PLCS goes to the level its meter was configured
        # with at commissioning (docs/grid.md); `level` is the DNO's record of it, sent nowhere.
        xml = _edit(_template("ECS47Deactivate_7.6", site.esme), edit)
        return await self._run(self.feeder.dno, SRV_CURTAIL, premises, slot, xml, level)

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        site = self.feeder.sites[premises]

        def edit(root) -> None:
            next(root.iter(f"{SR}ResetALCSHCALCS")).set("index", str(slot))

        xml = _edit(_template("ECS47Reset_7.8", site.esme), edit)
        return await self._run(self.feeder.dno, SRV_RESTORE, premises, slot, xml)

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        site = self.feeder.sites[premises]
        xml = _edit(_template("ECS62Remove_7.10", site.esme),
                    _only_slot("RemoveFromBoostButton", slot))  # fmt: skip
        return await self._run(self.feeder.dno, SRV_REMOVE_BOOST, premises, slot, xml)

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        site = self.feeder.sites[premises]
        xml = _edit(_template("ECS62Add_7.9", site.esme), _only_slot("AddToBoostButton", slot))
        return await self._run(self.feeder.dno, SRV_ADD_BOOST, premises, slot, xml)


class _MeterTap:
    """What the DSP attaches for one household: the ``Premises`` itself, with every switching
    SRV its meter executed noted (the premises' own ``Execution``, whatever sent the command,
    and also when the answer is then lost on the WAN)."""

    def __init__(self, feeder: DspFeederHan, premises_id: str, premises) -> None:
        self.feeder, self.premises_id, self.premises = feeder, premises_id, premises

    @property
    def device_ids(self):
        return self.premises.device_ids

    def on_alert(self, callback) -> None:
        self.premises.on_alert(callback)

    async def execute(self, command: bytes):
        execution = await self.premises.execute(command)
        if execution.outcome == "executed" and execution.srv in SWITCHING_SRVS:
            self.feeder.seen.append(SwitchingSeen(
                self.feeder.now(), self.premises_id, execution.slot, "meter", execution.srv,
                f"meter executed {execution.use_case}",
            ))  # fmt: skip
        return execution


class _PremisesCapture:
    """One household's view of the feeder's single capture: frames go to the shared pcap, keys
    are labelled with the premises (every hub labels its key "HAN network key", and the pcap
    holds every household's HAN, so without the prefix only the last one's would be kept)."""

    def __init__(self, shared, premises_id: str) -> None:
        self.shared, self.premises_id = shared, premises_id

    def add_key(self, label: str, key: bytes) -> None:
        self.shared.add_key(f"{self.premises_id} {label}", key)

    def write(self, mac_frame: bytes) -> None:
        self.shared.write(mac_frame)


class _Delivery:
    """The DSP's in-process delivery to the DNO's and Supplier's endpoints; the DNO's DCC
    alerts are also handed to the monitor (after the client has checked them)."""

    def __init__(self, feeder: DspFeederHan) -> None:
        self.feeder = feeder

    async def deliver(self, user, document_: bytes, kind: str) -> bool:
        feeder = self.feeder
        client = {feeder.dno.eui: feeder.dno, feeder.supplier.eui: feeder.supplier}.get(
            bytes(user.eui)
        )
        if client is None:
            return False
        ok = await client.receive(document_)
        if ok and kind == "dcc-alert" and client is feeder.dno:
            feeder.on_dcc_alert(client.received[-1])
        return ok


class DspFeederHan:
    """``FeederHan`` on the real back office and devices (model switches)."""

    def __init__(self, population: Population, clock, timeout_s: float) -> None:
        self.population = population
        self.clock = clock
        self.t0 = clock.now()
        self.sites: dict[str, Site] = {}
        self.by_esme: dict[bytes, Site] = {}
        self.gateway = DspGateway(self, timeout_s)
        self.boosts_refused = 0
        self.unjoins_rejected = 0
        self.board_watch = None  # emulator.grid.boards.BoardWatch when boards are in the run
        self.notes: list[str] = []  # lines for the run's timeline (which premises has a board)
        self.dsp = self.dno = self.supplier = self.capture = None
        self.seen: list[SwitchingSeen] = []  # switching at the meters and switches
        self._applied: dict[tuple[str, int], int] = {}  # remote commands a switch had applied
        self._source: dict[tuple[str, int], str] = {}  # a board's last output source
        #: premises -> output sources its EV switch showed at the steps ("boost", "remote" ...)
        self.ev_sources: dict[str, dict[str, float]] = {}

    def now(self) -> float:
        return self.clock.now() - self.t0

    def labels_from(self, premises: str, payload) -> tuple[SwitchLabel, ...]:
        """ECS61a: the five labels come first, then the five identifiers, two calendars, and
        each slot's output state as the meter read it from the switch (items 12-16: boolean,
        null where it could not). The DNO learns a boost from that state, not from the
        switch object. The PLCS/HCALCS kind is the DNO's asset record."""
        site = self.sites[premises]
        data = list(payload.data)
        kinds = {s.slot: s.kind for s in site.plan.switches}
        found = []
        for slot in range(1, 6):
            label = str(data[slot - 1].value or "")
            if label and slot in kinds:
                state = data[11 + slot] if len(data) > 11 + slot else None
                closed = None
                if state is not None and str(state.type) == "boolean":
                    closed = bool(state.value)
                found.append(SwitchLabel(slot, label, kinds[slot], closed=closed))
        return tuple(found)

    def on_dcc_alert(self, answer) -> None:
        code = answer.root.findtext(f".//{SR}DCCAlertCode") or ""
        esme_text = (answer.root.findtext(f".//{SR}ESMEDeviceID") or "").replace("-", "")
        site = self.by_esme.get(bytes.fromhex(esme_text)) if esme_text else None
        if site is None:
            log.warning("DCC alert %s for an ESME not on this feeder: %s", code, esme_text)
            return
        slot = site.plan.ev_switch.slot if site.plan.ev_switch else None
        self.gateway.alert(GatewayAlert(code, site.plan.premises_id, slot, self.now(),
                                        detail=f"DSP alert {code} for ESME {esme_text}"))

    def baseline(self) -> None:
        """Remember each model switch's count of applied remote commands (after setup)."""
        for pid, site in self.sites.items():
            for slot, unit in site.premises.switches.items():
                if hasattr(unit, "applied"):
                    self._applied[(pid, slot)] = unit.applied

    def _scan_switches(self) -> None:
        """Note every switch that took remote commands from its meter since the last scan. A
        model counts them (``applied``: DRLC events, Cancel All, On/Off, Level, never the
        consumer's boost); a board's output is read only for the EV slot (``_note_source``)."""
        for (pid, slot), before in self._applied.items():
            now_applied = self.sites[pid].premises.switches[slot].applied
            if now_applied != before:
                self._applied[(pid, slot)] = now_applied
                self.seen.append(SwitchingSeen(
                    self.now(), pid, slot, "switch", None,
                    f"switch applied {now_applied - before} remote command(s)",
                ))  # fmt: skip

    def _note_source(self, pid: str, slot: int, source: str) -> None:
        key = (pid, slot)
        if key in self._applied:
            return  # a model: counted by _scan_switches
        if source == "remote" and self._source.get(key) != "remote":
            self.seen.append(SwitchingSeen(self.now(), pid, slot, "switch", None,
                                           "output came under remote control"))  # fmt: skip
        self._source[key] = source

    # --- FeederHan ----------------------------------------------------------------------
    def outputs(self) -> np.ndarray:
        out = np.ones(len(self.population.premises))
        for site in self.sites.values():
            ev = site.plan.ev_switch
            if ev is None:
                continue
            unit = site.premises.switches[ev.slot]
            relay, level, source = unit.output()
            self._note_source(site.plan.premises_id, ev.slot, source)
            self.ev_sources.setdefault(site.plan.premises_id, {}).setdefault(source, self.now())
            out[site.plan.index] = (level / 100.0) if relay else 0.0
        self._scan_switches()
        return out

    def switching_seen(self) -> list[SwitchingSeen]:
        self._scan_switches()
        return list(self.seen)

    async def press_boost(self, premises: str, slot: int) -> bool:
        refused = await self.sites[premises].premises.switches[slot].press_boost()
        if refused is not None:
            self.boosts_refused += 1
            log.info("boost refused at %s slot %d: %s", premises, slot, refused)
        return refused is None

    def silence_switch(self, premises: str, slot: int) -> None:
        unit = self.sites[premises].premises.switches[slot]
        asyncio.ensure_future(unit.set_fault(True))

    async def supplier_unjoin(self, premises: str, slot: int) -> bool:
        """The Supplier's SRV 8.8.1 (CS04AC) unjoining the HCALCS from the ESME."""
        site = self.sites[premises]
        other = site.premises.switches[slot].ieee.replace(":", "")
        xml = _template("CS04ACCritical_8.8.1", site.esme).replace(
            b"00-DB-12-34-56-78-90-99", _dashed(bytes.fromhex(other))
        )
        outcome = await self.gateway._run(self.supplier, "8.8.1", premises, slot, xml)
        if not outcome.ok:
            self.unjoins_rejected += 1
            log.warning("Supplier unjoin at %s: %s", premises, outcome.status)
        return outcome.ok

    def stats(self) -> dict:
        dsp = self.dsp
        return {
            "premises_on_han": len(self.sites),
            "dsp_accepted": dsp.stats.accepted,
            "dsp_refused": dict(dsp.stats.refused),
            "dsp_device_responses": dsp.stats.device_responses,
            "dsp_no_response": dsp.stats.no_response,
            "dsp_late_over_30s": len(dsp.times.late()),
            "dcc_alerts": len(dsp.dcc_alerts),
            "boosts_refused": self.boosts_refused,
            "supplier_unjoins_rejected": self.unjoins_rejected,
            **(self.board_watch.stats() if self.board_watch is not None else {}),
        }

    async def close(self) -> None:
        await self.dsp.drain()
        for site in self.sites.values():
            await site.premises.close()
        if self.capture is not None:
            self.capture.close()


async def build_feeder_han(
    scenario, population: Population, consent: ConsentRegister, clock, *, boards: int,
    pcap: Path | None,
) -> DspFeederHan:  # fmt: skip
    """Build the DSP, the DNO and Supplier clients and one Premises per household with a
    switch, on ``clock`` (simulated). ``boards`` EV switches (the DNO's first candidates,
    ``boards.choose``) are the real firmware on virtual boards, checked by ``BoardWatch``."""
    from emulator.grid.boards import BoardWatch, choose

    chosen = dict(choose(population, consent, boards)) if boards > 0 else {}
    try:
        from cryptography import x509

        from emulator.backoffice.assembly import make_dsp
        from emulator.backoffice.eligibility import Eligibility
        from emulator.backoffice.inventory import (
            ELECTRICITY_DISTRIBUTOR,
            SUPPLIER,
            Device,
            PremisesRecord,
        )
        from emulator.backoffice.users import InProcessTransport, make_user
        from emulator.backoffice.wan import Wan
        from emulator.devices.keys import DEVICE_CERT_START, PremisesKeys
        from emulator.devices.premises import PROFILE, Premises
        from emulator.han.medium import LinkQuality, Medium
        from emulator.han.pcap import HanCapture
        from gbcs.keystore import Keystore
    except ImportError as err:
        raise HanUnavailable(f"a package of the real path is missing: {err}") from err

    han = DspFeederHan(population, clock, scenario.han.srv_timeout_s)
    dccboxed = data.dccboxed_keystore()
    han.dsp = dsp = make_dsp(
        schema_dir=data.duis_schema(),
        dccboxed=dccboxed,
        rtds=None,
        rtds_keystore=data.rtds_keystore(),
        clock=clock,
        wan=Wan(clock, latency_s=scenario.han.wan_latency_s, jitter_s=scenario.han.wan_jitter_s,
                loss=scenario.han.wan_loss, seed=scenario.seed),
        eligibility=Eligibility(secmp0046_hcalcs=True, secmp0046_boost=True),
        delivery=_Delivery(han),
    )
    user_keys = Keystore.open(dccboxed, clock=RUN_DATE)
    transport = InProcessTransport(dsp)
    han.dno = make_user("dno", user_keys, dsp.schema, dsp.trusted, transport)
    han.supplier = make_user("supplier", user_keys, dsp.schema, dsp.trusted, transport)
    keys = PremisesKeys.open()
    han.capture = HanCapture(pcap, clock) if pcap is not None else None
    base_profile = json.loads(PROFILE.read_text())
    for plan in population.premises:
        if not plan.switches:
            continue  # no switch: the household is load only, nothing on its HAN to command
        esme = esme_eui(plan.index + 1)
        _serial, der = keys.pki.issue_device(esme, "KA", DEVICE_CERT_START)
        certificate = x509.load_der_x509_certificate(der)
        for store in (keys.keystore, dsp.acb_keys):
            store.add_certificate(certificate, f"gbhan feeder ESME KA {esme.hex()}")
        profile = dict(base_profile)
        labels = {s.slot: s.label for s in plan.switches}
        profile["labels"] = {str(s): labels.get(s, "") for s in range(1, 6)}
        profile["identifiers"] = {str(s): "00" * 8 for s in range(1, 6)}
        profile["device_log"] = {}  # only its own switches (joined by Premises.start)
        profile["gbcs_devices"] = {}  # RTDS's extra HCALCS/PPMID: not on a feeder household
        capture = _PremisesCapture(han.capture, plan.premises_id) if pcap is not None else None
        medium = Medium(
            clock, seed=scenario.seed * 1000 + plan.index, capture=capture,
            default_link=LinkQuality(latency_s=scenario.han.han_latency_s),
        )  # fmt: skip
        premises = await Premises.start(
            clock, medium, keys=keys, switch="model",
            slots=[s.slot for s in plan.switches if s.kind == "hcalcs"],
            plcs_slots=[s.slot for s in plan.switches if s.kind == "plcs"],
            secmp0046_boost=True, profile=profile, esme_eui=esme, hub_eui=hub_eui(plan.index + 1),
            plcs_curtail_levels={s.slot: s.curtail_level for s in plan.switches if s.kind == "plcs"},
            board_slots=[chosen[plan.premises_id]] if plan.premises_id in chosen else [],
        )  # fmt: skip
        dsp.inventory.add_premises(
            PremisesRecord(plan.premises_id, SUPPLIER, ELECTRICITY_DISTRIBUTOR)
        )
        for eui, kind in premises.device_ids.items():
            # GBCS has no PLCS device type: a PLCS joins its meter as an HCALCS-type device.
            kind = "hcalcs" if kind.lower() == "plcs" else kind.lower()
            dsp.inventory.add(Device(bytes.fromhex(eui), kind, plan.premises_id))
        dsp.attach(_MeterTap(han, plan.premises_id, premises))
        site = Site(plan, premises, esme)
        han.sites[plan.premises_id] = site
        han.by_esme[esme] = site
    if chosen:
        units = {(pid, slot): han.sites[pid].premises.switches[slot] for pid, slot in chosen.items()}
        han.board_watch = BoardWatch(
            han.gateway, units,
            lambda pid, slot: han.sites[pid].premises.esme.slots[slot].curtail_level,
        )  # fmt: skip
        han.gateway = han.board_watch  # type: ignore[assignment]
        for (pid, slot), unit in units.items():
            han.notes.append(f"board: {pid} slot {slot} ({unit.role.upper()}) is the switch "
                             "firmware on a virtual board, on the simulated clock")  # fmt: skip
    han.baseline()
    han.t0 = clock.now()
    return han
