"""The DSP's own lifecycle services over real HTTP (serviceD, nondevice.py): 8.3 Decommission
Device, 8.4 Update Inventory, 8.6 Service Opt In, 8.13 Return Local Command Response, 8.14.x Communications Hub
Status Update and 12.1 Request WAN Matrix. Each changes the inventory's SMI status or facts
for real: 8.2 then reports it, and a device out of service is sent nothing (E5). The DCC's
catalogue templates are the requests where the catalogue has one."""

from __future__ import annotations

import asyncio
import base64

import pytest
from backoffice_helpers import DCCBOXED, RTDS
from cryptography import x509
from dsp_helpers import GBCS_DATE, build_dsp
from lxml import etree

from emulator import data
from emulator.backoffice import duis, service
from emulator.backoffice.inventory import preset_devices
from emulator.backoffice.keychoice import DeviceTrust
from emulator.backoffice.users import HttpTransport, InProcessTransport, make_user
from gbcs import decode
from gbcs.keystore import DS, KA, Keystore, key_id
from gbcs.roles import ACB_EUI

SR = duis.SR
DSP_EUI = "90-B3-D5-1F-30-00-00-02"
ESME, HUB = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2"
NEW_ESME, NEW_HUB = "00-DB-12-34-56-78-90-F1", "00-DB-12-34-56-78-90-F2"
CATALOGUE = data.duis_catalogue()
READ_ALCS = data.duis() / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
CS06_RESPONSE = RTDS / "11.3_CS06" / "CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX"
CS06_COMMAND = RTDS / "11.3_CS06" / "CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"
INSTALL_SUCCESS = "8.14.1_COMMUNICATIONS_HUB_STATUS_UPDATE_INSTALL_SUCCESS_REQUEST_DUIS.XML"


def request(srv: str, body_xml: str, originator: str = "90-B3-D5-1F-30-01-00-00") -> bytes:
    """A variant 8 request as a DCC Boxed client writes it (the user signs it on sending;
    the counter is the user's)."""
    reference = ".".join(srv.split(".")[:2])
    return (f'<sr:Request xmlns:sr="{SR}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>{originator}:{DSP_EUI}:1</sr:RequestID>"
            f"<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>{reference}"
            f"</sr:ServiceReference><sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>"
            f"</sr:Header><sr:Body>{body_xml}</sr:Body></sr:Request>").encode()  # fmt: skip


def read_inventory(eui: str) -> bytes:
    return request("8.2", f"<sr:ReadInventory><sr:DeviceID>{eui}</sr:DeviceID></sr:ReadInventory>")


def decommission(eui: str) -> bytes:
    return request("8.3", f"<sr:DecommissionDevice><sr:DeviceID>{eui}</sr:DeviceID>"
                          "</sr:DecommissionDevice>")  # fmt: skip


def update_inventory(eui: str, change: str) -> bytes:
    return request("8.4", f"<sr:UpdateInventory><sr:DeviceID>{eui}</sr:DeviceID>{change}"
                          "</sr:UpdateInventory>")  # fmt: skip


def pre_notify(eui: str, device_type: str) -> bytes:
    return request("12.2", f"<sr:DevicePrenotification><sr:DeviceID>{eui}</sr:DeviceID>"
                           "<sr:DeviceManufacturer>AB01</sr:DeviceManufacturer>"
                           "<sr:DeviceModel>010A030B</sr:DeviceModel>"
                           f"<sr:DeviceType>{device_type}</sr:DeviceType>"
                           "</sr:DevicePrenotification>")  # fmt: skip


