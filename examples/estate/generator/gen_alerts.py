"""Alertmanager webhook (version 4) notifications: incident symptoms, chronic noise and decoys.

Each firing becomes a notification group: a ``firing`` notification after ``group_wait``,
``repeat_interval`` re-sends while it fires, and a ``resolved`` one at the end, all with the
same fingerprint (Alertmanager's own FNV-1a hash of the label set).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gen_alertdefs import ALERTS, annotations_for, generator_url, labels_for
from gen_changes import resolved_at, symptom_at
from gen_common import ALERTMANAGER_URL, DAYS, Writer, at, dump_jsonl, fingerprint, iso, rng
from gen_scenarios import Scenario, all_scenarios

ZERO_TIME = "0001-01-01T00:00:00Z"
REPEAT = {"critical": timedelta(minutes=30), "warning": timedelta(hours=4), "info": timedelta(hours=12)}
GROUP_BY = ("alertname", "service", "cluster", "topic")


@dataclass(frozen=True)
class Firing:
    labels: dict[str, str]
    starts: datetime
    ends: datetime
    value: str
    paging: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def group_labels(self) -> dict[str, str]:
        return {k: self.labels[k] for k in GROUP_BY if k in self.labels}

    @property
    def receiver(self) -> str:
        team = self.labels.get("team", "sre-team")
        return f"pagerduty-{team}" if self.paging or self.labels["severity"] == "critical" else f"slack-{team}"

    @property
    def group_key(self) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(self.group_labels.items()))
        return f'{{}}/{{team="{self.labels.get("team", "sre-team")}"}}:{{{inner}}}'

    @property
    def dedup_key(self) -> str:
        """What Alertmanager sends PagerDuty as the dedup key (the hash of the group key)."""
        return hashlib.sha256(self.group_key.encode()).hexdigest()


def _value(alertname: str, r: Any) -> str:
    """A plausible value of the alert's expression, above its threshold."""
    ranges = {
        "LongRunningQueries": (310, 2400),
        "DiskWatermark": (86, 96),
        "ConnectionsSaturated": (91, 100),
        "RequestRateSpike": (3.2, 5.6),
        "ReplicationLag": (35, 400),
        "Evictions": (1200, 60000),
        "RateLimiting": (60, 900),
        "CPUThrottling": (26, 70),
        "LabelBacklog": (520, 4000),
    }
    for part, (lo, hi) in ranges.items():
        if part in alertname:
            return f"{r.uniform(lo, hi):.1f}" if isinstance(lo, float) else str(r.randrange(lo, hi))
    if "Latency" in alertname:
        return f"{r.uniform(1.6, 4.2):.2f}"
    if "Lag" in alertname or "Backlog" in alertname:
        return str(r.randrange(12_000, 90_000)) if "Kafka" in alertname else str(r.randrange(40, 400))
    if alertname.endswith(("Rate", "Failures", "Errors", "RateHigh")):
        return f"{r.uniform(3, 15):.1f}"
    return str(r.randrange(2, 40))


def _firing(
    entity: str, alertname: str, starts: datetime, ends: datetime, extra: dict[str, str] | None, r: Any, paging: bool = False
) -> Firing:
    return Firing(labels_for(alertname, entity, extra), starts, ends, _value(alertname, r), paging)


def scenario_firings(s: Scenario) -> list[Firing]:
    """The alerts an incident set off; the first one is the alert that paged."""
    r = rng("alerts", s.key)
    start, end = symptom_at(s), resolved_at(s)
    out = [_firing(s.symptom, s.alert, start, end - timedelta(minutes=r.randrange(0, 3)), s.alert_labels, r, paging=True)]
    for entity, name, offset, extra in s.more_alerts:
        begins = start + timedelta(minutes=offset)
        finish = max(begins + timedelta(minutes=4), end - timedelta(minutes=r.randrange(0, 6)))
        out.append(_firing(entity, name, begins, finish, extra, r))
    return out


def cause_alert(s: Scenario) -> Firing | None:
    """For a traffic spike, the alert that shows the spike (the incident's recorded cause)."""
    if s.kind != "traffic":
        return None
    return next(f for f in scenario_firings(s) if f.labels["alertname"] == "ApiGatewayRequestRateSpike")


_NOISE_SOURCES = [
    ("sms-gateway", "SmsGatewayHighLatency", {}),
    ("search-indexer", "CPUThrottlingHigh", {}),
    ("email-sender", "EmailBounceRateHigh", {}),
    ("analytics-etl", "KafkaConsumerLag", {"topic": "clickstream", "consumergroup": "analytics-etl-hourly"}),
]


def _pod(service: str, r: Any) -> str:
    chars = "bcdfghjklmnpqrstvwxz2456789"
    return f"{service}-{''.join(r.choice(chars) for _ in range(9))}-{''.join(r.choice(chars) for _ in range(5))}"


