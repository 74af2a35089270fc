"""gbcs.obis: the OBIS codes of the ESME's and Comms Hub's objects, their text form and names,
checked against the primer's table (9.1) and against every object the RTDS commands of those
use cases address."""

import pytest
from rtds_vectors import read_vector, rtds_files

from gbcs import decode, obis
from gbcs.dlms import obis_text as dlms_obis_text

#: (text, name) as the primer's table 9.1 gives them, n = 3 for the per-switch objects
PRIMER = [
    ("0-0:94.44.0.13", "description of switch 3"),
    ("0-0:94.44.0.23", "type and identifier of switch 3"),
    ("0-0:94.44.0.33", "state and associated information of controller 3"),
    ("0-0:94.44.6.3", "boost function controls switch 3"),
    ("0-0:94.44.7.255", "boost function availability"),
    ("0-0:99.98.20.255", "boost function event log"),
    ("0-0:94.44.119.1", "controller 3 setting period start"),
    ("0-0:94.44.119.2", "controller 3 setting period end"),
    ("0-0:94.44.119.3", "APC 3 limit period start"),
    ("0-0:94.44.119.4", "APC 3 limit period end"),
    ("0-0:10.0.103.255", "auxiliary controller commands"),
    ("0-0:10.0.107.255", "APC limit commands"),
    ("0-0:11.0.3.255", "current calendar special days"),
    ("0-0:12.0.2.255", "current calendar schedule"),
    ("0-1:11.0.3.255", "next calendar special days"),
    ("0-1:12.0.2.255", "next calendar schedule"),
    ("0-0:94.44.128.26", "activation time of the next calendar"),
    ("0-0:94.44.128.35", "activation time of the next special days"),
    ("0-3:96.3.10.255", "state of switch 3"),
    ("0-0:0.2.1.255", "firmware version"),
    ("0-0:30.3.0.255", "CHF device log"),
]

#: the RTDS use cases whose objects the table covers (the ESME's and the CHF's)
FOLDERS = ("6.14.1_ECS46a", "6.14.2_ECS46c", "6.14.3_ECS46d", "7.5_ECS47Activate",
           "7.6_ECS47Deactivate", "7.7_ECS61a", "7.8_ECS47Reset", "7.9_ECS62Add",
           "7.10_ECS62Remove", "7.11_ECS61c", "7.13_ECS47a", "7.14_ECS61d", "7.15_ECS61e",
           "7.16_ECS47e", "8.11_CCS01", "8.11_CCS02", "11.2_ECS52")  # fmt: skip
ONE_OF = (obis.FIRMWARE_VERSION, obis.AUXILIARY_CONTROLLER_SCRIPTS, obis.APC_LIMIT_SCRIPTS,
          obis.CURRENT_SPECIAL_DAYS, obis.NEXT_SPECIAL_DAYS, obis.CURRENT_SCHEDULE,
          obis.NEXT_SCHEDULE, obis.CHF_DEVICE_LOG, obis.BOOST_AVAILABILITY,
          obis.BOOST_LOG_RESTRICTING_OBJECT, obis.NEXT_CALENDAR_ACTIVATION,
          obis.NEXT_SPECIAL_DAYS_ACTIVATION, obis.BOOST_LOG)  # fmt: skip
COMMANDS = [p for p in rtds_files("*_COMMAND_GBCS") if p.parent.name in FOLDERS]


@pytest.mark.parametrize(("text", "name"), PRIMER)
def test_primer_objects_by_code_and_name(text, name):
    code = obis.obis_from_text(text)
    assert obis.obis_text(code) == text
    assert obis.name(code) == name
    assert obis.by_name(name) == code


def test_constructors_give_the_table_codes():
    assert obis.switch_label(1) == bytes.fromhex("00005E2C000B")
    assert obis.switch_identifier(5) == bytes.fromhex("00005E2C0019")
    assert obis.controller_state(2) == bytes.fromhex("00005E2C0020")
    assert obis.boost_association(4) == bytes.fromhex("00005E2C0604")
    assert obis.controller_period(1, end=False) == bytes.fromhex("00005E2C7501")
    assert obis.apc_limit_period(5, end=True) == bytes.fromhex("00005E2C7904")
    assert obis.disconnect_control(2) == bytes.fromhex("000260030AFF")
    assert obis.AUXILIARY_CONTROLLER_SCRIPTS == bytes.fromhex("00000A0067FF")
    assert obis.APC_LIMIT_SCRIPTS == bytes.fromhex("00000A006BFF")
    assert obis.BOOST_LOG_RESTRICTING_OBJECT == bytes.fromhex("00005E2C64FF")


def test_every_switch_object_is_named_once():
    per_switch = 9  # label, identifier, state, boost, two period and two APC times, output
    assert len(obis.NAMES) == len(ONE_OF) + per_switch * len(obis.SWITCHES)
    assert len(set(obis.NAMES.values())) == len(obis.NAMES)


@pytest.mark.parametrize("n", [0, 6, -1])
def test_switch_numbers_outside_1_to_5_are_refused(n):
    with pytest.raises(ValueError, match="1..5"):
        obis.switch_label(n)


def test_text_form_agrees_with_the_dlms_layer():
    for code in obis.NAMES:
        assert obis.obis_text(code) == dlms_obis_text(code)


@pytest.mark.parametrize("bad", ["0-0:94.44.0", "0.0.94.44.0.13", "0-0:94.44.0.x", "0-0:1.2.3.256"])
def test_bad_text_is_refused(bad):
    with pytest.raises(ValueError):
        obis.obis_from_text(bad)


def test_unknown_codes_and_names():
    assert obis.name(obis.obis(1, 0, 1, 8, 0, 255)) is None
    with pytest.raises(LookupError, match="no OBIS object named"):
        obis.by_name("import register")
    with pytest.raises(ValueError, match="6 bytes"):
        obis.obis_text(b"\x00" * 5)


def test_rtds_commands_address_only_named_objects():
    """Every object the RTDS ESME / CHF commands name (and ECS61c's restricting object) is in
    the table: the codes are the ones GBCS uses, not ones we made up."""
    assert len(COMMANDS) >= len(FOLDERS)
    seen = set()
    for path in COMMANDS:
        message = decode(read_vector(path))
        if message.payload_kind != "dlms-access-request":
            continue
        for spec in message.payload.specifications:
            code = bytes(spec.instance_id)
            assert obis.name(code) is not None, (path.name, obis.obis_text(code))
            seen.add(code)
            if spec.selection is not None:
                restricting = spec.selection.parameters.value[0].value[1].value
                assert bytes(restricting) == obis.BOOST_LOG_RESTRICTING_OBJECT
                seen.add(bytes(restricting))
    # every object that is one of a kind occurs in RTDS (the per-switch ones for some n)
    assert set(ONE_OF) <= seen
