"""Typed records of feedback memory: what was done about an anomaly, and how it went.

A :class:`FeedbackRecord` is one action taken on one past case (an ingested
incident or a recorded anomaly) with its outcome. Records are grouped into
:class:`ActionStats`: how often an action resolved the cases it was tried on,
with a Wilson score interval, so three successes out of three read as
"promising" (interval 44–100%) and not as a certainty::

    >>> wilson(9, 10)
    (0.5958..., 0.9821...)
    >>> signature("CheckoutHighLatency", "service:default/checkout")
    'CheckoutHighLatency@service:default/checkout'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ingest.actions import ACTIONS, OUTCOMES

Source = Literal["ingested", "recorded"]
#: outcomes a person can record (``unknown`` is what text that says nothing becomes)
RESULTS: tuple[str, ...] = tuple(o for o in OUTCOMES if o != "unknown")
#: actions a person can record
KNOWN_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if a != "unknown")
#: the signal part of a signature when nothing named the symptom
NO_SIGNAL = "unknown"
#: z for a two-sided 95% interval
Z95 = 1.959963984540054


def signature(signal: str | None, entity: str) -> str:
    """``<signal or alert name>@<entity id>``: what a policy override and the statistics are keyed by."""
    return f"{signal or NO_SIGNAL}@{entity}"


def coarse(sig: str) -> str:
    """``CheckoutHighLatency@service:default/checkout`` -> ``CheckoutHighLatency@*`` (any entity)."""
    return sig.split("@", 1)[0] + "@*"


def wilson(successes: int, uses: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success rate; ``(0, 1)`` when there is no use."""
    if uses <= 0:
        return 0.0, 1.0
    p = successes / uses
    denominator = 1 + z * z / uses
    centre = (p + z * z / (2 * uses)) / denominator
    half = z * math.sqrt(p * (1 - p) / uses + z * z / (4 * uses * uses)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def success(outcome: str) -> bool | None:
    """Whether a record counts as a success (``resolved``), a use without success, or not a use (unknown)."""
    if outcome == "resolved":
        return True
    return None if outcome not in RESULTS else False


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One action on one case and its outcome.

    ``case_id`` is the incident or anomaly the action was taken on. ``outcome``
    is ``resolved``, ``partial``, ``failed``, ``escalated`` or ``unknown``;
    ``inferred`` says it was not written down but deduced (the last action
    before an incident was resolved, see :mod:`agents.memory_seed`).
    ``original_text`` keeps the note or postmortem line the action was read
    from; ``remediations`` the Remediation node ids merged into this record.
    """

    signature: str
    case_id: str
    action: str
    outcome: str
    source: Source
    at: datetime | None
    diagnosis_id: str | None = None
    cause_id: str | None = None
    cause_kind: str | None = None
    cause_entity: str | None = None
    target: str | None = None
    time_to_resolve: timedelta | None = None
    side_effects: str | None = None
    original_text: str | None = None
    inferred: bool = False
    actor: str | None = None
    remediations: tuple[str, ...] = ()

    @property
    def success(self) -> bool | None:
        return success(self.outcome)

    def as_json(self) -> dict[str, Any]:
        ttr = self.time_to_resolve.total_seconds() / 60 if self.time_to_resolve is not None else None
        return {
            "signature": self.signature, "case": self.case_id, "diagnosis": self.diagnosis_id,
            "cause": self.cause_id, "cause_kind": self.cause_kind, "cause_entity": self.cause_entity,
            "action": self.action, "target": self.target, "outcome": self.outcome, "inferred": self.inferred,
            "time_to_resolve_minutes": round(ttr, 1) if ttr is not None else None,
            "side_effects": self.side_effects, "original_text": self.original_text, "source": self.source,
            "at": self.at.isoformat() if self.at else None, "actor": self.actor,
            "remediations": list(self.remediations),
        }


@dataclass(slots=True)
class ActionStats:
    """How one action fared: successes over uses (records with a known outcome), and the 95% interval."""

    action: str
    successes: int = 0
    uses: int = 0
    #: records whose outcome nobody wrote down: not counted as uses
    unknown: int = 0
    cases: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.successes / self.uses if self.uses else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.successes, self.uses)

    def add(self, record: FeedbackRecord) -> None:
        verdict = record.success
        if verdict is None:
            self.unknown += 1
        else:
            self.uses += 1
            self.successes += int(verdict)
        if record.case_id not in self.cases:
            self.cases.append(record.case_id)

    def as_json(self) -> dict[str, Any]:
        low, high = self.interval
        rate = round(self.rate, 4) if self.rate is not None else None
        return {"action": self.action, "successes": self.successes, "uses": self.uses, "unknown": self.unknown,
                "success_rate": rate, "ci95": [round(low, 4), round(high, 4)], "cases": list(self.cases)}


def action_stats(records: Iterable[FeedbackRecord]) -> list[ActionStats]:
    """Per action, best first: by the interval's lower bound, then the rate, then uses, then name."""
    by_action: dict[str, ActionStats] = {}
    for record in records:
        by_action.setdefault(record.action, ActionStats(record.action)).add(record)
    return sorted(by_action.values(), key=lambda s: (-s.interval[0], -(s.rate or 0.0), -s.uses, s.action))
