"""The graph schema: the single source of truth for node labels and relationship types.

Every backend, the RDF mapping and the UI read the vocabulary from here. A node
id is ``<prefix>:<natural key>`` where the prefix belongs to exactly one label,
so the label of any id (even one that only appears as an edge endpoint) is
known without a lookup::

    >>> node_id(NodeLabel.SERVICE, "default/checkout")
    'service:default/checkout'
    >>> label_of("commit:9fceb02d0ae598e95dc970b74767f19372d61af8")
    <NodeLabel.COMMIT: 'Commit'>

Relationship types declare which labels they may connect, whether they are
*functional* (a source has at most one current edge of that type: a new one
supersedes the old, e.g. a service's owner or running artifact) and a short
description used by the docs and the RDF vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from graph.errors import SchemaError


class Category(StrEnum):
    TOPOLOGY = "topology"
    KNOWLEDGE = "knowledge"
    EVENT = "event"
    PROVENANCE = "provenance"
    AGENT = "agent"
    META = "meta"


class NodeLabel(StrEnum):
    # topology
    SERVICE = "Service"
    RESOURCE = "Resource"
    SYSTEM = "System"
    DOMAIN = "Domain"
    API = "API"
    TEAM = "Team"
    PERSON = "Person"
    ENVIRONMENT = "Environment"
    # knowledge
    RUNBOOK = "Runbook"
    POSTMORTEM = "Postmortem"
    SECTION = "Section"
    # events
    ALERT = "Alert"
    INCIDENT = "Incident"
    DEPLOYMENT = "Deployment"
    CONFIG_CHANGE = "ConfigChange"
    FLAG_CHANGE = "FlagChange"
    MIGRATION = "Migration"
    PIPELINE_RUN = "PipelineRun"
    # code provenance
    REPOSITORY = "Repository"
    COMMIT = "Commit"
    PULL_REQUEST = "PullRequest"
    REQUIREMENT = "Requirement"
    BUILD = "Build"
    ARTIFACT = "Artifact"
    # agents
    ANOMALY = "Anomaly"
    DIAGNOSIS = "Diagnosis"
    REMEDIATION = "Remediation"
    OUTCOME = "Outcome"
    DECISION = "Decision"
    # bookkeeping
    INGEST_RUN = "IngestRun"
    SOURCE = "Source"


class RelType(StrEnum):
    DEPENDS_ON = "DEPENDS_ON"
    PROVIDES_API = "PROVIDES_API"
    CONSUMES_API = "CONSUMES_API"
    OWNED_BY = "OWNED_BY"
    PART_OF = "PART_OF"
    SUBCOMPONENT_OF = "SUBCOMPONENT_OF"
    MEMBER_OF = "MEMBER_OF"
    RUNS = "RUNS"
    HAS_SECTION = "HAS_SECTION"
    MENTIONS = "MENTIONS"
    DESCRIBES = "DESCRIBES"
    AFFECTS = "AFFECTS"
    TARGETS = "TARGETS"
    IN_ENVIRONMENT = "IN_ENVIRONMENT"
    DEPLOYS = "DEPLOYS"
    TRIGGERED = "TRIGGERED"
    CAUSED_BY = "CAUSED_BY"
    REMEDIATED_BY = "REMEDIATED_BY"
    HAS_OUTCOME = "HAS_OUTCOME"
    PRODUCED = "PRODUCED"
    BUILT_FROM = "BUILT_FROM"
    AUTHORED_BY = "AUTHORED_BY"
    CHILD_OF = "CHILD_OF"
    IN_REPOSITORY = "IN_REPOSITORY"
    INCLUDED_IN = "INCLUDED_IN"
    IMPLEMENTS = "IMPLEMENTS"
    DIAGNOSES = "DIAGNOSES"
    SUSPECTS = "SUSPECTS"
    RECOMMENDS = "RECOMMENDS"
    RECORDS = "RECORDS"
    INGESTED_IN = "INGESTED_IN"


@dataclass(frozen=True)
class LabelSpec:
    label: NodeLabel
    prefix: str
    category: Category
    description: str
    #: events carry an ``at`` timestamp and appear in timelines
    event: bool = False


@dataclass(frozen=True)
class RelSpec:
    type: RelType
    sources: frozenset[NodeLabel]
    targets: frozenset[NodeLabel]
    description: str
    #: a source node has at most one current edge of this type
    functional: bool = False


L = NodeLabel
_TOPOLOGY = frozenset({L.SERVICE, L.RESOURCE, L.SYSTEM, L.DOMAIN, L.API})
_CHANGES = frozenset({L.DEPLOYMENT, L.CONFIG_CHANGE, L.FLAG_CHANGE, L.MIGRATION, L.PIPELINE_RUN})
_DOCS = frozenset({L.RUNBOOK, L.POSTMORTEM, L.SECTION})
_ANY = frozenset(L)

LABELS: dict[NodeLabel, LabelSpec] = {
    spec.label: spec
    for spec in (
        LabelSpec(L.SERVICE, "service", Category.TOPOLOGY, "A deployable component (Backstage Component)."),
        LabelSpec(L.RESOURCE, "resource", Category.TOPOLOGY, "Infrastructure a service needs: database, queue, cache, bucket."),
        LabelSpec(L.SYSTEM, "system", Category.TOPOLOGY, "A group of services and resources that form one product capability."),
        LabelSpec(L.DOMAIN, "domain", Category.TOPOLOGY, "A business area that groups systems."),
        LabelSpec(L.API, "api", Category.TOPOLOGY, "An interface a service provides and others consume."),
        LabelSpec(L.TEAM, "team", Category.TOPOLOGY, "A group of people that owns things (Backstage Group)."),
        LabelSpec(L.PERSON, "person", Category.TOPOLOGY, "A person: an owner, a commit author, an on-call engineer."),
        LabelSpec(L.ENVIRONMENT, "env", Category.TOPOLOGY, "A deployment environment such as production or staging."),
        LabelSpec(L.RUNBOOK, "runbook", Category.KNOWLEDGE, "An operational document that says what to do."),
        LabelSpec(L.POSTMORTEM, "postmortem", Category.KNOWLEDGE, "A written review of an incident."),
        LabelSpec(L.SECTION, "section", Category.KNOWLEDGE, "A heading-delimited part of a runbook or postmortem."),
        LabelSpec(L.ALERT, "alert", Category.EVENT, "A firing alert, identified by its Alertmanager fingerprint.", True),
        LabelSpec(L.INCIDENT, "incident", Category.EVENT, "An incident as an incident tool records it.", True),
        LabelSpec(L.DEPLOYMENT, "deploy", Category.EVENT, "A deploy, upgrade, rollback or removal of a service.", True),
        LabelSpec(L.CONFIG_CHANGE, "config", Category.EVENT, "A configuration change on a service or resource.", True),
        LabelSpec(L.FLAG_CHANGE, "flag", Category.EVENT, "A feature-flag change.", True),
        LabelSpec(L.MIGRATION, "migration", Category.EVENT, "A schema migration on a data store.", True),
        LabelSpec(L.PIPELINE_RUN, "pipeline", Category.EVENT, "A CI/CD pipeline or task run.", True),
        LabelSpec(L.REPOSITORY, "repo", Category.PROVENANCE, "A source code repository."),
        LabelSpec(L.COMMIT, "commit", Category.PROVENANCE, "A commit, identified by its sha.", True),
        LabelSpec(L.PULL_REQUEST, "pr", Category.PROVENANCE, "A pull (merge) request."),
        LabelSpec(L.REQUIREMENT, "req", Category.PROVENANCE, "An issue or ticket that asked for a change."),
        LabelSpec(L.BUILD, "build", Category.PROVENANCE, "A build that produced artifacts (SLSA provenance).", True),
        LabelSpec(L.ARTIFACT, "artifact", Category.PROVENANCE, "A built artifact, identified by its digest."),
        LabelSpec(L.ANOMALY, "anomaly", Category.AGENT, "An observed symptom on a service at a time.", True),
        LabelSpec(L.DIAGNOSIS, "diagnosis", Category.AGENT, "A ranked set of candidate causes for an anomaly.", True),
        LabelSpec(L.REMEDIATION, "remediation", Category.AGENT, "A remediation action proposed or applied."),
        LabelSpec(L.OUTCOME, "outcome", Category.AGENT, "What happened after a remediation action.", True),
        LabelSpec(L.DECISION, "decision", Category.AGENT, "An audited decision: approval, execution, policy choice.", True),
        LabelSpec(L.INGEST_RUN, "run", Category.META, "One run of the ingester, with its counts and errors.", True),
        LabelSpec(L.SOURCE, "source", Category.META, "An ingested source (file or event stream) and its content hash."),
    )
}

_PREFIX_TO_LABEL: dict[str, NodeLabel] = {spec.prefix: label for label, spec in LABELS.items()}


def _rel(
    type_: RelType,
    sources: frozenset[NodeLabel],
    targets: frozenset[NodeLabel],
    description: str,
    functional: bool = False,
) -> RelSpec:
    return RelSpec(type_, sources, targets, description, functional)


R = RelType
RELS: dict[RelType, RelSpec] = {
    spec.type: spec
    for spec in (
        _rel(R.DEPENDS_ON, _TOPOLOGY, _TOPOLOGY, "Needs the target to work (calls it, stores data in it)."),
        _rel(R.PROVIDES_API, frozenset({L.SERVICE, L.SYSTEM}), frozenset({L.API}), "Implements the API."),
        _rel(R.CONSUMES_API, frozenset({L.SERVICE, L.SYSTEM}), frozenset({L.API}), "Calls the API."),
        _rel(R.OWNED_BY, _TOPOLOGY | _DOCS | {L.REPOSITORY}, frozenset({L.TEAM, L.PERSON}), "Is owned by.", True),
        _rel(R.PART_OF, _TOPOLOGY, frozenset({L.SYSTEM, L.DOMAIN}), "Belongs to the system or domain.", True),
        _rel(R.SUBCOMPONENT_OF, frozenset({L.SERVICE}), frozenset({L.SERVICE}), "Is a part of a larger component.", True),
        _rel(R.MEMBER_OF, frozenset({L.PERSON, L.TEAM}), frozenset({L.TEAM}), "Is a member (or sub-team) of."),
        _rel(R.RUNS, frozenset({L.SERVICE}), frozenset({L.ARTIFACT}), "Currently runs this artifact.", True),
        _rel(R.HAS_SECTION, frozenset({L.RUNBOOK, L.POSTMORTEM}), frozenset({L.SECTION}), "Contains the section."),
        _rel(R.MENTIONS, _DOCS, _ANY, "The text names the target."),
        _rel(R.DESCRIBES, frozenset({L.POSTMORTEM}), frozenset({L.INCIDENT}), "Is the review of the incident."),
        _rel(R.AFFECTS, frozenset({L.ALERT, L.INCIDENT, L.ANOMALY}), _TOPOLOGY, "Was observed on the target."),
        _rel(R.TARGETS, _CHANGES, _TOPOLOGY, "Changed the target."),
        _rel(R.IN_ENVIRONMENT, _CHANGES | {L.ALERT, L.INCIDENT}, frozenset({L.ENVIRONMENT}), "Happened in the environment."),
        _rel(R.DEPLOYS, frozenset({L.DEPLOYMENT}), frozenset({L.ARTIFACT}), "Deployed the artifact."),
        _rel(R.TRIGGERED, frozenset({L.ALERT}), frozenset({L.INCIDENT, L.ANOMALY}), "Opened or raised the target."),
        _rel(
            R.CAUSED_BY,
            frozenset({L.INCIDENT, L.ANOMALY, L.ALERT}),
            _CHANGES | _TOPOLOGY | {L.ALERT, L.INCIDENT},
            "Was caused by the target.",
        ),
        _rel(R.REMEDIATED_BY, frozenset({L.INCIDENT, L.ANOMALY}), frozenset({L.REMEDIATION}), "Was handled by the action."),
        _rel(R.HAS_OUTCOME, frozenset({L.REMEDIATION}), frozenset({L.OUTCOME}), "Led to the outcome."),
        _rel(R.PRODUCED, frozenset({L.BUILD, L.PIPELINE_RUN}), frozenset({L.ARTIFACT}), "Built the artifact."),
        _rel(R.BUILT_FROM, frozenset({L.BUILD, L.ARTIFACT}), frozenset({L.COMMIT}), "Was built from the commit."),
        _rel(R.AUTHORED_BY, frozenset({L.COMMIT, L.PULL_REQUEST}), frozenset({L.PERSON}), "Was written by."),
        _rel(R.CHILD_OF, frozenset({L.COMMIT}), frozenset({L.COMMIT}), "Has the target as a parent commit."),
        _rel(
            R.IN_REPOSITORY,
            frozenset({L.COMMIT, L.PULL_REQUEST, L.SERVICE}),
            frozenset({L.REPOSITORY}),
            "Lives in the repository.",
        ),
        _rel(R.INCLUDED_IN, frozenset({L.COMMIT}), frozenset({L.PULL_REQUEST}), "Was merged through the pull request."),
        _rel(
            R.IMPLEMENTS,
            frozenset({L.COMMIT, L.PULL_REQUEST}),
            frozenset({L.REQUIREMENT}),
            "Implements or fixes the requirement.",
        ),
        _rel(R.DIAGNOSES, frozenset({L.DIAGNOSIS}), frozenset({L.ANOMALY, L.ALERT, L.INCIDENT}), "Explains the anomaly."),
        _rel(R.SUSPECTS, frozenset({L.DIAGNOSIS}), _ANY, "Names the target as a candidate cause."),
        _rel(R.RECOMMENDS, frozenset({L.DIAGNOSIS, L.DECISION}), frozenset({L.REMEDIATION}), "Proposes the action."),
        _rel(R.RECORDS, frozenset({L.DECISION}), _ANY, "The audit entry is about the target."),
        _rel(R.INGESTED_IN, frozenset({L.SOURCE}), frozenset({L.INGEST_RUN}), "Was last read by the ingest run."),
    )
}

#: labels whose nodes have an ``at`` time and show up in timelines
EVENT_LABELS: frozenset[NodeLabel] = frozenset(s.label for s in LABELS.values() if s.event)
#: the changes a diagnosis considers as candidate causes
CHANGE_LABELS: frozenset[NodeLabel] = _CHANGES
#: relationships that tie an event to the service it happened on
EVENT_LINKS: frozenset[RelType] = frozenset({R.AFFECTS, R.TARGETS})
#: the Neo4j label every Vidya node carries (it holds the id constraint)
BASE_LABEL = "VidyaNode"
_TEXT = ("name", "heading", "summary", "description", "text")
#: keyword search: the labels in the full-text index and the fields indexed on each (``name`` or a
#: string property). Neo4j keeps one index over all these labels and their fields together, so every
#: label lists the same fields and a node is indexed on whichever of them it has.
TEXT_FIELDS: dict[NodeLabel, tuple[str, ...]] = {label: _TEXT for label in (L.SECTION, L.RUNBOOK, L.POSTMORTEM, L.INCIDENT)}

MAX_ID_LENGTH = 1024


def is_unicode_text(text: str) -> bool:
    """False for strings holding lone surrogates, which no store or file format can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def node_id(label: NodeLabel, natural_key: str) -> str:
    """Build the stable id of a node from its label and natural key."""
    key = natural_key.strip()
    if not key:
        raise SchemaError(f"{label} id: the natural key is empty")
    return f"{LABELS[label].prefix}:{key}"


