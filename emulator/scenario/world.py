"""The one composition root: the DSP, its DNO and Supplier users, one ``Premises`` per
household with a switch (each on its own HAN ``Medium``, all in one capture), the firmware
boards, and the ``FeederHan`` the scenario engine drives over them.

Each household gets its own EUIs and a KA certificate from the test PKI so the ACB's MAC
verifies at its meter. The DNO's SRVs go through ``grid.dno_client.DnoClient``; the DSP's N65
alert reaches the monitor through the DNO's endpoint. ``open_household`` builds the single
RTDS household ``gbhan emulate command`` runs one GBCS command on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cryptography import x509

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.dsp import Dsp
from emulator.backoffice.eligibility import Eligibility
from emulator.backoffice.inventory import (
    ELECTRICITY_DISTRIBUTOR,
    SUPPLIER,
    Device,
    PremisesRecord,
)
from emulator.backoffice.registry import RegisteredUser
from emulator.backoffice.users import Answer, DuisUser, InProcessTransport, make_user
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from emulator.devices import households
from emulator.devices.keys import DEVICE_CERT_START, PremisesKeys
from emulator.devices.premises import HAN_LATENCY_S, PROFILE, Execution, Premises
from emulator.devices.switch import Switch
from emulator.devices.switch_board import BoardSwitch
from emulator.devices.switch_model import ModelSwitch
from emulator.errors import EmulatorError
from emulator.grid.consent import ConsentRegister
from emulator.grid.dno_client import SRV_UNJOIN, DnoClient, dashed, read_labels, template
from emulator.grid.gateway import SWITCHING_SRVS, GatewayAlert, SrvGateway, SwitchLabel
from emulator.grid.plant import SwitchingSeen
from emulator.grid.population import Population, PremisesPlan
from emulator.han.medium import LinkQuality, Medium
from emulator.han.pcap import HanCapture
from emulator.scenario.boards import BoardWatch, choose
from emulator.scenario.spec import Scenario
from gbcs.keystore import Keystore

__all__ = [
    "RUN_DATE",
    "FeederWorld",
    "RtdsHousehold",
    "Site",
    "WorldUnbuildable",
    "build_world",
    "esme_eui",
    "hub_eui",
    "open_household",
]

log = logging.getLogger(__name__)

#: DCC Boxed's GBCS organisation certificates expired in January 2026: runs are dated inside
#: their validity, as the back office's own tests do.
RUN_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
#: The HCALCS the CS04AC template unjoins, replaced by the premises' own.
RTDS_HCALCS_TEXT = b"00-DB-12-34-56-78-90-99"
SR = f"{{{duis.SR}}}"

#: a switch whose output can be read at the device: a model's state, a board's console
Readable = ModelSwitch | BoardSwitch


class WorldUnbuildable(EmulatorError, RuntimeError):
    """The world cannot be built here: the DCC data is missing, or a board would not start."""


def esme_eui(index: int) -> bytes:
    """Household ``index``'s ESME: distinct from every RTDS device (00DB1234...)."""
    return bytes.fromhex(f"00DB5A{index:04X}0000A0")


def hub_eui(index: int) -> bytes:
    return bytes.fromhex(f"00DB5A{index:04X}0000A2")


def _readable(unit: Switch) -> Readable:
    if not isinstance(unit, ModelSwitch | BoardSwitch):
        raise TypeError(f"no output to read on a {type(unit).__name__}")
    return unit


@dataclass
class Site:
    """One household on the HAN side: its plan, its premises and its ESME."""

    plan: PremisesPlan
    premises: Premises
    esme: bytes
    ev: Readable | None  # the EV charger's switch, read every step


