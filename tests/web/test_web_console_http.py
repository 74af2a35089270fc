"""The console over HTTP, against `gbhan dsp serve` as a process: the event stream carries
each request, answer and response as it happens and the switch's change; the log says why a
request was refused and judges each signature; the configuration API and the launcher refuse
bad input with a reason."""

from __future__ import annotations

import threading
import time

import pytest
from web_helpers import (
    DNO,
    ESME,
    SUPPLIER,
    TEMPLATE_7_5,
    TEMPLATE_7_6,
    TEMPLATE_7_8,
    sse_events,
)

from emulator.web.console import STATIC


def _slot(served, slot: int) -> dict:
    premises = served.get("web/api/premises")["premises"]
    live = next(p for p in premises if p["live"] is not None)["live"]
    return next(s for s in live["switches"] if s["slot"] == slot)


def test_a_7_6_streams_request_answers_response_and_the_switch_opening(served):
    """Subscribe from the snapshot's last event, send a 7.6 as the DNO through the launcher:
    the stream carries serviceT I0, serviceS I99, the device's I0 response for that request
    id, in that order, and a premises event with slot 3 open."""
    served.send("POST", "web/api/send", {"template": TEMPLATE_7_8, "user": DNO})
    time.sleep(1.0)  # the reset's own events come before the snapshot below
    assert _slot(served, 3)["relay"] == "closed"
    after = served.get("web/api/premises")["last_event"]
    seen: list[tuple[str, str, dict]] = []

    def read() -> None:
        opened = answered = False
        for event in sse_events(f"{served.web_url}web/api/events?after={after}", 30):
            seen.append(event)
            kind, data = event[1], event[2]
            if kind == "premises":
                opened = opened or any(s["slot"] == 3 and s["relay"] == "open"
                                       for s in (data["live"] or {}).get("switches", []))  # fmt: skip
            answered = answered or (kind == "duis" and data["direction"] == "response")
            if opened and answered:
                return

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)
    status, sent = served.send("POST", "web/api/send", {"template": TEMPLATE_7_6, "user": DNO,
                                                         "target": ESME})  # fmt: skip
    reader.join(35)
    assert status == 200 and sent["error"] is None
    assert [a["code"] for a in sent["answers"]] == ["I0", "I99"]
    ours = [d for _i, kind, d in seen if kind == "duis" and d["request_id"] == sent["request_id"]]
    assert [(d["direction"], d.get("endpoint"), d["code"]) for d in ours] == [
        ("request", "serviceT", "I0"), ("request", "serviceS", "I99"), ("response", "dno", "I0"),
    ]  # fmt: skip
    ids = [int(i) for i, _kind, _d in seen]
    assert ids == sorted(ids) and ids[0] > after
    assert any(kind == "premises" for _i, kind, _d in seen), "no premises event: switch not seen"
    assert _slot(served, 3)["relay"] == "open"


def test_the_response_opens_to_its_xml_decoded_gbcs_and_verified_signatures(served):
    status, sent = served.send("POST", "web/api/send", {"template": TEMPLATE_7_6, "user": DNO})
    assert status == 200, sent
    entries = served.log_for(sent["request_id"], "response")
    response = next(e for e in entries if e["direction"] == "response")
    details = served.get(f"web/api/log/{response['seq']}")
    (document,) = details["documents"]
    assert document["xml_signature"]["status"] == "verified"
    assert "<sr:GBCSPayload>" in document["xml"]
    (payload,) = document["gbcs"]
    assert payload["use_case"].startswith("ECS47")
    checks = {c["check"]: c["status"] for c in payload["checks"]}
    assert checks["signature"] == "verified"  # with the ESME's certificate from SMKI
    assert "ECS47" in payload["text"] and "originator: 00DB1234567890A0" in payload["text"]
    # the variant 5 request carries the DNO's own GBCS signature on the pre-command
    variant5 = next(e for e in entries if e["variant"] == 5)
    signed = served.get(f"web/api/log/{variant5['seq']}")["documents"][0]["gbcs"][0]
    assert {c["check"]: c["status"] for c in signed["checks"]}["signature"] == "verified"


@pytest.mark.parametrize(
    "send, code, reason",
    [({"template": TEMPLATE_7_5, "user": DNO}, "E2", "role ED may not send SRV 7.5"),
     ({"template": TEMPLATE_7_6, "user": SUPPLIER, "tamper": "signature"}, "E41",
      "signature: signature does not verify")],
    ids=["wrong-role", "bad-signature"],
)  # fmt: skip
def test_a_refused_request_shows_its_code_and_the_rule(served, send, code, reason):
    status, sent = served.send("POST", "web/api/send", send)
    assert status == 200 and [a["code"] for a in sent["answers"]] == [code]
    (entry,) = served.log_for(sent["request_id"], "request", timeout_s=5)
    assert entry["outcome"] == "refused" and entry["code"] == code
    assert entry["reason"].startswith(reason)
    details = served.get(f"web/api/log/{entry['seq']}")
    assert details["meaning"]
    request, answer = details["documents"]
    assert answer["xml_signature"]["status"] in ("verified", "unsigned")
    if code == "E41":  # the console's own check finds the same fault
        assert request["xml_signature"]["status"] == "failed"
        assert "signature" in request["xml_signature"]["detail"]
    else:
        assert request["xml_signature"]["status"] == "verified"