def hub_update(srv: str, eui: str = NEW_HUB, fault: str = "post") -> bytes:
    element, detail = {
        "8.14.1": ("CHFInstallSuccessSMWAN",
                   "<sr:CHFInstallType>New CHF Install</sr:CHFInstallType>"
                   "<sr:MPxN>1000999888</sr:MPxN><sr:AerialInstall>false</sr:AerialInstall>"
                   "<sr:CHFLocation>Basement or Cellar</sr:CHFLocation>"),
        "8.14.2": ("CHFInstallSuccessNoSMWAN", "<sr:CHFInstallType>CHF Install - no SM WAN"
                   "</sr:CHFInstallType><sr:MPxN>1000999888</sr:MPxN>"
                   "<sr:AerialInstall>false</sr:AerialInstall>"
                   "<sr:CHFLocation>Basement or Cellar</sr:CHFLocation>"
                   "<sr:PremiseType>Low Rise Apartment (MDU &lt;= 5 floors)</sr:PremiseType>"
                   "<sr:MetalObstructionCheck>false</sr:MetalObstructionCheck>"
                   "<sr:ConnectivityObstructionCheck>false</sr:ConnectivityObstructionCheck>"
                   "<sr:SharedObstructionCheck>false</sr:SharedObstructionCheck>"),
        "8.14.3": ("CHFFaultReturn", "<sr:CHFFaultReturnType>Fault identified "
                   f"{'post' if fault == 'post' else 'prior to'} installation"
                   f"</sr:CHFFaultReturnType><sr:OtherDeviceID>{ESME}</sr:OtherDeviceID>"
                   "<sr:CHFConnectionMethod>Hot-shoe</sr:CHFConnectionMethod>"
                   "<sr:CHFFaultReason>Damaged case</sr:CHFFaultReason>"),
        "8.14.4": ("CHFNoFaultReturn",
                   "<sr:CHFNoFaultReturnType>No Fault Return (general)</sr:CHFNoFaultReturnType>"),
    }[srv]  # fmt: skip
    return request(srv, f"<sr:{element}><sr:DeviceID>{eui}</sr:DeviceID>{detail}</sr:{element}>")


def template(name: str) -> bytes:
    return (CATALOGUE / name).read_bytes()


