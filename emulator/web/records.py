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
from gbcs.keystore import Keystore
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


class Verifier:
    """Judges GBCS payloads as a DCC user does: users' and RTDS's keys from `keystore`, each
    device's in-use certificates fetched once (`fetch(eui)` -> DER certificates, the SMKI
    service). Used from one thread at a time (a lock guards the keystore)."""

    def __init__(
        self,
        keystore: Keystore,
        fetch: Callable[[bytes], list[bytes]] | None = None,
        source: str = "SMKI",
    ) -> None:
        self.keystore, self.fetch, self.source = keystore, fetch, source
        self._fetched: set[bytes] = set()
        self._lock = threading.Lock()

    def _device(self, eui: bytes) -> None:
        if eui in self._fetched or self.fetch is None:
            return
        self._fetched.add(eui)
        for der in self.fetch(eui):
            self.keystore.add_certificate(x509.load_der_x509_certificate(der), self.source)

    def judge(self, raw: bytes) -> dict[str, Any]:
        """The payload decoded (named rendering) and each security check's verdict."""
        with self._lock:
            try:
                message = decode(raw)
            except GbcsError as exc:
                return {"decoded": False, "error": str(exc), "checks": [], "text": ""}
            for party in (message.originator, message.target):
                try:
                    self._device(bytes(party))
                except Exception as exc:  # the SMKI service unreachable: then unverifiable
                    return {"decoded": True, "error": f"SMKI: {exc}", "checks": [],
                            "text": message_text(message)}  # fmt: skip
            report = check_message(message, self.keystore)
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
        who = _dashed(user)
        return self._add(LogEntry(
            seq, at_text, str(kind), self._name(who), who, self._name(who), device, srv, None,
            request_id, code, outcome, None, body,
        ))  # fmt: skip

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
                "documents": [self._document(name, data) for name, data in documents]
            }
        return entry._details

    def _document(self, name: str, data: bytes) -> dict[str, Any]:
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
                               | self.verifier.judge(raw))  # fmt: skip
        return out


def _pretty(data: bytes) -> str:
    try:
        return etree.tostring(duis.parse(data), pretty_print=True, encoding="unicode")
    except duis.DuisError:
        return data.decode("utf-8", "replace")