class _MeterTap:
    """What the DSP attaches for one household: the ``Premises`` itself, with every switching
    SRV its meter executed noted (the premises' own ``Execution``, whatever sent the command,
    and also when the answer is then lost on the WAN)."""

    def __init__(self, world: FeederWorld, premises_id: str, premises: Premises) -> None:
        self.world, self.premises_id, self.premises = world, premises_id, premises

    @property
    def device_ids(self) -> Iterable[str]:
        return self.premises.device_ids

    def on_alert(self, callback: Callable[[bytes], None]) -> None:
        self.premises.on_alert(callback)

    async def execute(self, command: bytes) -> Execution:
        execution = await self.premises.execute(command)
        if execution.outcome == "executed" and execution.srv in SWITCHING_SRVS:
            self.world.seen.append(SwitchingSeen(
                self.world.now(), self.premises_id, execution.slot, "meter", execution.srv,
                f"meter executed {execution.use_case}",
            ))  # fmt: skip
        return execution


class _PremisesCapture:
    """One household's view of the feeder's single capture: frames go to the shared pcap, keys
    are labelled with the premises (every hub labels its key "HAN network key", and the pcap
    holds every household's HAN, so without the prefix only the last one's would be kept)."""

    def __init__(self, shared: HanCapture, premises_id: str) -> None:
        self.shared, self.premises_id = shared, premises_id

    def add_key(self, label: str, key: bytes) -> None:
        self.shared.add_key(f"{self.premises_id} {label}", key)

    def write(self, mac_frame: bytes) -> None:
        self.shared.write(mac_frame)


class _Delivery:
    """The DSP's in-process delivery to the DNO's and Supplier's endpoints; the DNO's DCC
    alerts are also handed on (after its endpoint has checked them)."""

    def __init__(self) -> None:
        self.users: dict[bytes, DuisUser] = {}
        self.dno: DuisUser | None = None
        self.on_dcc_alert: Callable[[Answer], None] = lambda answer: None

    def connect(self, dno: DuisUser, supplier: DuisUser,
                on_dcc_alert: Callable[[Answer], None]) -> None:  # fmt: skip
        self.users = {dno.eui: dno, supplier.eui: supplier}
        self.dno, self.on_dcc_alert = dno, on_dcc_alert

    async def deliver(self, user: RegisteredUser, document_: bytes, kind: str) -> bool:
        client = self.users.get(bytes(user.eui))
        if client is None:
            return False
        ok = await client.receive(document_)
        if ok and kind == "dcc-alert" and client is self.dno:
            self.on_dcc_alert(client.received[-1])
        return ok