def noise_firings() -> list[Firing]:
    r = rng("noise")
    out: list[Firing] = []
    for day in range(DAYS):
        if r.random() < 0.7:  # the hourly ETL catches up every night
            s = at(day, 2, r.randrange(0, 10))
            out.append(
                _firing(
                    "analytics-etl",
                    "KafkaConsumerLag",
                    s,
                    s + timedelta(minutes=r.randrange(20, 45)),
                    {"topic": "clickstream", "consumergroup": "analytics-etl-hourly"},
                    r,
                )
            )
        if r.random() < 0.25:
            s = at(day, r.randrange(0, 24), r.randrange(60))
            out.append(
                _firing(
                    "image-resizer",
                    "KubePodCrashLooping",
                    s,
                    s + timedelta(minutes=r.randrange(15, 90)),
                    {"pod": _pod("image-resizer", r), "container": "image-resizer"},
                    r,
                )
            )
        if r.random() < 0.28:
            s = at(day, r.randrange(8, 22), r.randrange(60))
            out.append(
                _firing(
                    "recommendations",
                    "KubeContainerOOMKilled",
                    s,
                    s + timedelta(minutes=r.randrange(5, 20)),
                    {"pod": _pod("recommendations", r), "container": "model-server"},
                    r,
                )
            )
        if r.random() < 0.33:
            s = at(day, r.randrange(0, 6), r.randrange(60))
            out.append(
                _firing(
                    "search-indexer",
                    "CPUThrottlingHigh",
                    s,
                    s + timedelta(minutes=r.randrange(10, 50)),
                    {"pod": _pod("search-indexer", r), "container": "indexer"},
                    r,
                )
            )
        if at(day).weekday() == 6:  # the weekly seller report query
            s = at(day, 3, r.randrange(0, 15))
            out.append(_firing("catalog-db", "PostgresLongRunningQueries", s, s + timedelta(minutes=r.randrange(25, 50)), {}, r))
    out.append(_firing("cdn", "CertificateExpiringSoon", at(38, 6), at(50, 14, 22), {"instance": "www.larkspur.example:443"}, r))
    for day in (12, 33, 47):
        s = at(day, 11, r.randrange(60))
        out.append(_firing("email-sender", "EmailBounceRateHigh", s, s + timedelta(minutes=r.randrange(40, 120)), {}, r))
    return out


def decoy_firings() -> list[Firing]:
    """Unrelated alerts that happen to fire near some incidents."""
    out = []
    for s in all_scenarios():
        r = rng("decoy-alert", s.key)
        if r.random() < 0.45:
            entity, name, extra = r.choice(_NOISE_SOURCES)
            if name == "CPUThrottlingHigh":
                extra = {"pod": _pod(entity, r), "container": "indexer"}
            begins = symptom_at(s) + timedelta(minutes=r.randrange(-20, 15))
            out.append(_firing(entity, name, begins, begins + timedelta(minutes=r.randrange(8, 30)), dict(extra), r))
    return out


def _alert(f: Firing, status: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": f.labels,
        "annotations": annotations_for(f.labels["alertname"], f.labels, f.value),
        "startsAt": iso(f.starts, millis=True),
        "endsAt": iso(f.ends, millis=True) if status == "resolved" else ZERO_TIME,
        "generatorURL": generator_url(f.labels["alertname"]),
        "fingerprint": f.fingerprint,
    }


def _payload(f: Firing, status: str) -> dict[str, Any]:
    alert = _alert(f, status)
    return {
        "receiver": f.receiver,
        "status": status,
        "alerts": [alert],
        "groupLabels": f.group_labels,
        "commonLabels": f.labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": ALERTMANAGER_URL,
        "version": "4",
        "groupKey": f.group_key,
        "truncatedAlerts": 0,
    }


def notifications(f: Firing) -> list[tuple[datetime, dict[str, Any]]]:
    r = rng("notify", f.fingerprint, iso(f.starts))
    out = []
    sent = f.starts + timedelta(seconds=30)
    repeat = REPEAT[ALERTS[f.labels["alertname"]].severity]
    while sent < f.ends:
        out.append((sent, _payload(f, "firing")))
        sent += repeat
    out.append((f.ends + timedelta(seconds=r.randrange(5, 300)), _payload(f, "resolved")))
    return out


def write_alerts(w: Writer, firings: list[Firing]) -> None:
    by_month: dict[str, list[tuple[datetime, str, dict[str, Any]]]] = {}
    for f in firings:
        for when, payload in notifications(f):
            by_month.setdefault(when.strftime("%Y-%m"), []).append((when, f.fingerprint, payload))
    for month, rows in sorted(by_month.items()):
        rows.sort(key=lambda row: (row[0], row[1]))
        w.text(f"alerts/alertmanager-{month}.jsonl", dump_jsonl([payload for _, _, payload in rows]))
