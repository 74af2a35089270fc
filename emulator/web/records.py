"""The console's DUIS log: every request the DSP's HTTP interface received (with the answer
it gave at once) and every document the DSP delivered to a user (responses, device alerts,
DCC alerts), in the order they happened.

An entry's summary is what the log page lists and filters on (user, device, SRV, outcome);
its details are worked out when someone opens it, not for every document: the XML, the
verdict on each XML signature (document.check, as the DSP and users judge it), each GBCS
payload in it decoded with the codec's named rendering (gbcs.render) and the verdict on its
signature and MAC (gbcs.security.check_message) with the keys a DCC user holds, and for a
refused request the response code, its meaning and the rule that refused it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from lxml import etree

from emulator.backoffice import document, duis, xmlsig
from emulator.backoffice.response_codes import MEANINGS
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.keystore import DS, KA, Keystore
from gbcs.message import Message
from gbcs.render import message_text
from gbcs.security import check_message

REQUEST = "request"
#: outcomes the log filters on
ACCEPTED, ANSWERED, REFUSED, FAILED, ALERT = "accepted", "answered", "refused", "failed", "alert"

_SR = duis.SR
_PAYLOADS = ("GBCSPayload",)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _header(root: etree._Element, name: str) -> str | None:
    text = root.findtext(f"{{{_SR}}}Header/{{{_SR}}}{name}")
    return None if text is None else text.strip()


def _dashed(eui: bytes) -> str:
    return bytes(eui).hex("-").upper()


@dataclass
class LogEntry:
    """One document in the log (a request together with the DSP's immediate answer)."""

    seq: int
    at: str
    direction: str  # request | response | device-alert | dcc-alert
    endpoint: str  # serviceS/T/D, or the recipient's name for a delivered document
    user: str  # the originator of a request, the recipient of a delivery (dashed EUI)
    user_name: str
    device: str | None
    srv: str | None
    variant: int | None
    request_id: str | None
    code: str
    outcome: str
    reason: str | None
    xml: bytes
    answer: bytes | None = None
    _details: dict[str, Any] | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": self.at, "direction": self.direction,
            "endpoint": self.endpoint, "user": self.user, "user_name": self.user_name,
            "device": self.device, "srv": self.srv, "variant": self.variant,
            "request_id": self.request_id, "code": self.code,
            "meaning": MEANINGS.get(self.code, ""), "outcome": self.outcome,
            "reason": self.reason,
        }  # fmt: skip


#: GBCS's message code of CS02d, Update Device Certificates on Device (6.15.2), and its SRV
CS02D_MESSAGE_CODE, UPDATE_DEVICE_CERTIFICATE = 0x000B, "6.15.2"


def _usage(der: bytes) -> str | None:
    """DS or KA: what a device certificate certifies (None: unreadable, or both or neither)."""
    try:
        usage = (
            x509.load_der_x509_certificate(der)
            .extensions.get_extension_for_class(x509.KeyUsage)
            .value
        )
    except (ValueError, x509.ExtensionNotFound):
        return None
    found = [u for u, on in ((DS, usage.digital_signature), (KA, usage.key_agreement)) if on]
    return found[0] if len(found) == 1 else None


