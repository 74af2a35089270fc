"""The DCC's DUIS template catalogue run against a DSP, template by template, as a DCC user
would send each one: signed as the role it is written for, over HTTP, through the critical
round trip where there is one, to the device's response on the user's own endpoint, which is
checked with the device's certificate fetched from an SMKI service.

Which user sends a template, and as which role: its RequestID names an originator from
RTDS. The DNO's EUI is DCC Boxed's network operator user (Electricity Distributor and Gas
Transporter); the second Supplier's EUI, a gas use case (GCS…) or RTDS's Supplier sending a
common use case (CS…) to RTDS's GSME or GPF is the Gas Supplier's user where the SRV is one
a Gas Supplier may send; RTDS's Load Controller (7.16) is a Load Controller user of its own
(gbhan's role LC, `eligibility.DuisRole`); everything else (the Supplier's own and the ACB's
RTDS originators, which no DUIS user sends as) is the Supplier's user, which DCC Boxed
registers as Import Supplier, Export Supplier and Other User. The role is the one the DSP
takes for that user and SRV (`registry.RegisteredUser.acting_role`). Each user of
`CATALOGUE_USERS` signs XML with its DCC Boxed key (the Gas Supplier and the Load Controller,
which DCC Boxed gives no XML-signing certificate, with one made for each) and GBCS with the
key the emulated devices trust (the Load Controller's is RTDS's: DCC Boxed's Z1 one differs).

`serve_in_process` starts what `gbhan dsp serve` starts (DSP, emulated premises, SMKI service)
on free ports in this process, with those users registered; `run` sends the templates one at
a time and returns a `Result` per file. `status_markdown` turns the results into the SRV
status list docs/backoffice.md carries between `STATUS_BEGIN` and `STATUS_END`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from construct import Container
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from emulator import data
from emulator.clock import Clock
from emulator.devices import Premises
from emulator.errors import EmulatorError
from emulator.smki import client as smki_client
from emulator.smki.errors import SmkiError
from emulator.smki.service import SmkiService
from gbcs import Message, decode
from gbcs.errors import GbcsError, KeyMissing
from gbcs.keystore import DS, Keystore
from gbcs.payload import decode_plaintexts
from gbcs.security import check_message

from . import duis, service, user_values, xmlsig
from .assembly import DEFAULT_GBCS_DATE, make_dsp
from .dsp import Dsp
from .eligibility import ED, ES, GS, GT, IS, LC, OU, DuisRole, Eligibility
from .keychoice import LOAD_CONTROLLER, DeviceTrust
from .premises_factory import build_premises, build_second_rtds_meter
from .registry import DNO_EUI, SUPPLIER_EUI, RegisteredUser
from .state import DspState
from .userconfig import UserConfig
from .users import Answer, DuisUser, Endpoint, HttpTransport, RoundTripFailed
from .wan import Wan

GAS_SUPPLIER_EUI = bytes.fromhex("90B3D51F30030000")  # DCC Boxed's second Supplier
#: the Load Controller the 7.16 templates name (RTDS's; the meters hold its certificates)
LOAD_CONTROLLER_EUI = LOAD_CONTROLLER
#: RTDS's GSME and GPF: RTDS's one Supplier's common use cases (CS…) to them are the Gas
#: Supplier's
RTDS_GAS_DEVICES = (bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3"))

#: role -> (user EUI, name, the port its endpoint listens on when the DSP is not ours); a
#: user ID holds several roles as DCC Boxed's do (registry.DCC_BOXED_USERS), the first listed
#: its main one
CATALOGUE_USERS: dict[DuisRole, tuple[bytes, str, int]] = {
    IS: (SUPPLIER_EUI, "supplier", 8090),
    ES: (SUPPLIER_EUI, "supplier", 8090),
    OU: (SUPPLIER_EUI, "supplier", 8090),
    ED: (DNO_EUI, "dno", 8091),
    GT: (DNO_EUI, "dno", 8091),
    GS: (GAS_SUPPLIER_EUI, "gas-supplier", 8092),
    LC: (LOAD_CONTROLLER_EUI, "load-controller", 8093),
}
_GAS_TARGETS = {eui: "gsme" if eui == RTDS_GAS_DEVICES[0] else "gpf" for eui in RTDS_GAS_DEVICES}


def user_roles(eui: bytes) -> tuple[DuisRole, ...]:
    """The roles CATALOGUE_USERS gives the user `eui`, its main one first."""
    return tuple(role for role, (e, _name, _port) in CATALOGUE_USERS.items() if e == eui)


#: What happened to one template: the device (or the DSP, for serviceD) answered I0;
#: the DSP refused it at once (an E code, nothing sent); it was accepted (I99) and then
#: answered with an E code (E20 no route, E21 no device response ...); no answer in time;
#: the runner could not send it at all.
ANSWERED, REFUSED, FAILED, TIMEOUT, ERROR = "answered", "refused", "failed", "timeout", "error"
OUTCOMES = (ANSWERED, REFUSED, FAILED, TIMEOUT, ERROR)

STATUS_BEGIN = "<!-- catalogue-status:begin (generated by gbhan dsp catalogue --markdown) -->"
STATUS_END = "<!-- catalogue-status:end -->"

_USE_CASE = re.compile(r"^([A-Z]+[0-9]+[a-z0-9]*)")


class CatalogueError(EmulatorError, ValueError):
    """A catalogue folder or template that cannot be run (names the file)."""


@dataclass(frozen=True)
class Template:
    """One catalogue file: what its header says and the role it is sent as."""

    path: Path
    srv: str
    command_variant: int
    originator: bytes
    target: bytes
    role: DuisRole

    @property
    def name(self) -> str:
        return self.path.name


def template_sender(
    file_name: str, originator: bytes, target: bytes | None = None, srv: str | None = None
) -> bytes:
    """The EUI of the catalogue user that sends a template (module docstring)."""
    if originator in (DNO_EUI, LOAD_CONTROLLER_EUI):
        return originator
    gas = (
        originator == GAS_SUPPLIER_EUI
        or file_name.startswith("GCS")
        or (
            originator == SUPPLIER_EUI and target in RTDS_GAS_DEVICES  # a common use case (CS…)
        )
    )
    eligible = Eligibility().roles(srv) if srv is not None else frozenset()
    if gas and (not eligible or GS in eligible):  # the Gas Supplier's, unless DUIS says not
        return GAS_SUPPLIER_EUI
    return SUPPLIER_EUI


def template_role(
    file_name: str, originator: bytes, target: bytes | None = None, srv: str | None = None
) -> DuisRole:
    """The DUIS role a catalogue template is sent as: the one the DSP takes for its sender and
    SRV (without an SRV, the sender's main role)."""
    sender = template_sender(file_name, originator, target, srv)
    main, *also = user_roles(sender)
    if srv is None:
        return main
    user = RegisteredUser(sender, main, "", also=tuple(also))
    return user.acting_role(Eligibility().roles(srv), _GAS_TARGETS.get(bytes(target or b"")))


def read_template(path: Path) -> Template:
    """A template's header; CatalogueError when it is not a DUIS request."""
    try:
        root = duis.parse(path.read_bytes())
        request = duis.parse_request(root)
    except (duis.DuisError, OSError) as exc:
        raise CatalogueError(f"{path.name}: not a DUIS request: {exc}") from None
    rid = request.request_id
    return Template(
        path,
        request.service_reference_variant,
        request.command_variant,
        bytes(rid.originator),
        bytes(rid.target),
        template_role(path.name, bytes(rid.originator), bytes(rid.target),
                      request.service_reference_variant),
    )  # fmt: skip


#: SRVs that take a device off the HAN or out of service, in the order they run after every
#: other template, so the ones that need the device find it there (the catalogue's 8.11
#: Remove takes the ESME off the hub's log: it runs last of all)
LAST = ("8.8.1", "8.8.2", "8.3", "8.11")


#: templates that replace a device's trust anchors (Update Security Credentials), by name
#: prefix in the order they run: after every other template the old anchors verify and
#: before 8.3, each signed by a key the device still trusts (the Load Controller's cells by
#: the Supplier, then the Supplier's future-dated and cancelled ones, the Network Operator's
#: own, the Supplier's own at once, the DCC's Transitional CoS party's change of Supplier,
#: last 8.5's ACB replacing its own key agreement cell: the DCC's MACs no longer open
#: commands to that meter); the device trusts the new certificates after them
REPLACES_ANCHORS = (
    "CS02gLoadControllerBySupplier_",
    "CS02bSupplierBySupplier_6.15.1_CANCELLATION",
    "CS02bSupplierBySupplier_6.15.1_FUTURE_DATED",
    "CS02bNOByNO_",
    "CS02bSupplierBySupplier_6.15.1_IMMEDIATE",
    "CS02bSupplierByTransCoS_",
    "CS02bACBByACB_",
)


#: SRVs that replace what the device holds for another template: 11.1 distributes a new image,
#: so it runs after 11.3 (CS06) has activated the image the meter starts with, whose hash the
#: 11.3 templates name
REPLACES_HELD = ("11.1",)


#: the Comms Hub status updates for a hub not commissioned, in the order they run after
#: every other template (the hub they name is the one every device template goes through):
#: installed without SM WAN (after the run's 8.4 prelude, PRELUDES), a fault return, a
#: no-fault return that withdraws it
HUB_RETURNS = ("8.14.2", "8.14.3", "8.14.4")


#: the DSP's schedule services in the order they run, after the other templates of the first
#: group: 5.1 makes the schedule whose id the run then puts in 5.2's and 5.3's (`Carried`)
SCHEDULES = ("5.1", "5.2", "5.3")


#: SRVs that read a device's logs: they run after the other templates of the first group, so
#: the logs hold what the run's own commands wrote, as a user reads a log after the events it
#: wants (the catalogue's CS11 3.3 clears the GSME's event log and comes first by name; its
#: arming, emergency credit and clock setting then log events for CS10a 6.13 to read)
LOG_READS = ("6.13",)


def _run_group(template: Template) -> tuple[float, int]:
    replacing = [i for i, p in enumerate(REPLACES_ANCHORS) if template.name.startswith(p)]
    if replacing:
        return LAST.index("8.3") + 0.5, replacing[0]
    if template.srv in REPLACES_HELD:
        return 0.5, 0
    if template.srv in LOG_READS:
        return 0.75, 0
    if template.srv == RESTORES_HUB_LOG:  # after the 8.9 (CCS07) backup it restores
        return 0.8, 0
    if template.srv in SCHEDULES:
        return 0.25, SCHEDULES.index(template.srv)
    if template.srv in HUB_RETURNS:
        return len(LAST) + 1, HUB_RETURNS.index(template.srv)
    return (LAST.index(template.srv) + 1 if template.srv in LAST else 0), 0


def run_order(templates: list[Template]) -> list[Template]:
    """The order the runner sends templates in: by name, the schedules' (SCHEDULES) after
    the rest in their own order, those of REPLACES_HELD after them, then the LOG_READS and
    the 8.12.1 restore (after the 8.9 backup it restores), those of LAST near the end, those
    of REPLACES_ANCHORS just before 8.3, and HUB_RETURNS last of all."""
    return sorted(templates, key=lambda t: (*_run_group(t), t.name))


def _as_service(
    template: Template, srv: str, element: str
) -> tuple[etree._Element, etree._Element]:
    """A request of `srv` with `template`'s header: (the document, the empty `element` its
    body holds in place of the template's)."""
    root = duis.parse(template.path.read_bytes())
    header, body = root.find(f"{{{duis.SR}}}Header"), root.find(f"{{{duis.SR}}}Body")
    if header is None or body is None or not len(body):
        raise CatalogueError(f"{template.name}: no header or body")
    for name in ("ServiceReference", "ServiceReferenceVariant"):
        node = header.find(f"{{{duis.SR}}}{name}")
        if node is not None:
            node.text = srv
    for child in list(body):
        body.remove(child)
    return root, etree.SubElement(body, f"{{{duis.SR}}}{element}")


def _named_device(template: Template) -> str:
    """The DeviceID the template's body names."""
    body = duis.parse(template.path.read_bytes()).find(f"{{{duis.SR}}}Body")
    found = None if body is None or not len(body) else body[0].findtext(f"{{{duis.SR}}}DeviceID")
    return (found or "").strip()


def _hub_status_by_supplier(template: Template, status: str) -> bytes:
    """An 8.4 Update Inventory setting the SMI status of the Comms Hub `template` names
    (UpdateDeviceStatusCH), with the template's header otherwise."""
    hub = _named_device(template)
    root, update = _as_service(template, "8.4", "UpdateInventory")
    etree.SubElement(update, f"{{{duis.SR}}}DeviceID").text = hub
    etree.SubElement(update, f"{{{duis.SR}}}UpdateDeviceStatusCH").text = status
    return duis.to_bytes(root)


#: the devices the run pre-notifies (PRELUDES), by the SRV whose template then names them:
#: EUIs no RTDS file and no DCC Boxed preset names, of gbhan's make. 8.4 DeleteDevice deletes
#: an ESME never installed; 8.14.3's fault found before installation returns a Comms Hub never
#: installed
TO_DELETE = "00-DB-12-34-56-78-90-DE"
HUB_TO_RETURN = "00-DB-12-34-56-78-90-DF"
PRENOTIFIED = {"8.4": (TO_DELETE, "ESME"), "8.14.3": (HUB_TO_RETURN, "CHF")}
FAULT_BEFORE_INSTALLATION = "Fault identified prior to installation"


def _prenotify(template: Template) -> bytes | None:
    """A 12.2 Device Pre-notification of the device PRENOTIFIED names for the template's SRV,
    where the template is written for a device never installed: an 8.4 DeleteDevice, an
    8.14.3 fault found before installation (None for any other 8.4 or 8.14.3)."""
    body = duis.parse(template.path.read_bytes()).find(f"{{{duis.SR}}}Body")
    if body is None or template.srv not in PRENOTIFIED:
        return None
    if template.srv == "8.4" and body.find(f".//{{{duis.SR}}}DeleteDevice") is None:
        return None
    fault = body.findtext(f".//{{{duis.SR}}}CHFFaultReturnType")
    if template.srv == "8.14.3" and (fault or "").strip() != FAULT_BEFORE_INSTALLATION:
        return None
    eui, device_type = PRENOTIFIED[template.srv]
    root, notice = _as_service(template, "12.2", "DevicePrenotification")
    for name, text in (("DeviceID", eui), ("DeviceManufacturer", "gbhan"),
                       ("DeviceModel", "emulated"), ("DeviceType", device_type)):  # fmt: skip
        etree.SubElement(notice, f"{{{duis.SR}}}{name}").text = text
    return duis.to_bytes(root)


#: requests the runner sends just before a template, as a DCC Boxed user would to bring the
#: DSP to the state the template is written for, by SRV: (what it is, how it is made from
#: the template, None: nothing to send). 8.14.2 (installed, no SM WAN) is for a Comms Hub not
#: commissioned, and the run's hub is: every device template goes through it. Before it the
#: Supplier sets the hub InstalledNotCommissioned by 8.4 Update Inventory
#: (UpdateDeviceStatusCH: a status DUIS lets a Supplier set for a hub). 8.4 DeleteDevice is
#: for a device pre-notified and never installed (Pending), and so is 8.14.3's fault found
#: before installation, while the ESME and the hub the catalogue's name are installed, as
#: every other template needs them: the user pre-notifies a device of its own (12.2) and
#: names that one, its id in place of the template's (`Carried`), as 5.2 names the schedule
#: its 5.1 made. The result's detail names the prelude and its codes.
PRELUDES: dict[str, tuple[str, Callable[[Template], bytes | None]]] = {
    "8.14.2": (
        "8.4 UpdateDeviceStatusCH InstalledNotCommissioned",
        functools.partial(_hub_status_by_supplier, status="InstalledNotCommissioned"),
    ),
    "8.4": (f"12.2 DevicePrenotification {TO_DELETE}", _prenotify),
    "8.14.3": (f"12.2 DevicePrenotification {HUB_TO_RETURN}", _prenotify),
}


#: 8.9's CCS07 (the hub's device log read) has the DSP keep the hub's backup; 8.12.1 Restore
#: HAN Device Log (CCS03) restores one at a hub, and runs after it (`run_order`)
BACKS_UP_HUB_LOG, RESTORES_HUB_LOG = "CCS07", "8.12.1"
#: 8.12.2 Restore GPF Device Log (GCS59) restores the backup a GPF's own GCS62 alert gave the
#: DSP (the premises' GPF sends one when its log is made): the run names its own GPF
RESTORES_GPF_LOG = "8.12.2"


def _renamed(xml: bytes, path: str, eui: str, why: str) -> tuple[bytes, str]:
    """`xml` with the EUI at `path` (an ElementPath from the root) set to `eui`, and the note
    saying so ("" when it was already that, or there is no such element)."""
    root = duis.parse(xml)
    node = root.find(path)
    was = None if node is None else (node.text or "").strip()
    if node is None or was == eui:
        return xml, ""
    node.text = eui
    name = etree.QName(node).localname
    return duis.to_bytes(root), f"{name} {was} -> {eui}, {why}"


#: a prelude's counter is its template's plus this: above every template's of the run
PRELUDE_COUNTER = 100_000

#: SRVs whose template names a schedule by the id the DSP gave it (5.2 Read, 5.3 Delete)
NAMES_SCHEDULE = ("5.2", "5.3")


@dataclass
class Carried:
    """What the run's own answers gave that a later template must name, filled in as a DCC
    Boxed user edits a template before sending it: the catalogue's 5.2 and 5.3 name schedule
    123, which no DSP made for them; the user puts in the id its own 5.1 Create Schedule was
    answered with (per user: only the owner sees a schedule); the catalogue's 8.4 deletes,
    and its 8.14.3 returns, the device its prelude pre-notified (PRELUDES); the catalogue's
    8.12.1 restores the device log of the hub whose backup the user's own 8.9 (CCS07) had
    the DSP keep, its 8.12.2 that of the GPF it is sent to, whose GCS62 alerts back it up
    (their OldCHFID and OldGPFID name devices no DSP here knew); the catalogue's 6.15.2 places the
    certificate the SMKI (`smki_url`) issued for the request the device's own 6.17 answer
    carried (user_values.py). Without such an answer the template goes as it is."""

    schedule_ids: dict[bytes, str] = field(default_factory=dict)
    #: (user, SRV) -> the device its prelude pre-notified for that SRV's template
    prenotified: dict[tuple[bytes, str], str] = field(default_factory=dict)
    #: user -> the hub whose device log backup its 8.9 had the DSP keep
    backed_up: dict[bytes, str] = field(default_factory=dict)
    #: the SMKI service that issues a device's certificate for its own request (None: none)
    smki_url: str | None = None
    #: (user, device) -> (serial, DER) the SMKI issued for the request the device's 6.17
    #: answer to that user carried, which its 6.15.2 places; or why none was (text)
    device_certificates: dict[tuple[bytes, bytes], tuple[str, bytes] | str] = field(
        default_factory=dict
    )

    def fill(self, template: Template, xml: bytes, user: bytes) -> tuple[bytes, str]:
        """The template as `user` sends it, and a note of what was changed ("": nothing)."""
        if template.srv == user_values.UPDATE_DEVICE_CERTIFICATE:
            return self._device_certificate(template, xml, user)
        if template.srv in user_values.SRVS:  # its own UTRN, its own now (user_values.py)
            return user_values.fill(template.srv, xml, user, template.target)
        device = self.prenotified.get((bytes(user), template.srv))
        if device is not None:
            return _renamed(xml, f"{{{duis.SR}}}Body/*/{{{duis.SR}}}DeviceID", device,
                            "the device it pre-notified")  # fmt: skip
        hub = self.backed_up.get(bytes(user))
        if template.srv == RESTORES_HUB_LOG and hub is not None:
            return _renamed(xml, f".//{{{duis.SR}}}OldCHFID", hub,
                            "the hub whose device log its 8.9 had the DSP back up")  # fmt: skip
        if template.srv == RESTORES_GPF_LOG:
            return _renamed(xml, f".//{{{duis.SR}}}OldGPFID", duis.eui_text(template.target),
                            "the GPF whose device log backup (GCS62) the DSP holds")  # fmt: skip
        made = self.schedule_ids.get(bytes(user))
        if template.srv not in NAMES_SCHEDULE or made is None:
            return xml, ""
        root = duis.parse(xml)
        node = root.find(f".//{{{duis.SR}}}DSPScheduleID")
        named = None if node is None else (node.text or "").strip()
        if node is None or named == made:
            return xml, ""
        node.text = made
        return duis.to_bytes(root), f"DSPScheduleID {named} -> {made}, the id this run's 5.1 got"

    @staticmethod
    def prelude(template: Template) -> tuple[str, bytes] | None:
        """The request to send before `template` (PRELUDES): what it is, its XML."""
        found = PRELUDES.get(template.srv)
        xml = None if found is None else found[1](template)
        return None if found is None or xml is None else (found[0], xml)

    def prelude_answered(self, template: Template, user: bytes, answers: Sequence[Answer]) -> None:
        """Keep what the prelude to `template` made: the device a 12.2 pre-notified."""
        if template.srv in PRENOTIFIED and answers and answers[-1].code == "I0":
            self.prenotified[(bytes(user), template.srv)] = PRENOTIFIED[template.srv][0]

    def note(self, template: Template, user: bytes, answers: Sequence[Answer]) -> None:
        """Keep what `answers` to `template` gave: a 5.1's schedule id; a 5.3 that deleted
        the schedule forgets it."""
        if not answers or answers[-1].code != "I0":
            return
        if template.srv == "5.1":
            made = answers[-1].root.findtext(f".//{{{duis.SR}}}DSPScheduleID")
            if made:
                self.schedule_ids[bytes(user)] = made.strip()
        elif template.srv == "5.3":
            self.schedule_ids.pop(bytes(user), None)
        elif template.srv in PRENOTIFIED:
            self.prenotified.pop((bytes(user), template.srv), None)
        elif template.name.split("_")[0] == BACKS_UP_HUB_LOG:
            self.backed_up[bytes(user)] = duis.eui_text(template.target)
        elif template.srv == user_values.ISSUE_CREDENTIALS:
            self._issue(template, user, answers[-1])

    def _issue(self, template: Template, user: bytes, answer: Answer) -> None:
        """The certificate the SMKI issues for the request in the device's 6.17 answer, as
        the user asks for it (the SMKI's refusal kept in its place)."""
        payload = answer.gbcs_payload if answer.source == "endpoint" else None
        request = None if payload is None else user_values.certification_request(payload)
        if request is None:
            return
        key = (bytes(user), bytes(template.target))
        if self.smki_url is None:
            self.device_certificates[key] = "no SMKI service to ask"
            return
        try:
            self.device_certificates[key] = smki_client.request_device_certificate(
                self.smki_url, request
            )
        except SmkiError as exc:
            self.device_certificates[key] = str(exc)

    def _device_certificate(self, template: Template, xml: bytes, user: bytes) -> tuple[bytes, str]:
        """6.15.2 with the certificate the SMKI issued for the device's 6.17 request."""
        found = self.device_certificates.get((bytes(user), bytes(template.target)))
        if found is None:
            return xml, ""
        if isinstance(found, str):
            return xml, f"DeviceCertificate as the template has it: the SMKI issued none ({found})"
        serial, der = found
        why = "issued by the SMKI for the request in this run's 6.17 answer"
        return user_values.put_device_certificate(xml, der, serial, why)


def load_catalogue(folder: Path | None = None) -> list[Template]:
    """Every *.XML request of the folder (default: the DCC catalogue in gbhan's data), by
    name."""
    folder = Path(folder) if folder is not None else data.duis_catalogue()
    paths = sorted(p for p in folder.glob("*.XML") if p.is_file())
    if not paths:
        raise CatalogueError(f"{folder}: no *.XML templates")
    return [read_template(p) for p in paths]


@dataclass
class Result:
    """One template's run: the codes of every answer in order (e.g. I99, I0), whether the
    device's response verified (None: no device response), the time to the last answer."""

    file: str
    srv: str
    role: str
    outcome: str
    codes: tuple[str, ...] = ()
    verified: bool | None = None
    latency_s: float = 0.0
    detail: str = ""
    response: bytes | None = None  # the device's GBCS response, as the user received it
    device: str = ""  # what that response says of the command (device_outcome), else ""

    @property
    def code(self) -> str:
        return self.codes[-1] if self.codes else ""

    def as_dict(self) -> dict:
        response = None if self.response is None else self.response.hex().upper()
        return asdict(self) | {"codes": list(self.codes), "code": self.code,
                               "response": response}  # fmt: skip


#: GBCS's message code of CS02d, Update Device Certificates on Device (6.15.2)
CS02D_MESSAGE_CODE = 0x000B


class DeviceVerifier:
    """Checks a device's response as a DCC user does: the device's DS certificate from the
    SMKI service (fetched once per device, again at its 6.15.2 answer), MACs with the user's
    KA key pair and the device's KA certificate (the RTDS keystore holds both)."""

    def __init__(self, smki_url: str | None, keystore: Keystore):
        self.smki_url, self.keystore = smki_url, keystore
        self._fetched: set[bytes] = set()

    def _fetch(self, eui: bytes) -> None:
        if eui in self._fetched or self.smki_url is None:
            return
        self._fetched.add(eui)
        try:
            found = smki_client.in_use_certificates(self.smki_url, eui, device=True)
        except SmkiError:
            return  # then only a MAC can verify
        for _result, der in found:
            self.keystore.add_certificate(
                x509.load_der_x509_certificate(der), f"SMKI {eui.hex().upper()}"
            )

    def verify(self, raw: bytes) -> bool:
        return self.check(raw)[0]

    def check(self, raw: bytes) -> tuple[bool, str]:
        """Whether the response verifies, and what it says of the command (device_outcome,
        its encrypted parts read with the user's keys; UNKNOWN when it does not decode). A
        device's CS02d (6.15.2) answer may be signed with a key its new certificate holds,
        and so may every later one: its certificates are fetched again from the SMKI."""
        try:
            message = decode(raw)
            if message.message_code == CS02D_MESSAGE_CODE:
                self._fetched.discard(bytes(message.originator))
            self._fetch(bytes(message.originator))
            verified = check_message(message, self.keystore).outcome == "verified"
        except GbcsError:
            return False, UNKNOWN
        return verified, device_outcome(message)


@dataclass
class Runner:
    """Sends templates as the users of `users` (role -> DuisUser) and waits for answers."""

    users: dict[DuisRole, DuisUser]
    verifier: DeviceVerifier
    timeout_s: float = 20.0
    counter_base: int = field(default_factory=lambda: int(time.time() * 1000))
    carried: Carried = field(default_factory=Carried)

    async def run_one(self, template: Template, index: int) -> Result:
        result = Result(template.name, template.srv, template.role.value, ERROR)
        user = self.users.get(template.role)
        if user is None:
            result.detail = f"no user for role {template.role.value}"
            return result
        started = time.perf_counter()
        try:
            # counters rise with wall time across runs: a DSP or device that keeps state
            # sees every run's requests as new
            counter = self.counter_base * 1000 + index
            prelude = self.carried.prelude(template)
            if prelude is not None:  # its own counter: above any template's in the run
                before = await user.run(user.prepare(prelude[1], counter + PRELUDE_COUNTER),
                                        self.timeout_s)  # fmt: skip
                self.carried.prelude_answered(template, user.eui, before)
                result.detail = f"after {prelude[0]}: {'>'.join(a.code for a in before)}"
            xml, filled = self.carried.fill(template, template.path.read_bytes(), user.eui)
            result.detail = "; ".join(d for d in (result.detail, filled) if d)
            body = user.prepare(xml, counter)
            answers = await user.run(body, self.timeout_s)
            self.carried.note(template, user.eui, answers)
        except TimeoutError:
            result.outcome, result.detail = TIMEOUT, "no device response in time"
            result.latency_s = time.perf_counter() - started
            return result
        except (RoundTripFailed, duis.DuisError, OSError) as exc:
            result.detail = f"{type(exc).__name__}: {exc}"
            return result
        result.latency_s = time.perf_counter() - started
        return judge(result, answers, self.verifier)

    async def run(
        self,
        templates: Iterable[Template],
        progress: Callable[[int, int, Result], None] | None = None,
    ) -> list[Result]:
        listed = list(templates)
        results = []
        for index, template in enumerate(listed):
            results.append(await self.run_one(template, index))
            if progress is not None:
                progress(index + 1, len(listed), results[-1])
        return results


def catalogue_users(
    keystore: Keystore,
    schema: duis.DuisSchema,
    trusted: xmlsig.TrustedCertificates,
    transport,
) -> dict[DuisRole, DuisUser]:
    """Each role of CATALOGUE_USERS -> its user, one DuisUser per user ID (its main role its
    own) with its DCC Boxed keys (`keystore` opened at a date its GBCS certificates held); the
    GBCS signing pair is the one the emulated devices trust where DCC Boxed has two
    generations (users.make_user), RTDS's where DCC Boxed's is not one they trust (the Load
    Controller's)."""
    made: dict[bytes, DuisUser] = {}
    users = {}
    rtds = _RtdsSigning(keystore)
    for role, (eui, name, _port) in CATALOGUE_USERS.items():
        if eui not in made:
            signer = _xml_signer(keystore, eui)
            gbcs_key, _certificate = rtds.gbcs_pair(keystore, eui)
            made[eui] = DuisUser(name, eui, role, signer, gbcs_key, schema, trusted, transport)
        users[role] = made[eui]
    return users


class _RtdsSigning:
    """What the emulated devices trust, and RTDS's key pairs, each read once for all users
    (`keystore`'s date judges RTDS's certificates too)."""

    def __init__(self, keystore: Keystore) -> None:
        self.trust = DeviceTrust.rtds()
        self.keys = Keystore.open(data.rtds_keystore(), clock=keystore.clock)

    def gbcs_pair(
        self, keystore: Keystore, eui: bytes
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate | None]:
        """The user's GBCS signing key: DCC Boxed's the devices trust, else RTDS's they trust
        (the Load Controller's: DCC Boxed's Z1 one is another key) with its certificate, which
        the DSP must be given (DCC Boxed's it knows), else DCC Boxed's only one."""
        try:
            return self.trust.signing_key(keystore, eui), None
        except KeyMissing:
            pass
        try:
            entry, key = self.trust.pair(self.keys, eui, DS)
            return key, entry.certificate
        except KeyMissing:
            return keystore.ds_private_key(eui), None


def distinct(users: dict[DuisRole, DuisUser]) -> list[DuisUser]:
    """Each user of a role -> user map once (a user ID holds several roles)."""
    return list({id(user): user for user in users.values()}.values())


def _xml_signer(keystore: Keystore, eui: bytes) -> xmlsig.Signer:
    """The user's XML-signing pair from the keystore, else one made for this process."""
    try:
        return xmlsig.signer_from_keystore(keystore, eui)
    except xmlsig.XmlSignatureError:
        return _made_signer(eui)


@functools.cache
def _made_signer(eui: bytes) -> xmlsig.Signer:
    """An XML-signing key pair and certificate for a user DCC Boxed gives none (its second
    Supplier's only certificate is a GBCS one, expired in December 2025): OU 87 as DCC Boxed's
    users' XML certificates, the EUI as x500UniqueIdentifier, valid to 2118 as theirs, and
    issued, as theirs are by Z1, by a plain name of its own: were it self-signed, the issuer
    the DCC's signing tool writes in KeyInfo would carry the x500UniqueIdentifier in lower-case
    hex, which the DSP's lookup does not match. Made once per process, so the DSP served here
    and the runner's user share it."""
    key, issuer_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    issuer = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
        x509.NameAttribute(NameOID.COMMON_NAME, "gbhan catalogue"),
    ])  # fmt: skip
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "87"),
        x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, eui.hex().upper()),
        x509.NameAttribute(NameOID.COMMON_NAME, "gbhan catalogue user"),
    ])  # fmt: skip
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_dt.datetime(2018, 1, 1, tzinfo=_dt.UTC))
        .not_valid_after(_dt.datetime(2118, 1, 1, tzinfo=_dt.UTC))
        .sign(issuer_key, hashes.SHA256())
    )
    return xmlsig.Signer(key, certificate)


