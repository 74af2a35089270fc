"""The DSP: DUIS requests in, GBCS commands out to the premises, DUIS responses and alerts
back to the users. Runs in-process (`await dsp.handle(endpoint, body)`); service.py puts
DCC Boxed's HTTP interface over it.

Every request, in this order (the first failure answers, and nothing reaches a premises):
endpoint known (E13) → hardened parse, DUIS schema, XML signature (E40/E41, document.py) →
originator a registered user (E1) signed with its own certificate (E41) → variant fits the
endpoint (E13) → replayed id (E42) → an SRV variant gbhan serves (E43) →
eligibility of the user's role (E2) → target and other device known (E19) → target in service (E5:
not decommissioned or withdrawn) → transform (E11) and variant fits the use case
(E12) → for variant 5, the user's GBCS signature on the very pre-command issued (E41).
Accepted: serviceT answers `I0` with the `PreCommand`; serviceS answers `I99`, MACs the command
as the ACB (signing it first where the ACB signs), routes it over the WAN, and later POSTs the
device's response (`I0` + `GBCSPayload`, or `E20`/`E21`) to the user's endpoint. Local
delivery (variants 2, 6, on serviceD) answers `I0` with the MAC'd command as `LocalCommand`
instead of routing it; variants 3, 7 (on serviceS) do both (`I99` with the `LocalCommand`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as _dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from construct import Container
from lxml import etree

from emulator.clock import Clock
from emulator.errors import EmulatorError
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.keystore import DS, KA, Keystore
from gbcs.roles import ACB_EUI
from gbcs.security import check_message
from gbcs.security import sign as gbcs_sign

from . import alerts, document, duis, future, nondevice, xmlsig
from .eligibility import BASE_ELIGIBILITY, DuisRole, Eligibility, NotEligible
from .handover import DccControl, NotDccControlled, replaced_all, requested_role
from .inventory import OUT_OF_SERVICE, Device, Inventory
from .keychoice import DeviceTrust, KeyChoiceError, mac_for_device
from .registry import RegisteredUser, UserRegistry
from .replay import NotIssued, Replayed, RequestLedger
from .response_codes import ResponseCode
from .routing import ExecutionOutcome, NoRoute, PremisesPort, Router
from .schedules import (
    Schedule,
    ScheduleBook,
    ScheduleRefused,
    schedule_id_body,
    scheduled_message,
)
from .timing import Ending, ResponseTimes
from .transform import (
    AcbContext,
    GpfBackup,
    HubBackup,
    JoinPartner,
    SignedPreCommandRefused,
    Transformed,
    TransformError,
    check_signed_precommand,
    device_use_case,
    gpf_backup,
    hub_backup,
    transform,
)

log = logging.getLogger(__name__)

SEND = "serviceS"
TRANSFORM = "serviceT"
NON_DEVICE = "serviceD"
#: DUIS's web service per command variant (the DCC's own table, @smartdcc/duis-parser's
#: cv.js, agrees): Send Command 1, 3, 5, 7; Transform 4; Non-Device 2, 6 (the command
#: returned for local delivery only) and 8
ENDPOINT_VARIANTS = {
    SEND: frozenset({1, 3, 5, 7}),
    TRANSFORM: frozenset({4}),
    NON_DEVICE: frozenset({2, 6, 8}),
}
#: DUIS command variants: the command is returned for local delivery (2, 6: only; 3, 7: and
#: sent over the WAN too); 5-7 carry a pre-command the user signed (after a variant 4)
LOCAL_DELIVERY_VARIANTS = frozenset({2, 3, 6, 7})
LOCAL_ONLY_VARIANTS = frozenset({2, 6})
SIGNED_RETURN_VARIANTS = frozenset({5, 6, 7})
NON_CRITICAL_VARIANTS = frozenset({1, 2, 3})
# The schema wants an SRV in every response; a document too broken to name one is answered
# naming 8.2 (a DSP service). Not in our sources; documented in docs/backoffice.md.
UNREADABLE_SRV = ("8.2", "8.2")


class DspRefusal(EmulatorError):
    """A request refused with a DUIS code; `request` when it could be read that far."""

    def __init__(self, code: ResponseCode, reason: str, request: duis.Request | None = None):
        super().__init__(f"{code.value}: {reason}")
        self.code = code
        self.reason = reason
        self.request = request


@dataclass
class Delivered:
    """A document the DSP handed to a user's endpoint (kept for reports and tests)."""

    user: bytes
    kind: duis.DocumentKind
    document: bytes
    at: float


class Mailbox:
    """In-process delivery: keeps every document per user and wakes waiters. The HTTP
    service uses service.HttpDelivery instead; both have `async deliver(...)`."""

    def __init__(self) -> None:
        self.documents: dict[bytes, list[bytes]] = {}
        self._changed = asyncio.Condition()

    async def deliver(self, user: RegisteredUser, document: bytes, kind: duis.DocumentKind) -> bool:
        async with self._changed:
            self.documents.setdefault(bytes(user.eui), []).append(document)
            self._changed.notify_all()
        return True

    async def wait_for(self, user: bytes, count: int) -> list[bytes]:
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.documents.get(user, ())) >= count)
            return list(self.documents[user])


@dataclass
class _Job:
    """What a routed command needs to finish: who asked, about what, and why."""

    request: duis.Request
    user: RegisteredUser
    target: Device
    other: Device | None
    use_case: str
    #: a DSP future-dated request's ExecutionDateTime: sent then, not at once (future.py)
    at: _dt.datetime | None = None
    #: the role the user sent it as (RegisteredUser.acting_role); None: the user's first
    role: DuisRole | None = None

    @property
    def acting(self) -> DuisRole:
        return self.user.role if self.role is None else self.role


@dataclass
class DspStats:
    accepted: int = 0
    refused: Counter = field(default_factory=Counter)
    routed: int = 0
    device_responses: int = 0
    no_response: int = 0
    alerts_delivered: int = 0
    alerts_undeliverable: int = 0
    delivery_failures: int = 0
    #: 11.1 / 11.4 images sent, by how each device took it ("verified", "no-route", ...)
    firmware: Counter = field(default_factory=Counter)


