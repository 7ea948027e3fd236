"""Walking a reader's result for redaction: collect its strings, rebuild what changed.

Only text that redaction may change is visited: node names and properties,
edge and hinted-edge properties, document titles, headings, section texts and
front matter, and error messages. Ids, edge keys and entity hints are natural
keys and never change. A rewrite that changes nothing returns the very same
objects, so an untouched result costs no copies::

    >>> rewrite_value({"dsn": "x", "n": [1, 2]}, None, lambda key, text: text.upper())
    {'dsn': 'X', 'n': [1, 2]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from graph.model import Edge, Node
from ingest.records import Document, HintedEdge, ReadResult, RecordError, Section

#: ``rewrite(key, text)``: the new text of a string found under ``key`` (``None`` outside a mapping)
Rewrite = Callable[[str | None, str], str]
T = TypeVar("T")


def rewrite_value(value: T, key: str | None, rewrite: Rewrite) -> T:
    """Apply ``rewrite`` to every string in JSON-like data; a dict key is the context of its values."""
    result: Any = value
    if isinstance(value, str):
        result = rewrite(key, value)
    elif isinstance(value, Mapping):
        items = {k: rewrite_value(v, k if isinstance(k, str) else key, rewrite) for k, v in value.items()}
        if any(items[k] is not v for k, v in value.items()):
            result = type(value)(items) if isinstance(value, dict) else items
    elif isinstance(value, list | tuple):
        walked = [rewrite_value(item, key, rewrite) for item in value]
        if any(a is not b for a, b in zip(walked, value, strict=True)):
            result = type(value)(walked)
    return result  # type: ignore[no-any-return]


def rewrite_result(result: ReadResult, rewrite: Rewrite) -> ReadResult:
    """A new result whose records hold the rewritten strings (unchanged records are kept as they are)."""
    return ReadResult(
        nodes=[_node(node, rewrite) for node in result.nodes],
        edges=[_props_of(edge, rewrite) for edge in result.edges],
        hinted=[_props_of(edge, rewrite) for edge in result.hinted],
        documents=[_document(doc, rewrite) for doc in result.documents],
        errors=[_error(error, rewrite) for error in result.errors],
    )


def result_strings(result: ReadResult, secret_key: Callable[[str], bool]) -> tuple[list[str], list[tuple[str, str]]]:
    """Every string :func:`rewrite_result` would pass to its rewrite (in no particular order), and
    ``(property name, value)`` for the string properties whose name ``secret_key`` accepts."""
    out: list[str] = []
    keyed: list[tuple[str, str]] = []
    for node in result.nodes:
        if node.name is not None:
            out.append(node.name)
        _collect_props(node.props, out, keyed, secret_key)
    for edge in result.edges:
        if edge.props:  # most edges carry none
            _collect_props(edge.props, out, keyed, secret_key)
    for hinted in result.hinted:
        if hinted.props:
            _collect_props(hinted.props, out, keyed, secret_key)
    for doc in result.documents:
        out.append(doc.title)
        _collect_props(doc.front_matter, out, keyed, secret_key)
        for section in doc.sections:
            out += section.heading_path
            out.append(section.text)
    out += (error.message for error in result.errors)
    return out, keyed


def _collect_props(
    props: Mapping[str, Any], out: list[str], keyed: list[tuple[str, str]], secret_key: Callable[[str], bool]
) -> None:
    for key, value in props.items():
        if isinstance(value, str):
            out.append(value)
            if secret_key(key):
                keyed.append((key, value))
        elif isinstance(value, list | tuple | Mapping):
            strings: list[str] = []
            _collect(value, strings)
            out += strings
            if strings and secret_key(key):
                keyed += ((key, item) for item in strings)


def _collect(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, out)


def _node(node: Node, rewrite: Rewrite) -> Node:
    name = None if node.name is None else rewrite(None, node.name)
    props = rewrite_value(node.props, None, rewrite)
    return node if name is node.name and props is node.props else replace(node, name=name, props=props)


E = TypeVar("E", Edge, HintedEdge)


def _props_of(edge: E, rewrite: Rewrite) -> E:
    props = rewrite_value(edge.props, None, rewrite)
    return edge if props is edge.props else replace(edge, props=props)


def _document(doc: Document, rewrite: Rewrite) -> Document:
    title = rewrite(None, doc.title)
    sections = tuple(_section(section, rewrite) for section in doc.sections)
    front_matter = rewrite_value(doc.front_matter, None, rewrite)
    same_sections = all(a is b for a, b in zip(sections, doc.sections, strict=True))
    if title is doc.title and front_matter is doc.front_matter and same_sections:
        return doc
    return replace(doc, title=title, sections=sections, front_matter=front_matter)


def _section(section: Section, rewrite: Rewrite) -> Section:
    heading_path = rewrite_value(section.heading_path, None, rewrite)
    text = rewrite(None, section.text)
    if heading_path is section.heading_path and text is section.text:
        return section
    return replace(section, heading_path=heading_path, text=text)


def _error(error: RecordError, rewrite: Rewrite) -> RecordError:
    message = rewrite(None, error.message)
    return error if message is error.message else replace(error, message=message)