def catalogue_user_configs(keystore: Keystore) -> list[UserConfig]:
    """The catalogue's users DCC Boxed does not preset, as `gbhan dsp users add` takes them
    (XML certificate: the one `catalogue_users` signs with)."""
    configs: list[UserConfig] = []
    rtds = _RtdsSigning(keystore)
    for role, (eui, name, _port) in CATALOGUE_USERS.items():
        if eui in (SUPPLIER_EUI, DNO_EUI) or any(c.eui == eui for c in configs):
            continue
        certificate = _xml_signer(keystore, eui).certificate
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        _key, gbcs = rtds.gbcs_pair(keystore, eui)
        gbcs_pems = () if gbcs is None else (gbcs.public_bytes(serialization.Encoding.PEM),)
        configs.append(UserConfig(eui, role, name, None, (pem,), gbcs_pems))
    return configs


@dataclass
class Served:
    """A DSP served in this process: its URL, its SMKI service's, and where users' answers go."""

    url: str
    smki_url: str
    set_endpoint: Callable[[bytes, str], None]
    #: the DSP and RTDS's household, for a test to look inside
    dsp: Dsp | None = None
    premises: Premises | None = None


@contextlib.asynccontextmanager
async def serve_in_process(
    state_dir: Path,
    clock: Clock,
    keystore_path: Path | None = None,
    gbcs_date: _dt.datetime = DEFAULT_GBCS_DATE,
) -> AsyncIterator[Served]:
    """What `gbhan dsp serve` runs (DSP on HTTP, the emulated premises, the SMKI service),
    on free ports of 127.0.0.1, with the catalogue's users registered in `state_dir`."""
    keystore_path = keystore_path or data.dccboxed_keystore()
    state = DspState.open(state_dir, [data.rtds_keystore(), keystore_path], gbcs_date)
    smki = None
    runner = premises = second = None
    try:
        users_keys = Keystore.open(keystore_path, clock=gbcs_date)
        for config in catalogue_user_configs(users_keys):
            state.add_user(config)
        delivery = service.HttpDelivery()
        dsp = make_dsp(
            schema_dir=data.duis_schema(), dccboxed=keystore_path, rtds=data.rtds(),
            rtds_keystore=data.rtds_keystore(), clock=clock, gbcs_date=gbcs_date,
            wan=Wan(clock, latency_s=0.0), delivery=delivery, state=state,
        )  # fmt: skip
        premises = await build_premises(clock, identities=state.identities)
        dsp.attach(premises)
        second = await build_second_rtds_meter(clock, identities=state.identities)
        dsp.attach(second)
        smki = SmkiService(state.repo, "127.0.0.1", 0, clock=lambda: gbcs_date).start()
        runner = await service.start(dsp, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{service.bound_port(runner)}"
        try:
            yield Served(url, smki.url, dsp.users.set_endpoint, dsp, premises)
            await dsp.drain()
        finally:
            await delivery.close()
    finally:
        if runner is not None:
            await runner.cleanup()
        if smki is not None:
            smki.stop()
        if premises is not None:
            await premises.close()
        if second is not None:
            await second.close()
        state.close()


async def run_catalogue(
    templates: list[Template],
    *,
    url: str | None = None,
    smki_url: str | None = None,
    state_dir: Path | None = None,
    clock: Clock | None = None,
    keystore_path: Path | None = None,
    gbcs_date: _dt.datetime = DEFAULT_GBCS_DATE,
    timeout_s: float = 20.0,
    progress: Callable[[int, int, Result], None] | None = None,
) -> list[Result]:
    """Run `templates` against the DSP at `url` (its users' endpoints on CATALOGUE_USERS'
    ports, registered there beforehand), or without `url` against one served in this
    process (`state_dir` needed)."""
    keystore_path = keystore_path or data.dccboxed_keystore()
    keys = Keystore.open(keystore_path, clock=gbcs_date)
    trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(keystore_path))
    schema = duis.load_schema(str(data.duis_schema()))
    verify_keys = Keystore.open(data.rtds_keystore(), clock=gbcs_date)

    async def against(target: str, smki: str | None, set_endpoint) -> list[Result]:
        transport = HttpTransport(target)
        users = catalogue_users(keys, schema, trusted, transport)
        endpoints = []
        try:
            for user in distinct(users):
                endpoint = Endpoint(user)
                port = 0 if set_endpoint is not None else CATALOGUE_USERS[user.role][2]
                where = await endpoint.start("127.0.0.1", port)
                endpoints.append(endpoint)
                if set_endpoint is not None:
                    set_endpoint(user.eui, where)
            runner = Runner(users, DeviceVerifier(smki, verify_keys), timeout_s,
                            carried=Carried(smki_url=smki))  # fmt: skip
            return await runner.run(run_order(templates), progress)
        finally:
            await transport.close()
            for endpoint in endpoints:
                await endpoint.stop()

    if url is not None:
        return await against(url, smki_url, None)
    if state_dir is None:
        raise CatalogueError("an in-process DSP needs a state directory")
    async with serve_in_process(state_dir, clock or Clock("wall"), keystore_path,
                                gbcs_date) as served:  # fmt: skip
        return await against(served.url, served.smki_url, served.set_endpoint)


