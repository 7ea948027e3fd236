"""``vidya diagnose``: rank the candidate causes of an anomaly, with evidence, and save the diagnosis."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from agents.config import PRESETS, DiagnosisConfig, parse_duration, preset
from agents.diagnosis import diagnose as run_diagnosis
from agents.records import Candidate, CandidateKind, Diagnosis, short_name
from api.anomaly_input import anomaly_for_entity, anomaly_from_alert_file, parse_at
from api.cli_common import Invocation, vidya_command
from api.output import console, emit
from graph.errors import ConfigError

BAR_WIDTH = 12
#: candidates whose evidence is printed under the table
DETAILED = 3
_ROLES = {"cause": "on the suspect", "path": "on the path", "deeper": "below it, fired first",
          "caller": "a caller"}


def _bar(confidence: float) -> str:
    filled = round(confidence * BAR_WIDTH)
    return f"[green]{'█' * filled}[/][dim]{'░' * (BAR_WIDTH - filled)}[/] {confidence:>4.0%}"


def _config(name: str, window: str | None, depth: int | None) -> DiagnosisConfig:
    config = preset(name)
    if window is not None:
        config = config.with_window(parse_duration(window, "--window"))
    if depth is not None:
        if not 1 <= depth <= 6:
            raise ConfigError(f"--depth {depth}: expected 1 to 6 hops")
        config = config.model_copy(update={"depth": depth})
    return config


def _when(value: datetime | None) -> str:
    return f"{value:%H:%M}" if value else ""


def _path_text(candidate: Candidate) -> str:
    ev = candidate.evidence
    if len(ev.path_nodes) < 2:
        return short_name(ev.path_nodes[0]) if ev.path_nodes else ""
    parts = [short_name(ev.path_nodes[0])]
    for step, nxt in zip(ev.path, ev.path_nodes[1:], strict=False):
        arrow = f"-[{step.type}]->" if step.src != nxt else f"<-[{step.type}]-"
        parts.append(f"{arrow} {short_name(nxt)}")
    return " ".join(parts)


def _render(diagnosis: Diagnosis, saved: bool) -> None:
    anomaly = diagnosis.anomaly
    minutes = (anomaly.at - diagnosis.window_start).total_seconds() / 60
    widened = " [yellow](widened: nothing closer explained it)[/]" if diagnosis.widened else ""
    console.print(
        f"[bold]Diagnosis[/] of {anomaly.signal or 'an anomaly'} on [bold]{short_name(anomaly.service)}[/] "
        f"at {anomaly.at:%Y-%m-%d %H:%M} UTC, looking back {minutes:.0f} min{widened}", highlight=False,
    )
    table = Table("#", "confidence", "kind", "cause", "on", "at", title_justify="left")
    for c in diagnosis.candidates:
        table.add_row(str(c.rank), _bar(c.confidence), str(c.kind), c.name, short_name(c.entity) if c.entity else "",
                      _when(c.at))
    console.print(table)
    for c in diagnosis.candidates[:DETAILED]:
        if c.kind is CandidateKind.UNKNOWN:
            continue
        console.print(f"[bold]{c.rank}.[/] {c.explanation} [dim]{c.node_id}[/]", highlight=False)
        if c.evidence.path:
            console.print(f"   path: {_path_text(c)}", highlight=False)
        for alert in c.evidence.alerts:
            order = "" if alert.in_order else ", out of causal order"
            console.print(f"   alert: {alert.at:%H:%M} {alert.name} on {short_name(alert.entity)} "
                          f"[dim]({_ROLES[alert.role]}{order})[/]", highlight=False)
    if saved:
        console.print(f"[dim]saved as {diagnosis.id}[/]", highlight=False)


@click.command()
@click.option("--alert", "alert_file", type=click.Path(dir_okay=False, path_type=Path),
              help="An Alertmanager webhook payload (JSON) whose alert is the anomaly.")
@click.option("--service", help="The anomalous service or resource: a catalogue name or a node id.")
@click.option("--at", "at_text", help="When the anomaly was detected (RFC 3339, e.g. 2026-10-13T10:23:00Z; default: now).")
@click.option("--signal", help="What was seen (e.g. CheckoutHighLatency); for the record.")
@click.option("--window", help="How far back to look first, e.g. 30m, 45m, 2h (default: the preset's, 30m).")
@click.option("--depth", type=int, help="Hops along dependencies in each direction (default: the preset's, 3).")
@click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default="default", show_default=True,
              help="Scoring and window settings.")
@click.option("--no-save", is_flag=True, help="Do not record the diagnosis in the graph.")
@vidya_command
def diagnose(
    inv: Invocation, alert_file: Path | None, service: str | None, at_text: str | None, signal: str | None,
    window: str | None, depth: int | None, preset_name: str, no_save: bool,
) -> None:
    """Rank the likely causes of an anomaly: changes, failing dependencies, traffic shifts, or unknown.

    Give an Alertmanager payload (``--alert FILE``) or the anomalous service and
    when it was detected (``--service S --at TIME``). The timeline of changes,
    alerts and incidents on its dependency neighbourhood is scored; each
    candidate gets a calibrated confidence (they and "unknown" sum to 1), its
    evidence path and a short explanation. The diagnosis is saved in the graph.

    Example: ``vidya diagnose --service checkout --at 2026-10-13T10:23:00Z --window 45m``.
    """
    if (alert_file is None) == (service is None):
        raise click.UsageError("give either --alert FILE or --service S (with --at TIME)")
    if alert_file is not None and at_text is not None:
        raise click.UsageError("--at goes with --service; an alert carries its own time")
    config = _config(preset_name, window, depth)
    store = inv.graph()
    try:
        if alert_file is not None:
            anomaly = anomaly_from_alert_file(store, alert_file)
        else:
            assert service is not None
            anomaly = anomaly_for_entity(store, service, parse_at(at_text or "now"), signal)
        result = run_diagnosis(store, anomaly, config, save=not no_save)
    finally:
        store.close()
    emit(inv.as_json, result.as_json(), lambda: _render(result, saved=not no_save))


COMMANDS = [diagnose]
