"""Deployments: the records one deploy produces, shared by the CDEvents and deploy-log readers.

A deploy of ``checkout`` to ``production`` running artifact ``A`` becomes::

    (deploy:<id>:Deployment) -TARGETS-> (service:default/checkout)
    (deploy:<id>)            -IN_ENVIRONMENT-> (env:production)
    (deploy:<id>)            -DEPLOYS-> (artifact:sha256:...)
    (service:default/checkout) -RUNS {key: deploy:<id>, valid_from: at}-> (artifact:sha256:...)

``RUNS`` is functional, so the store closes the service's previous ``RUNS``
edge when this one starts. It records what runs in *production* (or where no
environment is named): a staging deploy must not replace it. A removal, a
restart or a failed deploy asserts no ``RUNS`` edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graph.model import Edge, Node, Props, Provenance
from graph.schema import NodeLabel, RelType, node_id
from ingest.cdevents_envelope import Event, artifact_ref, environment_ref, get, purl_version, service_ref
from ingest.records import ReadResult

#: the CDEvents predicates of the ``service`` subject and the ``action`` they record
SERVICE_ACTIONS = {"deployed": "deployed", "upgraded": "upgraded", "rolledback": "rolledback", "removed": "removed"}
#: actions after which the service runs the deployed artifact
RUNS_ACTIONS = frozenset({"deployed", "upgraded", "rolledback"})
#: environment names whose deploys change what a service runs (RUNS has one current edge per service)
PRODUCTION_NAMES = frozenset({"production", "prod", "prd", "live"})
_WORDING = {
    "deployed": ("deployed", "to"),
    "upgraded": ("upgraded", "in"),
    "rolledback": ("rolled back", "in"),
    "removed": ("removed", "from"),
    "restarted": ("restarted", "in"),
}


@dataclass(frozen=True, slots=True)
class DeploySpec:
    """What a reader knows about one deploy, before it becomes records."""

    id: str
    action: str
    service: str
    service_name: str
    at: datetime
    environment: tuple[str, str] | None = None
    artifact: tuple[str, str] | None = None
    succeeded: bool = True
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> bool:
        in_production = self.environment is None or _is_production(self.environment)
        return self.succeeded and self.action in RUNS_ACTIONS and self.artifact is not None and in_production


def _is_production(environment: tuple[str, str]) -> bool:
    words = {w for part in environment for w in part.lower().replace("env:", "").replace("_", "-").split("-") if w}
    return bool(words & PRODUCTION_NAMES)


def deployment_name(spec: DeploySpec, version: object) -> str:
    """``checkout 1.42.0 deployed to production``, ``checkout rolled back to 1.41.3 in production``."""
    verb, preposition = _WORDING.get(spec.action, (spec.action, "in"))
    env = f" {preposition} {spec.environment[1]}" if spec.environment else ""
    if not isinstance(version, str) or not version:
        return f"{spec.service_name} {verb}{env}"
    if spec.action == "rolledback":
        return f"{spec.service_name} {verb} to {version}{env}"
    return f"{spec.service_name} {version} {verb}{env}"


def deployment_records(spec: DeploySpec, prov: Provenance) -> ReadResult:
    """The Deployment node and its TARGETS, IN_ENVIRONMENT, DEPLOYS and RUNS edges."""
    env_name = spec.environment[1] if spec.environment else None
    props = {
        "action": spec.action,
        "service": spec.service_name,
        "environment": env_name,
        "artifact": spec.artifact[1] if spec.artifact else None,
        **spec.props,
    }
    node = Node(spec.id, NodeLabel.DEPLOYMENT, prov, name=deployment_name(spec, props.get("version")), props=props, at=spec.at)
    edges = [Edge(RelType.TARGETS, spec.id, spec.service, prov)]
    if spec.environment:
        edges.append(Edge(RelType.IN_ENVIRONMENT, spec.id, spec.environment[0], prov))
    if spec.artifact and spec.action != "removed":
        edges.append(Edge(RelType.DEPLOYS, spec.id, spec.artifact[0], prov))
    if spec.runs and spec.artifact:
        run_props: Props = {"environment": env_name} if env_name else {}
        edges.append(Edge(RelType.RUNS, spec.service, spec.artifact[0], prov, props=run_props, key=spec.id, valid_from=spec.at))
    return ReadResult(nodes=[node], edges=edges)


def service_event(event: Event, prov: Provenance) -> ReadResult:
    """``dev.cdevents.service.{deployed,upgraded,rolledback,removed}``."""
    content = event.content
    service, name = service_ref(event.subject_id)
    artifact = None
    if event.predicate != "removed" or content.get("artifactId"):
        reference = get(content, "artifactId", "subject.content")
        artifact = artifact_ref(reference)
    version = purl_version(artifact[1]) if artifact else None
    spec = DeploySpec(
        id=node_id(NodeLabel.DEPLOYMENT, event.id),
        action=SERVICE_ACTIONS[event.predicate],
        service=service,
        service_name=name,
        at=event.at,
        environment=environment_ref(content),
        artifact=artifact,
        props={**event.base_props, "version": version},
    )
    return deployment_records(spec, prov)
