"""`gbhan emulate [SCENARIO] [--out DIR] [--boards N]`: run a scenario through the real path.

``main(scenario, out, boards)`` is the hook ``tools/emulate_cmd.py`` calls. It loads the
scenario, builds the feeder's HAN side for real (DNO client → DSP → WAN → Comms Hub → ESME →
switches, ``boards`` of them as the firmware on virtual boards), runs it in simulated time,
prints the timeline, and writes summary.json, report.html, interventions.json/.csv, han.pcap
(every household's HAN) and han.keys (its keys as tshark options) into ``out`` (default
``./gbhan-out/<scenario>``). There is no model-only shortcut: if the real path cannot be built
the run stops with the reason.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from emulator.clock import Clock
from emulator.grid.report import write_outputs
from emulator.scenario import engine, spec

#: Exit codes: 0 done and every check held, 1 done but a check failed, 2 bad arguments or
#: scenario, 3 the real HAN/back-office path could not be built.
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3


def checks(summary: dict) -> dict[str, bool]:
    """The scenario's 'done when' checks, from its summary."""
    after = summary.get("feeder_peak_kw_after_first_curtailment")
    return {
        "within rating after first curtailment": (
            summary["feeder_peak_kw"] if after is None else after
        ) <= summary["feeder_rating_kw"],
        "every SRV under 30 s (unanswered ones count as over)": summary["srv_over_30s"] == 0,
        "no declined premises switched (seen at its meter and switches)": (
            summary["declined_premises_switched"] == 0
        ),
        "no premises never asked switched": summary.get("not_asked_premises_switched", 0) == 0,
        **_board_checks(summary),
    }


def _board_checks(summary: dict) -> dict[str, bool]:
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


def write_capture_keys(capture, path: Path) -> Path:
    """The capture's keys as tshark options, one per line (as ``gbhan emulate command --pcap``
    writes them), so the pcap can be decrypted after the run: ``mapfile -t K < han.keys``."""
    path.write_text("\n".join(capture.tshark_key_options()) + "\n")
    return path


def tshark_command(out: Path) -> str:
    return f'mapfile -t K < {out / "han.keys"}; tshark "${{K[@]}}" -r {out / "han.pcap"}'


def main(
    scenario: str | None = None,
    out: Path | None = None,
    boards: int = 1,
    *,
    echo=print,
    progress: bool = True,
) -> int:
    """Run ``scenario`` (name or .toml path; default feeder-overload); returns an exit code."""
    try:
        sc = spec.load(scenario)
    except spec.ScenarioError as err:
        echo(f"error: {err}")
        return EXIT_USAGE
    if boards < 0:
        echo("error: --boards must be 0 or more")
        return EXIT_USAGE
    out = out if out is not None else Path("gbhan-out") / sc.name
    out.mkdir(parents=True, exist_ok=True)
    try:
        from emulator.grid.dsp_gateway import HanUnavailable, build_feeder_han
    except ImportError as err:  # the back office or devices package is not there
        echo(f"error: the real DSP + Premises path is not available: {err}")
        return EXIT_UNAVAILABLE

    wall = time.perf_counter()
    population = engine.build_population(sc)
    consent = engine.build_consent(sc, population)
    switched = sum(1 for p in population.premises if p.ev_switch is not None)
    if boards > switched:
        echo(f"error: --boards {boards}: this feeder has only {switched} EV switches")
        return EXIT_USAGE
    clock = Clock()

    def show_progress(fraction: float) -> None:
        if progress:
            print(f"[{fraction * 100:3.0f} %] simulated {fraction * sc.duration_s / 3600:.1f} h "
                  f"in {time.perf_counter() - wall:.1f} s wall", file=sys.stderr, flush=True)

    built = {}

    async def run():
        han = built["han"] = await build_feeder_han(
            sc, population, consent, clock, boards=boards, pcap=out / "han.pcap"
        )
        try:
            return await engine.run(
                sc, han, population, consent, now=clock.now, echo=echo, progress=show_progress
            )
        finally:
            await han.close()

    try:
        result = clock.run(run)
    except HanUnavailable as err:
        echo(f"error: the real DSP + Premises path could not be built: {err}")
        return EXIT_UNAVAILABLE
    result.record.summary["wall_seconds"] = round(time.perf_counter() - wall, 3)
    result.record.summary["boards"] = boards
    paths = write_outputs(result.record, out)
    paths["han.keys"] = write_capture_keys(built["han"].capture, out / "han.keys")
    summary = result.record.summary
    echo("")
    echo(f"feeder {sc.feeder_id}: rating {summary['feeder_rating_kw']} kW, peak "
         f"{summary['feeder_peak_kw']} kW (without the DNO {summary['feeder_peak_kw_without_curtailment']}"
         f" kW), after the first curtailment {summary['feeder_peak_kw_after_first_curtailment']} kW")
    echo(f"{summary['srv_count']} SRVs, response p50 {summary['srv_response_s_p50']} s, max "
         f"{summary['srv_response_s_max']} s; {summary['customers_affected']} customers affected, "
         f"{summary['energy_curtailed_kwh']} kWh curtailed; declined premises switched: "
         f"{summary['declined_premises_switched']}")
    failed = [name for name, ok in checks(summary).items() if not ok]
    for name, ok in checks(summary).items():
        echo(f"  [{'ok' if ok else 'FAILED'}] {name}")
    echo(f"wrote {', '.join(str(p) for p in [*paths.values(), out / 'han.pcap'])}")
    echo(f"decrypt the capture (every household's HAN): {tshark_command(out)}")
    echo(f"wall {summary['wall_seconds']} s")
    return EXIT_CHECK_FAILED if failed else EXIT_OK