class Verifier:
    """Judges GBCS payloads as a DCC user does: users' and RTDS's keys from `keystore`, each
    device's in-use certificates from `fetch(eui)` (-> DER certificates, the SMKI service),
    fetched once, again after the device took a new certificate (`replaced`: a 6.15.2
    success), and again — once — when an answer fails with the certificates fetched before.
    An answer is judged with the certificates the device held when it gave it: from a
    replacement on, the one placed stands for its usage (an answer signed with the old key
    fails), before it the ones it held then; `users()` gives a keystore of the users' keys
    alone to judge such a device's answers in (None: `keystore`, where the old one still
    counts). Used from one thread at a time (a lock guards the keystores)."""

    def __init__(
        self,
        keystore: Keystore,
        fetch: Callable[[bytes], list[bytes]] | None = None,
        source: str = "SMKI",
        users: Callable[[], Keystore] | None = None,
    ) -> None:
        self.keystore, self.fetch, self.source, self.users = keystore, fetch, source, users
        self._fetched: set[bytes] = set()
        #: device -> the DER certificates fetched for it, in the order first seen
        self._known: dict[bytes, list[bytes]] = {}
        #: device -> (log seq, usage, DER placed) of each replacement seen, in order
        self._replacements: dict[bytes, list[tuple[int, str, bytes]]] = {}
        #: devices a failing answer sent back to the fetch for nothing new (not again, until
        #: a replacement)
        self._refetched: set[bytes] = set()
        self._scoped: dict[tuple[tuple[bytes, ...], tuple[int, ...]], Keystore] = {}
        #: how many times `fetch` was asked, by device (what the console costs the SMKI)
        self.fetches: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def replaced(self, eui: bytes, usage: str, der: bytes, seq: int) -> None:
        """Device `eui` took `der` as its `usage` certificate, answering log entry `seq` (a
        6.15.2 success): its certificates are fetched again at the next judgement."""
        with self._lock:
            eui = bytes(eui)
            self._replacements.setdefault(eui, []).append((seq, usage, bytes(der)))
            self._fetched.discard(eui)
            self._refetched.discard(eui)
            self._scoped = {}

    def _device(self, eui: bytes) -> bool:
        """Fetch the device's certificates unless done; whether any was new."""
        if eui in self._fetched or self.fetch is None:
            return False
        self._fetched.add(eui)
        self.fetches[eui] = self.fetches.get(eui, 0) + 1
        known = self._known.setdefault(eui, [])
        new = False
        for der in self.fetch(eui):
            if der in known:
                continue
            known.append(der)
            new = True
            self.keystore.add_certificate(x509.load_der_x509_certificate(der), self.source)
        if new:
            self._scoped = {}
        return new

    def _held(self, eui: bytes, seq: int | None) -> list[bytes]:
        """The certificates device `eui` held at log entry `seq` (None: now): from a
        replacement's own answer on, the one placed for its usage."""
        replacements = self._replacements.get(eui, [])
        done = [r for r in replacements if seq is None or r[0] <= seq]  # its own answer too
        current = {usage: der for _seq, usage, der in done}  # the latest of each usage
        later = {r[2] for r in replacements if r not in done}
        held = []
        for der in self._known.get(eui, []):
            usage = _usage(der)
            if usage in current:
                if der == current[usage]:
                    held.append(der)
            elif der not in later:
                held.append(der)
        return held

    def _keys_for(self, parties: tuple[bytes, ...], seq: int | None) -> Keystore:
        """`keystore`, or for a device with a replacement the users' keys and the
        certificates it held at `seq`."""
        replaced = tuple(p for p in parties if p in self._replacements)
        if not replaced or self.users is None:
            return self.keystore
        epochs = tuple(
            sum(1 for r in self._replacements[p] if seq is None or r[0] <= seq) for p in replaced
        )
        scoped = self._scoped.get((parties, epochs))
        if scoped is None:
            scoped = self.users()
            for party in parties:
                held = self._held(party, seq) if party in replaced else self._known.get(party, [])
                for der in held:
                    scoped.add_certificate(x509.load_der_x509_certificate(der), self.source)
            self._scoped[(parties, epochs)] = scoped
        return scoped

    def judge(self, raw: bytes, seq: int | None = None) -> dict[str, Any]:
        """The payload decoded (named rendering) and each security check's verdict, with
        the certificates its devices held at log entry `seq` (None: now)."""
        with self._lock:
            try:
                message = decode(raw)
            except GbcsError as exc:
                return {"decoded": False, "error": str(exc), "checks": [], "text": ""}
            parties = (bytes(message.originator), bytes(message.target))
            try:
                for party in parties:
                    self._device(party)
            except Exception as exc:  # the SMKI service unreachable: then unverifiable
                return self._unreachable(message, exc)
            report = check_message(message, self._keys_for(parties, seq))
            originator = parties[0]
            if (report.outcome != "verified" and self.fetch is not None
                    and originator not in self._refetched):  # fmt: skip
                self._fetched.discard(originator)  # the SMKI may hold a newer one: ask once
                try:
                    new = self._device(originator)
                except Exception as exc:
                    return self._unreachable(message, exc)
                if new:
                    report = check_message(message, self._keys_for(parties, seq))
                else:
                    self._refetched.add(originator)
            use_case = message.use_case
            return {
                "decoded": True,
                "use_case": None if use_case is None else use_case.label,
                "originator": _dashed(bytes(message.originator)),
                "target": _dashed(bytes(message.target)),
                "outcome": report.outcome,
                "checks": [c.as_dict() for c in report.checks],
                "text": message_text(message, report),
            }

    @staticmethod
    def _unreachable(message: Message, exc: Exception) -> dict[str, Any]:
        return {"decoded": True, "error": f"SMKI: {exc}", "checks": [],
                "text": message_text(message)}  # fmt: skip


