"""``vidya outcome``, ``vidya recall`` and ``vidya reflect``: feedback memory from the command line."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from agents.config import parse_duration
from agents.diagnosis import diagnose
from agents.memory import Recall, load_records, proposals, recall, record_outcome, reflect
from agents.memory_records import KNOWN_ACTIONS, RESULTS, ActionStats
from agents.policy import DEFAULT_POLICY, load_policy
from agents.records import Anomaly, CandidateKind, short_name
from api.anomaly_input import anomaly_for_entity, anomaly_from_alert_file, parse_at
from api.cli_common import Invocation, vidya_command
from api.output import console, emit, err_console
from graph.errors import ConfigError, NotFound, SchemaError
from graph.model import now_utc
from graph.schema import label_of
from graph.store import GraphStore


def _node_or_name(store: GraphStore, value: str, what: str) -> str:
    """A node id as given, or the entity a catalogue name names."""
    try:
        label_of(value)
    except SchemaError:
        pass
    else:
        if store.get_node(value) is not None:
            return value
    try:
        return anomaly_for_entity(store, value, now_utc()).service
    except NotFound:
        raise NotFound(f"{what} {value!r}: no such node, service or resource in the graph") from None


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "cli"


def _policy_version(path: Path | None) -> int | None:
    try:
        return load_policy(path).version
    except ConfigError as exc:
        err_console.print(f"[yellow]warning:[/] the outcome is recorded without a policy version: {exc}")
        return None


@click.command()
@click.argument("subject")
@click.option("--action", required=True, type=click.Choice(KNOWN_ACTIONS), help="What was done.")
@click.option("--result", "result", required=True, type=click.Choice(RESULTS), help="How it went.")
@click.option("--target", help="What it was done to: a node id or a catalogue name (e.g. payments).")
@click.option("--cause", help="The confirmed cause: a change, service, resource or traffic alert id.")
@click.option("--ttr", help="Time to resolve, e.g. 25m, 2h or 90s.")
@click.option("--side-effects", help="Anything it broke or disturbed on the way.")
@click.option("--by", "by", help="Who records it (default: the login name).")
@vidya_command
def outcome(
    inv: Invocation, subject: str, action: str, result: str, target: str | None, cause: str | None,
    ttr: str | None, side_effects: str | None, by: str | None,
) -> None:
    """Record what was done about an anomaly and how it went (SUBJECT: a diagnosis or anomaly id).

    With ``--cause`` the cause is confirmed: later diagnoses learn from it (the
    same kind of change on the same entity becomes more suspect) and recall
    ranks incidents with another cause below it. Every outcome is audited.

    Example: ``vidya outcome diagnosis:3f… --action rollback_deploy --result resolved --target payments
    --cause deploy:a99fb1ab-86ad-40e2-a50d-d4b65fb37b33 --ttr 25m --by alice``.
    """
    time_to_resolve = parse_duration(ttr, "--ttr") if ttr else None
    version = _policy_version(inv.settings.policy_file)
    store = inv.graph()
    try:
        target_id = _node_or_name(store, target, "--target") if target else None
        record = record_outcome(store, subject, action, result, target=target_id, time_to_resolve=time_to_resolve,
                                side_effects=side_effects, confirmed_cause=cause, actor=_actor(by),
                                policy_version=version)
    finally:
        store.close()

    def render() -> None:
        on = f" on {short_name(record.target)}" if record.target else ""
        cause_text = f"; cause confirmed: {record.cause_id}" if record.cause_id else ""
        console.print(f"Recorded [bold]{record.action}[/]{on}: [bold]{record.outcome}[/] for {record.case_id} "
                      f"[dim]({record.signature}){cause_text}[/]", highlight=False)

    emit(inv.as_json, record.as_json(), render)


def _hint(store: GraphStore, anomaly: Anomaly) -> tuple[CandidateKind, str] | None:
    """The top candidate of a fresh diagnosis (not saved), as recall's cause hint."""
    top = diagnose(store, anomaly, save=False).top
    if top.kind is CandidateKind.UNKNOWN or top.entity is None:
        return None
    return top.kind, top.entity


def _rate(stats: ActionStats) -> str:
    low, high = stats.interval
    rate = f"{stats.rate:.0%}" if stats.rate is not None else "-"
    return f"{rate} [dim]({low:.0%}-{high:.0%})[/]"


