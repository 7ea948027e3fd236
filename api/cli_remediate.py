"""``vidya remediate``, ``approve``, ``execute``, ``audit``, ``policy``: actions under the policy, and their trail."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from agents.audit import AuditEntry, AuditKind, Explanation, audit_entries, entries_about, explain
from agents.config import parse_duration
from agents.executor import ActionReport, WebhookExecutor, approve, execute
from agents.policy import Policy, load_policy
from agents.records import short_name
from agents.remediation import Recommendation, RemediationPlan, recommend
from api.anomaly_input import parse_at
from api.cli_common import Invocation, vidya_command
from api.output import console, emit
from graph.errors import ConfigError, FormatError, VidyaError
from graph.model import now_utc
from graph.store import GraphStore

_STATUS = {"ready": "[green]ready[/]", "needs_approval": "[yellow]needs approval[/]", "blocked": "[red]blocked[/]"}


def _policy(inv: Invocation, file: Path | None = None) -> Policy:
    return load_policy(file or inv.settings.policy_file)


def _past(rec: Recommendation) -> str:
    if rec.stats is None or not (rec.stats.uses or rec.stats.unknown):
        return "[dim]none[/]"
    s = rec.stats
    low, high = s.interval
    known = f"{s.successes}/{s.uses} resolved ({low:.0%}-{high:.0%})" if s.uses else "outcome unknown"
    cases = len({p.case_id for p in rec.past})
    return f"{known}, {cases} similar case{'s' if cases != 1 else ''}"


def _state(store: GraphStore, rid: str) -> dict[str, Any]:
    """The latest approval and execution of a recommendation, from the audit trail."""
    latest: dict[str, Any] = {}
    for entry in entries_about(store, [rid]):
        if entry.kind in (AuditKind.APPROVAL, AuditKind.EXECUTION):
            status = entry.outputs.get("status") or ("approved" if entry.outputs.get("approved") else "refused")
            latest[str(entry.kind)] = {"status": status, "actor": entry.actor, "at": entry.at.isoformat(),
                                       "audit_id": entry.id}
    return latest


def _status_text(rec: Recommendation, state: dict[str, Any]) -> str:
    text = _STATUS[rec.status]
    if rec.status == "needs_approval":
        text = f"[yellow]needs {rec.decision.approval}[/]"
    if rec.status == "blocked":
        text += f": {rec.decision.reason}"
    for kind in ("approval", "execution"):
        if kind in state:
            s = state[kind]
            text += f"\n[dim]{kind}: {s['status']} by {s['actor']} {s['at'][:16]}[/]"
    return text


def _render_plan(plan: RemediationPlan, states: dict[str, dict[str, Any]]) -> None:
    d = plan.diagnosis
    console.print(f"[bold]Remediation[/] for {d.signal or 'the anomaly'} on [bold]{short_name(d.entity)}[/] "
                  f"at {d.detected_at:%Y-%m-%d %H:%M} UTC · policy v{plan.policy_version}", highlight=False)
    table = Table("candidate", "action", "target", "blast radius", "tier", "approval", "status", "past outcomes",
                  title_justify="left")
    for r in plan.recommendations:
        c = r.candidate
        origin = " [dim](worked before)[/]" if r.origin == "history" else ""
        table.add_row(f"{c.rank}. {c.kind} {c.confidence:.0%}", r.action + origin, short_name(r.target),
                      f"{r.radius.level} ({r.radius.dependents} dep.)", r.decision.tier or "-",
                      str(r.decision.approval or "-"), _status_text(r, states.get(r.id, {})), _past(r))
    console.print(table)
    if not plan.recommendations:
        console.print("no action to recommend: no candidate is likely enough", highlight=False)
    for r in plan.recommendations:
        console.print(f"[dim]{r.id}[/]", highlight=False)


@click.command()
@click.argument("diagnosis_id")
@click.option("--no-save", is_flag=True, help="Do not record the recommendations in the graph.")
@vidya_command
def remediate(inv: Invocation, diagnosis_id: str, no_save: bool) -> None:
    """Recommend actions for a saved diagnosis, each placed in a policy tier or blocked with the reason.

    Every candidate cause suggests actions (a deploy is rolled back, a failing
    dependency failed over, ...), plus what helped in past incidents on the same
    entity. Each gets a blast radius from what depends on its target, the tier and
    approval the policy gives it, and is blocked when confidence is too low or the
    same action ran on the same target within the tier's cooldown. Nothing is
    executed; the recommendations are saved and audited.

    Example: ``vidya remediate diagnosis:1c0f5c2e-... --json``.
    """
    policy = _policy(inv)
    store = inv.graph()
    try:
        plan = recommend(store, diagnosis_id, policy, save=not no_save)
        states = {r.id: _state(store, r.id) for r in plan.recommendations}
    finally:
        store.close()
    data = plan.as_json()
    for rec in data["recommendations"]:
        rec["state"] = states.get(rec["id"], {})
    emit(inv.as_json, data, lambda: _render_plan(plan, states))


def _report(inv: Invocation, report: ActionReport) -> None:
    def render() -> None:
        colour = "green" if report.ok else "red"
        console.print(f"[{colour}]{report.status}[/]: {report.reason}", highlight=False)
        if report.result is not None and report.result.body:
            console.print(f"[dim]executor said: {report.result.body[:300]}[/]", highlight=False)
        console.print(f"[dim]audited as {report.audit_id}[/]", highlight=False)

    emit(inv.as_json, report.as_json(), render)
    if not report.ok:
        raise SystemExit(1)


@click.command(name="approve")
@click.argument("remediation_id")
@click.option("--by", "by", required=True, help="Who approves (must be in VIDYA_ALLOWED_ACTORS).")
@vidya_command
def approve_cmd(inv: Invocation, remediation_id: str, by: str) -> None:
    """Approve a recommended remediation for the tier the policy gives it now; the approval is audited.

    An async_human tier's approval stays valid; a sync_human tier's lasts 15 minutes
    (someone is watching). Refused (exit 1) when NAME may not act or no tier applies.

    Example: ``vidya approve remediation:1c0f.../rollback_deploy@service:default/payments --by alice``.
    """
    policy = _policy(inv)
    store = inv.graph()
    try:
        report = approve(store, remediation_id, by, policy=policy, allowed_actors=inv.settings.actors())
    finally:
        store.close()
    _report(inv, report)


@click.command(name="execute")
@click.argument("remediation_id")
@click.option("--as", "actor", required=True, help="Who asks for the execution (must be in VIDYA_ALLOWED_ACTORS).")
@click.option("--approver", help="Rely only on this person's approval.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the executor.")
@vidya_command
def execute_cmd(inv: Invocation, remediation_id: str, actor: str, approver: str | None, timeout: float) -> None:
    """Execute a recommended remediation through the executor webhook, if the policy allows it now.

    Refused (exit 1, and audited) when no executor is configured (VIDYA_EXECUTOR_URL),
    the caller is not in VIDYA_ALLOWED_ACTORS, no tier applies, the cooldown is
    active or the tier's approval is missing. A non-2xx answer or a timeout is a
    failed execution (exit 1), audited with the status and body.

    Example: ``vidya execute remediation:1c0f.../restart_pod@service:default/cart --as bob``.
    """
    settings = inv.settings
    token = settings.executor_token.get_secret_value() if settings.executor_token else None
    executor = WebhookExecutor(settings.executor_url, token, timeout) if settings.executor_url else None
    policy = _policy(inv)
    store = inv.graph()
    try:
        report = execute(store, remediation_id, actor, policy=policy, executor=executor,
                         allowed_actors=settings.actors(), approver=approver)
    finally:
        store.close()
    if executor is None:
        raise ConfigError(f"no executor configured (set VIDYA_EXECUTOR_URL); nothing was executed, "
                          f"the attempt is audited as {report.audit_id}")
    _report(inv, report)


def parse_since(text: str, what: str, now: datetime) -> datetime:
    """An RFC 3339 time, ``now``, or a duration back from now (``6h``, ``2d``)."""
    if text[:1].isdigit() and "-" not in text and ":" not in text:
        return now - parse_duration(text, what)
    try:
        return parse_at(text)
    except FormatError:
        raise FormatError(f"{what} {text!r}: expected an RFC 3339 time such as 2026-10-13T03:12:00Z, "
                          "or a duration back from now such as 30m, 6h or 2d") from None


def _render_entries(entries: list[AuditEntry]) -> None:
    table = Table("at", "kind", "actor", "target", "policy", "summary", title_justify="left")
    for e in entries:
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", str(e.kind), e.actor or "", short_name(e.target) if e.target else "",
                      f"v{e.policy_version}" if e.policy_version else "", e.summary)
    console.print(table)
    console.print(f"[dim]{len(entries)} entries[/]", highlight=False)


def _render_explanations(found: list[Explanation]) -> None:
    if not found:
        console.print("no matching recommendation in the audit trail", highlight=False)
    for x in found:
        r = x.recommendation
        console.print(f"[bold]{r['action']}[/] on [bold]{r['target_name']}[/] recommended at "
                      f"{x.entry.at:%Y-%m-%d %H:%M:%S} UTC under policy v{x.entry.policy_version}: "
                      f"tier {r['tier'] or '-'}, approval {r['approval'] or '-'}, {r['status']}", highlight=False)
        console.print(f"   why: {r['reason']}", highlight=False)
        console.print(f"   diagnosis {x.entry.inputs.get('diagnosis')} ({x.entry.inputs.get('signature')}):", highlight=False)
        for c in x.candidates[:3]:
            path = x.evidence_paths.get(c.get("entity") or "", [])
            via = f" via {' - '.join(short_name(p) for p in path)}" if path else ""
            console.print(f"     {c['rank']}. {c['kind']} {c.get('node_id') or ''} {c['confidence']:.0%}{via}",
                          highlight=False)
        past = r.get("past_outcomes", [])
        if past:
            results = Counter(p["result"] for p in past)
            console.print(f"   relied on {len(past)} past outcomes: {dict(results)}", highlight=False)
        for f in x.followups:
            console.print(f"   then {f.at:%H:%M:%S} {f.kind} by {f.actor}: {f.summary}", highlight=False)


@click.command(name="audit")
@click.option("--since", help="From this time (RFC 3339) or this long ago (30m, 6h, 2d).")
@click.option("--until", help="Up to this time (RFC 3339) or this long ago.")
@click.option("--kind", type=click.Choice([k.value for k in AuditKind]), help="Only entries of this kind.")
@click.option("--target", help="Only entries about or acting on this entity (node id or name).")
@click.option("--why", "why", help="Explain why this action (or prefix: rollback) was recommended at --at.")
@click.option("--at", "at_text", help="With --why: the time of the recommendation (RFC 3339).")
@vidya_command
def audit_cmd(inv: Invocation, since: str | None, until: str | None, kind: str | None, target: str | None,
              why: str | None, at_text: str | None) -> None:
    """List the audit trail, or explain why an action was recommended at a time, with the evidence.

    Every diagnosis, recommendation, approval, execution and outcome is an entry
    with its inputs, outputs, policy version, actor and time.

    Example: ``vidya audit --since 6h --kind execution`` or
    ``vidya audit --why rollback --at 2026-10-13T03:12:00Z --target payments``.
    """
    now = now_utc()
    store = inv.graph()
    try:
        if why is not None:
            if at_text is None:
                raise click.UsageError("--why goes with --at TIME")
            found = explain(store, parse_at(at_text), action=why, target=target)
            emit(inv.as_json, [x.as_json() for x in found], lambda: _render_explanations(found))
            return
        if since is None:
            raise click.UsageError("give --since TIME|DURATION (or --why ACTION --at TIME)")
        start = parse_since(since, "--since", now)
        end = parse_since(until, "--until", now) if until else None
        entries = audit_entries(store, start, end, kind=kind, target=target)
    finally:
        store.close()
    emit(inv.as_json, [e.as_json() for e in entries], lambda: _render_entries(entries))


@click.group(name="policy")
def policy_group() -> None:
    """Show or check the remediation policy (VIDYA_POLICY_FILE, or the shipped default).

    Example: ``vidya policy show`` or ``vidya policy check ops/remediation-policy.yaml``.
    """


@policy_group.command(name="show")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@vidya_command
def policy_show(inv: Invocation, file: Path | None) -> None:
    """Print the policy's tiers in the order they are checked.

    Example: ``vidya policy show`` or ``vidya policy show ops/policy.yaml --json``.
    """
    policy = _policy(inv, file)

    def render() -> None:
        console.print(f"[bold]Policy v{policy.version}[/] from {policy.source}", highlight=False)
        table = Table("tier", "max blast radius", "min confidence", "approval", "cooldown", title_justify="left")
        for t in policy.tiers:
            table.add_row(t.name, str(t.max_blast_radius), f"{t.min_confidence:.2f}", str(t.approval),
                          t.as_json()["cooldown"])
        console.print(table)
        for t in policy.tiers:
            console.print(f"[bold]{t.name}[/]: {', '.join(t.actions)}", highlight=False)
        for signature, overrides in policy.signatures.items():
            console.print(f"override {signature}: {dict(overrides)}", highlight=False)

    emit(inv.as_json, policy.as_json(), render)


@policy_group.command(name="check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@vidya_command
def policy_check(inv: Invocation, file: Path | None) -> None:
    """Validate a policy file; exit 1 with the file, tier and field at fault.

    Example: ``vidya policy check ops/policy.yaml``.
    """
    try:
        policy = _policy(inv, file)
    except VidyaError as exc:
        if inv.as_json:
            emit(True, {"ok": False, "error": str(exc)}, lambda: None)
            raise SystemExit(1) from None
        raise
    names = [t.name for t in policy.tiers]
    summary = {"ok": True, "source": policy.source, "version": policy.version, "tiers": names}
    emit(inv.as_json, summary, lambda: console.print(
        f"[green]ok[/]: {policy.source} is policy v{policy.version} with tiers {', '.join(names)}", highlight=False))


COMMANDS = [remediate, approve_cmd, execute_cmd, audit_cmd, policy_group]