# --- the device's own answer ----------------------------------------------------------------

#: what a device response says of the command, read from its payload: every item succeeded,
#: every item failed (error:NAME[,NAME]), some failed (partial:NAME[,NAME], the failures
#: only), every item found nothing (ZCL NOT_FOUND: a log with no entry in the range), nothing
#: readable (encrypted: every status sits in a part this keystore cannot
#: decrypt), or a payload this reader does not know (unknown)
SUCCESS, NOT_FOUND, ENCRYPTED, UNKNOWN = "success", "not_found", "encrypted", "unknown"

#: ZCL Prepayment ConsumerTopUpResponse result types (ZCL SE 1.4 / GBCS's GBZ top-up): the
#: codec gives the number only
TOP_UP_RESULTS = {
    0x00: "accepted",
    0x01: "rejected_invalid_top_up",
    0x02: "rejected_duplicate_top_up",
    0x03: "rejected_error",
    0x04: "rejected_max_credit_reached",
    0x05: "rejected_keypad_lock",
    0x06: "rejected_top_up_value_too_large",
    0x10: "accepted_supply_enabled",
    0x11: "accepted_supply_disabled",
    0x12: "accepted_supply_armed",
}


def _verdict(statuses: list[str]) -> str:
    """One name per item (SUCCESS, NOT_FOUND or a failure's name) as the response's outcome:
    error when every item failed, partial when some did (the failures named once each, in
    order), NOT_FOUND when every item found nothing, else success."""
    if not statuses:
        return UNKNOWN
    failures = [s for s in statuses if s not in (SUCCESS, NOT_FOUND)]
    if failures:
        names = ",".join(dict.fromkeys(failures))
        return f"{'error' if len(failures) == len(statuses) else 'partial'}:{names}"
    return NOT_FOUND if all(s == NOT_FOUND for s in statuses) else SUCCESS


