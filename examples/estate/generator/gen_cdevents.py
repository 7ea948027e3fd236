"""Render the change history as CDEvents v0.4 (JSON Lines).

Deploys, rollbacks and environment changes use the standard vocabulary
(``dev.cdevents.service.upgraded.0.2.0`` ...); builds add ``pipelineRun.finished`` and
``artifact.published``. Configuration, feature-flag and schema changes are custom events
``dev.cdeventsx.<tool>-<subject>.<predicate>.0.1.0`` whose ``subject.content`` carries
``target: {kind, name, namespace}`` and ``changes: [{key, old, new}]``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gen_changes import MONOREPO, Change
from gen_changes_data import ENVIRONMENT_EVENTS
from gen_common import GIT_REPO, GITHUB_ORG, Writer, dump_jsonl, email, image_purl, iso, rng, uuid4
from gen_topology import kind_of

SPEC_VERSION = "0.4.1"
ARGOCD = "https://argocd.larkspur.internal"
FASTLY_SERVICES = ("cdn",)
SCHEMA_BASE = "https://schemas.larkspur.example/cdeventsx"
CUSTOM_TOOLS = {
    "config": ("consul", "changed"),
    "resource-config": ("terraform", "applied"),
    "flag": ("flagd", "changed"),
    "migration": ("flyway", "applied"),
}
TOOL_SOURCES = {
    "consul": "https://consul.larkspur.internal/ui/prod-eu-1/kv",
    "terraform": "https://app.terraform.io/app/larkspur",
    "flagd": "https://flags.larkspur.internal",
    "flyway": "/flyway/prod-eu-1",
}


def _context(
    type_: str, id_: str, source: str, when: datetime, chain: str | None = None, schema: str | None = None
) -> dict[str, Any]:
    ctx: dict[str, Any] = {"version": SPEC_VERSION, "id": id_}
    if chain:
        ctx["chainId"] = chain
    ctx.update(source=source, type=type_, timestamp=iso(when, millis=True))
    if schema:
        ctx["schemaUri"] = schema
    return ctx


def _deploy_source(c: Change) -> str:
    if c.target in FASTLY_SERVICES:
        return "https://manage.fastly.com/larkspur"
    return f"{ARGOCD}/applications/{c.target}-{'prod' if c.env == 'production' else c.env}"


def _chain(c: Change) -> str:
    key = c.release.get("commit") if c.release else f"{c.target}:{c.version}"
    return uuid4(rng("chain", c.target, key, c.action if c.action != "upgrade" else ""))


def _service_event(c: Change) -> dict[str, Any]:
    if c.action == "rollback":
        predicate = "rolledback"
    elif c.env != "production" or c.target in FASTLY_SERVICES:
        predicate = "deployed"
    else:
        predicate = "upgraded"
    source = _deploy_source(c)
    jitter = timedelta(milliseconds=rng("ms", c.id).randrange(1000))
    event = {
        "context": _context(f"dev.cdevents.service.{predicate}.0.2.0", c.id, source, c.at + jitter, chain=_chain(c)),
        "subject": {
            "id": c.target,
            "source": source,
            "type": "service",
            "content": {"environment": {"id": c.env, "source": ARGOCD}, "artifactId": image_purl(c.target, c.version)},
        },
        "customDataContentType": "application/json",
        "customData": {
            "version": c.version,
            "previousVersion": c.prev_version or None,
            "initiator": c.author if c.author == "argocd" else email(c.author),
        },
    }
    if not c.prev_version:
        del event["customData"]["previousVersion"]
    return event


def _custom_event(c: Change) -> dict[str, Any]:
    resource = kind_of(c.target) == "resource"
    tool_key = "resource-config" if c.kind == "config" and resource else c.kind
    tool, predicate = CUSTOM_TOOLS[tool_key]
    subject = {"config": "config", "resource-config": "config", "flag": "flag", "migration": "migration"}[tool_key]
    source = TOOL_SOURCES[tool]
    content: dict[str, Any] = {"target": {"kind": kind_of(c.target), "name": c.target, "namespace": "default"}}
    if c.kind == "migration":
        content["changes"] = [{"key": "schema_version", "old": str(c.number - 1), "new": str(c.number)}]  # type: ignore[operator]
        content.update(script=c.script, description=c.description)
        subject_id = f"{c.target}/V{c.number}"
    else:
        content["changes"] = [{"key": c.key, "old": c.old, "new": c.new}]
        subject_id = f"{c.target}/{c.key}" if c.kind == "config" else c.key
    content["environment"] = {"id": c.env}
    content["author"] = email(c.author)
    jitter = timedelta(milliseconds=rng("ms", c.id).randrange(1000))
    return {
        "context": _context(
            f"dev.cdeventsx.{tool}-{subject}.{predicate}.0.1.0",
            c.id,
            source,
            c.at + jitter,
            schema=f"{SCHEMA_BASE}/{tool}-{subject}-{predicate}-0.1.0.json",
        ),
        "subject": {"id": subject_id, "source": source, "type": f"{tool}-{subject}", "content": content},
    }


def _repo(service: str) -> str:
    return f"{GITHUB_ORG}/{GIT_REPO}" if service in MONOREPO else f"{GITHUB_ORG}/{service}"


def _pipeline_events(c: Change) -> list[dict[str, Any]]:
    """The build of a release: an optional failed run, the successful run and the published image."""
    r = rng("pipeline", c.id)
    if c.release:
        finished = datetime.fromisoformat(c.release["merged_at"].replace("Z", "+00:00")) + timedelta(minutes=9)
    else:
        finished = c.at - timedelta(minutes=r.randrange(10, 40))
    repo = _repo(c.target)
    source = f"https://github.com/{repo}/actions"
    chain = _chain(c)
    out = []
    runs = [("failure", finished - timedelta(minutes=r.randrange(25, 70)))] if r.random() < 0.06 else []
    runs.append(("success", finished))
    for outcome, when in runs:
        run_id = str(11_000_000_000 + r.randrange(10**9))
        content = {
            "pipelineName": f"release-{c.target}",
            "url": f"https://github.com/{repo}/actions/runs/{run_id}",
            "outcome": outcome,
        }
        if outcome == "failure":
            content["errors"] = r.choice(
                [
                    "unit tests failed: 2 of 1480",
                    "integration tests timed out after 20m",
                    "image scan: CVE-2026-31337 (high) in base image",
                ]
            )
        out.append(
            {
                "context": _context("dev.cdevents.pipelinerun.finished.0.2.0", uuid4(r), source, when, chain=chain),
                "subject": {"id": run_id, "source": source, "type": "pipelineRun", "content": content},
            }
        )
    out.append(
        {
            "context": _context(
                "dev.cdevents.artifact.published.0.2.0",
                uuid4(r),
                f"https://{'ghcr.io'}/{GITHUB_ORG}",
                finished + timedelta(seconds=40),
                chain=chain,
            ),
            "subject": {
                "id": image_purl(c.target, c.version),
                "source": f"https://ghcr.io/{GITHUB_ORG}",
                "type": "artifact",
                "content": {},
            },
        }
    )
    return out


def _environment_events() -> list[dict[str, Any]]:
    out = []
    for when, predicate, env, what in ENVIRONMENT_EVENTS:
        r = rng("env", env, predicate, iso(when))  # type: ignore[arg-type]
        content: dict[str, Any] = {"name": env}
        if predicate != "deleted":
            content["url"] = f"{ARGOCD}/applications?proj={env}"
        out.append(
            {
                "context": _context(f"dev.cdevents.environment.{predicate}.0.2.0", uuid4(r), ARGOCD, when),  # type: ignore[arg-type]
                "subject": {"id": env, "source": ARGOCD, "type": "environment", "content": content},
                "customDataContentType": "application/json",
                "customData": {"description": what},
            }
        )
    return out


def _ts(event: dict[str, Any]) -> str:
    return str(event["context"]["timestamp"])


def write_events(w: Writer, changes: list[Change]) -> None:
    deploys: dict[str, list[dict[str, Any]]] = {}
    builds: dict[str, list[dict[str, Any]]] = {}
    files: dict[str, list[dict[str, Any]]] = {"config-changes": [], "flag-changes": [], "migrations": []}
    for c in changes:
        month = c.at.strftime("%Y-%m")
        if c.kind == "deploy":
            deploys.setdefault(month, []).append(_service_event(c))
            if c.action == "upgrade" and c.env == "production":
                builds.setdefault(month, []).extend(_pipeline_events(c))
        else:
            name = {"config": "config-changes", "flag": "flag-changes", "migration": "migrations"}[c.kind]
            files[name].append(_custom_event(c))
    for month, rows in deploys.items():
        w.text(f"events/deploys-{month}.jsonl", dump_jsonl(sorted(rows, key=_ts)))
    for month, rows in builds.items():
        w.text(f"events/builds-{month}.jsonl", dump_jsonl(sorted(rows, key=_ts)))
    for name, rows in files.items():
        w.text(f"events/{name}.jsonl", dump_jsonl(sorted(rows, key=_ts)))
    w.text("events/environments.jsonl", dump_jsonl(_environment_events()))
