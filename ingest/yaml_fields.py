"""Typed access to fields of parsed YAML documents, with errors that name the field.

Shared by the readers of YAML formats (Backstage catalogs, Kubernetes manifests).
"""

from __future__ import annotations

from typing import Any

from graph.errors import FormatError
from ingest.common import load_yaml_documents
from ingest.records import SourceFile


def type_name(value: object) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def read_yaml_documents(file: SourceFile) -> list[tuple[int, Any]]:
    """(first line, document) for each document; malformed or empty input raises ``FormatError``."""
    text = file.text()
    if not text.strip():
        raise FormatError(f"{file.path}: the file is empty (expected YAML documents)")
    try:
        documents = load_yaml_documents(text, file.path)
    except (ValueError, OverflowError, RecursionError) as exc:  # raised by PyYAML's constructors (dates, nesting)
        raise FormatError(f"{file.path}: invalid YAML ({str(exc)[:200]})") from None
    if all(doc is None for _, doc in documents):
        raise FormatError(f"{file.path}: no YAML documents, only comments or blank documents")
    return documents


def string_field(mapping: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """``mapping[key]`` as a string; ``where`` is the field's parent path, e.g. ``metadata.``."""
    value = mapping.get(key)
    if value is None or value == "":
        if required:
            raise FormatError(f"{where}{key}: missing (required)")
        return None
    if not isinstance(value, str):
        raise FormatError(f"{where}{key}: expected a string, got {type_name(value)}")
    return value


def mapping_field(mapping: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict[str, Any]:
    value = mapping.get(key)
    if value is None:
        if required:
            raise FormatError(f"{where}{key}: missing (required)")
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{where}{key}: expected a mapping, got {type_name(value)}")
    return value


def list_field(mapping: dict[str, Any], key: str, where: str, item: type = str) -> list[Any]:
    """``mapping[key]`` as a list whose items are all of type ``item``."""
    value = mapping.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, item) for entry in value):
        what: dict[type, str] = {str: "strings", dict: "mappings"}
        raise FormatError(f"{where}{key}: expected a list of {what.get(item, 'values')}, got {type_name(value)}")
    return value


# --- entities -------------------------------------------------------------------