def _named(status) -> str:
    """A codec enum (EnumIntegerString) as SUCCESS or its name."""
    return SUCCESS if int(status) == 0 else str(status)


def dlms_outcome(payload: Container) -> str:
    """A DLMS access response: each item's data-access-result (get, set) or action-result."""
    return _verdict([_named(r.result) for r in payload.get("results") or ()])


def _zcl_statuses(frame: Container) -> list[str]:
    """One ZCL command's statuses: a default response's, a read's per attribute, a top-up's
    result, whether a log was cleared; a command that carries none (a publish, a read's
    answer) is one success."""
    command = str(frame.get("command"))
    if command == "default_response":
        return [_named(frame.status)]
    if command in ("read_attributes_response", "write_attributes_response"):
        return [_named(r.status) for r in frame.get("records") or ()] or [SUCCESS]
    if command == "consumer_top_up_response":
        result = int(frame.result_type)
        if result in (0x00, 0x10, 0x11, 0x12):
            return [SUCCESS]
        return [TOP_UP_RESULTS.get(result, f"top_up_result_{result}")]
    if command == "clear_event_log_response":
        return [SUCCESS if int(frame.cleared_event_logs) else "no_event_log_cleared"]
    return [SUCCESS]


def gbz_outcome(payload: Container, plaintexts: list[Container | None]) -> str:
    """A GBZ response: each component's ZCL command (_zcl_statuses); encrypted components as
    decrypted (`plaintexts`, in order), not counted when they were not (ENCRYPTED when no
    component could be read)."""
    statuses: list[str] = []
    hidden = 0
    decrypted = iter(plaintexts)
    for component in payload.get("components") or ():
        if component.body.frame is not None:
            frame = component.body.frame.payload
        else:
            frame = next(decrypted, None)
        if frame is None:
            hidden += 1
            continue
        statuses += _zcl_statuses(frame)
    if not statuses and hidden:
        return ENCRYPTED
    return _verdict(statuses)