class FeederWorld:
    """``FeederHan`` on the real back office and devices (model switches, some boards)."""

    def __init__(
        self, population: Population, clock: Clock, dsp: Dsp, dno: DuisUser,
        supplier: DuisUser, capture: HanCapture | None, timeout_s: float,
    ) -> None:  # fmt: skip
        self.population = population
        self.clock = clock
        self.t0 = clock.now()
        self.dsp, self.dno, self.supplier, self.capture = dsp, dno, supplier, capture
        self.sites: dict[str, Site] = {}
        self.by_esme: dict[bytes, Site] = {}
        self.client = DnoClient(dno, self.now, self.esme_of, self.labels_of, timeout_s)
        #: what the monitor sends through: the client, or a BoardWatch in front of it
        self.gateway: SrvGateway = self.client
        self.board_watch: BoardWatch | None = None
        self.notes: list[str] = []  # lines for the run's timeline (which premises has a board)
        self.boosts_refused = 0
        self.unjoins_rejected = 0
        self.seen: list[SwitchingSeen] = []  # switching at the meters and switches
        self._models: dict[tuple[str, int], ModelSwitch] = {}
        self._applied: dict[tuple[str, int], int] = {}  # remote commands a model had applied
        self._source: dict[tuple[str, int], str] = {}  # a board's last output source
        #: premises -> output sources its EV switch showed at the steps ("boost", "remote" ...)
        self.ev_sources: dict[str, dict[str, float]] = {}

    def now(self) -> float:
        return self.clock.now() - self.t0

    def esme_of(self, premises: str) -> bytes:
        return self.sites[premises].esme

    def labels_of(self, premises: str, payload: Any) -> tuple[SwitchLabel, ...]:
        """An ECS61a answer read with the DNO's asset record of the premises' switch kinds."""
        kinds = {s.slot: s.kind for s in self.sites[premises].plan.switches}
        return read_labels(payload, kinds)

    def add(self, site: Site) -> None:
        self.sites[site.plan.premises_id] = site
        self.by_esme[site.esme] = site

    def watch_boards(self, watch: BoardWatch) -> None:
        """Put ``watch`` between the monitor and the client, and name the boards."""
        self.board_watch = watch
        self.gateway = watch
        for (pid, slot), unit in watch.units.items():
            self.notes.append(f"board: {pid} slot {slot} ({unit.role.upper()}) is the switch "
                              "firmware on a virtual board, on the simulated clock")  # fmt: skip

    def on_dcc_alert(self, answer: Answer) -> None:
        code = answer.root.findtext(f".//{SR}DCCAlertCode") or ""
        esme_text = (answer.root.findtext(f".//{SR}ESMEDeviceID") or "").replace("-", "")
        site = self.by_esme.get(bytes.fromhex(esme_text)) if esme_text else None
        if site is None:
            log.warning("DCC alert %s for an ESME not on this feeder: %s", code, esme_text)
            return
        slot = site.plan.ev_switch.slot if site.plan.ev_switch else None
        self.client.alert(
            GatewayAlert(
                code,
                site.plan.premises_id,
                slot,
                self.now(),
                detail=f"DSP alert {code} for ESME {esme_text}",
            )
        )

    def baseline(self) -> None:
        """Remember each model switch's count of applied remote commands (after setup)."""
        for pid, site in self.sites.items():
            for plan in site.plan.switches:
                unit = site.premises.switch(plan.slot)
                if isinstance(unit, ModelSwitch):
                    self._models[(pid, plan.slot)] = unit
                    self._applied[(pid, plan.slot)] = unit.applied

    def _scan_switches(self) -> None:
        """Note every switch that took remote commands from its meter since the last scan. A
        model counts them (``applied``: DRLC events, Cancel All, On/Off, Level, never the
        consumer's boost); a board's output is read only for the EV slot (``_note_source``)."""
        for (pid, slot), before in self._applied.items():
            now_applied = self._models[(pid, slot)].applied
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
            if ev is None or site.ev is None:
                continue
            relay, level, source = site.ev.output()
            self._note_source(site.plan.premises_id, ev.slot, source)
            self.ev_sources.setdefault(site.plan.premises_id, {}).setdefault(source, self.now())
            out[site.plan.index] = (level / 100.0) if relay else 0.0
        self._scan_switches()
        return out

    def switching_seen(self) -> list[SwitchingSeen]:
        self._scan_switches()
        return list(self.seen)

    async def press_boost(self, premises: str, slot: int) -> bool:
        refused = await self.sites[premises].premises.switch(slot).press_boost()
        if refused is not None:
            self.boosts_refused += 1
            log.info("boost refused at %s slot %d: %s", premises, slot, refused)
        return refused is None

    def silence_switch(self, premises: str, slot: int) -> None:
        unit = self.sites[premises].premises.switch(slot)
        asyncio.ensure_future(unit.set_fault(True))

    async def supplier_unjoin(self, premises: str, slot: int) -> bool:
        """The Supplier's SRV 8.8.1 (CS04AC) unjoining the HCALCS from the ESME."""
        site = self.sites[premises]
        other = site.premises.switch(slot).ieee.replace(":", "")
        xml = template("CS04ACCritical_8.8.1", site.esme).replace(
            RTDS_HCALCS_TEXT, dashed(bytes.fromhex(other))
        )
        outcome = await self.client.send(SRV_UNJOIN, premises, slot, xml, user=self.supplier)
        if not outcome.ok:
            self.unjoins_rejected += 1
            log.warning("Supplier unjoin at %s: %s", premises, outcome.status)
        return outcome.ok

    def stats(self) -> dict[str, Any]:
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

    def write_capture_keys(self, path: Path) -> Path:
        """The capture's keys as tshark options, one per line (as ``gbhan emulate command
        --pcap`` writes them), so the pcap can be decrypted after the run."""
        if self.capture is None:
            raise ValueError("this world was built without a capture (pcap=None)")
        path.write_text("\n".join(self.capture.tshark_key_options()) + "\n")
        return path

    async def close(self) -> None:
        await self.dsp.drain()
        for site in self.sites.values():
            await site.premises.close()
        if self.capture is not None:
            self.capture.close()


