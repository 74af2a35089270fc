"""Run a scenario through the real path and say what came of it, as types; printing and exit
codes are the CLI's (``tools/emulate_cmd.py``).

``run(scenario, out=..., boards=...)`` builds the world (DNO client → DSP → WAN → Comms Hub →
ESME → switches, ``boards`` of them as the firmware on virtual boards), runs it in simulated
time, and writes summary.json, report.html, interventions.json/.csv, feeder-load.png,
han.pcap (every household's HAN) and han.keys (its keys as tshark options) into ``out``. There
is no model-only shortcut: a world that cannot be built raises ``WorldUnbuildable``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.clock import Clock
from emulator.grid.population import PopulationError
from emulator.grid.report import write_outputs
from emulator.scenario import engine
from emulator.scenario.spec import Scenario, ScenarioError
from emulator.scenario.world import FeederWorld, build_world

__all__ = [
    "Progress",
    "ScenarioOutcome",
    "ScenarioSummary",
    "StepsDone",
    "TimelineLine",
    "TooManyBoards",
    "checks",
    "run",
]


class TooManyBoards(ScenarioError):
    """More boards asked for than the feeder has EV switches."""

    def __init__(self, asked: int, available: int) -> None:
        super().__init__(f"boards {asked}: this feeder has only {available} EV switches")
        self.asked, self.available = asked, available


@dataclass(frozen=True)
class TimelineLine:
    """One line of the run's timeline as it happens: ``HH:MM:SS  text``."""

    text: str


@dataclass(frozen=True)
class StepsDone:
    """Another tenth of the simulated time is done."""

    fraction: float
    simulated_s: float
    wall_s: float  # since run() was called


Progress = TimelineLine | StepsDone


@dataclass(frozen=True)
class ScenarioSummary:
    """The key figures of ``summary.json``, typed; ``data`` is the whole file's content."""

    scenario: str
    feeder: str
    rating_kw: float
    peak_kw: float
    peak_kw_without_curtailment: float
    peak_kw_after_first_curtailment: float | None
    srv_count: int
    srv_response_s_p50: float | None
    srv_response_s_max: float | None
    srv_over_30s: int
    customers_affected: int
    energy_curtailed_kwh: float
    declined_premises_switched: int
    policy: str
    energy_needed_kwh: float
    energy_shed_kwh: float
    shed_to_needed_ratio: float | None
    minutes_over_rating: float
    curtailment_minutes_max: float
    curtailment_minutes_mean: float
    srvs_per_kwh_shed: float | None
    consent_terms_broken: int
    boards: int
    wall_seconds: float
    data: Mapping[str, Any]

    @classmethod
    def from_dict(cls, summary: Mapping[str, Any]) -> ScenarioSummary:
        return cls(
            scenario=summary["scenario"],
            feeder=summary["feeder"],
            rating_kw=summary["feeder_rating_kw"],
            peak_kw=summary["feeder_peak_kw"],
            peak_kw_without_curtailment=summary["feeder_peak_kw_without_curtailment"],
            peak_kw_after_first_curtailment=summary["feeder_peak_kw_after_first_curtailment"],
            srv_count=summary["srv_count"],
            srv_response_s_p50=summary["srv_response_s_p50"],
            srv_response_s_max=summary["srv_response_s_max"],
            srv_over_30s=summary["srv_over_30s"],
            customers_affected=summary["customers_affected"],
            energy_curtailed_kwh=summary["energy_curtailed_kwh"],
            declined_premises_switched=summary["declined_premises_switched"],
            policy=summary["policy"],
            energy_needed_kwh=summary["energy_needed_kwh"],
            energy_shed_kwh=summary["energy_shed_kwh"],
            shed_to_needed_ratio=summary["shed_to_needed_ratio"],
            minutes_over_rating=summary["minutes_over_rating"],
            curtailment_minutes_max=summary["curtailment_minutes_max"],
            curtailment_minutes_mean=summary["curtailment_minutes_mean"],
            srvs_per_kwh_shed=summary["srvs_per_kwh_shed"],
            consent_terms_broken=len(summary["consent_terms_broken"]),
            boards=summary.get("boards", 0),
            wall_seconds=summary["wall_seconds"],
            data=summary,
        )


@dataclass(frozen=True)
class ScenarioOutcome:
    """What a run produced: the summary, the scenario's checks, the files, the timeline."""

    scenario: Scenario
    summary: ScenarioSummary
    checks: Mapping[str, bool]  # check -> held, in the order the scenario states them
    paths: Mapping[str, Path]  # file name -> where it was written
    timeline: tuple[str, ...]  # ``HH:MM:SS  text``
    result: engine.RunResult  # everything the engine saw, for a closer look
    #: the issue's goals that are not checks (``goals``): met or not, they do not fail a run
    goals: Mapping[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, held in self.checks.items() if not held]

    @property
    def tshark_command(self) -> str:
        """The shell line that decrypts the capture with the keys written beside it."""
        return f'mapfile -t K < {self.paths["han.keys"]}; tshark "${{K[@]}}" -r {self.paths["han.pcap"]}'