def _enumerated(node: Container) -> list[int]:
    """Every ENUMERATED value in a raw ASN.1 tree, depth first."""
    if node is None:
        return []
    if node.get("children") is not None:
        return [v for child in node.children for v in _enumerated(child)]
    if node.get("name") == "enumerated":
        return [int.from_bytes(node.value, "big")]
    return []


def asn1_outcome(fields: Container) -> str:
    """An ASN.1 (CS…) response: its response code by the codec's name (CS06, CS07, CS08,
    CS02c/d/e, CS03, CS04), GCS28's device time status, 8.12.2's join outcomes; the codec
    leaves CS02a's and CS02b's outcomes as trees, whose ENUMERATED statuses (0 success, per
    remote party or credential replaced) are read as numbers."""
    if fields.get("choice") == "command_accepted":
        return SUCCESS  # a future-dated command accepted: its outcome comes as an alert
    if fields.get("choice") == "execution_outcome":
        return asn1_outcome(fields.value)
    if fields.get("choice") == "response_code":  # CS02c, CS02e: the failure alternative
        return f"error:{fields.get('name') or fields.value}"
    if fields.get("choice") in ("certification_request", "certificate"):
        return SUCCESS
    if "response_code" in fields:
        code = int(fields.response_code)
        return SUCCESS if code == 0 else f"error:{fields.get('response_code_name') or code}"
    if "device_time_status" in fields:
        status = int(fields.device_time_status)
        return SUCCESS if status == 0 else f"error:time_{fields.device_time_status_name}"
    if "restore_outcomes" in fields:
        return _verdict([SUCCESS if int(o.join_response_code) == 0
                         else str(o.join_response_code_name)
                         for o in fields.restore_outcomes])  # fmt: skip
    if "command_accepted" in fields:  # CS02b: outcome present when executed at once
        statuses = _enumerated(fields.get("execution_outcome"))
        return _verdict([f"status_{s}" if s else SUCCESS for s in statuses] or [SUCCESS])
    value = fields.get("value")
    if isinstance(value, int) and "name" in fields:  # CS02d, CS03, CS04
        return SUCCESS if value == 0 else f"error:{fields.name}"
    if isinstance(value, list):  # CS02a/CS02f: one status per remote party
        statuses = [s for item in value for s in _enumerated(item)]
        return _verdict([f"status_{s}" if s else SUCCESS for s in statuses])
    return UNKNOWN


