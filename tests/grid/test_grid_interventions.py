import csv
import io
import json

from emulator.grid.gateway import SrvOutcome, SrvResult
from emulator.grid.interventions import CSV_COLUMNS, InterventionLog


def _log():
    log = InterventionLog("F1")
    log.record(SrvOutcome("7.7", "P1", None, SrvResult.EXECUTED, 1.0, 2.5), "discover")
    event = log.open("forecast over rating", 100.0)
    log.record(SrvOutcome("7.6", "P1", 2, SrvResult.EXECUTED, 101.0, 4.0), "curtail")
    log.record(SrvOutcome("7.6", "P2", 1, SrvResult.EXECUTED, 101.0, 5.0, level=50), "curtail")
    log.record(SrvOutcome("7.6", "P3", 1, SrvResult.TIMEOUT, 101.0, None), "curtail")
    log.record(SrvOutcome("7.8", "P1", 2, SrvResult.EXECUTED, 900.0, 3.0), "restore")
    event.end = 1000.0
    event.energy_curtailed_kwh = 12.5
    return log, event


def test_an_event_reports_switches_levels_and_customers():
    _, event = _log()
    assert event.switches_used == ["P1/2", "P2/1"]
    assert event.levels_used == [0, 50]
    assert event.customers_affected == 2


def test_csv_has_one_row_per_srv_with_the_event_it_belongs_to():
    log, _ = _log()
    rows = list(csv.DictReader(io.StringIO(log.to_csv())))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [r["srv"] for r in rows] == ["7.7", "7.6", "7.6", "7.6", "7.8"]
    assert rows[0]["event"] == "" and {r["event"] for r in rows[1:]} == {"1"}
    assert rows[3]["status"] == "timeout" and rows[3]["response_s"] == ""
    assert rows[2]["level"] == "50" and rows[1]["response_s"] == "4.000"


def test_json_carries_the_dcp371_fields():
    log, _ = _log()
    data = json.loads(log.to_json())
    (event,) = data["events"]
    for key in (
        "feeder",
        "reason",
        "start",
        "end",
        "switches_used",
        "levels_used",
        "energy_curtailed_kwh",
        "customers_affected",
        "srvs",
    ):
        assert key in event
    assert event["energy_curtailed_kwh"] == 12.5
    assert len(data["outside_events"]) == 1