class DuisLog:
    """The ordered log; `on_entry(entry)` is called for each new one."""

    def __init__(
        self,
        schema: duis.DuisSchema,
        trusted: xmlsig.TrustedCertificates,
        verifier: Verifier,
        user_names: Callable[[bytes], str],
        keep: int = 5000,
    ) -> None:
        self.schema, self.trusted, self.verifier = schema, trusted, verifier
        self.user_names = user_names
        self.keep = keep
        self.entries: dict[int, LogEntry] = {}
        self._seq = 0
        #: request ID -> the certificate a 6.15.2 request asks its device to take (DER)
        self._placing: dict[str, bytes] = {}
        self.listeners: list[Callable[[LogEntry], None]] = []

    def _add(self, entry: LogEntry) -> LogEntry:
        self.entries[entry.seq] = entry
        while len(self.entries) > self.keep:
            del self.entries[min(self.entries)]
        for listener in self.listeners:
            listener(entry)
        return entry

    def _next(self, at: _dt.datetime | None) -> tuple[int, str]:
        self._seq += 1
        when = at if at is not None else _dt.datetime.now(_dt.UTC)
        return self._seq, when.isoformat(timespec="milliseconds")

    def request(
        self, endpoint: str, body: bytes, answer: bytes | None, reason: str | None,
        at: _dt.datetime | None = None,
    ) -> LogEntry:  # fmt: skip
        """A request that arrived at `endpoint`, the DSP's answer, and why it was refused;
        `at` when it happened (default now: a scenario's DSP gives its simulated time)."""
        seq, at_text = self._next(at)
        originator = device = srv = request_id = None
        variant = None
        try:
            root = duis.parse(body)
            request_id = _header(root, "RequestID")
            srv = _header(root, "ServiceReferenceVariant")
            text = _header(root, "CommandVariant")
            variant = int(text) if text and text.isdigit() else None
            if request_id:
                parts = request_id.split(":")
                originator, device = parts[0], parts[1] if len(parts) > 1 else None
                if srv == UPDATE_DEVICE_CERTIFICATE:
                    self._placed(root, request_id)
        except duis.DuisError:
            pass
        code = ""
        if answer is not None:
            try:
                code = duis.response_code_of(duis.parse(answer)) or ""
            except duis.DuisError:
                code = ""
        if code.startswith("E"):
            outcome = REFUSED
        elif code == "I0":
            outcome = ANSWERED
        else:
            outcome = ACCEPTED
        user = originator or ""
        return self._add(LogEntry(
            seq, at_text, REQUEST, endpoint, user, self._name(user), device, srv, variant,
            request_id, code, outcome, reason if outcome == REFUSED else None, body, answer,
        ))  # fmt: skip

    def delivered(
        self, user: bytes, kind: str, body: bytes, at: _dt.datetime | None = None
    ) -> LogEntry:
        """A document the DSP handed to `user`'s endpoint (`at`: as for `request`)."""
        seq, at_text = self._next(at)
        device = srv = request_id = None
        code = ""
        try:
            root = duis.parse(body)
            request_id = _header(root, "RequestID")
            srv = root.findtext(f".//{{{_SR}}}ServiceReferenceVariant")
            srv = None if srv is None else srv.strip()
            code = _header(root, "ResponseCode") or ""
            device = self._device_of(root, request_id)
            alert = root.findtext(f".//{{{_SR}}}AlertCode") or root.findtext(
                f".//{{{_SR}}}DCCAlertCode"
            )
            if alert:
                code = alert.strip()
        except duis.DuisError:
            pass
        if kind != duis.DocumentKind.RESPONSE:
            outcome = ALERT
        else:
            outcome = ANSWERED if code == "I0" else FAILED
        if outcome == ANSWERED and srv == UPDATE_DEVICE_CERTIFICATE and request_id:
            self._taken(body, request_id, seq)
        who = _dashed(user)
        return self._add(LogEntry(
            seq, at_text, str(kind), self._name(who), who, self._name(who), device, srv, None,
            request_id, code, outcome, None, body,
        ))  # fmt: skip

    def _placed(self, root: etree._Element, request_id: str) -> None:
        """Keep the certificate a 6.15.2 request places, for its answer (`_taken`)."""
        text = root.findtext(f".//{{{_SR}}}DeviceCertificate")
        try:
            der = base64.b64decode("".join((text or "").split()), validate=True)
        except ValueError:
            return
        if not der:
            return
        self._placing[request_id] = der
        while len(self._placing) > self.keep:
            del self._placing[next(iter(self._placing))]

    def _taken(self, body: bytes, request_id: str, seq: int) -> None:
        """A 6.15.2 answer: when its device says it took the certificate (CS02d success),
        the verifier hears of it from this entry on."""
        der = self._placing.get(request_id)
        usage = None if der is None else _usage(der)
        if der is None or usage is None:
            return
        try:
            text = duis.parse(body).findtext(f".//{{{_SR}}}GBCSPayload") or ""
            message = decode(base64.b64decode(text))
            status = message.payload.tree.get("value")
        except (duis.DuisError, GbcsError, ValueError, AttributeError):
            return
        if message.message_code == CS02D_MESSAGE_CODE and status == b"\x00":
            self.verifier.replaced(bytes(message.originator), usage, der, seq)

    def _name(self, dashed: str) -> str:
        try:
            return self.user_names(bytes.fromhex(dashed.replace("-", "")))
        except ValueError:
            return ""

    @staticmethod
    def _device_of(root: etree._Element, request_id: str | None) -> str | None:
        if request_id:
            parts = request_id.split(":")
            return parts[1] if len(parts) > 1 else None
        payload = root.findtext(f".//{{{_SR}}}GBCSPayload")
        if payload:  # a device alert: its GBCS originator
            try:
                return _dashed(bytes(decode(base64.b64decode(payload)).originator))
            except (GbcsError, ValueError):
                return None
        for node in root.iter():  # a DCC alert names its device (ESMEDeviceID, ...)
            if isinstance(node.tag, str) and _local(node).endswith("DeviceID") and node.text:
                return node.text.strip()
        return None

    # --- details ---------------------------------------------------------------------------
    def details(self, seq: int) -> dict[str, Any] | None:
        """Everything the log page shows when an entry is opened (computed once)."""
        entry = self.entries.get(seq)
        if entry is None:
            return None
        if entry._details is None:
            documents = [("request" if entry.direction == REQUEST else entry.direction,
                          entry.xml)]  # fmt: skip
            if entry.answer is not None:
                documents.append(("answer", entry.answer))
            entry._details = entry.summary() | {
                "documents": [self._document(name, data, seq) for name, data in documents]
            }
        return entry._details

    def _document(self, name: str, data: bytes, seq: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "xml": _pretty(data)}
        try:
            checked = document.check(data, self.schema, self.trusted)
            out["xml_signature"] = {
                "status": "verified" if checked.signed else "unsigned",
                "detail": "" if checked.signed else "an error acknowledgement, sent unsigned",
            }
            root = checked.root
        except document.Refused as exc:
            out["xml_signature"] = {"status": "failed", "detail": str(exc)}
            try:
                root = duis.parse(data)
            except duis.DuisError:
                out["gbcs"] = []
                return out
        out["gbcs"] = []
        for node in root.iter():
            if not isinstance(node.tag, str) or _local(node) not in _PAYLOADS or not node.text:
                continue
            parent = node.getparent()
            where = _local(parent) if parent is not None else "GBCSPayload"
            try:
                raw = base64.b64decode(node.text)
            except ValueError:
                continue
            out["gbcs"].append({"where": where, "hex": raw.hex().upper()}
                               | self.verifier.judge(raw, seq))  # fmt: skip
        return out


def _pretty(data: bytes) -> str:
    try:
        return etree.tostring(duis.parse(data), pretty_print=True, encoding="unicode")
    except duis.DuisError:
        return data.decode("utf-8", "replace")
