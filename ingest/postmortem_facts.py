"""What a postmortem states outright: front-matter values, causes, the fix, and the alert that detected it.

The postmortem reader (:mod:`ingest.postmortem`) parses the document; this
module turns its parts into facts::

    >>> front_list({"services": "checkout, payments"}, [], "services")
    ['checkout', 'payments']
    >>> fix_statement("- Restarted pods.\\n\\nWhat fixed it: Rolled back cart. The incident was resolved at 11:58 UTC.")
    'Rolled back cart.'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from graph.errors import SchemaError
from graph.schema import RELS, RelType, label_of
from ingest.actions import Cause, change_id, find_causes, map_note
from ingest.pagerduty import ActionText
from ingest.records import RecordError
from ingest.text_rules import normalise

_CAUSE_KEYS = ("cause", "causes", "cause_change", "cause_changes", "cause_ids", "caused_by")
_FIX = re.compile(
    r"(?:^|\n)\s*(?:[-*+]\s+)?(?:\*\*|__)?(?:what fixed it|fixed by|resolved by|mitigated by|the fix(?: was)?)"
    r"(?:\*\*|__)?\s*[:—–-]\s*(?:\*\*|__)?\s*(?P<text>[^\n]+(?:\n(?!\s*\n)[^\n]+)*)",
    re.IGNORECASE,
)
_CLOSING = re.compile(r"\b(?:incident|it)\s+was\s+resolved\s+at\b|\bresolved\s+at\s+\d", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_DETECTED = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?detected\s+by(?:\*\*|__)?\s*:\s*(?:\*\*|__)?(?P<value>.+)$",
                       re.IGNORECASE | re.MULTILINE)
#: one alert name ("alert X", "`X`", "X firing"); a sentence ("a customer e-mail") names no alert
_ALERT_NAME = re.compile(r"(?:the\s+)?(?:alert\s+)?`?(?P<name>[\w:.\-]*\w)`?(?:\s+(?:alert|fired|firing)\b.*)?\.?",
                         re.IGNORECASE)
_FINGERPRINT = re.compile(r"\bfingerprint\b[\s=:\"'`]*(?P<fp>[0-9a-fA-F]{16})\b")


def front_list(front: dict[str, Any], errors: list[RecordError], *keys: str) -> list[str]:
    """The first of ``keys`` present: one string, a comma-separated string or a list of scalars."""
    for key in keys:
        value = front.get(key)
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
            return [str(v).strip() for v in value if str(v).strip()]
        if value is not None:
            errors.append(RecordError("front matter", f"{key}: expected a string or a list of strings"))
    return []


def front_scalar(front: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = front.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _cause_node(value: str) -> str | None:
    """Any node id the schema lets an incident be ``CAUSED_BY`` (a failed dependency, a traffic alert...)."""
    try:
        label = label_of(value.strip())
    except SchemaError:
        return None
    return value.strip() if label in RELS[RelType.CAUSED_BY].targets else None


def causes(front: dict[str, Any], text_of: Callable[[str], str], errors: list[RecordError]) -> list[Cause]:
    """Causes from the front matter, the Root cause section, and cue sentences of the other sections."""
    found: list[Cause] = []
    for key in _CAUSE_KEYS:
        for value in front_list(front, errors, key):
            change = change_id(value) or _cause_node(value)
            if change is None:
                message = (
                    f"{key}: {value!r} is not a cause id (expected deploy:, config:, flag: or migration:<id>, a UUID, "
                    "or the id of what failed: resource:, service:, alert:<fingerprint>)"
                )
                errors.append(RecordError("front matter", message))
            else:
                found.append(Cause(f"front matter {key}", change=change))
    found += find_causes(text_of("root_cause"), causal=True)
    for name in ("summary", "timeline", "resolution"):
        found += find_causes(text_of(name))
    return found


def fix_statement(resolution: str) -> str | None:
    """The text after "What fixed it:" (or "Fixed by:", "Resolved by:"), without the closing sentences."""
    match = _FIX.search(resolution)
    if match is None:
        return None
    sentences = [s for s in _SENTENCE.split(" ".join(match["text"].split())) if s and not _CLOSING.search(s)]
    return " ".join(sentences).strip() or None


def mark_fix(items: Sequence[ActionText], resolution: str, make: Callable[[str], ActionText]) -> list[ActionText]:
    """The items, the one the fix statement repeats marked ``resolved``; the statement is added when it repeats none.

    An item whose own wording already gives another outcome keeps it (a written outcome is not overridden).
    """
    statement = fix_statement(resolution)
    if statement is None or map_note(statement)[0] == "unknown":
        return list(items)
    said = normalise(statement).lower()
    out, repeated = [], False
    for item in items:
        text = normalise(_FIX.sub(r"\g<text>", item.text)).lower()
        if text and (text in said or said in text):
            repeated = True
            if map_note(item.text)[1] in ("unknown", "resolved"):
                item = replace(item, outcome="resolved")
        out.append(item)
    return out if repeated else [*out, make(statement)]


def detected_by(front: dict[str, Any], body: str) -> str | None:
    """The alert the postmortem says detected the incident: front matter ``detected_by``, or a "Detected by:" line."""
    value = front_scalar(front, "detected_by", "detected-by", "detection")
    if value is None and (line := _DETECTED.search(body)):
        value = line["value"].strip()
    name = _ALERT_NAME.fullmatch(value.strip()) if value else None
    return name["name"] if name else None


def detection_fingerprints(detected: str | None, lines: Sequence[str]) -> list[str]:
    """The fingerprint of the detecting alert: from ``alert:<fp>``, or a line naming the alert with its fingerprint."""
    if detected is None:
        return []
    if detected.startswith("alert:"):
        return [detected.removeprefix("alert:")]
    word = re.compile(rf"(?<![\w-]){re.escape(detected)}(?![\w-])")
    for line in lines:
        if word.search(line) and (found := _FINGERPRINT.search(line)):
            return [found["fp"]]
    return []
