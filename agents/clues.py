"""What alerts name: the release, flag, configuration key or schema version in play.

A per-pod alert carries the release the pod runs, an error-rate rule broken
down by flag variant names the flag, an error message quotes the configuration
key whose limit it hit. When such a word of an alert's labels or annotations is
a change's identity, the alert names that change::

    named_by(change, alerts_on_its_entity)   # True: an alert carries its version "3.6.0"

A name speaks for the change in force when the alert fired: a configuration
key changed at 10:00 and again at 10:20 is quoted by a 10:25 alert for its
10:20 value, so a later change on the same entity that carries the same name
(a generic key such as ``timeout_ms``, changed again) takes the match::

    named_by(change, alerts, later=changes_on_its_entity)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from agents.records import CandidateKind
from agents.timeline import AlertEvent, ChangeEvent

_NAME_PROPS = ("version", "flag", "config", "migration_version", "script")
_TOKEN_SPLIT = re.compile(r"[\s,;=()\[\]{}\"'`]+")


def change_names(change: ChangeEvent) -> set[str]:
    """What an alert would name the change by: a deploy's version, a flag or config key, a schema version."""
    props = change.node.props
    names = {str(props[p]) for p in _NAME_PROPS if props.get(p)}
    if change.kind is CandidateKind.CONFIG:
        keys = props.get("changed_keys")
        names |= {str(k) for k in keys} if isinstance(keys, list) else set()
    return {n for n in names if len(n) >= 2}


def alert_tokens(alert: AlertEvent) -> set[str]:
    """The words of an alert's labels and annotations (a release, a flag, a key it names)."""
    out: set[str] = set()
    for key, value in alert.node.props.items():
        if isinstance(value, str) and (key.startswith(("label:", "annotation:")) or key in ("summary", "description")):
            out.update(_TOKEN_SPLIT.split(value))
    return out


def named_by(change: ChangeEvent, alerts: Iterable[AlertEvent], later: Sequence[ChangeEvent] = ()) -> bool:
    """Whether one of ``alerts`` names ``change`` in its labels or annotations.

    A name that a change in ``later`` (other changes on the same entity) also carries, made after ``change``
    and before the alert, names that later change instead.
    """
    names = change_names(change)
    if not names:
        return False
    for alert in alerts:
        superseded = {n for c in later if change.at < c.at <= alert.at and c.node.id != change.node.id
                      for n in change_names(c)}
        if (names - superseded) & alert_tokens(alert):
            return True
    return False