def device_outcome(message: Message) -> str:
    """What the device's response says of the command it answers (SUCCESS, error:…,
    partial:…, ENCRYPTED, UNKNOWN); the response's encrypted parts are read when
    `message.decrypted` holds their plaintexts (after check_message with the user's keys)."""
    kind = message.payload_kind
    try:
        if kind == "dlms-access-response":
            return dlms_outcome(message.payload)
        if kind == "gbz":
            plaintexts = decode_plaintexts(kind, message.payload, list(message.decrypted))
            return gbz_outcome(message.payload, plaintexts)
        if kind == "asn1":
            return asn1_outcome(message.payload.fields)
    except (GbcsError, AttributeError, KeyError, TypeError, ValueError):
        return UNKNOWN
    return UNKNOWN


# --- reports ------------------------------------------------------------------------------


def summary(results: list[Result]) -> dict:
    """Counts by outcome and by final code, and the SRV variants every file of which was
    answered."""
    by_outcome = {o: sum(r.outcome == o for r in results) for o in OUTCOMES}
    codes: dict[str, int] = defaultdict(int)
    for r in results:
        codes[r.code or r.outcome] += 1
    variants = _by_variant(results)
    answered = sorted(v for v, rs in variants.items() if all(r.outcome == ANSWERED for r in rs))
    return {
        "templates": len(results),
        "outcomes": by_outcome,
        "codes": dict(sorted(codes.items())),
        "verified": sum(r.verified is True for r in results),
        "not_verified": sum(r.verified is False for r in results),
        "variants": len(variants),
        "variants_answered": len(answered),
        "device_success": sum(r.device == SUCCESS for r in results),
        "device_error": sum(device_failed(r) for r in results),
    }