def _check_data() -> None:
    """The DCC data every world reads, named with where it was looked for."""
    for path in (data.duis(), data.duis_schema(), data.dccboxed_keystore(), data.rtds_keystore()):
        if not path.exists():
            raise WorldUnbuildable(
                f"{path} is missing: the DCC test data is not there (set {data.ENV_VAR} to "
                "the folder that has it)"
            )


def _profile(base: dict[str, Any], plan: PremisesPlan) -> dict[str, Any]:
    profile = dict(base)
    labels = {s.slot: s.label for s in plan.switches}
    profile["labels"] = {str(s): labels.get(s, "") for s in range(1, 6)}
    profile["identifiers"] = {str(s): "00" * 8 for s in range(1, 6)}
    profile["device_log"] = {}  # only its own switches (joined by Premises.start)
    profile["gbcs_devices"] = {}  # RTDS's extra HCALCS/PPMID: not on a feeder household
    profile.pop("gas", None)  # RTDS's GSME/GPF: their EUIs are the RTDS household's
    profile.pop("type2_devices", None)  # its IHD and CAD likewise
    return profile


async def build_world(
    scenario: Scenario, population: Population, consent: ConsentRegister, clock: Clock, *,
    boards: int, pcap: Path | None,
) -> FeederWorld:  # fmt: skip
    """Build the DSP, the DNO and Supplier users and one Premises per household with a
    switch, on ``clock`` (simulated). ``boards`` EV switches (the DNO's first candidates,
    ``boards.choose``) are the real firmware on virtual boards, checked by ``BoardWatch``."""
    _check_data()
    chosen = dict(choose(population, consent, boards)) if boards > 0 else {}
    han = scenario.han
    delivery = _Delivery()
    dccboxed = data.dccboxed_keystore()
    dsp = make_dsp(
        schema_dir=data.duis_schema(),
        dccboxed=dccboxed,
        rtds=None,
        rtds_keystore=data.rtds_keystore(),
        clock=clock,
        wan=Wan(
            clock,
            latency_s=han.wan_latency_s,
            jitter_s=han.wan_jitter_s,
            loss=han.wan_loss,
            seed=scenario.seed,
        ),
        eligibility=Eligibility(secmp0046_hcalcs=True, secmp0046_boost=True),
        delivery=delivery,
    )
    user_keys = Keystore.open(dccboxed, clock=RUN_DATE)
    transport = InProcessTransport(dsp)
    dno = make_user("dno", user_keys, dsp.schema, dsp.trusted, transport)
    supplier = make_user("supplier", user_keys, dsp.schema, dsp.trusted, transport)
    capture = HanCapture(pcap, clock) if pcap is not None else None
    world = FeederWorld(population, clock, dsp, dno, supplier, capture, han.srv_timeout_s)
    delivery.connect(dno, supplier, world.on_dcc_alert)
    try:
        await _add_premises(world, scenario, clock, chosen)
    except Exception:
        await world.close()
        raise
    if chosen:
        units: dict[tuple[str, int], BoardSwitch] = {}
        for pid, slot in chosen.items():
            unit = world.sites[pid].premises.switch(slot)
            assert isinstance(unit, BoardSwitch), "a chosen slot is started as a board"
            units[(pid, slot)] = unit
        world.watch_boards(BoardWatch(
            world.client, units, lambda pid, slot: world.sites[pid].premises.curtail_level(slot)
        ))  # fmt: skip
    world.baseline()
    world.t0 = clock.now()
    return world


