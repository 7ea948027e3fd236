"""Parsing helpers every reader shares: times, JSON, JSON Lines and YAML with positions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import yaml

from graph.errors import FormatError


def parse_time(value: object, where: str) -> datetime:
    """An RFC 3339 / ISO 8601 time with a zone (``Z`` accepted), normalised to UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise FormatError(f"{where}: {value!r} is not an RFC 3339 time") from None
    else:
        raise FormatError(f"{where}: expected an RFC 3339 time, got {value!r}")
    if parsed.tzinfo is None:
        raise FormatError(f"{where}: {value!r} has no time zone (expected e.g. 2026-03-01T12:00:00Z)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise FormatError(f"{where}: {value!r} is out of range") from None


def optional_time(value: object, where: str) -> datetime | None:
    if value in (None, "", "0001-01-01T00:00:00Z"):  # Alertmanager's zero time means "unset"
        return None
    return parse_time(value, where)


def load_json(text: str, path: str) -> Any:
    """Parse a JSON document; a syntax error names the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    except (RecursionError, ValueError) as exc:  # absurd nesting, or integers too long to convert
        raise FormatError(f"{path}: unreadable JSON ({type(exc).__name__}: {str(exc)[:80]})") from None


def iter_json_lines(text: str, path: str) -> Iterator[tuple[int, Any | FormatError]]:
    """(line number, value) per non-blank line; a bad line yields its error instead of stopping."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, FormatError(f"{path}: line {number} column {exc.colno}: invalid JSON ({exc.msg})")
        except (RecursionError, ValueError) as exc:
            yield number, FormatError(f"{path}: line {number}: unreadable JSON ({type(exc).__name__})")


def looks_like_json_lines(text: str) -> bool:
    """More than one line, each a JSON object on its own."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines[:5])


#: libyaml's parser (about 10x faster), when PyYAML was built with it
_FAST_LOADER: type[Any] | None = getattr(yaml, "CSafeLoader", None)
#: where libyaml accepts what PyYAML's own parser refuses (tabs as separators, ``? `` inside flow collections)
_FAST_UNSAFE = ("\t", "? ", "?\n", "?\r")


def _yaml_documents(text: str, loader_class: type[Any]) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    loader = loader_class(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            out.append((node.start_mark.line + 1, loader.construct_document(node)))
    finally:
        loader.dispose()
    return out


def _fast_yaml_documents(text: str) -> list[tuple[int, Any]] | None:
    """The documents parsed by libyaml, or ``None`` when PyYAML's parser must decide (it names errors alike)."""
    if _FAST_LOADER is None or any(mark in text for mark in _FAST_UNSAFE):
        return None
    try:
        return _yaml_documents(text, _FAST_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError, OverflowError):
        return None


def load_yaml_documents(text: str, path: str) -> list[tuple[int, Any]]:
    """(first line, document) for each document of a multi-document YAML stream.

    Well-formed input is parsed by libyaml when available; anything it refuses
    is parsed again by PyYAML's own parser, so errors read the same either way.
    """
    fast = _fast_yaml_documents(text)
    if fast is not None:
        return fast
    try:
        out = _yaml_documents(text, yaml.SafeLoader)
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. a date like 2024-13-45
        raise FormatError(f"{path}: invalid YAML ({str(exc)[:200]})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(f"{path}: {where}invalid YAML ({problem})") from None
    return out


def require(mapping: Any, key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    """``mapping[key]`` if it exists and has the expected type, else a ``FormatError`` naming the field."""
    if not isinstance(mapping, dict):
        raise FormatError(f"{where}: expected an object, got {type(mapping).__name__}")
    if key not in mapping or mapping[key] in (None, ""):
        raise FormatError(f"{where}: missing required field {key!r}")
    value = mapping[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise FormatError(f"{where}.{key}: expected {expected}, got {type(value).__name__}")
    return value