def device_failed(result: Result) -> bool:
    """The device answered, and its answer says the command failed (wholly or in part)."""
    return result.device.startswith(("error:", "partial:"))


def judge(result: Result, answers: Sequence[Answer], verifier: DeviceVerifier) -> Result:
    """`result` filled from a template's answers, however they were sent: the codes; answered
    when the last is I0 (the device's response, where it came to the user's endpoint, checked
    with its certificate and read for the device's own word), else failed after an I99 or
    refused."""
    result.codes = tuple(a.code for a in answers)
    final = answers[-1]
    if final.code == "I0":
        result.outcome = ANSWERED
        payload = final.gbcs_payload if final.source == "endpoint" else None
        if payload is not None:
            result.response = payload
            result.verified, result.device = verifier.check(payload)
    else:
        result.outcome = FAILED if "I99" in result.codes else REFUSED
    return result


def expectation(result: Result) -> str:
    """A template's line in tests/catalogue/expectations.json: its codes, then what the
    device said ("I0>I99>I0 success", "I99>I0 error:hash_mismatch"), the codes alone when no
    device answered."""
    codes = ">".join(result.codes)
    return f"{codes} {result.device}" if result.device else codes


def _srv_key(srv: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in srv.split(".") if p)


def _by_variant(results: list[Result]) -> dict[str, list[Result]]:
    grouped: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        grouped[r.srv].append(r)
    return dict(sorted(grouped.items(), key=lambda kv: _srv_key(kv[0])))