class Dsp:
    """One DSP instance; all state (ledger, ACB counter, records) lives here."""

    def __init__(
        self,
        *,
        schema: duis.DuisSchema,
        trusted: xmlsig.TrustedCertificates,
        signer: xmlsig.Signer,
        gbcs_keys: Keystore,
        users: UserRegistry,
        inventory: Inventory,
        router: Router,
        clock: Clock,
        delivery=None,
        eligibility: Eligibility | None = None,
        acb_counter: int | None = None,
        acb_keys: Keystore | None = None,
        utc_now: Callable[[], _dt.datetime] | None = None,
        device_trust: DeviceTrust | None = None,
        ledger: RequestLedger | None = None,
        in_flight_per_device: int | None = None,
    ):
        self.schema, self.trusted, self.signer = schema, trusted, signer
        self.gbcs_keys, self.users, self.inventory = gbcs_keys, users, inventory
        # the ACB's own key pairs (sign, MAC) and the devices' certificates; users' GBCS
        # signing certificates are looked up in gbcs_keys
        self.acb_keys = acb_keys or gbcs_keys
        # the ACB certificates the devices hold: the ACB signs and MACs with those pairs only
        # (default: every ACB certificate of acb_keys, so several generations there are an
        # error at the first command, never a silent choice by load order)
        self.device_trust = device_trust or DeviceTrust.from_keystore(self.acb_keys, [ACB_EUI])
        self.router, self.clock = router, clock
        self.delivery = delivery if delivery is not None else Mailbox()
        self.eligibility = eligibility or Eligibility()
        self.utc_now = utc_now or clock.utc_now
        # DCC Boxed's ACB counters look like millisecond timestamps; start from the clock's.
        self._acb_counter = (
            acb_counter if acb_counter is not None else int(self.utc_now().timestamp() * 1000)
        )
        self.ledger = ledger if ledger is not None else RequestLedger()
        self.in_flight_per_device = in_flight_per_device
        self._gates: dict[bytes, asyncio.Semaphore] = {}
        self.times = ResponseTimes()
        self.stats = DspStats()
        self.sent_to_premises: list[tuple[str, bytes]] = []
        self.delivered: list[Delivered] = []
        self.dcc_alerts: list[alerts.DccAlertRecord] = []
        self._tasks: set[asyncio.Task] = set()
        #: told of each request refused, as it is (in the handling request's context): the
        #: web console shows why a request was refused (docs/web.md)
        self.on_refused: list[Callable[[DspRefusal], None]] = []
        #: the users' DCC schedules (5.1-5.3, schedules.py), run by `run_due_schedules`
        self.schedules = ScheduleBook()
        self.schedule_tick_s = 60.0  # the longest the scheduler sleeps between checks
        self._scheduler: asyncio.Task | None = None
        self._schedule_counter = 0
        #: each Comms Hub's device log as its last CCS07 (8.9 ReadSecurityDetails) reported
        #: it: what 8.12.1 restores at the hub that replaces it
        self.hub_backups: dict[bytes, HubBackup] = {}
        #: each GPF's device log as its last GCS62 alert (MAC checked) reported it: what
        #: 8.12.2 restores at the GPF that replaces it
        self.gpf_backups: dict[bytes, GpfBackup] = {}
        #: told of each backup kept (EUI, "chf" or "gpf", the device's message): the state
        #: directory keeps them across a restart
        self.on_backup: Callable[[bytes, str, bytes], None] | None = None
        #: changes the pace of a paced DSP's clock, devices and premises host included
        #: (`gbhan dsp serve --start/--speed`; None on the plain wall or a simulated clock)
        self.pace: Callable[[float], None] | None = None
        #: the device roles the DCC controls, which 6.21 hands over (handover.py)
        self.dcc_control = DccControl()

    # --- premises -------------------------------------------------------------------------
    def attach(self, premises: PremisesPort) -> None:
        """Connect a premises: its devices become routable and its alerts reach users."""
        self.router.attach(premises, self._on_alert)

    # --- the synchronous answer --------------------------------------------------------------
    async def handle(self, endpoint: str, body: bytes) -> bytes:
        """Process one request arriving at `endpoint` (serviceS / serviceT / serviceD) and
        return the signed DUIS response to send back at once."""
        try:
            return self._accept(endpoint, body)
        except DspRefusal as refusal:
            self.stats.refused[refusal.code.value] += 1
            log.info("refused %s: %s", refusal.code.value, refusal.reason)
            for listener in self.on_refused:
                listener(refusal)
            return self._error_reply(refusal, body)

    def _accept(self, endpoint: str, body: bytes) -> bytes:
        started = self.clock.now()
        if endpoint not in ENDPOINT_VARIANTS:
            raise DspRefusal(ResponseCode.REQUEST_TYPE_NOT_FOR_URL, f"no endpoint {endpoint!r}")
        try:
            checked = document.check(body, self.schema, self.trusted, require_signature=True)
            request = duis.parse_request(checked.root)
        except document.Refused as exc:
            raise DspRefusal(exc.code, f"{exc.reason}: {exc.detail}") from None
        except duis.DuisError as exc:
            raise DspRefusal(exc.code, str(exc)) from None
        rid = request.request_id
        user = self.users.get(rid.originator)
        if user is None:
            raise DspRefusal(
                ResponseCode.NOT_A_SEC_PARTY, "originator is no registered user", request
            )
        if not user.signed_by(checked.certificate):
            raise DspRefusal(
                ResponseCode.XML_SIGNATURE_FAILED,
                "signed with a certificate not registered to the originator",
                request,
            )
        variant = request.command_variant
        if variant not in ENDPOINT_VARIANTS[endpoint]:
            raise DspRefusal(
                ResponseCode.REQUEST_TYPE_NOT_FOR_URL,
                f"command variant {variant} is not for {endpoint}",
                request,
            )
        if variant not in SIGNED_RETURN_VARIANTS and str(rid) in self.ledger:
            raise DspRefusal(ResponseCode.REPLAYED_REQUEST_ID, f"{rid} was used before", request)
        srv = request.service_reference_variant
        if srv not in BASE_ELIGIBILITY and not self.eligibility.roles(srv):
            raise DspRefusal(
                ResponseCode.NOT_SUPPORTED, f"SRV {srv} is not served by gbhan", request
            )
        known = self.inventory.get(rid.target)
        role = user.acting_role(
            self.eligibility.roles(srv), None if known is None else known.device_type
        )
        try:
            self.eligibility.check(request.service_reference_variant, role)
        except NotEligible as exc:
            raise DspRefusal(exc.code, str(exc), request) from None
        if variant == 8:
            return self._non_device(request, started)
        target = self.inventory.get(rid.target)
        if target is None:
            raise DspRefusal(ResponseCode.UNKNOWN_DEVICE, f"no device {rid.target.hex()}", request)
        status = self.inventory.status(rid.target)
        if status in OUT_OF_SERVICE:  # decommissioned (8.3) or withdrawn (8.14)
            raise DspRefusal(ResponseCode.DEVICE_STATUS_INCOMPATIBLE,
                             f"{rid.target.hex()} is {status}", request)  # fmt: skip
        other = self._other_device(request)
        if other is not None and request.service_reference == "8.7":  # joins an in-service one
            if (other_status := self.inventory.status(other.eui)) in OUT_OF_SERVICE:
                raise DspRefusal(ResponseCode.DEVICE_STATUS_INCOMPATIBLE,
                                 f"{other.eui.hex()} is {other_status}", request)  # fmt: skip
        if variant in SIGNED_RETURN_VARIANTS:
            return self._send_signed(request, user)
        if srv == "6.21":  # the DCC hands over only a role it controls (handover.py)
            try:
                self.dcc_control.check(request, rid.target)
            except NotDccControlled as exc:
                raise DspRefusal(ResponseCode.NOT_DCC_CONTROLLED, str(exc), request) from None
        try:
            at = future.execution_time(request)
        except future.FutureDatedError as exc:
            raise DspRefusal(ResponseCode.XML_REFUSED, str(exc), request) from None
        sent = request if at is None else future.for_now(request)  # the device sees no date
        transformed, use_case = self._transform(sent, target, other, user, role)
        if variant == 4 and not transformed.user_signs:
            raise DspRefusal(
                ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE,
                f"{use_case} is not a critical command the user signs",
                request,
            )
        if variant in NON_CRITICAL_VARIANTS and transformed.user_signs:
            raise DspRefusal(
                ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE,
                f"{use_case} is critical: send it with variant 4 to {TRANSFORM}",
                request,
            )
        self.ledger.accept(str(rid))
        self.stats.accepted += 1
        self.times.start(str(rid), request.service_reference_variant, started)
        job = _Job(request, user, target, other, use_case, at, role)
        if variant == 4:
            precommand = transformed.precommand()
            self.ledger.issue(str(rid), precommand, job, duis.to_bytes(checked.root))
            return self._reply(request, ResponseCode.SUCCESS, precommand=precommand)
        if transformed.via_acb:
            self._acb_counter += 1
            self.ledger.acb_counter(self._acb_counter)
        command = transformed.unsigned_command()
        if transformed.acb_signs:
            # the ACB, or the DCC party the form names (6.23: Transitional CoS)
            signer = bytes(transformed.header.originator)
            acb_key = self.device_trust.signing_key(self.acb_keys, signer)
            command = gbcs_sign(transformed.precommand(), acb_key)
        return self._send_or_return(request, job, command, duis.to_bytes(checked.root))

    def _send_or_return(
        self, request: duis.Request, job: _Job, command: bytes, body: bytes | None
    ) -> bytes:
        """Route the command (variants 1, 5: I99, the device's answer later), return it MAC'd
        for local delivery (2, 6: I0 with the `LocalCommand`; the device's response comes back
        by the local route, not the DSP), or both (3, 7: I99 with the `LocalCommand`)."""
        rid = str(request.request_id)
        variant = request.command_variant
        local = None
        if variant in LOCAL_DELIVERY_VARIANTS:
            try:
                local = mac_for_device(command, self.acb_keys, self.device_trust)
            except GbcsError as exc:
                raise DspRefusal(ResponseCode.CANNOT_COMMUNICATE, f"cannot MAC: {exc}",
                                 request) from None  # fmt: skip
        if variant in LOCAL_ONLY_VARIANTS:
            self.ledger.answered(rid)
            self.times.delivered(rid, self.clock.now(), Ending.ANSWERED)
            return self._reply(request, ResponseCode.SUCCESS, local_command=local)
        self.ledger.queued(rid, body, command)
        self._dispatch(job, command)
        return self._reply(request, ResponseCode.ACCEPTED, local_command=local)

    def _non_device(self, request: duis.Request, started: float) -> bytes:
        """serviceD (nondevice.py): addressed to the DSP itself, answered at once."""
        rid = request.request_id
        if rid.target != ACB_EUI:
            raise DspRefusal(ResponseCode.UNKNOWN_DEVICE, "a non-device request names the DSP "
                          f"{ACB_EUI.hex().upper()} as target", request)  # fmt: skip
        if request.service_reference in ("5.1", "5.2", "5.3"):
            body = self._schedule_service(request)
        elif request.service_reference_variant in nondevice.FIRMWARE_SRVS:
            body = self._distribute_firmware(request)
        elif request.service_reference_variant not in nondevice.SERVED:
            raise DspRefusal(ResponseCode.NOT_SUPPORTED, "non-device service not served", request)
        else:
            body = self._non_device_answer(request)
        return self._non_device_reply(request, body, started)

    def _distribute_firmware(self, request: duis.Request) -> etree._Element | None:
        """11.1 / 11.4: answered at once (the warning for devices not sent to), the image
        then carried to each device's premises; the devices alert their receipt."""
        try:
            order = nondevice.firmware_order(request, self.inventory)
        except nondevice.NonDeviceRefused as exc:
            raise DspRefusal(exc.code, str(exc), request) from None
        for device in order.devices:
            self._spawn(self._send_image(device, order.image))
        return order.warning

    async def _send_image(self, device: bytes, image: bytes) -> None:
        try:
            outcome = await self.router.distribute_firmware(device, image)
        except NoRoute as exc:
            outcome = "no-route"
            log.warning("firmware image not sent: %s", exc)
        self.stats.firmware[outcome] += 1
        log.info("firmware image to %s: %s", device.hex().upper(), outcome)

    def _non_device_answer(self, request: duis.Request) -> etree._Element | None:
        try:
            broker = self._broker() if request.service_reference_variant == "8.6" else None
            return nondevice.answer(request, self.inventory, keys=self.acb_keys,
                                    now=self.utc_now(), broker=broker)  # fmt: skip
        except nondevice.NonDeviceRefused as exc:
            raise DspRefusal(exc.code, str(exc), request) from None

    def _broker(self) -> nondevice.BrokerCredentials | None:
        """The ACB's certificates the devices hold, which 8.6 gives the user (None: the DSP
        holds no such key agreement certificate, and 8.6 is refused)."""
        try:
            signing, agreement = (self.device_trust.pair(self.acb_keys, ACB_EUI, usage)[0]
                                  for usage in (DS, KA))  # fmt: skip
        except KeyChoiceError as exc:
            log.warning("no DSP Broker credentials for 8.6: %s", exc)
            return None
        if agreement.certificate is None:
            return None
        return nondevice.BrokerCredentials(signing.certificate, agreement.certificate)

    def _non_device_reply(
        self, request: duis.Request, body: etree._Element | None, started: float
    ) -> bytes:
        rid = request.request_id
        self.ledger.accept(str(rid))
        self.stats.accepted += 1
        root = duis.build_response(
            code=ResponseCode.SUCCESS,
            service_reference=request.service_reference,
            service_reference_variant=request.service_reference_variant,
            when=self.utc_now(),
            request_id=rid,
        )
        message = root.find(f"{{{duis.SR}}}Body/{{{duis.SR}}}ResponseMessage")
        assert message is not None  # build_response always makes one
        if body is not None:
            message.append(body)
        # DCC Boxed's answer to a non-device request carries no ResponseID (its 8.2 answer)
        header = root.find(f"{{{duis.SR}}}Header")
        response_id = None if header is None else header.find(f"{{{duis.SR}}}ResponseID")
        if header is not None and response_id is not None:
            header.remove(response_id)
        self.times.start(str(rid), request.service_reference_variant, started)
        self.times.delivered(str(rid), self.clock.now(), Ending.ANSWERED)
        self.ledger.answered(str(rid))
        return self._sign(root)

    def _send_signed(self, request: duis.Request, user: RegisteredUser) -> bytes:
        rid = str(request.request_id)
        try:
            issued = self.ledger.redeem(rid)
        except Replayed as exc:
            raise DspRefusal(ResponseCode.REPLAYED_REQUEST_ID, str(exc), request) from None
        except NotIssued as exc:
            raise DspRefusal(
                ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE, str(exc), request
            ) from None
        job = issued.context if issued.context is not None else self._job_from(issued.body)
        if job is None:
            raise DspRefusal(
                ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE,
                "the issued pre-command's request can no longer be served",
                request,
            )
        if job.request.service_reference_variant != request.service_reference_variant:
            self.ledger.restore(rid, issued)
            raise DspRefusal(
                ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE, "SRV differs from the issued", request
            )
        signed = request.signed_precommand or b""
        try:
            keys = self.gbcs_keys.ds_public_keys(user.eui)
            check_signed_precommand(issued.precommand, signed, keys)
        except (SignedPreCommandRefused, GbcsError) as exc:
            self.ledger.restore(rid, issued)
            raise DspRefusal(ResponseCode.XML_SIGNATURE_FAILED, str(exc), request) from None
        return self._send_or_return(request, job, signed, None)

    # --- after a restart ---------------------------------------------------------------------
    def resume(self) -> int:
        """Answer once what an earlier run on the same state acknowledged and never answered:
        a command that never left is routed now; one that left is answered E21 (whether the
        device executed it is unknown), never sent again; an answer that was being delivered
        is delivered again, the same document. Returns how many."""
        unfinished = self.ledger.unfinished()
        for item in unfinished:
            job = self._job_from(item.body)
            if job is None:
                log.warning("%s: its user or device is gone; left unanswered", item.request_id)
                self.ledger.answered(item.request_id)
                continue
            srv = job.request.service_reference_variant
            self.times.start(item.request_id, srv, self.clock.now())
            if item.state == "queued":
                self._dispatch(job, item.command)
            elif item.response is not None:
                self._spawn(self._redeliver(job, item.response))
            else:
                self._spawn(
                    self._respond(job, ResponseCode.NO_DEVICE_RESPONSE, None, Ending.RESTARTED)
                )
        return len(unfinished)

    async def _redeliver(self, job: _Job, response: bytes) -> None:
        """An answer an earlier run was delivering when it stopped: the same bytes again."""
        log.info("%s: delivering its answer again after a restart", job.request.request_id)
        await self._deliver(job.user, response, duis.DocumentKind.RESPONSE)
        self.times.delivered(str(job.request.request_id), self.clock.now(), Ending.RESTARTED)
        self.ledger.answered(str(job.request.request_id))

    def _job_from(self, body: bytes | None) -> _Job | None:
        """The job of an accepted request, rebuilt from its signed content (journal)."""
        if body is None:
            return None
        try:
            request = duis.parse_request(duis.parse(body))
            user = self.users.get(request.request_id.originator)
            target = self.inventory.get(request.request_id.target)
            if user is None or target is None:
                return None
            other = self._other_device(request)
        except (duis.DuisError, DspRefusal):
            return None
        srv = request.service_reference_variant
        use_case = choose_use_case(srv, target, other) or ""
        role = user.acting_role(self.eligibility.roles(srv), target.device_type)
        return _Job(request, user, target, other, use_case, None, role)

    # --- helpers for the checks -------------------------------------------------------------
    def _other_device(self, request: duis.Request) -> Device | None:
        text = request.body.findtext(f"{{{duis.SR}}}OtherDeviceID")
        if text is None:
            return None
        eui = duis.eui_from_text(text.strip())
        other = self.inventory.get(eui)
        if other is None:
            raise DspRefusal(ResponseCode.UNKNOWN_DEVICE, f"no device {eui.hex()}", request)
        return other

    def _transform(
        self,
        request: duis.Request,
        target: Device,
        other: Device | None,
        user: RegisteredUser | None = None,
        role: DuisRole | None = None,
    ) -> tuple[Transformed, str]:
        use_case = choose_use_case(request.service_reference_variant, target, other)
        if use_case is None and other is not None and request.service_reference == "8.7":
            raise DspRefusal(ResponseCode.SRV_NOT_FOR_DEVICE_TYPE, f"no join method joins a "
                             f"{other.device_type} to a {target.device_type}", request)  # fmt: skip
        partner = None
        if other is not None and request.service_reference in ("8.7",):
            certificate = other.certificate if use_case == "CS03C" else None
            partner = JoinPartner(other.type_code, certificate)
        acb = AcbContext(ACB_EUI, self._acb_counter + 1)
        restore = None
        if request.service_reference_variant in self.REPLACED:
            restore = self._replaced_log(request)
        try:
            transformed = transform(
                request,
                use_case=use_case,
                acb=acb,
                partner=partner,
                now=self.utc_now(),
                role=role,
                restore=restore,
            )
            if role is not None and role not in ANCHORED_ROLES and not transformed.via_acb:
                transformed = on_behalf(request, transformed, acb, use_case)
        except TransformError as exc:
            raise DspRefusal(exc.code, str(exc), request) from None
        except (GbcsError, ValueError, TypeError) as exc:
            raise DspRefusal(ResponseCode.SRV_NOT_FOR_DEVICE_TYPE, str(exc), request) from None
        return transformed, transformed.use_case.name

    # --- the DSP's own schedules (5.1-5.3, schedules.py) --------------------------------------
    def _schedule_service(self, request: duis.Request) -> etree._Element | None:
        """5.1 creates a schedule once its scheduled SRV could be sent now as the owner's own
        request (E2 / E19 / E5 / E11 otherwise), answering its id; 5.2 reads and 5.3 deletes
        the owner's schedules a schedule id or device names."""
        srv = request.service_reference
        try:
            if srv == "5.2":
                return self.schedules.read(request)
            if srv == "5.3":
                self.schedules.delete(request)
                return None
            schedule = self.schedules.create(request, self.utc_now())
        except ScheduleRefused as exc:
            raise DspRefusal(exc.code, str(exc), request) from None
        except ValueError as exc:  # a date or time the schema lets through but no calendar has
            raise DspRefusal(ResponseCode.XML_REFUSED, str(exc), request) from None
        try:
            self._schedule_run(schedule, self.utc_now(), check_only=True)
        except DspRefusal:
            del self.schedules.schedules[schedule.schedule_id]
            raise
        self._ensure_scheduler()
        return schedule_id_body(schedule)

    def _schedule_run(
        self, schedule: Schedule, now: _dt.datetime, *, check_only: bool = False
    ) -> tuple[_Job, bytes]:
        """The job and command of one run: the scheduled SRV as its owner's request (checked
        as `_accept` checks one), its counter the DSP's clock in microseconds."""
        counter = max(int(now.timestamp() * 1_000_000), self._schedule_counter + 1)
        if not check_only:
            self._schedule_counter = counter
        request = schedule.request(now, counter)
        user = self.users.get(schedule.owner)
        if user is None:
            raise DspRefusal(ResponseCode.NOT_A_SEC_PARTY, "the schedule's owner is gone", request)
        known = self.inventory.get(schedule.device)
        role = user.acting_role(
            self.eligibility.roles(schedule.variant), None if known is None else known.device_type
        )
        try:
            self.eligibility.check(schedule.variant, role)
        except NotEligible as exc:
            raise DspRefusal(exc.code, str(exc), request) from None
        target = self.inventory.get(schedule.device)
        if target is None:
            raise DspRefusal(ResponseCode.UNKNOWN_DEVICE, f"no device {schedule.device.hex()}",
                             request)  # fmt: skip
        status = self.inventory.status(schedule.device)
        if status in OUT_OF_SERVICE:
            raise DspRefusal(ResponseCode.DEVICE_STATUS_INCOMPATIBLE,
                             f"{schedule.device.hex()} is {status}", request)  # fmt: skip
        transformed, use_case = self._transform(request, target, None, user, role)
        if transformed.user_signs:
            raise DspRefusal(ResponseCode.COMMAND_VARIANT_NOT_APPLICABLE,
                             f"{use_case} is critical: not a DCC-scheduled read", request)  # fmt: skip
        if transformed.via_acb and not check_only:
            self._acb_counter += 1
            self.ledger.acb_counter(self._acb_counter)
        job = _Job(request, user, target, None, use_case, None, role)
        return job, transformed.unsigned_command()

    async def run_due_schedules(self, now: _dt.datetime | None = None) -> int:
        """Run every schedule due at `now` (default the DSP's time), one after another, and
        deliver each device response to its owner as a DSPScheduledMessage; a run that
        cannot be sent (its device gone or out of service) answers the owner with that code.
        Returns how many ran."""
        now = now or self.utc_now()
        due = self.schedules.due(now)
        for schedule in due:
            try:
                job, command = self._schedule_run(schedule, now)
            except DspRefusal as refusal:
                log.warning("schedule %d: %s", schedule.schedule_id, refusal.reason)
                self.schedules.ran(schedule)
                owner = self.users.get(schedule.owner)
                if owner is not None:
                    await self._deliver_scheduled(owner, schedule, refusal.code, None)
                continue
            self.schedules.ran(schedule)
            code, payload = ResponseCode.CANNOT_COMMUNICATE, None
            try:
                wrapped = mac_for_device(command, self.acb_keys, self.device_trust)
                execution = (await self.router.send(job.target.eui, wrapped)).execution
                if execution is None or execution.response is None:
                    code = ResponseCode.NO_DEVICE_RESPONSE
                else:
                    code, payload = ResponseCode.SUCCESS, execution.response
            except (GbcsError, NoRoute) as exc:
                log.warning("schedule %d: %s", schedule.schedule_id, exc)
            await self._deliver_scheduled(job.user, schedule, code, payload)
        return len(due)

    async def _deliver_scheduled(
        self, user: RegisteredUser, schedule: Schedule, code: ResponseCode, payload: bytes | None
    ) -> None:
        """A run's answer: the scheduled SRV's response, no request id (the DSP sent it), the
        device's response as a DSPScheduledMessage naming the schedule."""
        root = duis.build_response(code=code, service_reference=schedule.srv,
                                   service_reference_variant=schedule.variant,
                                   when=self.utc_now())  # fmt: skip
        if payload is not None:
            message = root.find(f"{{{duis.SR}}}Body/{{{duis.SR}}}ResponseMessage")
            assert message is not None  # build_response always makes one
            message.append(scheduled_message(schedule, payload))
        await self._deliver(user, self._sign(root), duis.DocumentKind.RESPONSE)

    def _ensure_scheduler(self) -> None:
        """Start the scheduler on this event loop unless it runs already."""
        if self._scheduler is None or self._scheduler.done():
            self._scheduler = asyncio.get_running_loop().create_task(self._run_scheduler())

    async def _run_scheduler(self) -> None:
        """While there are schedules: run what is due, then sleep on the DSP's clock until
        the next is due (at most `schedule_tick_s`, so a new schedule is seen)."""
        while self.schedules.schedules:
            try:
                await self.run_due_schedules()
            except Exception:  # one run's fault must not stop every schedule
                log.exception("scheduled runs failed")
            if not self.schedules.schedules:
                break
            upcoming = min(s.next_run for s in self.schedules.schedules.values())
            wait = (upcoming - self.utc_now()).total_seconds()
            await self.clock.sleep(min(max(wait, 0.001), self.schedule_tick_s))

    def stop_schedules(self) -> None:
        """Stop the scheduler (the schedules stay)."""
        if self._scheduler is not None:
            self._scheduler.cancel()
            self._scheduler = None

    #: 8.12.1 / 8.12.2: the element naming the replaced device, its type, what that type is
    REPLACED = {"8.12.1": ("OldCHFID", "chf", "Comms Hub"), "8.12.2": ("OldGPFID", "gpf", "GPF")}

    def _replaced_log(self, request: duis.Request) -> HubBackup | GpfBackup:
        """8.12.1 / 8.12.2: the device log backup of the hub or GPF the request names as
        replaced (E19 unknown, E11 not a hub / GPF; E5 when the DSP holds no backup of it: a
        hub's comes from its 8.9 CCS07 answer, a GPF's from its GCS62 alerts)."""
        element, kind, what = self.REPLACED[request.service_reference_variant]
        text = (request.body.findtext(f"{{{duis.SR}}}{element}") or "").strip()
        old = self.inventory.get(duis.eui_from_text(text))
        if old is None:
            raise DspRefusal(ResponseCode.UNKNOWN_DEVICE, f"no device {text}", request)
        if old.device_type != kind:
            raise DspRefusal(ResponseCode.SRV_NOT_FOR_DEVICE_TYPE, f"{text} is no {what}",
                             request)  # fmt: skip
        backups: dict[bytes, HubBackup] | dict[bytes, GpfBackup] = (
            self.hub_backups if kind == "chf" else self.gpf_backups
        )
        backup = backups.get(old.eui)
        if backup is None:
            raise DspRefusal(ResponseCode.DEVICE_STATUS_INCOMPATIBLE,
                             f"no device log backup of {text} is held", request)  # fmt: skip
        return backup

    # --- routing and the asynchronous answers -----------------------------------------------
    def _dispatch(self, job: _Job, command: bytes) -> None:
        if job.at is not None:  # DSP future-dated: held until its ExecutionDateTime
            self._spawn(self._route_at(job, command))
        else:
            self._spawn(self._route(job, command))

    async def _route_at(self, job: _Job, command: bytes) -> None:
        assert job.at is not None
        delay = future.delay_s(job.at, self.utc_now())
        log.info("%s: held %.0f s until %s", job.request.request_id, delay, job.at)
        await asyncio.sleep(delay)
        timing = self.times.records.get(str(job.request.request_id))
        if timing is not None:  # its response time counts from its execution time, not before
            timing.started = self.clock.now()
        await self._route(job, command)

    def _gate(self, device: bytes) -> contextlib.AbstractAsyncContextManager:
        """At most `in_flight_per_device` commands out to one device at a time (None: no
        bound). With a journal this keeps a backlog `queued` (re-sent after a restart)
        rather than `dispatched` (answered E21 after a restart: its fate unknown)."""
        if self.in_flight_per_device is None:
            return contextlib.nullcontext()
        gate = self._gates.get(device)
        if gate is None:
            gate = self._gates[device] = asyncio.Semaphore(self.in_flight_per_device)
        return gate

    def _spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every routed command has been answered and delivered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _route(self, job: _Job, command: bytes) -> None:
        rid = str(job.request.request_id)
        try:
            wrapped = mac_for_device(command, self.acb_keys, self.device_trust)
        except GbcsError as exc:
            log.warning("cannot MAC %s: %s", rid, exc)
            await self._respond(job, ResponseCode.CANNOT_COMMUNICATE, None, Ending.NO_MAC_KEY)
            return
        self.sent_to_premises.append((rid, wrapped))
        self.stats.routed += 1
        try:
            async with self._gate(job.target.eui):
                self.times.sent(rid, self.clock.now())
                self.ledger.dispatched(rid)
                routed = await self.router.send(job.target.eui, wrapped)
        except NoRoute as exc:
            log.warning("%s: %s", rid, exc)
            await self._respond(job, ResponseCode.CANNOT_COMMUNICATE, None, Ending.NO_ROUTE)
            return
        execution = routed.execution
        if execution is None or execution.response is None:
            self.stats.no_response += 1
            why = Ending.LOST if execution is None else execution.outcome
            await self._respond(job, ResponseCode.NO_DEVICE_RESPONSE, None, why)
        else:
            self.stats.device_responses += 1
            if (job.request.service_reference_variant == "8.1.1"
                    and execution.outcome == ExecutionOutcome.EXECUTED):  # fmt: skip
                # before the answer goes out, so an 8.2 after it sees the new status
                self.inventory.commission(job.target.eui, execution.response, self.utc_now())
            if (job.request.service_reference_variant == "6.21"
                    and replaced_all(execution.response)):  # fmt: skip
                self.dcc_control.handed_over(job.target.eui, requested_role(job.request))
            if job.use_case == "CCS07" and execution.outcome == ExecutionOutcome.EXECUTED:
                self.keep_hub_backup(job.target.eui, execution.response)
            await self._respond(job, ResponseCode.SUCCESS, execution.response, execution.outcome)
        if execution is not None:
            for raw in execution.alerts:
                await self._deliver_alert(raw)
            if execution.outcome == ExecutionOutcome.EXECUTED:
                await self._maybe_alert_distributor(job)

    async def _respond(self, job: _Job, code: ResponseCode, payload, outcome: str) -> None:
        reply = self._sign(
            duis.build_response(
                code=code,
                service_reference=job.request.service_reference,
                service_reference_variant=job.request.service_reference_variant,
                when=self.utc_now(),
                request_id=job.request.request_id,
                gbcs_payload=payload,
            )
        )
        self.ledger.responding(str(job.request.request_id), reply)
        await self._deliver(job.user, reply, duis.DocumentKind.RESPONSE)
        self.times.delivered(str(job.request.request_id), self.clock.now(), outcome)
        self.ledger.answered(str(job.request.request_id))

    async def _maybe_alert_distributor(self, job: _Job) -> None:
        esme = alerts.changed_esme(
            job.request.service_reference_variant, job.acting, job.target, job.other
        )
        if esme is None:
            return
        premises = self.inventory.premises_of(esme)
        if premises is None:
            return
        distributor = self.users.get(premises.electricity_distributor)
        # the request id is the requester's: it names the request only to whoever sent it
        # (the Distributor never saw the Supplier's request), as a device alert names none
        own = bytes(job.user.eui) == bytes(premises.electricity_distributor)
        document_ = self._sign(
            duis.build_dcc_alert(
                alert_code=duis.ALCS_CONFIGURATION_CHANGE_ALERT,
                body=duis.alcs_configuration_change(esme),
                when=self.utc_now(),
                request_id=job.request.request_id if own else None,
            )
        )
        self.dcc_alerts.append(
            alerts.DccAlertRecord(
                self.clock.now(),
                duis.ALCS_CONFIGURATION_CHANGE_ALERT,
                premises.electricity_distributor,
                esme,
                f"{job.request.service_reference_variant} {job.use_case} by "
                f"{job.user.name} ({str(job.request.request_id)})",
                document_,
            )
        )
        if distributor is None:
            log.warning("no registered Electricity Distributor for %s", premises.name)
            return
        await self._deliver(distributor, document_, duis.DocumentKind.DCC_ALERT)

    def _on_alert(self, raw: bytes) -> None:
        """A premises' unsolicited alert (power outage, restoration ...)."""
        task = asyncio.get_running_loop().create_task(self._deliver_alert(bytes(raw)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_alert(self, raw: bytes) -> None:
        try:
            alert = alerts.read_device_alert(raw)
        except GbcsError as exc:
            self.stats.alerts_undeliverable += 1
            log.warning("alert refused: %s", exc)
            return
        if alert.recipient == ACB_EUI and self.keep_gpf_backup(raw):
            return
        user = self.users.get(alert.recipient)
        if user is None:
            self.stats.alerts_undeliverable += 1
            log.info("alert %04X for unregistered %s", alert.code, alert.recipient.hex())
            return
        await self.deliver_device_alert(alert, user)

    def keep_hub_backup(self, eui: bytes, response: bytes) -> bool:
        """A Comms Hub Function's device log backup (its successful CCS07 response), kept for
        an 8.12.1 replacing this hub; False when the response holds none."""
        backup = hub_backup(response)
        if backup is None:
            return False
        self.hub_backups[bytes(eui)] = backup
        if self.on_backup is not None:
            self.on_backup(bytes(eui), "chf", bytes(response))
        return True

    def restore_backups(self, kept: Iterable[tuple[bytes, str, bytes]]) -> None:
        """The backups an earlier run kept (DspState.backups), each checked again."""
        for eui, kind, raw in kept:
            if not (self.keep_hub_backup(eui, raw) if kind == "chf" else self.keep_gpf_backup(raw)):
                log.warning("a kept %s backup for %s is not one: left out", kind, eui.hex())

    def keep_gpf_backup(self, raw: bytes) -> bool:
        """A GPF's GCS62 device log backup to the DCC, kept when its MAC verifies (for an
        8.12.2 at the GPF that replaces it; counted undeliverable when it does not); False
        for any other alert."""
        try:
            message = decode(raw)
            backup = gpf_backup(message)
            if backup is None:
                return False
            verified = check_message(message, self.acb_keys).outcome == "verified"
        except GbcsError as exc:
            log.warning("GPF device log backup refused: %s", exc)
            verified, backup = False, None
        if not verified or backup is None:
            self.stats.alerts_undeliverable += 1
            log.warning("GPF device log backup not verified: not kept")
            return True
        self.gpf_backups[bytes(message.originator)] = backup
        if self.on_backup is not None:
            self.on_backup(bytes(message.originator), "gpf", bytes(raw))
        log.info("GPF %s device log backed up: %d devices", bytes(message.originator).hex(),
                 len(backup.entries))  # fmt: skip
        return True

    # --- alerts raised outside a routed command (hub_link.py: a Comms Hub's WAN link) -------
    async def deliver_device_alert(self, alert: alerts.DeviceAlert, user: RegisteredUser) -> None:
        """A GBCS alert the caller has already judged deliverable, as a signed
        DeviceAlertMessage to `user`."""
        await self._deliver(user, self._sign(alerts.build_device_alert(alert, self.utc_now())),
                            duis.DocumentKind.DEVICE_ALERT)  # fmt: skip
        self.stats.alerts_delivered += 1

    async def send_dcc_alert(
        self, root: etree._Element, *, code: str, recipient: bytes, subject: bytes, cause: str
    ) -> alerts.DccAlertRecord:
        """Sign an unsigned DCCAlertMessage, record it in `dcc_alerts` and deliver it to the
        registered user `recipient` (logged and counted undeliverable when there is none)."""
        document_ = self._sign(root)
        record = alerts.DccAlertRecord(self.clock.now(), code, recipient, subject, cause,
                                       document_)  # fmt: skip
        self.dcc_alerts.append(record)
        user = self.users.get(recipient)
        if user is None:
            self.stats.alerts_undeliverable += 1
            log.warning("DCC alert %s for unregistered %s", code, recipient.hex())
            return record
        await self._deliver(user, document_, duis.DocumentKind.DCC_ALERT)
        return record

    async def _deliver(
        self, user: RegisteredUser, document_: bytes, kind: duis.DocumentKind
    ) -> None:
        self.delivered.append(Delivered(bytes(user.eui), kind, document_, self.clock.now()))
        try:
            ok = await self.delivery.deliver(user, document_, kind)
        except Exception as exc:  # a user's endpoint failing must not stop the DSP
            log.warning("delivery of %s to %s failed: %s", kind, user.name, exc)
            ok = False
        if not ok:
            self.stats.delivery_failures += 1

    # --- documents ---------------------------------------------------------------------------
    def _sign(self, root: etree._Element) -> bytes:
        signed = xmlsig.sign(root, self.signer)
        self.schema.validate(signed)  # the DSP's own output is held to the schema too
        return duis.to_bytes(signed)

    def _reply(
        self,
        request: duis.Request,
        code: ResponseCode,
        precommand=None,
        local_command: bytes | None = None,
    ) -> bytes:
        root = duis.build_response(
            code=code,
            service_reference=request.service_reference,
            service_reference_variant=request.service_reference_variant,
            when=self.utc_now(),
            request_id=request.request_id,
            precommand=precommand,
        )
        if local_command is not None:
            message = root.find(f"{{{duis.SR}}}Body/{{{duis.SR}}}ResponseMessage")
            assert message is not None  # build_response always makes one
            local = etree.SubElement(message, f"{{{duis.SR}}}LocalCommand")
            payload = etree.SubElement(local, f"{{{duis.SR}}}GBCSPayload")
            payload.text = base64.b64encode(local_command).decode()
        return self._sign(root)

    def _error_reply(self, refusal: DspRefusal, body: bytes) -> bytes:
        request_id, srv = None, UNREADABLE_SRV
        if refusal.request is not None:
            request_id = refusal.request.request_id
            srv = (refusal.request.service_reference, refusal.request.service_reference_variant)
        else:
            request_id, srv = _header_hint(body, srv)
        for rid, names in ((request_id, srv), (None, UNREADABLE_SRV)):
            root = duis.build_response(
                code=refusal.code,
                service_reference=names[0],
                service_reference_variant=names[1],
                when=self.utc_now(),
                request_id=rid,
            )
            try:
                return self._sign(root)
            except duis.SchemaInvalid:
                continue  # the hint did not fit the schema: answer without it
        raise AssertionError("the fallback error response is schema-valid")


def _header_hint(body: bytes, fallback):
    """RequestID and SRV from a refused document's header, if it parses at all (for the
    error answer only; never acted on)."""
    try:
        root = duis.parse(body)
    except duis.DuisError:
        return None, fallback
    header = root.find(f"{{{duis.SR}}}Header")
    if header is None:
        return None, fallback
    try:
        request_id = duis.RequestId.parse(header.findtext(f"{{{duis.SR}}}RequestID") or "")
    except duis.DuisError:
        request_id = None
    srv = header.findtext(f"{{{duis.SR}}}ServiceReference")
    variant = header.findtext(f"{{{duis.SR}}}ServiceReferenceVariant")
    if srv and variant:
        return request_id, (srv.strip(), variant.strip())
    return request_id, fallback


METERS = frozenset({"esme", "gsme"})

#: DUIS roles the devices hold a trust anchor for (GBCS's Supplier, Network Operator and
#: Load Controller remote party roles): their commands reach a device as their own. Any other
#: user's (an Other User, an Export Supplier, a Registered Supplier Agent) the ACB sends on
#: its behalf.
ANCHORED_ROLES = frozenset({DuisRole.IMPORT_SUPPLIER, DuisRole.GAS_SUPPLIER,
                            DuisRole.ELECTRICITY_DISTRIBUTOR, DuisRole.GAS_TRANSPORTER,
                            DuisRole.LOAD_CONTROLLER})  # fmt: skip


def on_behalf(
    request: duis.Request, direct: Transformed, acb: AcbContext, use_case: str | None
) -> Transformed:
    """The command the ACB sends for a user the device holds no anchor for (primer 10.3, the
    ACB's commands on a user's behalf): the ACB as business originator with its own counter
    (the DLMS invoke id carries it too), and the user and its DUIS counter as supplementary
    remote party; MAC'd by the ACB like every command. A critical command the user would
    sign cannot be sent so (the ACB signs only what the DCC itself originates): E2."""
    if direct.critical:
        raise DspRefusal(
            ResponseCode.ROLE_NOT_ELIGIBLE,
            f"{direct.use_case.name} is critical and signed by its sender: the ACB cannot "
            "send it on a user's behalf",
            request,
        )
    rid = request.request_id
    as_acb = dataclasses.replace(
        request, request_id=duis.RequestId(rid.originator, rid.target, acb.counter)
    )
    built = transform(as_acb, use_case=use_case or direct.use_case.name, acb=acb)
    other = built.header.other_information
    header = Container(
        tag=built.header.tag,
        transaction_id=Container(cra=built.header.transaction_id.cra, counter=acb.counter),
        originator=acb.eui,
        target=rid.target,
        date_time=built.header.date_time,
        other_information=Container(
            message_code=other.message_code,
            supplementary_remote_party=rid.originator,
            supplementary_remote_party_counter=rid.counter,
            supplementary_originator_counter=None,
            certificate=b"",
        ),
    )
    return Transformed(built.use_case, header, built.content, via_acb=True)


def choose_use_case(srv: str, target: Device, other: Device | None) -> str | None:
    """The GBCS use case where the device pair decides (primer 10.3; GBCS join/unjoin
    methods): joins by the target's and the other device's types (Method B, CS03B, for a
    Type 2 device), unjoins CS04B for a GSME or a meter's or GPF's Type 2 device and CS04AC
    otherwise, 11.2 ECS52 for an ESME and CS08 for a PPMID or HCALCS; any other
    SRV by the target's type where its forms differ by type (a gas 6.2.4 GCS21m, the hub's
    ECS26n), a type no form serves refused by the transform, E11."""
    kind = target.device_type
    type_2 = other is not None and other.device_type == "type_2"
    if srv in ("8.7.1", "8.7.2") and other is not None:
        if type_2 and kind in ("esme", "gpf"):
            return "CS03B"  # Method B: a Type 2 device (an IHD, a CAD) joins a meter or GPF
        if kind == "esme":
            return "CS03A1"
        if kind == "gsme":
            return "CS03B" if other.device_type == "gpf" else "CS03C"
        if other.device_type == "esme":
            return "CS03A2"
        if other.device_type == "gsme":
            return "CS03C"
        return None
    if srv in ("8.8.1", "8.8.2"):
        return "CS04B" if kind == "gsme" or (type_2 and kind in ("esme", "gpf")) else "CS04AC"
    if srv == "11.2":
        return {"esme": "ECS52", "ppmid": "CS08", "hcalcs": "CS08"}.get(kind) or device_use_case(
            srv, kind
        )
    return device_use_case(srv, kind)
