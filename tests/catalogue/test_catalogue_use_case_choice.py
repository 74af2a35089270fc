"""The DSP picks the use case by the target's device type where an SRV's forms differ by type
(dsp.choose_use_case through transform.device_use_case): a gas template's SRV to the GSME is
sent as a GSME use case, 6.2.4 to the hub as the hub's own, never another device's command;
a type no form serves is refused E11 by the transform; where every form serves the type the
request's body still decides (6.13's log, 3.3's log type, 8.11's Add/Remove). Parametrised
by catalogue file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS

from emulator.backoffice import duis
from emulator.backoffice.dsp import choose_use_case
from emulator.backoffice.inventory import Device, rtds_inventory
from emulator.backoffice.response_codes import ResponseCode
from emulator.backoffice.transform import FORMS, TransformError, devices_of, transform

TEMPLATES = sorted(p.name for p in CATALOGUE.glob("*_REQUEST_DUIS.XML"))
#: the SRVs whose forms serve different device types
BY_TYPE = {s for (s, _n), f in FORMS.items() if devices_of(f.use_case) is not None} - {
    s for (s, _n), f in FORMS.items() if devices_of(f.use_case) is None
}
#: the use cases the DSP builds (a template named for one of them is sent as it)
BUILT = {f.use_case for f in FORMS.values()}


@pytest.fixture(scope="module")
def inventory():
    return rtds_inventory(RTDS)


def _request(name: str) -> duis.Request:
    return duis.parse_request(duis.parse((CATALOGUE / name).read_bytes()))


@pytest.mark.parametrize(
    "name", [n for n in TEMPLATES if n.split("_")[1] in BY_TYPE and n.split("_")[0] in BUILT]
)
def test_a_built_use_case_is_sent_for_its_own_device_type(name, inventory):
    request = _request(name)
    target = inventory.get(request.request_id.target)
    chosen = choose_use_case(request.service_reference_variant, target, None)
    kinds = devices_of(name.split("_")[0]) or ()
    if target.device_type in kinds and chosen is not None:  # None: the body decides
        assert target.device_type in (devices_of(chosen) or ()), (chosen, target.device_type)
    elif target.device_type not in kinds:  # a template to a device its use case is not for
        assert chosen is not None and chosen not in BUILT, chosen


@pytest.mark.parametrize("srv", ["6.2.4", "6.2.7", "7.4", "11.2"])
def test_a_type_no_form_serves_is_refused_e11(srv):
    """A GPF is sent nothing of another device's (the transform refuses E11)."""
    template = next(n for n in TEMPLATES if n.split("_")[1] == srv)
    request = _request(template)
    gpf = Device(request.request_id.target, "gpf", "rtds-premises")
    chosen = choose_use_case(srv, gpf, None)
    assert chosen is not None and chosen not in BUILT
    with pytest.raises(TransformError) as caught:
        transform(request, use_case=chosen)
    assert caught.value.code == ResponseCode.SRV_NOT_FOR_DEVICE_TYPE


@pytest.mark.parametrize(
    ("srv", "kind", "expected"),
    [
        ("6.2.4", "chf", "ECS26n"),
        ("6.2.4", "gsme", "GCS21m"),
        ("6.2.4", "esme", "ECS26m"),
        ("7.4", "gsme", "GCS33"),
        ("7.4", "esme", "ECS45"),
        ("11.2", "gsme", "GCS38"),
        ("4.18", "gpf", "GCS60a"),
        ("6.13", "esme", None),
        ("3.3", "esme", None),
        ("8.11", "chf", None),
        ("4.3", "esme", "ECS19"),  # since the gas meter's GCS14 serves 4.3 too
        ("4.3", "gpf", "GCS14"),
        ("4.1.1", "esme", "ECS17b"),
        ("4.1.1", "gsme", "GCS13a"),
    ],  # fmt: skip
)
def test_the_choice_by_type(srv, kind, expected):
    device = Device(bytes.fromhex("00DB1234567890A0"), kind, "rtds-premises")
    assert choose_use_case(srv, device, None) == expected
