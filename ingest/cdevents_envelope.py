"""The CDEvents envelope: ``context`` and ``subject`` parsed into one typed :class:`Event`.

Field errors are :class:`~graph.errors.FormatError` whose message starts with
the dotted field path (``context.timestamp: missing``); the reader puts the
line or array index in front. Also here: the small value helpers every event
mapping shares (typed field access, service and artifact references).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from graph.errors import FormatError
from graph.schema import NodeLabel, label_of
from ingest.common import parse_time
from ingest.ids import artifact_id, entity_id, environment_id

#: ``dev.cdevents.<subject>.<predicate>.<version>``; custom types use ``dev.cdeventsx.<tool>-<subject>``
_TYPE = re.compile(
    r"^dev\.cdevents(?P<custom>x)?\.(?P<subject>[A-Za-z0-9_-]+)\.(?P<predicate>[A-Za-z][A-Za-z0-9_]*)"
    r"(?:\.(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?))?$"
)
_PURL_TAG = re.compile(r"[?&]tag=([^&#]+)")
_DIGEST_VERSION = re.compile(r"^(sha1|sha256|sha512)[:%]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Event:
    """One CDEvent, validated enough that every mapping can rely on these fields."""

    id: str
    type: str
    #: the subject part of the type (``service``, ``pipelinerun``; ``<tool>-<subject>`` when custom)
    subject_kind: str
    predicate: str
    custom: bool
    source: str
    at: datetime
    subject_id: str
    content: dict[str, Any]
    subject_source: str | None = None
    spec_version: str | None = None
    chain_id: str | None = None
    location: str | None = None

    @property
    def base_props(self) -> dict[str, Any]:
        """Properties every node made from an event carries."""
        return {
            "event_type": self.type,
            "cdevents_id": self.id,
            "cdevents_source": self.source,
            "subject_id": self.subject_id,
            "subject_source": self.subject_source,
            "spec_version": self.spec_version,
            "chain_id": self.chain_id,
        }


_JSON_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


def describe(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_NAMES.items() if type(value) is kind), type(value).__name__)


def field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def get(obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    """A required field of the expected JSON type (an empty string counts as missing)."""
    value = obj.get(key)
    if value is None or value == "":
        raise FormatError(f"{field(where, key)}: missing")
    if value.__class__ is kind:  # the common case, decided without building the error text
        return value
    return opt(obj, key, where, kind)


def opt(obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    """An optional field: ``None`` when absent or null, a ``FormatError`` when of the wrong type."""
    value = obj.get(key)
    if value is None:
        return None
    if value.__class__ is kind:  # exactly the one expected type (a bool only when bool is asked for)
        return value
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass in Python but not a number in JSON
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join(dict.fromkeys(_JSON_NAMES.get(k, k.__name__) for k in kinds))
        raise FormatError(f"{field(where, key)}: expected {expected}, got {describe(value)}")
    return value


def time(value: object, where: str) -> datetime:
    """``parse_time`` that also refuses times that fall outside the calendar once moved to UTC."""
    try:
        return parse_time(value, where)
    except OverflowError:
        raise FormatError(f"{where}: {value!r} is out of range") from None


def unwrap(raw: object) -> dict[str, Any]:
    """The CDEvent object; a structured-mode CloudEvent carrying it in ``data`` is unwrapped."""
    if not isinstance(raw, dict):
        raise FormatError(f"event: expected an object with 'context' and 'subject', got {describe(raw)}")
    data = raw.get("data")
    if "context" not in raw and "specversion" in raw and isinstance(data, dict):
        return data
    return raw


def parse_event(raw: object, location: str | None) -> Event:
    """Validate the envelope of one CDEvent (the content is checked by each mapping)."""
    doc = unwrap(raw)
    context = get(doc, "context", "", dict)
    subject = get(doc, "subject", "", dict)
    type_ = get(context, "type", "context")
    match = _TYPE.match(type_.strip())
    if not match:
        expected = "dev.cdevents.<subject>.<predicate>.<version>"
        raise FormatError(f"context.type: {type_[:120]!r} is not a CDEvents type (expected {expected})")
    content = opt(subject, "content", "subject", dict) or {}
    return Event(
        id=get(context, "id", "context").strip(),
        type=type_.strip(),
        subject_kind=match["subject"].lower(),
        predicate=match["predicate"].lower(),
        custom=bool(match["custom"]),
        source=get(context, "source", "context"),
        at=time(get(context, "timestamp", "context"), "context.timestamp"),
        subject_id=get(subject, "id", "subject").strip(),
        content=content,
        subject_source=opt(subject, "source", "subject"),
        spec_version=opt(context, "version", "context") or opt(context, "specversion", "context"),
        chain_id=opt(context, "chainId", "context"),
        location=location,
    )


def last_segment(path: str) -> str:
    """The last non-empty ``/``-separated part: ``/prod/checkout`` -> ``checkout``."""
    parts = [p for p in path.strip().split("/") if p.strip()]
    return parts[-1].strip() if parts else ""


@lru_cache(maxsize=8192)  # a pure function of strings; a stream names the same services again and again
def service_ref(subject_id: str, where: str = "subject.id") -> tuple[str, str]:
    """(node id, name) of the service a ``service.*`` event is about.

    A Backstage reference (``component:shop/checkout``) is used as given;
    anything else is free-form and its last path segment is the name in the
    ``default`` namespace (``/prod/checkout`` -> ``service:default/checkout``).
    """
    text = subject_id.strip()
    ref = text if re.match(r"^[A-Za-z][A-Za-z0-9_-]*:[^/]", text) else last_segment(text)
    try:
        node = entity_id(ref, default_kind="component")
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None
    if label_of(node) is not NodeLabel.SERVICE:
        raise FormatError(f"{where}: {subject_id[:120]!r} names a {label_of(node)}, expected a service")
    return node, node.partition("/")[2]


def environment_ref(content: dict[str, Any], where: str = "subject.content") -> tuple[str, str] | None:
    """(node id, lower-case name) of ``content.environment`` (an object with ``id``, or a plain string)."""
    env = content.get("environment")
    if env is None or env == "":
        return None
    if isinstance(env, dict):
        name = get(env, "id", f"{where}.environment")
    elif isinstance(env, str):
        name = env
    else:
        raise FormatError(f"{where}.environment: expected an object with 'id', got {describe(env)}")
    if not name.strip():
        raise FormatError(f"{where}.environment: empty")
    return environment_id(name), name.strip().lower()


def artifact_ref(reference: str) -> tuple[str, str]:
    """(node id, decoded reference) of a purl or image reference; ``%3A`` in a digest is decoded."""
    decoded = unquote(reference).strip()
    if not decoded:
        raise FormatError("artifact reference: empty")
    return artifact_id(decoded), decoded


def purl_version(reference: str) -> str | None:
    """The human version of a purl: its ``tag`` qualifier, else its ``@version`` unless that is a digest."""
    tag = _PURL_TAG.search(reference)
    if tag:
        return unquote(tag[1])
    at = reference.split("?", 1)[0].rpartition("@")
    if at[1] and at[2] and not _DIGEST_VERSION.match(at[2]):
        return at[2]
    return None
