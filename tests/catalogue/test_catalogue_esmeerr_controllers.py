"""7.13 Set Auxiliary Controller State (ECS47a) from each catalogue template, the period moved to
start a minute after the meter's time as a sender picks its own: the DSP's command is carried
out (every instruction success, as RTDS's SUCCESS responses), and once the period starts RTDS's
7.15 read (ECS61e) shows the controller in the commanded state — its switch's output for an
output controller, the held input level for an input one — and the input level drops back at
the period's end. The same template with its own 2015 period, already over, is carried out
with nothing to run. Parametrised by template name."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from catalogue_helpers import CATALOGUE, RTDS, RTDS_TIME, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.render import plain
from gbcs.security import mac_apdu, sign

SUPPLIER = bytes.fromhex("90B3D51F30010000")
#: template -> (controller, what ECS61e's state shows once the period runs: key, value)
TEMPLATES = {
    "ECS47a_7.13_ALCS_ACTIVATE_SUCCESS_REQUEST_DUIS.XML": (5, "outputState", 100),
    "ECS47a_7.13_ALCS_DEACTIVATE_SUCCESS_REQUEST_DUIS.XML": (1, "outputState", 0),
    "ECS47a_7.13_APC_INPUT_SUCCESS_REQUEST_DUIS.XML": (3, "inputState", 50),
    "ECS47a_7.13_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML": (5, "outputState", 100),
}
READ = read_hex(RTDS / "7.15_ECS61e/ECS61e_7.15_SUCCESS_COMMAND_GBCS.HEX")
START = RTDS_TIME + dt.timedelta(minutes=1)  # the period the sender picks
END = START + dt.timedelta(hours=1)


def command(keys, name: str, counter: int, period: tuple[dt.datetime, dt.datetime] | None):
    """The DSP's command from the template (its period replaced when given), signed by the
    Supplier and MAC'd as the DCC sends it."""
    root = duis.parse((CATALOGUE / name).read_bytes())
    if period is not None:
        for tag, when in zip(("StartDateTime", "EndDateTime"), period, strict=True):
            root.find(f".//{{{duis.SR}}}{tag}").text = when.strftime("%Y-%m-%dT%H:%M:%S.00Z")
    duis.set_originator(root, SUPPLIER, counter)
    transformed = transform(duis.parse_request(root))
    assert transformed.use_case.name == "ECS47a"
    return mac_apdu(sign(transformed.precommand(), keys.signer(SUPPLIER)), keys.keystore)


def results(response: bytes) -> list[str]:
    return [r["result"] for r in plain(decode(response).payload)["results"]]


def states(response: bytes) -> dict[int, dict]:
    """ECS61e's controller states (its last five data items), by controller."""
    data = decode(response).payload.data
    return {n: json.loads(str(data[4 + n].value)) for n in range(1, 6)}


def run(keys, name: str, period, read_at: list[dt.datetime]):
    """A fresh premises at RTDS's time, each switch driven away from what the template
    commands; the template's command, then RTDS's ECS61e at each of `read_at`."""
    clock = Clock("simulated")
    controller, key, level = TEMPLATES[name]

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        esme = premises.esme
        esme.set_time(RTDS_TIME)
        if key == "outputState":
            await esme.command_slot(controller, "7.6" if level == 100 else "7.5", 3000)
        before = await premises.execute(recounted(keys, READ, 7000))
        execution = await premises.execute(command(keys, name, 7001, period))
        reads = []
        for i, when in enumerate(read_at):
            await clock.sleep((when - esme.utc_now()).total_seconds())
            reads.append(await premises.execute(recounted(keys, READ, 7002 + i)))
        await premises.close()
        return before, execution, reads, dict(esme.stats)

    return clock.run(main)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_period_runs_and_ecs61e_shows_the_controller_in_it(keys, name):
    controller, key, level = TEMPLATES[name]
    during_at, after_at = START + dt.timedelta(minutes=1), END + dt.timedelta(minutes=1)
    before, execution, (during, after), stats = run(keys, name, (START, END), [during_at, after_at])
    assert execution.outcome == "executed", execution.outcome
    assert execution.response_verified is True
    assert results(execution.response) == ["success"] * 3
    assert stats["periods-scheduled"] == 1
    assert states(before.response)[controller].get(key, 0) != level
    assert states(during.response)[controller][key] == level
    if key == "inputState":  # held for the period only
        assert states(after.response)[controller][key] == 0


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_meter_past_the_templates_period_runs_nothing(keys, name):
    """The catalogue run's case: the meter lives after 2015-01-03, so the template's own
    period is already over: carried out, nothing scheduled, the controller as it was."""
    controller = TEMPLATES[name][0]
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        premises.esme.set_time(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        before = await premises.execute(recounted(keys, READ, 7100))
        execution = await premises.execute(command(keys, name, 7101, None))
        await clock.sleep(3600)
        after = await premises.execute(recounted(keys, READ, 7102))
        await premises.close()
        return before, execution, after, dict(premises.esme.stats)

    before, execution, after, stats = clock.run(main)
    assert results(execution.response) == ["success"] * 3
    assert stats["periods-already-over"] == 1 and stats.get("periods-scheduled", 0) == 0
    assert states(after.response)[controller] == states(before.response)[controller]
