"""What a change did and how big it was: a deploy's semantic-version step, a config or flag change's magnitude.

    >>> semver_step("1.32.0", "1.33.0")
    'minor'
    >>> change_magnitude(300, 5), change_magnitude(10, 100), change_magnitude(False, True)
    (1.0, 1.0, 1.0)
    >>> change_magnitude(10, 100, percentage=True), round(change_magnitude(400, 200), 2)
    (0.9, 0.3)
"""

from __future__ import annotations

import json
import math
import re

from graph.model import Node
from graph.schema import NodeLabel

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
#: a magnitude for changes whose size cannot be read (a string value, a migration script)
DEFAULT_MAGNITUDE = 0.5
#: numeric changes by this factor or more are as big as changes get
FULL_SCALE_FACTOR = 10.0


def semver_step(old: str | None, new: str | None) -> str:
    """``major``, ``minor``, ``patch``, ``same`` or ``unknown`` (a version that is not semantic)."""
    a, b = _SEMVER.match(old or ""), _SEMVER.match(new or "")
    if not a or not b:
        return "unknown"
    old_v, new_v = tuple(int(x) for x in a.groups()), tuple(int(x) for x in b.groups())
    if old_v == new_v:
        return "same"
    return "major" if old_v[0] != new_v[0] else "minor" if old_v[1] != new_v[1] else "patch"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return None


def change_magnitude(old: object, new: object, *, percentage: bool = False) -> float:
    """0 (nothing changed) to 1 (as big as it gets) for one key's old and new value.

    Booleans flipped count fully; rollout percentages by the share of traffic
    moved; other numbers by their ratio on a log scale (x10 is full scale).
    """
    if old == new:
        return 0.0
    if isinstance(old, bool) or isinstance(new, bool):
        return 1.0
    a, b = _number(old), _number(new)
    if a is None or b is None:
        return DEFAULT_MAGNITUDE
    if percentage and 0 <= a <= 100 and 0 <= b <= 100:
        return abs(b - a) / 100
    return _ratio(a, b)


def _ratio(a: float, b: float) -> float:
    if a <= 0 or b <= 0:
        return 1.0
    factor = max(a, b) / min(a, b)
    return min(1.0, math.log(factor) / math.log(FULL_SCALE_FACTOR))


def change_size(node: Node) -> tuple[float, str]:
    """The magnitude of a config, flag or migration change (the largest over its keys) and a note."""
    changes = _changes(node)
    percentage = node.label is NodeLabel.FLAG_CHANGE
    best, note = -1.0, ""
    for item in changes:
        if "old" not in item or "new" not in item:
            continue
        magnitude = change_magnitude(item["old"], item["new"], percentage=percentage)
        if magnitude > best:
            best, note = magnitude, f"{item.get('key', '?')}: {item['old']} -> {item['new']}"
    return (best, note) if best >= 0 else (DEFAULT_MAGNITUDE, "size unknown")


def _changes(node: Node) -> list[dict[str, object]]:
    raw = node.props.get("changes_json")
    try:
        changes = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    return [c for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []


def describe_change(node: Node, entity_name: str) -> str:
    """A short human name: ``pricing cache.ttl_seconds 300 -> 5``, ``catalog-db V209__backfill.sql``."""
    if node.label is NodeLabel.DEPLOYMENT:
        return node.name or node.id
    if node.label is NodeLabel.MIGRATION:
        script = node.props.get("script") or node.props.get("migration_version") or node.name
        return f"{entity_name} migration {script}"
    changes = [c for c in _changes(node) if "old" in c and "new" in c]
    if changes:
        shown = ", ".join(f"{c.get('key', '?')} {_value(c['old'])} -> {_value(c['new'])}" for c in changes[:2])
        more = f" (+{len(changes) - 2} more)" if len(changes) > 2 else ""
        return f"{entity_name} {shown}{more}"
    what = node.props.get("flag") or node.props.get("config") or node.name or node.id
    return f"{entity_name} {what}"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