def label_of(id_: str) -> NodeLabel:
    """Return the label an id belongs to, from its prefix."""
    if not is_unicode_text(id_):
        raise SchemaError(f"node id {id_[:80]!r}: contains characters that are not valid Unicode text")
    prefix, sep, rest = id_.partition(":")
    if not sep or not rest:
        raise SchemaError(f"node id {id_[:80]!r}: expected '<prefix>:<key>'")
    try:
        return _PREFIX_TO_LABEL[prefix]
    except KeyError:
        known = ", ".join(sorted(_PREFIX_TO_LABEL))
        raise SchemaError(f"node id {id_[:80]!r}: unknown prefix {prefix!r} (known: {known})") from None


def check_node_id(id_: str, label: NodeLabel) -> None:
    """Raise :class:`SchemaError` unless ``id_`` is a well-formed id of ``label``."""
    if len(id_) > MAX_ID_LENGTH:
        raise SchemaError(f"node id {id_[:80]!r}...: longer than {MAX_ID_LENGTH} characters")
    found = label_of(id_)
    if found is not label:
        raise SchemaError(f"node id {id_[:80]!r}: prefix is for {found}, but the node is a {label}")


def check_edge(type_: RelType, src: str, dst: str) -> None:
    """Raise :class:`SchemaError` unless the schema allows ``src -[type]-> dst``."""
    spec = RELS[type_]
    src_label, dst_label = label_of(src), label_of(dst)
    if src_label not in spec.sources:
        raise SchemaError(f"{type_} edge from {src[:80]!r}: a {src_label} cannot be its source")
    if dst_label not in spec.targets:
        raise SchemaError(f"{type_} edge to {dst[:80]!r}: a {dst_label} cannot be its target")
