"""Scenarios: TOML files describing a feeder evening, the world they run in, and ``run``.

outcome = run(load("feeder-overload"), out=Path("gbhan-out/feeder-overload"), boards=1)
outcome.ok, outcome.checks, outcome.goals, outcome.summary.peak_kw, outcome.paths["report.html"]
"""

from emulator.scenario.command import CommandOutcome, run_command
from emulator.scenario.runner import (
    Progress,
    ScenarioOutcome,
    ScenarioSummary,
    StepsDone,
    TimelineLine,
    TooManyBoards,
    checks,
    goals,
    run,
)
from emulator.scenario.spec import DEFAULT_SCENARIO, Scenario, ScenarioError, available, load
from emulator.scenario.world import FeederWorld, WorldUnbuildable, build_world

__all__ = [
    "DEFAULT_SCENARIO",
    "CommandOutcome",
    "FeederWorld",
    "Progress",
    "Scenario",
    "ScenarioError",
    "ScenarioOutcome",
    "ScenarioSummary",
    "StepsDone",
    "TimelineLine",
    "TooManyBoards",
    "WorldUnbuildable",
    "available",
    "build_world",
    "checks",
    "goals",
    "load",
    "run",
    "run_command",
]