def test_endpoints_are_edited_through_the_configuration_api_on_the_console(served):
    """A PUT on the console's port changes where the DSP sends the DNO's responses (the
    DSP's own port answers the same), and the next response goes there."""
    other = served.listeners["supplier"]
    status, answer = served.send("PUT", f"gbhan/v1/users/{DNO}/endpoint",
                                 {"endpoint": other.url})  # fmt: skip
    assert status == 200 and answer["endpoint"] == other.url
    on_dsp = served.get(f"gbhan/v1/users/{DNO}/endpoint", base=served.duis_url)
    assert on_dsp["endpoint"] == other.url
    before = len(other.documents)
    try:
        _status, sent = served.send("POST", "web/api/send", {"template": TEMPLATE_7_8,
                                                              "user": DNO})  # fmt: skip
        served.log_for(sent["request_id"], "response")
        deadline = time.monotonic() + 10
        while len(other.documents) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any(sent["request_id"].encode() in d for d in other.documents[before:])
    finally:
        served.send("PUT", f"gbhan/v1/users/{DNO}/endpoint",
                    {"endpoint": served.listeners["dno"].url})  # fmt: skip
    status, refused = served.send("PUT", f"gbhan/v1/users/{DNO}/endpoint",
                                  {"endpoint": "ftp://x"})  # fmt: skip
    assert status == 400 and "http(s)" in refused["error"]


@pytest.mark.parametrize(
    "body, message",
    [({"template": "NOPE.XML", "user": DNO}, "no template"),
     ({"template": TEMPLATE_7_6, "user": "00-00-00-00-00-00-00-01"}, "no user"),
     ({"template": TEMPLATE_7_6, "user": DNO, "fields": {"9.9": "1"}}, "no field"),
     ({"template": TEMPLATE_7_6, "user": DNO, "tamper": "lots"}, "tamper is one of"),
     ({"template": TEMPLATE_7_6, "user": "not an eui"}, "EUI")],
    ids=["template", "user", "field", "tamper", "eui"],
)  # fmt: skip
def test_the_launcher_refuses_bad_input_with_a_reason(served, body, message):
    status, answer = served.send("POST", "web/api/send", body)
    assert status == 400 and message in answer["error"]


def test_premises_snapshot_has_switches_meter_and_hub(served):
    (rtds,) = [p for p in served.get("web/api/premises")["premises"] if p["live"]]
    live = rtds["live"]
    assert [s["slot"] for s in live["switches"]] == [1, 2, 3, 4, 5]
    assert all(s["relay"] in ("open", "closed") and 0 <= s["level"] <= 100
               for s in live["switches"])  # fmt: skip
    assert live["switches"][1]["meter_label"] == "HCALCS_2_Description"
    assert {r["name"] for r in live["meter"]["registers"]} >= {"meter balance (credit)"}
    assert live["hub"]["mains"]["on"] is True
    assert {"eui": ESME, "type": "ESME"} in live["hub"]["device_log"]
    assert live["gas"]["gsme"] == "00-DB-12-34-56-78-90-A1"
    assert isinstance(live["gas"]["mirror_refreshes"], int)  # the meter's own wake-ups


def test_pages_are_served_and_name_nothing_outside_the_console():
    """Offline pages: no URL with a scheme or protocol-relative host in our static files (the
    SVG namespace's name is a name, never fetched)."""
    for path in sorted(STATIC.iterdir()):
        text = path.read_text().replace('"http://www.w3.org/2000/svg"', "")
        assert "://" not in text.replace("data:,", ""), path.name
        assert 'src="//' not in text and 'href="//' not in text, path.name


def test_a_suppliers_boost_change_alerts_the_dno_in_the_log(served):
    """7.10 from the Supplier, executed: the DSP's N65 DCC alert to the DNO is in the log as
    an alert for the DNO naming the ESME, its XML signature verified, and the boost
    association the premises page shows has changed."""
    before = {s["slot"]: s["boost_associated"] for s in _switches(served)}
    status, sent = served.send("POST", "web/api/send", {
        "template": "ECS62Remove_7.10_SUCCESS_REQUEST_DUIS.XML", "user": SUPPLIER})  # fmt: skip
    assert status == 200 and sent["error"] is None, sent
    served.log_for(sent["request_id"], "response")
    deadline = time.monotonic() + 10
    while True:
        alerts = [e for e in served.get("web/api/log")["entries"]
                  if e["direction"] == "dcc-alert" and e["code"] == "N65"]  # fmt: skip
        if alerts or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    (alert,) = alerts
    assert alert["user"] == DNO and alert["device"] == ESME and alert["outcome"] == "alert"
    (document,) = served.get(f"web/api/log/{alert['seq']}")["documents"]
    assert document["xml_signature"]["status"] == "verified"
    after = {s["slot"]: s["boost_associated"] for s in _switches(served)}
    assert after != before and not any(after[s] and not before[s] for s in after)


def _switches(served) -> list[dict]:
    premises = served.get("web/api/premises")["premises"]
    return next(p for p in premises if p["live"] is not None)["live"]["switches"]
