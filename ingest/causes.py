"""Causes named in free text of incident notes and postmortems: change ids, failing dependencies, releases.

Shared by the PagerDuty and postmortem readers::

    >>> [c.change for c in find_causes("Caused by deploy:5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11")]
    ['deploy:5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11']
    >>> change_id("flag:recs-v3")
    'flag:recs-v3'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text_rules import normalise

_CAUSE_CUE = re.compile(
    r"\b(?:caused\s+by|root[- ]?causes?|causes?\b|triggered\s+by|due\s+to|because\s+of|culprit|introduced\s+(?:by|in)|"
    r"regression|dependency\s+(?:failure|outage|issue|problem)|roll(?:ed)?[- ]?back\s+of|attributed\s+to|"
    r"traced\s+(?:back\s+)?to)",
    re.IGNORECASE,
)
_CHANGE_PREFIXES = ("deploy", "config", "flag", "migration", "pipeline")
_ID = r"[A-Za-z0-9](?:[\w.\-:/@]*[A-Za-z0-9])?"
_PREFIXED = re.compile(rf"\b(?P<prefix>{'|'.join(_CHANGE_PREFIXES)}):(?P<key>{_ID})")
_KIND_ID = re.compile(
    r"\b(?P<kind>deploy(?:ment)?|release|config(?:uration)?(?:\s+change)?|(?:feature[- ])?flag(?:\s+change)?|migration)"
    rf"\s+(?:id\s+)?#?(?P<key>{_ID})",
    re.IGNORECASE,
)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_NOT_AN_ID = re.compile(r"^(?:v?\d+(?:[.:]\d+)+|\d{4}-\d{2}-\d{2}.*|\d{1,3})$", re.IGNORECASE)
#: a migration's script name ("V209__backfill.sql") names a file, not a change event
_FILE_NAME = re.compile(r"__|\.(?:sql|py|rb|js|ts|ya?ml|json|xml|sh)$", re.IGNORECASE)
_NAME = r"(?P<name>[A-Za-z0-9][\w.\-]*[A-Za-z0-9])"
_DOWN = r"(?:was|is|were|went|being)\s+(?:down|unavailable|unreachable|degraded|overloaded|failing|saturated)"
_DEPENDENCY = (
    re.compile(r"\bdependency\s+(?:failure|outage|issue|problem)\s*(?:[:\-–—]|in|of|on)?\s*(?:the\s+)?" + _NAME, re.I),
    re.compile(r"\b(?:outage|failure|degradation|unavailability)\s+(?:of|in)\s+(?:the\s+)?" + _NAME, re.I),
    re.compile(_NAME + r"(?:\s+(?:primary|database|db|cluster|service|instance|broker|cache|api))?\s+" + _DOWN, re.I),
    re.compile(_NAME + r"\s+outage\b", re.I),
)
_NOT_A_NAME = frozenset(
    {
        *("the", "a", "an", "it", "this", "that", "which", "its", "our", "their", "everything", "something"),
        *("service", "database", "db", "cluster", "primary", "replica", "server", "host", "node", "system", "api"),
        *("network", "dependency", "upstream", "downstream", "provider", "vendor", "region", "zone", "config", "deploy"),
    }
)
_RELEASE = re.compile(
    r"\b(?:roll(?:ed|ing)?[- ]?back\s+of|(?:deploy(?:ment)?|release|rollout)\s+of)\s+(?:the\s+)?"
    r"(?P<service>[A-Za-z][\w.\-]*?)\s+(?:version\s+)?v?(?P<version>\d+(?:\.\d+)+[\w.\-]*)",
    re.IGNORECASE,
)
#: sentence ends, blank lines, and line breaks before a list item, table row or heading
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:[-*+|#]|\d+[.)])\s)")


@dataclass(frozen=True, slots=True)
class Cause:
    """A cause named in text: a change id, a failing dependency, or a service release without an id."""

    evidence: str
    change: str | None = None
    dependency: str | None = None
    release: str | None = None


def change_id(value: str) -> str | None:
    """A change node id from ``deploy:<id>`` (etc.) or a bare CDEvents UUID (a deploy); else ``None``."""
    text = value.strip()
    match = _PREFIXED.fullmatch(text)
    if match:
        return f"{match['prefix']}:{match['key']}"
    return f"deploy:{text.lower()}" if _UUID.fullmatch(text) else None


def _kind_prefix(kind: str) -> str:
    kind = kind.lower()
    for word, prefix in (("config", "config"), ("flag", "flag"), ("migration", "migration")):
        if word in kind:
            return prefix
    return "deploy"


def _changes(sentence: str) -> list[str]:
    found = [f"{m['prefix']}:{m['key']}" for m in _PREFIXED.finditer(sentence)]
    for match in _KIND_ID.finditer(sentence):
        key = match["key"]
        if any(ch.isdigit() for ch in key) and not _NOT_AN_ID.match(key) and ":" not in key and not _FILE_NAME.search(key):
            found.append(f"{_kind_prefix(match['kind'])}:{key}")
    for match in _UUID.finditer(sentence):
        if not any(match[0].lower() in item.lower() for item in found):
            found.append(f"deploy:{match[0].lower()}")
    return list(dict.fromkeys(found))


def _dependencies(sentence: str) -> list[str]:
    names: list[str] = []
    for pattern in _DEPENDENCY:
        names += [m["name"] for m in pattern.finditer(sentence) if m["name"].lower() not in _NOT_A_NAME]
    return list(dict.fromkeys(names))


def find_causes(text: str, *, causal: bool = False) -> list[Cause]:
    """Causes named in ``text``; only sentences with a cause cue count unless ``causal`` (a root-cause section).

    Explicit change ids win over dependencies in the same sentence; a release
    named without an id ("rollback of payments 1.42.0") is reported as such.
    """
    out: list[Cause] = []
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
        if not sentence or not (causal or _CAUSE_CUE.search(sentence)):
            continue
        evidence = normalise(sentence)[:500]
        changes = _changes(sentence)
        out += [Cause(evidence, change=c) for c in changes]
        if not changes:
            out += [Cause(evidence, dependency=d) for d in _dependencies(sentence)]
            out += [Cause(evidence, release=f"{m['service']} {m['version']}") for m in _RELEASE.finditer(sentence)]
    return out
