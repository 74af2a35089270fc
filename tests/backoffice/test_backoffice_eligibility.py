"""The eligibility table per SRV and role, with the SECMP0046 switches."""

from __future__ import annotations

import itertools

import pytest
from lxml import etree

from emulator import data
from emulator.backoffice.eligibility import (
    BASE_ELIGIBILITY,
    DUIS_ROLES,
    DuisRole,
    Eligibility,
    NotEligible,
)
from emulator.backoffice.response_codes import ResponseCode

IS, ES, GS, RSA, ED, GT, OU, LC = DuisRole
SUPPLIER_ONLY = ["7.5", "7.13", "6.14.1", "6.14.2", "6.14.3"]

# (srv, role, allowed by default, allowed with the boost switch on, allowed with both off)
CASES = [
    ("7.6", ED, True, True, False),
    ("7.7", ED, True, True, True),  # 7.7 lists ED before SECMP0046
    ("7.8", ED, True, True, False),
    ("7.9", ED, False, True, False),
    ("7.10", ED, False, True, False),
    ("7.11", ED, False, True, False),
    ("7.5", ED, False, False, False),
    ("7.6", IS, True, True, True),
    ("7.9", IS, True, True, True),
    ("7.11", OU, True, True, True),
    ("7.6", OU, False, False, False),
    ("8.7.1", GS, True, True, True),
    ("8.7.1", OU, False, False, False),
    ("8.8.2", OU, True, True, True),
    ("8.8.1", ED, False, False, False),
    ("8.11", ED, False, False, False),
    ("11.2", GT, True, True, True),
    ("7.16", IS, False, False, False),
    ("7.16", LC, True, True, True),  # the Load Controller's (gbhan's role; module docstring)
    ("7.16", ED, False, False, False),
    ("7.6", LC, False, False, False),
    ("11.2", LC, False, False, False),  # "every role" is DUIS's seven
]


@pytest.mark.parametrize(("srv", "role", "default", "boost", "neither"), CASES)
def test_table(srv, role, default, boost, neither):
    assert (role in Eligibility().roles(srv)) is default
    assert (role in Eligibility(secmp0046_boost=True).roles(srv)) is boost
    off = Eligibility(secmp0046_hcalcs=False, secmp0046_boost=False)
    assert (role in off.roles(srv)) is neither


@pytest.mark.parametrize("srv", SUPPLIER_ONLY)
def test_supplier_only_srvs_refuse_the_dno_whatever_the_switches(srv):
    for hcalcs, boost in itertools.product([False, True], repeat=2):
        policy = Eligibility(secmp0046_hcalcs=hcalcs, secmp0046_boost=boost)
        with pytest.raises(NotEligible) as refused:
            policy.check(srv, ED)
        assert refused.value.code is ResponseCode.ROLE_NOT_ELIGIBLE
        policy.check(srv, IS)


def test_dno_7_9_refused_by_default_allowed_with_the_switch():
    with pytest.raises(NotEligible, match="ED may not send SRV 7.9"):
        Eligibility().check("7.9", ED)
    Eligibility(secmp0046_boost=True).check("7.9", ED)


def test_switches_change_only_the_electricity_distributor():
    on = Eligibility(secmp0046_hcalcs=True, secmp0046_boost=True)
    off = Eligibility(secmp0046_hcalcs=False, secmp0046_boost=False)
    for srv in BASE_ELIGIBILITY:
        assert on.roles(srv) - off.roles(srv) <= {ED}


def test_unserved_srv_is_refused_for_everyone():
    for role in DuisRole:
        with pytest.raises(NotEligible, match="not served"):
            Eligibility().check("4.1", role)


def test_11_2_is_open_to_all_seven_duis_roles():
    assert Eligibility().roles("11.2") == DUIS_ROLES and len(DUIS_ROLES) == 7
    assert set(DuisRole) - DUIS_ROLES == {LC}


def test_extra_grants_add_a_role_to_one_srv_only():
    from emulator.backoffice.eligibility import IS, Eligibility, NotEligible

    with pytest.raises(NotEligible):
        Eligibility().check("7.16", IS)
    granted = Eligibility(extra=(("7.16", IS),))
    granted.check("7.16", IS)
    assert granted.roles("7.13") == Eligibility().roles("7.13")


def test_every_srv_variant_duis_lists_is_served():
    """The schema's ServiceReferenceVariant list, every one in the table: no DUIS request is
    refused E43 (not served) for its SRV; the DSP's scheduled services likewise."""
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    [schema] = data.duis_schema().glob("DUIS Schema V*.xsd")
    root = etree.parse(str(schema)).getroot()
    for name in ("ServiceReferenceVariant", "DSPScheduledServiceReferenceVariant"):
        [listed] = root.findall(f"{xsd}simpleType[@name='{name}']")
        values = [e.get("value") for e in listed.iter(f"{xsd}enumeration")]
        assert values and [v for v in values if v not in BASE_ELIGIBILITY] == [], name
        assert all(Eligibility().roles(v) for v in values), name