def exchange(schema, trusted, dsp_signer, *requests, role: str = "supplier"):
    """Each request's synchronous answer, in order, from one DSP; device requests (serviceS)
    answer I99 or their refusal at once (the test double premises answers later)."""

    async def run():
        dsp, premises = build_dsp(schema, trusted, dsp_signer)
        runner = await service.start(dsp, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
        users = {name: make_user(name, keys, schema, trusted, transport)
                 for name in ("supplier", "dno")}  # fmt: skip
        try:
            answers = []
            for counter, body in enumerate(requests, 1000):
                user = users["dno" if b"90-B3-D5-1F-30-02-00-00" in body else role]
                answers.append((await user.submit(user.prepare(body, counter)))[0])
            await dsp.drain()
            return answers, premises
        finally:
            await transport.close()
            await runner.cleanup()

    return asyncio.run(run())


def device_field(answer, name: str) -> str | None:
    return answer.root.findtext(f".//{{{SR}}}DSPInventory/{{{SR}}}Device/{{{SR}}}{name}")


def codes(answers) -> list[str]:
    return [a.code for a in answers]


def test_decommissioned_esme_is_reported_and_sent_nothing(schema, trusted, dsp):
    """The catalogue's 8.3: the ESME becomes Decommissioned, 8.2 says so, and a request to
    it afterwards is refused E5 before anything reaches the premises."""
    answers, premises = exchange(schema, trusted, dsp, template(
        "8.3_DECOMMISSION_DEVICE_REQUEST_DUIS.XML"), read_inventory(ESME),
        READ_ALCS.read_bytes(), decommission(ESME))  # fmt: skip
    assert codes(answers) == ["I0", "I0", "E5", "E5"]  # decommissioned once only
    assert answers[0].source == "serviceD"
    for answer in answers:
        schema.validate(answer.root)
    assert device_field(answers[1], "DeviceStatus") == "Decommissioned"
    assert premises.received == []


def test_before_decommissioning_the_esme_is_served(schema, trusted, dsp):
    answers, premises = exchange(schema, trusted, dsp, READ_ALCS.read_bytes())
    assert codes(answers) == ["I99"] and len(premises.received) == 1


@pytest.mark.parametrize("body,code", [
    (decommission(HUB), "E11"),  # the hub leaves by 8.14
    (decommission("00-DB-12-34-56-78-90-A3"), "E11"),  # so does its GPF
    (decommission("00-DB-12-34-56-78-90-EE"), "E19"),
    (decommission(ESME).replace(b"90-B3-D5-1F-30-01-00-00", b"90-B3-D5-1F-30-02-00-00"), "E2"),
])  # fmt: skip
def test_decommission_refusals(body, code, schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp, body, read_inventory(ESME))
    assert codes(answers) == [code, "I0"]
    assert device_field(answers[1], "DeviceStatus") == "Commissioned"  # unchanged


def test_update_inventory_changes_a_pre_notified_device_then_deletes_it(schema, trusted, dsp):
    details = (
        "<sr:UpdateDeviceDetails><sr:DeviceManufacturer>CD02</sr:DeviceManufacturer>"
        "<sr:FirmwareVersion>00020130</sr:FirmwareVersion></sr:UpdateDeviceDetails>"
    )
    installed = (
        "<sr:UpdateDeviceStatusExceptCH>InstalledNotCommissioned</sr:UpdateDeviceStatusExceptCH>"
    )
    pending = "<sr:UpdateDeviceStatusExceptCH>Pending</sr:UpdateDeviceStatusExceptCH>"
    answers, _ = exchange(schema, trusted, dsp,
        pre_notify(NEW_ESME, "ESME"),
        update_inventory(NEW_ESME, details), read_inventory(NEW_ESME),
        update_inventory(NEW_ESME, installed), read_inventory(NEW_ESME),
        update_inventory(NEW_ESME, "<sr:DeleteDevice/>"),  # installed: not deleted
        update_inventory(NEW_ESME, pending),
        update_inventory(NEW_ESME, "<sr:DeleteDevice/>"), read_inventory(NEW_ESME),
    )  # fmt: skip
    assert codes(answers) == ["I0", "I0", "I0", "I0", "I0", "E5", "I0", "I0", "E19"]
    assert device_field(answers[2], "DeviceManufacturer") == "CD02"
    assert device_field(answers[2], "DeviceModel") == "010A030B"  # kept from 12.2
    assert device_field(answers[2], "DeviceFirmwareVersion") == "00020130"
    assert device_field(answers[2], "DeviceStatus") == "Pending"
    assert device_field(answers[4], "DeviceStatus") == "InstalledNotCommissioned"


def test_update_inventory_catalogue_template_keeps_a_commissioned_esme(schema, trusted, dsp):
    """The catalogue's 8.4 deletes the commissioned ESME: refused E5, the ESME stays."""
    answers, _ = exchange(schema, trusted, dsp, template("8.4_UPDATE_INVENTORY_REQUEST_DUIS.XML"),
                          read_inventory(ESME))  # fmt: skip
    assert codes(answers) == ["E5", "I0"]
    assert device_field(answers[1], "DeviceStatus") == "Commissioned"


def test_update_inventory_mpxn_and_refusals(schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp,
        update_inventory(ESME, "<sr:UpdateMPxN><sr:ImportMPxN>1312345678111</sr:ImportMPxN>"
                               "</sr:UpdateMPxN>"), read_inventory(ESME),
        update_inventory(ESME, "<sr:UpdateDeviceStatusCH>Withdrawn</sr:UpdateDeviceStatusCH>"),
        update_inventory(HUB, "<sr:UpdateDeviceStatusExceptCH>Pending"
                              "</sr:UpdateDeviceStatusExceptCH>"),
        update_inventory("00-DB-12-34-56-78-90-EE", "<sr:DeleteDevice/>"),
    )  # fmt: skip
    assert codes(answers) == ["I0", "I0", "E11", "E11", "E19"]
    assert device_field(answers[1], "ImportMPxN") == "1312345678111"


def test_comms_hub_installed_commissioned_then_returned(schema, trusted, dsp):
    """A pre-notified hub through its life: installed without WAN, commissioned (dated),
    no longer 'without WAN', returned faulty after installation (Decommissioned), then
    returned to the DCC (Withdrawn), after which nothing applies to it."""
    answers, _ = exchange(schema, trusted, dsp,
        pre_notify(NEW_HUB, "CHF"),
        hub_update("8.14.2"), read_inventory(NEW_HUB),
        hub_update("8.14.1"), read_inventory(NEW_HUB),
        hub_update("8.14.1"),  # reported again: unchanged
        hub_update("8.14.2"), hub_update("8.14.3", fault="prior"), hub_update("8.14.4"),
        hub_update("8.14.3"), read_inventory(NEW_HUB),
        hub_update("8.14.4"), read_inventory(NEW_HUB),
        hub_update("8.14.1"), hub_update("8.14.3"),
    )  # fmt: skip
    assert codes(answers) == ["I0", "I0", "I0", "I0", "I0", "I0", "E5", "E5", "E5",
                              "I0", "I0", "I0", "I0", "E5", "E5"]  # fmt: skip
    statuses = [device_field(answers[i], "DeviceStatus") for i in (2, 4, 10, 12)]
    assert statuses == ["InstalledNotCommissioned", "Commissioned", "Decommissioned", "Withdrawn"]
    assert device_field(answers[4], "DateCommissioned") == f"{GBCS_DATE.date().isoformat()}Z"


def test_comms_hub_returned_before_installation_is_withdrawn(schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp, pre_notify(NEW_HUB, "CHF"),
                          hub_update("8.14.3", fault="post"),  # not installed: not post
                          hub_update("8.14.3", fault="prior"), read_inventory(NEW_HUB))  # fmt: skip
    assert codes(answers) == ["I0", "E5", "I0", "I0"]
    assert device_field(answers[3], "DeviceStatus") == "Withdrawn"


@pytest.mark.parametrize("name,code", [
    ("8.14.1_COMMUNICATIONS_HUB_STATUS_UPDATE_INSTALL_SUCCESS_REQUEST_DUIS.XML", "I0"),
    ("8.14.2_COMMUNICATIONS_HUB_STATUS_UPDATE_INSTALL_NO_SM_WAN_REQUEST_DUIS.XML", "E5"),
    ("8.14.3_COMMUNICATIONS_HUB_STATUS_UPDATE_FAULT_RETURN_REQUEST_DUIS.XML", "E5"),
    ("8.14.4_COMMUNICATIONS_HUB_STATUS_UPDATE_NO_FAULT_RETURN_REQUEST_DUIS.XML", "E5"),
])  # fmt: skip
def test_catalogue_hub_updates_on_the_commissioned_rtds_hub(name, code, schema, trusted, dsp):
    """RTDS's hub is commissioned: install success re-reported is I0 unchanged; no SM WAN,
    a fault found before installation, and a no-fault return do not apply to it (E5)."""
    answers, _ = exchange(schema, trusted, dsp, template(name), read_inventory(HUB))
    assert codes(answers) == [code, "I0"]
    assert device_field(answers[1], "DeviceStatus") == "Commissioned"


def test_hub_status_update_is_for_a_hub_only(schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp, hub_update("8.14.1", eui=ESME))
    assert codes(answers) == ["E11"]


def test_withdrawn_hub_is_sent_nothing(schema, trusted, dsp):
    """The RTDS hub returned after a fault found post installation: 8.9 to it is E5."""
    answers, premises = exchange(schema, trusted, dsp, hub_update("8.14.3", eui=HUB),
                                 template("CCS06_8.9_SUCCESS_REQUEST_DUIS.XML"))  # fmt: skip
    assert codes(answers) == ["I0", "E5"] and premises.received == []


def test_wan_matrix_echoes_the_request_with_the_emulated_coverage(schema, trusted, dsp):
    answers, _ = exchange(
        schema, trusted, dsp, template("12.1_REQUEST_WAN_MATRIX_ADDRESS_REQUEST_DUIS.XML")
    )
    (answer,) = answers
    assert (answer.source, answer.code) == ("serviceD", "I0")
    schema.validate(answer.root)
    matrix = answer.root.find(f".//{{{SR}}}DSPWANMatrix")
    assert matrix.findtext(f"{{{SR}}}Request/{{{SR}}}PartialAddress/{{{SR}}}PostCode") == "M22 0RR"
    coverage = matrix.find(f"{{{SR}}}DSPWANMatrixResponse")
    assert [etree.QName(c).localname for c in coverage] == [
        "CSPRegion", "CSPRegionResponseCode", "CoverageAvailability", "WANTechnology",
        "ConnectivityLikelihood"]  # fmt: skip
    assert coverage.findtext(f"{{{SR}}}CSPRegion") == "Unknown"  # no premises at that address
    assert coverage.findtext(f"{{{SR}}}CoverageAvailability") == "true"


LOCAL_RESPONSE = "8.13_RETURN_LOCAL_COMMAND_RESPONSE_CS06_REQUEST_DUIS.XML"
TEMPLATE_RESPONSE = base64.b64decode(
    duis.parse(template(LOCAL_RESPONSE)).findtext(f".//{{{SR}}}DeviceGBCSResponse")
)
RTDS_RESPONSE = bytes.fromhex(CS06_RESPONSE.read_text().strip())
RESPONSE = TEMPLATE_RESPONSE


def test_returned_activate_firmware_response_updates_the_inventory(schema, trusted, dsp):
    """The catalogue's 8.13 returns the ESME's signed CS06 success response, naming the
    firmware 31323334 ('1234') it runs now: the DSP checks it is the ESME's answer to the
    original request and records the version."""
    message = decode(TEMPLATE_RESPONSE)
    assert (message.use_case.name, bytes(message.originator).hex().upper()) == (
        "CS06",
        ESME.replace("-", ""),
    )
    answers, _ = exchange(schema, trusted, dsp, template(LOCAL_RESPONSE), read_inventory(ESME))
    assert codes(answers) == ["I0", "I0"]
    assert device_field(answers[1], "DeviceFirmwareVersion") == "31323334"
    assert device_field(answers[1], "DeviceFirmwareVersionStatus") == "Active"


def test_returned_rtds_response_records_its_version(schema, trusted, dsp):
    """RTDS's own CS06 success response (firmware 0123ABCE), returned for its request."""
    counter = decode(RTDS_RESPONSE).counter
    body = _with_response(RTDS_RESPONSE, f"90-B3-D5-1F-30-01-00-00:{ESME}:{counter}")
    answers, _ = exchange(schema, trusted, dsp, body, read_inventory(ESME))
    assert codes(answers) == ["I0", "I0"]
    assert device_field(answers[1], "DeviceFirmwareVersion") == "0123ABCE"


def _with_response(raw: bytes, original: str = f"90-B3-D5-1F-30-01-00-00:{ESME}:1000") -> bytes:
    text = template(LOCAL_RESPONSE).decode()
    start = text.index("<sr:OriginalRequestID>")
    end = text.index("</sr:DeviceGBCSResponse>") + len("</sr:DeviceGBCSResponse>")
    return (text[:start] + f"<sr:OriginalRequestID>{original}</sr:OriginalRequestID>"
            f"<sr:DeviceGBCSResponse>{base64.b64encode(raw).decode()}</sr:DeviceGBCSResponse>"
            + text[end:]).encode()  # fmt: skip


def _flipped(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :]


@pytest.mark.parametrize("body,code", [
    (_with_response(_flipped(RESPONSE, len(RESPONSE) - 3)), "E41"),  # signature broken
    (_with_response(RESPONSE, f"90-B3-D5-1F-30-01-00-00:{ESME}:1001"), "E41"),  # other request
    (_with_response(RESPONSE, f"90-B3-D5-1F-30-01-00-00:{HUB}:1000"), "E41"),  # other device
    (_with_response(b"\x01\x02"), "E40"),  # not GBCS
    (_with_response(bytes.fromhex(CS06_COMMAND.read_text().strip())),
     "E41"),  # a command, not a response
])  # fmt: skip
def test_returned_response_refused_unless_the_devices_own(body, code, schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp, body, read_inventory(ESME))
    assert codes(answers) == [code, "I0"]
    assert device_field(answers[1], "DeviceFirmwareVersion") != "31323334"


def test_a_returned_maced_response_is_accepted_and_changes_no_firmware(schema, trusted, dsp):
    """RTDS's ECS61a (7.7) response, MAC'd by the ESME: the ESME's own answer, accepted; not
    an activation, so the inventory's firmware version stays."""
    path = next((RTDS / "7.7_ECS61a").glob("*_SUCCESS_RESPONSE_GBCS.HEX"))
    raw = bytes.fromhex(path.read_text().strip())
    body = _with_response(raw, f"90-B3-D5-1F-30-01-00-00:{ESME}:{decode(raw).counter}")
    answers, _ = exchange(schema, trusted, dsp, read_inventory(ESME), body, read_inventory(ESME))
    assert codes(answers) == ["I0", "I0", "I0"]
    before, after = (device_field(answers[i], "DeviceFirmwareVersion") for i in (0, 2))
    assert before == after


def test_a_decommissioned_device_is_joined_to_nothing_but_may_be_unjoined(schema, trusted, dsp):
    """The catalogue's non-critical join of ...93 to the PPMID: refused E5 once ...93 is
    decommissioned; the unjoin of a decommissioned HCALCS (...99) from the ESME still goes
    out (the critical round trip's pre-command is issued)."""
    join = template("CS03A2NonCritical_8.7.2_SUCCESS_REQUEST_DUIS.XML")
    unjoin = template("CS04ACCritical_8.8.1_SUCCESS_REQUEST_DUIS.XML")
    answers, premises = exchange(schema, trusted, dsp, join,
                                 decommission("00-DB-12-34-56-78-90-93"), join,
                                 decommission("00-DB-12-34-56-78-90-99"), unjoin)  # fmt: skip
    assert codes(answers) == ["I99", "I0", "E5", "I0", "I0"]
    assert answers[-1].source == "serviceT"


def test_an_installed_hub_gives_its_premises_the_mpxn(schema, trusted, dsp):
    """RTDS's premises has no MPxN: the catalogue's 8.14.1 names 1000999888, which 8.2 then
    reports for the ESME; a later install naming another keeps the first."""
    other = hub_update("8.14.1", eui=HUB).replace(b"1000999888", b"2000111222")
    answers, _ = exchange(schema, trusted, dsp, read_inventory(ESME),
                          template(INSTALL_SUCCESS),
                          other, read_inventory(ESME))  # fmt: skip
    assert codes(answers) == ["I0"] * 4
    assert device_field(answers[0], "ImportMPxN") is None
    assert device_field(answers[3], "ImportMPxN") == "1000999888"


def test_wan_matrix_names_the_region_of_a_known_premises_hub(schema, trusted, dsp):
    """DCC Boxed's own premises (its preset devices, UPRN 123456789012): 12.1 by that UPRN
    answers the region of the Comms Hub there (DCC Boxed's says 4G Central)."""

    async def run():
        dsp_, _ = build_dsp(schema, trusted, dsp)
        for device in preset_devices("dccboxed"):
            dsp_.inventory.declare(device.eui, device.device_type, device.premises)
        keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
        user = make_user("supplier", keys, schema, trusted, InProcessTransport(dsp_))
        body = request("12.1", "<sr:RequestWANMatrix><sr:UPRN>123456789012</sr:UPRN>"
                               "</sr:RequestWANMatrix>")  # fmt: skip
        return (await user.submit(user.prepare(body, 1)))[0]

    answer = asyncio.run(run())
    assert answer.code == "I0"
    schema.validate(answer.root)
    assert (
        answer.root.findtext(f".//{{{SR}}}DSPWANMatrixResponse/{{{SR}}}CSPRegion") == "4G Central"
    )
    assert (
        answer.root.findtext(f".//{{{SR}}}DSPWANMatrix/{{{SR}}}Request/{{{SR}}}UPRN")
        == "123456789012"
    )


# --- 8.6 Service Opt In --------------------------------------------------------------------

OPT_IN = "8.6_SERVICE_OPTIN_REQUEST_DUIS.XML"


def opt_in(eui: str, device_type: str = "ESME") -> bytes:
    return request("8.6", f"<sr:ServiceOptIn><sr:DeviceID>{eui}</sr:DeviceID>"
                          f"<sr:DeviceType>{device_type}</sr:DeviceType><sr:MPxNs>"
                          "<sr:ImportMPxN>1312345678111</sr:ImportMPxN></sr:MPxNs>"
                          "<sr:OptInDate>2026-01-01</sr:OptInDate></sr:ServiceOptIn>")  # fmt: skip


def test_opt_in_gives_the_dsp_brokers_credentials_the_meters_hold(schema, trusted, dsp):
    """The catalogue's 8.6: answered at once with DSPOptIn, the ACB's digital signing and key
    agreement certificates, the very ones the emulated meters hold in their ACB cells."""
    answers, premises = exchange(schema, trusted, dsp, template(OPT_IN))
    [answer] = answers
    assert (answer.code, answer.source) == ("I0", "serviceD")
    schema.validate(answer.root)
    body = answer.root.find(f".//{{{SR}}}DSPOptIn")
    assert body.findtext(f"{{{SR}}}DeviceID") == ESME
    held = DeviceTrust.rtds()
    for element, usage in (("DSPBrokerSecurityCredentialsDigitalSigning", DS),
                           ("DSPBrokerSecurityCredentialsKeyAgreement", KA)):  # fmt: skip
        der = base64.b64decode(body.findtext(f"{{{SR}}}{element}"))
        certificate = x509.load_der_x509_certificate(der)
        assert held.trusts(ACB_EUI, usage, key_id(certificate.public_key()))
    assert premises.received == []  # the DSP's own answer: nothing is sent to a device


@pytest.mark.parametrize("body,code", [
    (opt_in(ESME, "GSME"), "E11"),  # the type named is not the device's
    (opt_in(HUB, "ESME"), "E11"),  # a hub is no meter
    (opt_in("00-DB-12-34-56-78-90-EE"), "E19"),
    (opt_in(ESME).replace(b"90-B3-D5-1F-30-01-00-00", b"90-B3-D5-1F-30-02-00-00"), "E2"),
])  # fmt: skip
def test_opt_in_refusals(body, code, schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp, body)
    assert codes(answers) == [code]
    assert answers[0].root.find(f".//{{{SR}}}DSPOptIn") is None


def test_a_decommissioned_meter_is_not_opted_in(schema, trusted, dsp):
    answers, _ = exchange(schema, trusted, dsp, decommission(ESME), opt_in(ESME))
    assert codes(answers) == ["I0", "E5"]
