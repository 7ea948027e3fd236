"""The incidents of the estate, as data: what changed, what broke, what people tried.

Each :class:`Scenario` names a real change (or a dependency failure, or a traffic spike)
that the generator writes into the event history, the alerts it set off, and the notes
the on-call engineers left. Texts may use ``{bad}`` / ``{prev}`` / ``{fix}`` (the versions
around the causing deploy), ``{prev@svc}`` (the version a rollback of ``svc`` went back
to) and ``{old}`` / ``{new}`` (the changed value); the generator fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Action:
    after: int  # minutes after the first symptom
    who: str
    text: str
    #: a change this action made: ("rollback", svc) | ("config"|"flag", svc, key, old, new)
    event: tuple[object, ...] = ()


@dataclass(frozen=True)
class Scenario:
    key: str
    when: datetime  # the causing change, or the onset of a failure or spike
    kind: str  # deploy | config | flag | migration | dependency | traffic
    target: str  # what changed or failed (for traffic: the entry service)
    symptom: str  # the PagerDuty service paged
    alert: str  # the alert that paged
    delay: int  # minutes from the change to the first symptom
    duration: int  # minutes from the first symptom to resolution
    priority: str
    title: str
    root_cause: str
    impact: str
    actions: tuple[Action, ...]
    action_items: tuple[str, ...]
    change: dict[str, object] = field(default_factory=dict)
    #: (entity, alertname, minutes after the first symptom, extra labels)
    more_alerts: tuple[tuple[str, str, int, dict[str, str]], ...] = ()
    alert_labels: dict[str, str] = field(default_factory=dict)
    #: (kind, service, minutes after the change): unrelated changes that happened nearby
    decoys: tuple[tuple[str, str, int], ...] = ()
    #: the index in ``actions`` of the note that records what fixed it
    fixed_by: int = 1


def t(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def all_scenarios() -> list[Scenario]:
    """Every incident of the estate, in time order."""
    from gen_scenarios_early import EARLY
    from gen_scenarios_late import LATE
    from gen_scenarios_mid import MID

    return sorted([*EARLY, *MID, *LATE], key=lambda s: s.when)