def table(results: list[Result]) -> str:
    """The per-file table and the summary, as text."""
    wide = max([len("device"), *(len(r.device) for r in results)])
    lines = [f"{'SRV':9} {'outcome':9} {'codes':10} {'verified':8} {'device':{wide}} {'ms':>7}  "
             "file"]  # fmt: skip
    for r in sorted(results, key=lambda r: (_srv_key(r.srv), r.file)):
        verified = {True: "yes", False: "NO", None: "-"}[r.verified]
        note = f"  ({r.detail})" if r.detail else ""
        lines.append(f"{r.srv:9} {r.outcome:9} {'>'.join(r.codes) or '-':10} {verified:8} "
                     f"{r.device or '-':{wide}} {r.latency_s * 1000:7.1f}  {r.file}{note}")  # fmt: skip
    s = summary(results)
    lines.append(
        f"{s['templates']} templates: "
        + ", ".join(f"{n} {o}" for o, n in s["outcomes"].items() if n)
        + f"; device responses verified {s['verified']}, not verified {s['not_verified']}; "
        f"{s['variants_answered']} of {s['variants']} SRV variants answered in every file; "
        f"the device answered success {s['device_success']}, its own error "
        f"{s['device_error']}"
    )
    lines.append("final codes: " + ", ".join(f"{c} {n}" for c, n in s["codes"].items()))
    return "\n".join(lines)


def status_markdown(results: list[Result]) -> str:
    """The SRV status list: one row per variant, its files, what each got, and what the
    device's responses said: a variant answered whose device refused (error or partial)
    reads "answered, device error NAME", not "answered"."""
    s = summary(results)
    rows = [
        f"{s['variants_answered']} of {s['variants']} SRV variants answered in every template "
        f"({s['outcomes'][ANSWERED]} of {s['templates']} templates), from "
        "`gbhan dsp catalogue --markdown docs/backoffice.md` against an in-process DSP; "
        f"the device answered success in {s['device_success']}, its own error in "
        f"{s['device_error']} (the device column: what each device response says, "
        "decoded: success, error or partial with the device's codes, not_found).",
        "",
        "| SRV variant | status | templates answered | codes | device |",
        "|---|---|---|---|---|",
    ]

    def counted(values: list[str]) -> str:
        seen: dict[str, int] = defaultdict(int)
        for value in values:
            seen[value] += 1
        return ", ".join(f"{c} ×{n}" if n > 1 else c for c, n in sorted(seen.items()))

    for srv, rs in _by_variant(results).items():
        answered = sum(r.outcome == ANSWERED for r in rs)
        status = "answered" if answered == len(rs) else "partly" if answered else "not yet"
        errors = [r.device.split(":", 1)[1] for r in rs if device_failed(r)]
        if errors:  # answered, but the device said the command failed
            status += ", device error " + ", ".join(dict.fromkeys(errors))
        codes = counted([">".join(r.codes) or r.outcome for r in rs])
        device = counted([r.device for r in rs if r.device]) or "-"
        rows.append(f"| {srv} | {status} | {answered}/{len(rs)} | {codes} | {device} |")
    return "\n".join(rows)


def write_status(document: Path, results: list[Result]) -> None:
    """Replace what lies between STATUS_BEGIN and STATUS_END in `document` with the status
    list; CatalogueError when the markers are missing."""
    text = document.read_text()
    start, end = text.find(STATUS_BEGIN), text.find(STATUS_END)
    if start < 0 or end < start:
        raise CatalogueError(f"{document}: no {STATUS_BEGIN} … {STATUS_END} markers")
    head = text[: start + len(STATUS_BEGIN)]
    document.write_text(f"{head}\n{status_markdown(results)}\n{text[end:]}")


__all__ = [
    "ANSWERED",
    "CATALOGUE_USERS",
    "Carried",
    "CatalogueError",
    "DeviceVerifier",
    "ENCRYPTED",
    "ERROR",
    "FAILED",
    "NOT_FOUND",
    "OUTCOMES",
    "PRELUDES",
    "REFUSED",
    "REPLACES_ANCHORS",
    "Result",
    "Runner",
    "STATUS_BEGIN",
    "STATUS_END",
    "SUCCESS",
    "TIMEOUT",
    "Template",
    "UNKNOWN",
    "asn1_outcome",
    "catalogue_user_configs",
    "catalogue_users",
    "device_failed",
    "device_outcome",
    "distinct",
    "dlms_outcome",
    "expectation",
    "gbz_outcome",
    "judge",
    "load_catalogue",
    "read_template",
    "run_catalogue",
    "run_order",
    "serve_in_process",
    "status_markdown",
    "summary",
    "table",
    "template_role",
    "template_sender",
    "user_roles",
    "write_status",
]