async def _add_premises(
    world: FeederWorld, scenario: Scenario, clock: Clock, chosen: dict[str, int]
) -> None:
    """One Premises per household with a switch, known to the DSP's inventory and router."""
    keys = PremisesKeys.open()
    base_profile = json.loads(PROFILE.read_text())
    dsp = world.dsp
    for plan in world.population.premises:
        if not plan.switches:
            continue  # no switch: the household is load only, nothing on its HAN to command
        esme = esme_eui(plan.index + 1)
        _serial, der = keys.pki.issue_device(esme, "KA", DEVICE_CERT_START)
        certificate = x509.load_der_x509_certificate(der)
        for store in (keys.keystore, dsp.acb_keys):
            store.add_certificate(certificate, f"gbhan feeder ESME KA {esme.hex()}")
        capture = (
            _PremisesCapture(world.capture, plan.premises_id) if world.capture is not None
            else None
        )  # fmt: skip
        medium = Medium(
            clock, seed=scenario.seed * 1000 + plan.index, capture=capture,
            default_link=LinkQuality(latency_s=scenario.han.han_latency_s),
        )  # fmt: skip
        board_slots = [chosen[plan.premises_id]] if plan.premises_id in chosen else []
        try:
            premises = await Premises.start(
                clock, medium, keys=keys, switch="model",
                slots=[s.slot for s in plan.switches if s.kind == "hcalcs"],
                plcs_slots=[s.slot for s in plan.switches if s.kind == "plcs"],
                secmp0046_boost=True, profile=_profile(base_profile, plan), esme_eui=esme,
                hub_eui=hub_eui(plan.index + 1),
                plcs_curtail_levels={s.slot: s.curtail_level for s in plan.switches
                                     if s.kind == "plcs"},
                board_slots=board_slots,
            )  # fmt: skip
        except (OSError, RuntimeError) as err:
            if not board_slots:
                raise
            raise WorldUnbuildable(
                f"the firmware board for {plan.premises_id} slot {board_slots[0]} did not "
                f"start: {err}"
            ) from err
        dsp.inventory.add_premises(
            PremisesRecord(plan.premises_id, SUPPLIER, ELECTRICITY_DISTRIBUTOR)
        )
        for eui, kind in premises.device_ids.items():
            # GBCS has no PLCS device type: a PLCS joins its meter as an HCALCS-type device.
            kind = "hcalcs" if kind.lower() == "plcs" else kind.lower()
            dsp.inventory.add(Device(bytes.fromhex(eui), kind, plan.premises_id))
        dsp.attach(_MeterTap(world, plan.premises_id, premises))
        ev = plan.ev_switch
        world.add(
            Site(
                plan,
                premises,
                esme,
                _readable(premises.switch(ev.slot)) if ev is not None else None,
            )
        )


@dataclass
class RtdsHousehold:
    """One RTDS household ready for commands: its premises, and the capture if any."""

    premises: Premises
    capture: HanCapture | None


async def open_household(
    command: bytes, clock: Clock, *, keystores: Iterable[Path], switch: str,
    secmp0046_hcalcs: bool, secmp0046_boost: bool, pcap: Path | None,
    at: dt.datetime | None,
) -> RtdsHousehold:  # fmt: skip
    """The RTDS household whose ESME ``command`` targets (the A0 household for any other
    target, which refuses it), on its own HAN, its meter's clock at ``at`` if given."""
    household = households.for_command(command) or households.default()
    capture = HanCapture(pcap, clock) if pcap is not None else None
    medium = Medium(clock, seed=1, capture=capture,
                    default_link=LinkQuality(latency_s=HAN_LATENCY_S))  # fmt: skip
    premises = await Premises.start(
        clock, medium, keys=PremisesKeys.open(*keystores), switch=switch,
        secmp0046_hcalcs=secmp0046_hcalcs, secmp0046_boost=secmp0046_boost,
        **household.premises_kwargs(),
    )  # fmt: skip
    if at is not None:
        premises.set_meter_time(at)
    return RtdsHousehold(premises, capture)