def _render_recall(found: Recall) -> None:
    anomaly = found.anomaly
    console.print(f"[bold]Recall[/] for {anomaly.signal or 'an anomaly'} on [bold]{short_name(anomaly.service)}[/] "
                  f"at {anomaly.at:%Y-%m-%d %H:%M} UTC: {found.considered} similar past case(s)", highlight=False)
    if found.cause_hint:
        kind, entity = found.cause_hint
        console.print(f"[dim]assuming the cause is a {kind} on {short_name(entity)} (top diagnosis candidate); "
                      "cases with another cause rank last[/]", highlight=False)
    cases = Table("sim", "case", "where", "cause", "what was done", title_justify="left")
    for s in found.cases:
        c = s.case
        done = "\n".join(f"{r.action}: {r.outcome}{'*' if r.inferred else ''}" for r in c.records) or "-"
        cause = f"{c.cause_kind} on {short_name(c.cause_entity or '?')}" if c.cause_kind else "?"
        if s.relation == "lookalike":
            cause += "\n[yellow]lookalike[/]"
        cases.add_row(f"{s.similarity:.2f}", f"{c.id}\n[dim]{c.at:%Y-%m-%d} {c.title[:60]}[/]", s.place, cause, done)
    console.print(cases)
    actions = Table("action", "resolved / uses", "rate (95% CI)", "unknown", title="What worked", title_justify="left")
    for stats in found.actions:
        actions.add_row(stats.action, f"{stats.successes}/{stats.uses}", _rate(stats), str(stats.unknown))
    console.print(actions)
    if found.lookalike_actions:
        apart = ", ".join(f"{s.action} {s.successes}/{s.uses}" for s in found.lookalike_actions)
        console.print(f"[dim]on lookalikes (other causes, not counted above): {apart}[/]", highlight=False)
    console.print("[dim]* outcome inferred: the last action before the incident was resolved[/]")


@click.command(name="recall")
@click.option("--alert", "alert_file", type=click.Path(dir_okay=False, path_type=Path),
              help="An Alertmanager webhook payload (JSON) whose alert is the anomaly.")
@click.option("--service", help="The anomalous service or resource: a catalogue name or a node id.")
@click.option("--signal", help="What was seen (an alert name, e.g. CheckoutHighLatency).")
@click.option("--at", "at_text", help="Only cases before this time (RFC 3339; default: the alert's time, or now).")
@click.option("--k", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="Cases to show.")
@click.option("--no-diagnose", is_flag=True, help="Do not diagnose first (no cause hint: no lookalike ranking).")
@vidya_command
def recall_command(
    inv: Invocation, alert_file: Path | None, service: str | None, signal: str | None, at_text: str | None, k: int,
    no_diagnose: bool,
) -> None:
    """Recall the past incidents most like an anomaly and the actions that worked for them.

    Each action gets its successes over uses and a 95% Wilson interval. The
    anomaly is diagnosed first (not saved) and past incidents whose confirmed
    cause differs from the top candidate are shown as lookalikes, ranked last.

    Example: ``vidya recall --service checkout --signal CheckoutHighLatency --at 2026-11-03T11:20:00Z``.
    """
    if (alert_file is None) == (service is None):
        raise click.UsageError("give either --alert FILE or --service S (with --signal NAME)")
    store = inv.graph()
    try:
        if alert_file is not None:
            anomaly = anomaly_from_alert_file(store, alert_file)
        else:
            assert service is not None
            anomaly = anomaly_for_entity(store, service, parse_at(at_text or "now"), signal)
        when: datetime | None = parse_at(at_text) if at_text else None
        hint = None if no_diagnose else _hint(store, anomaly)
        found = recall(store, anomaly, k=k, cause_hint=hint, at=when)
    finally:
        store.close()
    emit(inv.as_json, found.as_json(), lambda: _render_recall(found))


@click.command(name="reflect")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The policy YAML (default: $VIDYA_POLICY_FILE, else the shipped default).")
@click.option("--min-uses", type=click.IntRange(1), default=10, show_default=True,
              help="Uses an action needs before it may drop a tier.")
@click.option("--min-success", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Success rate an action needs to drop a tier.")
@click.option("--write", "write_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the proposed diff to this file (never the policy itself).")
@vidya_command
def reflect_command(
    inv: Invocation, policy_file: Path | None, min_uses: int, min_success: float, write_to: Path | None,
) -> None:
    """Propose policy changes from recorded outcomes, as a diff of the policy file to review.

    An action that resolved at least --min-success of its uses (over at least
    --min-uses) for one anomaly signature is proposed one tier down (less
    approval); one that resolved under half of at least 5 uses, one tier up.
    The policy file is never changed.

    Example: ``vidya reflect --min-uses 5 --write /tmp/policy-proposal.diff``.
    """
    path = policy_file or inv.settings.policy_file or DEFAULT_POLICY
    if write_to is not None and write_to.resolve() == path.resolve():
        raise ConfigError(f"--write {write_to}: that is the policy file; reflect never changes the policy")
    policy = load_policy(path)
    store = inv.graph()
    try:
        records = load_records(store)
    finally:
        store.close()
    found = proposals(policy, records, min_uses=min_uses, min_success=min_success)
    diff = reflect(store, path, min_uses=min_uses, min_success=min_success, records=records)
    if write_to is not None and diff:
        write_to.write_text(diff, encoding="utf-8")
    data = {"policy": str(path), "version": policy.version, "records": len(records),
            "proposals": [p.as_json() for p in found], "diff": diff, "written_to": str(write_to) if write_to else None}

    def render() -> None:
        if not diff:
            console.print(f"No change proposed: {len(records)} record(s) justify no tier move "
                          f"(down: >= {min_success:.0%} over >= {min_uses} uses).", highlight=False)
            return
        console.print(diff, markup=False, highlight=False, end="", soft_wrap=True)
        where = f"; saved to {write_to}" if write_to else ""
        console.print(f"[dim]{len(found)} proposal(s) from {len(records)} record(s); {path} is unchanged{where}[/]",
                      highlight=False)

    emit(inv.as_json, data, render)


COMMANDS = [outcome, recall_command, reflect_command]
