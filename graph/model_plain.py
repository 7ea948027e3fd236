"""The fast checks of the record types: plain values that need no closer look.

Most records a reader builds hold ASCII ids with a known prefix, ASCII text,
64-bit integers, finite floats and times already in UTC. These checks accept
exactly such values and give up (``None`` / ``False``) on anything else, which
then goes through :mod:`graph.model`'s full checks: they decide, convert and
name the problem, so a record is refused or normalised exactly as before::

    plain_props({"replicas": 3, "tier": "gold"}, frozenset())   # {'replicas': 3, 'tier': 'gold'}
    plain_props({"name": "caf\u00e9"}, frozenset())               # None: the full check decides
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

from graph.schema import LABELS, MAX_ID_LENGTH, NodeLabel

#: the range of integers a store keeps
INT64 = (-(2**63), 2**63 - 1)
Scalar = str | int | float | bool
PropValue = Scalar | list[str] | list[int] | list[float] | list[bool]
Props = dict[str, PropValue]


def plain_props(props: Mapping[str, object], reserved: frozenset[str]) -> Props | None:
    """:func:`clean_props` for the common case (ASCII strings, 64-bit ints, booleans, finite floats, None).

    ``None`` when any name or value needs the full check, which then decides (and names the problem).
    """
    out: Props = {}
    for key, value in props.items():
        if key.__class__ is not str or not key or key in reserved:
            return None
        if value is None:
            continue
        kind = value.__class__
        if kind is list or kind is tuple:
            if not plain_list(value):  # type: ignore[arg-type]
                return None
            value = list(value)  # type: ignore[call-overload]
        elif not plain_scalar(value):
            return None
        out[key] = value  # type: ignore[assignment]
    return out


def plain_list(items: list[object] | tuple[object, ...]) -> bool:
    """Whether a list value passes the property checks without looking closer (one plain item type)."""
    first: type | None = None
    for item in items:
        kind = item.__class__
        if first is None:
            first = kind
        elif kind is not first:
            return False
        if not plain_scalar(item):
            return False
    return True


def plain_scalar(value: object) -> bool:
    """Whether a value is an ASCII string, a 64-bit int, a boolean or a finite float."""
    kind = value.__class__
    if kind is str:
        return value.isascii()  # type: ignore[attr-defined, no-any-return]
    if kind is int:
        return INT64[0] <= value <= INT64[1]  # type: ignore[operator]
    return kind is bool or (kind is float and math.isfinite(value))  # type: ignore[arg-type]


#: the label of each id prefix, for the fast id checks (anything unusual goes through graph.schema's)
PREFIX_LABELS: dict[str, NodeLabel] = {spec.prefix: label for label, spec in LABELS.items()}


def plain_id_label(id_: str) -> NodeLabel | None:
    """The label of a short ASCII id with a known prefix and a key, else ``None`` (check it fully)."""
    if id_.__class__ is not str:
        return None
    prefix, _, rest = id_.partition(":")
    if not rest or len(id_) > MAX_ID_LENGTH or not id_.isascii():
        return None
    return PREFIX_LABELS.get(prefix)


def all_utc(*times: datetime | None) -> bool:
    """Whether every time given is ``None`` or already in UTC (nothing to convert or refuse)."""
    for value in times:  # noqa: SIM110  (a loop: all() over a generator costs more on this hot path)
        if value is not None and value.tzinfo is not UTC:
            return False
    return True
