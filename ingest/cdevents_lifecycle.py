"""CDEvents about environments, artifacts, pipeline and task runs, and source changes.

Environments, artifacts and pull requests are entities, not events: several
events about one of them (created, then modified) describe one node, which the
reader folds into its latest state. Pipeline and task runs are events.
"""

from __future__ import annotations

from typing import Any

from graph.model import Node, Provenance
from graph.schema import NodeLabel, node_id
from ingest.cdevents_envelope import Event, artifact_ref, opt, purl_version
from ingest.ids import environment_id, pull_request_id, repository_name
from ingest.records import ReadResult

_CONTENT = "subject.content"


def _stamp(event: Event) -> str:
    return event.at.isoformat()


def environment_event(event: Event, prov: Provenance) -> ReadResult:
    """``environment.{created,modified,deleted}`` -> an Environment node keyed by ``subject.id``."""
    name = opt(event.content, "name", _CONTENT) or event.subject_id
    url = opt(event.content, "url", _CONTENT) or opt(event.content, "uri", _CONTENT)
    props = {
        "state": event.predicate,
        "url": url,
        "cdevents_source": event.source,
        "subject_source": event.subject_source,
        f"{event.predicate}_at": _stamp(event),
    }
    node = Node(
        environment_id(event.subject_id),
        NodeLabel.ENVIRONMENT,
        prov,
        name=name,
        props=props,
        valid_from=event.at if event.predicate == "created" else None,
        valid_to=event.at if event.predicate == "deleted" else None,
    )
    return ReadResult(nodes=[node])


def artifact_event(event: Event, prov: Provenance) -> ReadResult:
    """``artifact.{packaged,published,signed}`` -> an Artifact node keyed by the digest in ``subject.id``."""
    node_key, purl = artifact_ref(event.subject_id)
    content = event.content
    change = opt(content, "change", _CONTENT, dict) or {}
    sbom = opt(content, "sbom", _CONTENT, dict) or {}
    props = {
        "purl": purl,
        "version": purl_version(purl),
        "state": event.predicate,
        f"{event.predicate}_at": _stamp(event),
        "signature": opt(content, "signature", _CONTENT),
        "change_id": opt(change, "id", f"{_CONTENT}.change"),
        "change_source": opt(change, "source", f"{_CONTENT}.change"),
        "sbom_uri": opt(sbom, "uri", f"{_CONTENT}.sbom"),
        "cdevents_source": event.source,
    }
    name = purl.split("?", 1)[0].split("@", 1)[0].rsplit("/", 1)[-1] or purl
    return ReadResult(nodes=[Node(node_key, NodeLabel.ARTIFACT, prov, name=name, props=props)])


def run_event(event: Event, prov: Provenance) -> ReadResult:
    """``pipelinerun.*`` and ``taskrun.*`` -> a PipelineRun event node ``pipeline:<context.id>``."""
    content = event.content
    task = event.subject_kind == "taskrun"
    parent = (opt(content, "pipelineRun", _CONTENT, dict) or {}) if task else {}
    name_key = "taskName" if task else "pipelineName"
    run_name = opt(content, name_key, _CONTENT)
    props: dict[str, Any] = {
        **event.base_props,
        "kind": "task" if task else "pipeline",
        "state": event.predicate,
        "run": event.subject_id,
        "pipeline_name": None if task else run_name,
        "task_name": run_name if task else None,
        "pipeline_run": opt(parent, "id", f"{_CONTENT}.pipelineRun"),
        "url": opt(content, "url", _CONTENT),
        "outcome": opt(content, "outcome", _CONTENT),
        "errors": opt(content, "errors", _CONTENT),
    }
    label = f"{run_name or event.subject_id} {event.predicate}"
    if props["outcome"]:
        label += f" ({props['outcome']})"
    node = Node(node_id(NodeLabel.PIPELINE_RUN, event.id), NodeLabel.PIPELINE_RUN, prov, name=label, props=props, at=event.at)
    return ReadResult(nodes=[node])


def change_event(event: Event, prov: Provenance) -> ReadResult:
    """``change.*`` -> a PullRequest node ``pr:<repository short name>#<subject.id>``.

    The repository is ``subject.content.repository.id`` when given, else
    ``subject.source``; its last path segment names it, as the git reader does
    (:func:`ingest.ids.pull_request_id`), so both describe one pull request.
    With neither the key is ``subject.id`` alone.
    """
    repo = opt(event.content, "repository", _CONTENT, dict) or {}
    repository = opt(repo, "id", f"{_CONTENT}.repository") or event.subject_source
    named = bool(repository and repository.strip() and repository_name(repository))
    props = {
        "state": event.predicate,
        "number": event.subject_id,
        "repository": repository,
        "repository_source": opt(repo, "source", f"{_CONTENT}.repository"),
        "description": opt(event.content, "description", _CONTENT),
        f"{event.predicate}_at": _stamp(event),
        "cdevents_source": event.source,
        "last_event_type": event.type,
    }
    # only created events describe the change; the reader names a PR without one by its key
    pr_id = pull_request_id(str(repository), event.subject_id) if named else node_id(NodeLabel.PULL_REQUEST, event.subject_id)
    node = Node(pr_id, NodeLabel.PULL_REQUEST, prov, name=props["description"], props=props)
    return ReadResult(nodes=[node])