#: The largest per-customer curtailment time against the mean across curtailed customers.
FAIRNESS_BOUND = 1.5
#: Energy shed against the least that kept the feeder at its rating (issue 22's goal).
SHED_RATIO_GOAL = 1.3


def checks(summary: Mapping[str, Any]) -> dict[str, bool]:
    """The scenario's 'done when' checks, from its summary."""
    after = summary.get("feeder_peak_kw_after_first_curtailment")
    return {
        "within rating after first curtailment": (
            summary["feeder_peak_kw"] if after is None else after
        )
        <= summary["feeder_rating_kw"],
        "every SRV under 30 s (unanswered ones count as over)": summary["srv_over_30s"] == 0,
        "no declined premises switched (seen at its meter and switches)": (
            summary["declined_premises_switched"] == 0
        ),
        "no premises never asked switched": summary.get("not_asked_premises_switched", 0) == 0,
        "customers' consent terms kept (max per event, excluded hours)": not summary.get(
            "consent_terms_broken"
        ),
        "0 minutes over the rating (30 s samples)": summary.get("minutes_over_rating", 0) == 0,
        f"largest per-customer curtailment within {FAIRNESS_BOUND} x the mean": (
            summary.get("curtailment_max_over_mean") or 0.0
        )
        <= FAIRNESS_BOUND
        or bool(summary.get("event_open_at_end")),  # judged once the rotation has run its course
        **_board_checks(summary),
    }


def goals(summary: Mapping[str, Any]) -> dict[str, bool]:
    """The issue's shedding goal: not a check, because no policy that keeps 0 minutes over
    whenever a car plugs in can meet it on the default feeder (its floor, an oracle's, is in
    ``floor_shed_to_needed_ratio``: 1.67 there; docs/grid.md)."""
    ratio = summary.get("shed_to_needed_ratio")
    return {f"shed/needed within {SHED_RATIO_GOAL}": ratio is None or ratio <= SHED_RATIO_GOAL}


def _board_checks(summary: Mapping[str, Any]) -> dict[str, bool]:
    """With boards in the run: the DNO sent a 7.6/7.8 to one (it may fail where the scenario
    breaks that switch), and every relay the firmware's console showed after an executed one
    was what the DNO asked."""
    if not summary.get("boards"):
        return {}
    han = summary.get("han", {})
    return {
        "a board was commanded by the DNO": han.get("board_srvs", 0) > 0,
        "board relays matched the DNO's requests (console)": (
            han.get("board_relay_mismatches", 1) == 0
        ),
    }


def run(
    scenario: Scenario, *, out: Path, boards: int,
    progress: Callable[[Progress], None] | None = None,
    on_step: engine.StepHook | None = None,
    on_world: Callable[[FeederWorld], None] | None = None,
) -> ScenarioOutcome:  # fmt: skip
    """Run ``scenario`` with ``boards`` EV switches as firmware boards, writing into ``out``.
    ``progress`` hears each timeline line as it happens and every tenth of the run;
    ``on_step`` sees every step (``engine.StepHook``: the web console's feeder page);
    ``on_world`` sees the world once built, on the run's loop, before the first step (the
    web console watches its DSP and premises)."""
    if boards < 0:
        raise ScenarioError("boards must be 0 or more")
    tell = progress or (lambda event: None)
    out.mkdir(parents=True, exist_ok=True)
    wall = time.perf_counter()
    try:
        population = engine.build_population(scenario)
    except PopulationError as err:  # a feeder the scenario's numbers cannot make
        raise ScenarioError(f"scenario {scenario.name}: {err}") from err
    consent = engine.build_consent(scenario, population)
    switched = sum(1 for p in population.premises if p.ev_switch is not None)
    if boards > switched:
        raise TooManyBoards(boards, switched)
    clock = Clock()
    timeline: list[str] = []
    built: list[FeederWorld] = []

    def note(line: str) -> None:
        timeline.append(line)
        tell(TimelineLine(line))

    def steps_done(fraction: float) -> None:
        tell(StepsDone(fraction, fraction * scenario.duration_s, time.perf_counter() - wall))

    async def main() -> engine.RunResult:
        world = await build_world(
            scenario, population, consent, clock, boards=boards, pcap=out / "han.pcap"
        )
        built.append(world)
        try:
            if on_world is not None:
                on_world(world)
            return await engine.run(
                scenario, world, population, consent, now=clock.now, echo=note,
                progress=steps_done, on_step=on_step,
            )  # fmt: skip
        finally:
            await world.close()

    result = clock.run(main)
    summary = result.record.summary
    summary["wall_seconds"] = round(time.perf_counter() - wall, 3)
    summary["boards"] = boards
    met = goals(summary)
    summary["goals"] = met
    paths: dict[str, Path] = dict(write_outputs(result.record, out))
    paths["han.keys"] = built[0].write_capture_keys(out / "han.keys")
    paths["han.pcap"] = out / "han.pcap"
    return ScenarioOutcome(
        scenario,
        ScenarioSummary.from_dict(summary),
        checks(summary),
        paths,
        tuple(timeline),
        result,
        met,
    )
