"""Node ids from natural keys, shared by every reader so their records meet in the graph.

    >>> entity_id("component:payments")
    'service:default/payments'
    >>> entity_id("group:platform/sre")
    'team:platform/sre'
    >>> artifact_id("pkg:oci/payments@sha256:0f3a9c1e2b4d6a8f")
    'artifact:sha256:0f3a9c1e2b4d6a8f'
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

from graph.errors import FormatError
from graph.schema import NodeLabel, node_id

DEFAULT_NAMESPACE = "default"

#: Backstage kinds and the labels they become
KIND_LABELS: dict[str, NodeLabel] = {
    "component": NodeLabel.SERVICE,
    "resource": NodeLabel.RESOURCE,
    "system": NodeLabel.SYSTEM,
    "domain": NodeLabel.DOMAIN,
    "api": NodeLabel.API,
    "group": NodeLabel.TEAM,
    "user": NodeLabel.PERSON,
}
#: other words for the same kinds, as they appear in CDEvents targets and elsewhere
KIND_ALIASES: dict[str, str] = {
    "service": "component",
    "application": "component",
    "app": "component",
    "database": "resource",
    "db": "resource",
    "queue": "resource",
    "cache": "resource",
    "team": "group",
    "person": "user",
}

_REF = re.compile(r"^(?:(?P<kind>[^:/]+):)?(?:(?P<namespace>[^:/]+)/)?(?P<name>[^:/]+)$")
_DIGEST = re.compile(r"(sha256|sha512|sha1):([0-9a-fA-F]{16,128})")


def parse_ref(ref: str, *, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE) -> tuple[str, str, str]:
    """Split a Backstage entity reference ``[kind:][namespace/]name`` into lower-case parts."""
    match = _REF.match(ref.strip())
    if not match:
        raise FormatError(f"entity reference {ref!r}: expected [kind:][namespace/]name")
    kind = (match["kind"] or default_kind or "").lower()
    if not kind:
        raise FormatError(f"entity reference {ref!r}: no kind given and none implied by the field")
    kind = KIND_ALIASES.get(kind, kind)
    return kind, (match["namespace"] or default_namespace).lower(), match["name"].lower()


@lru_cache(maxsize=8192)  # a pure function of strings, asked the same few thousand names over and over
def entity_id(ref: str, *, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE) -> str:
    """The node id of a Backstage entity reference (``component:ns/name`` -> ``service:ns/name``)."""
    kind, namespace, name = parse_ref(ref, default_kind=default_kind, default_namespace=default_namespace)
    if kind not in KIND_LABELS:
        raise FormatError(f"entity reference {ref!r}: kind {kind!r} is not one of {', '.join(sorted(KIND_LABELS))}")
    return node_id(KIND_LABELS[kind], f"{namespace}/{name}")


def artifact_id(reference: str) -> str:
    """An artifact id: the digest when the reference carries one (``sha256:...``), else the reference."""
    reference = unquote(reference)  # purls often encode the digest colon as %3A
    match = _DIGEST.search(reference)
    if match:
        return node_id(NodeLabel.ARTIFACT, f"{match[1].lower()}:{match[2].lower()}")
    return node_id(NodeLabel.ARTIFACT, reference.strip())


def person_email_id(email: str) -> str:
    """A person known by e-mail address only (a git author, say)."""
    return node_id(NodeLabel.PERSON, "email/" + email.strip().lower())


@lru_cache(maxsize=1024)
def environment_id(name: str) -> str:
    return node_id(NodeLabel.ENVIRONMENT, name.strip().lower())


def commit_id(sha: str) -> str:
    return node_id(NodeLabel.COMMIT, sha.strip().lower())


def repository_name(name_or_url: str) -> str:
    """A repository's short name: the last path segment, without ``.git``, lower-case."""
    tail = name_or_url.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git").lower()


def repository_id(name_or_url: str) -> str:
    return node_id(NodeLabel.REPOSITORY, repository_name(name_or_url))


def pull_request_id(repository: str, number: str | int) -> str:
    """``pr:<repository short name>#<number>``, the same from git history and from CDEvents."""
    return node_id(NodeLabel.PULL_REQUEST, f"{repository_name(repository)}#{number}")
