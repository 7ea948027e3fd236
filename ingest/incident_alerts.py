"""The Alertmanager alerts behind an incident, found in what PagerDuty and postmortems say about them.

An alert is identified the way the Alertmanager reader identifies it
(:mod:`ingest.alertmanager`): ``alert:<fingerprint>``, the fingerprint
Alertmanager sent or, given only the label set, the one it would compute.
Fingerprints are read from

* text: ``fingerprint=3587100727a3f0a3``, ``fingerprint: `3587...```, and the
  ``Labels:`` blocks of Alertmanager's default PagerDuty details
  (``pagerduty.default.instances``: `` - alertname = PaymentsErrorRate``);
* objects: a ``fingerprint`` field, or a ``labels`` object of strings
  (an incident's ``alerts`` and their ``body.details``)::

    >>> alert_fingerprints("PaymentsErrorRate fingerprint=3587100727a3f0a3")
    ['3587100727a3f0a3']
    >>> triggered_edges("incident:P1", ["3587100727a3f0a3"], prov)[0].src   # doctest: +SKIP
    'alert:3587100727a3f0a3'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from graph.model import Edge, Provenance
from graph.schema import NodeLabel, RelType, node_id
from ingest.alertmanager import fingerprint

_FINGERPRINT = re.compile(r"\bfingerprint\b[\s=:\"'`]*(?P<fp>[0-9a-f]{16})\b", re.IGNORECASE)
_LABELS_BLOCK = re.compile(r"^Labels:\s*\n(?P<pairs>(?:[ \t]*-[ \t]*\S+[ \t]*=[ \t]*.*\n?)+)", re.MULTILINE)
_PAIR = re.compile(r"^[ \t]*-[ \t]*(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(?P<value>.*?)[ \t]*$", re.MULTILINE)
_MAX_DEPTH = 8


def _from_text(text: str) -> Iterator[str]:
    found: list[tuple[int, str]] = [(m.start(), m["fp"]) for m in _FINGERPRINT.finditer(text)]
    for block in _LABELS_BLOCK.finditer(text):
        labels = {m["name"]: m["value"] for m in _PAIR.finditer(block["pairs"])}
        if labels:
            found.append((block.start(), fingerprint(labels)))
    yield from (fp for _, fp in sorted(found))


def _walk(value: object, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield from _from_text(value)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        own = value.get("fingerprint")
        labels = value.get("labels")
        if isinstance(own, str) and re.fullmatch(r"[0-9a-fA-F]{16}", own):
            yield own
        elif isinstance(labels, dict) and labels and all(isinstance(v, str) for v in labels.values()):
            yield fingerprint({str(k): v for k, v in labels.items()})
        for key, item in value.items():
            if key not in ("fingerprint", "labels"):
                yield from _walk(item, depth + 1)


def alert_fingerprints(*values: object) -> list[str]:
    """The Alertmanager fingerprints ``values`` name (text, objects, lists), first mention first, each once."""
    return list(dict.fromkeys(fp for value in values for fp in _walk(value, 0)))


def triggered_edges(incident: str, fingerprints: Sequence[str], prov: Provenance) -> list[Edge]:
    """``(alert:<fingerprint>)-[:TRIGGERED {order}]->(incident)``; ``order`` 0 is the alert named first."""
    return [Edge(RelType.TRIGGERED, node_id(NodeLabel.ALERT, fp), incident, prov, props={"order": order})
            for order, fp in enumerate(fingerprints)]
