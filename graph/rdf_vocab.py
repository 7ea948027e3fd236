"""The Vidya RDF vocabulary, its IRI schemes and its literal codecs.

Every class and relationship property is generated from :mod:`graph.schema`;
nothing here lists a label or a relationship type by hand::

    >>> CLASS[NodeLabel.SERVICE]
    rdflib.term.URIRef('https://vidya.dev/ns#Service')
    >>> node_iri("service:default/checkout")
    rdflib.term.URIRef('https://vidya.dev/id/service:default%2Fcheckout')

Identifiers are percent-encoded (only ``:`` is kept as is), so any id, key,
run or source name round-trips exactly through its IRI. ``docs/rdf.md``
documents the mapping; its tables come from :func:`vocabulary_markdown`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote, unquote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection as RdfList
from rdflib.namespace import OWL, PROV, RDF, RDFS, XSD
from rdflib.term import Node as RdfNode

from graph.errors import FormatError
from graph.model import Props, Scalar, utc
from graph.schema import LABELS, RELS, NodeLabel, RelType

VIDYA = Namespace("https://vidya.dev/ns#")
PROP = Namespace("https://vidya.dev/prop/")
NODE_BASE = "https://vidya.dev/id/"
EDGE_BASE = "https://vidya.dev/edge/"
RUN_BASE = "https://vidya.dev/run/"
SOURCE_BASE = "https://vidya.dev/source/"

#: prefixes bound in Turtle output and used as the inline JSON-LD context
PREFIXES: dict[str, str] = {
    "vidya": str(VIDYA),
    "vprop": str(PROP),
    "vnode": NODE_BASE,
    "vedge": EDGE_BASE,
    "vrun": RUN_BASE,
    "vsource": SOURCE_BASE,
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}

CLASS: dict[NodeLabel, URIRef] = {label: VIDYA[str(label)] for label in LABELS}
LABEL_OF_CLASS: dict[URIRef, NodeLabel] = {iri: label for label, iri in CLASS.items()}
PROPERTY: dict[RelType, URIRef] = {rel: VIDYA[str(rel)] for rel in RELS}
REL_OF_PROPERTY: dict[URIRef, RelType] = {iri: rel for rel, iri in PROPERTY.items()}

RELATIONSHIP = VIDYA["Relationship"]
NAME = VIDYA["name"]
AT = VIDYA["at"]
VALID_FROM = VIDYA["validFrom"]
VALID_TO = VIDYA["validTo"]
PLACEHOLDER = VIDYA["placeholder"]
KEY = VIDYA["key"]
SOURCE_LOCATION = VIDYA["sourceLocation"]
SUBJECT = VIDYA["subject"]
PREDICATE = VIDYA["predicate"]
OBJECT = VIDYA["object"]
ID_PREFIX = VIDYA["idPrefix"]
FUNCTIONAL = VIDYA["functional"]

#: the core terms: (term, range, comment); classes and relationship properties come from the schema
CORE_TERMS: tuple[tuple[URIRef, URIRef, str], ...] = (
    (RELATIONSHIP, RDFS.Class, "One edge as a resource: its endpoints, type, key, validity, props and provenance."),
    (NAME, XSD.string, "The display name of a node."),
    (AT, XSD.dateTime, "When an event happened (event labels)."),
    (VALID_FROM, XSD.dateTime, "Start of the interval in which the node or edge held in the world."),
    (VALID_TO, XSD.dateTime, "End (exclusive) of that interval."),
    (PLACEHOLDER, XSD.boolean, "True for a node known only because an edge points at it."),
    (KEY, XSD.string, "Tells apart several edges of one type between the same two nodes."),
    (SOURCE_LOCATION, XSD.string, "Where in its source a record was read (line, path, pointer)."),
    (SUBJECT, RDFS.Resource, "The source node of a vidya:Relationship."),
    (PREDICATE, RDF.Property, "The relationship property of a vidya:Relationship."),
    (OBJECT, RDFS.Resource, "The target node of a vidya:Relationship."),
    (ID_PREFIX, XSD.string, "The id prefix of a class's nodes (vocabulary only)."),
    (FUNCTIONAL, XSD.boolean, "A source has at most one current edge of this type (vocabulary only)."),
)
#: core predicates a record may carry (vocabulary-only annotations excluded)
RECORD_PREDICATES = frozenset(
    term for term, _, _ in CORE_TERMS if term not in {RELATIONSHIP, ID_PREFIX, FUNCTIONAL}
)
KNOWN_TERMS = frozenset({*CLASS.values(), *PROPERTY.values(), *(term for term, _, _ in CORE_TERMS)})
#: labels that are PROV agents; records owned or authored by them are attributed to them
AGENT_LABELS = frozenset({NodeLabel.TEAM, NodeLabel.PERSON})
ATTRIBUTION_RELS = frozenset({RelType.OWNED_BY, RelType.AUTHORED_BY})


# IRI schemes ------------------------------------------------------------------------
def _iri(base: str, value: str) -> URIRef:
    return URIRef(base + quote(value, safe=":"))


def node_iri(id_: str) -> URIRef:
    return _iri(NODE_BASE, id_)


def edge_iri(edge_id: str) -> URIRef:
    return _iri(EDGE_BASE, edge_id)


def run_iri(run_id: str) -> URIRef:
    return _iri(RUN_BASE, run_id)


def source_iri(source: str) -> URIRef:
    return _iri(SOURCE_BASE, source)


def prop_iri(key: str) -> URIRef:
    return _iri(str(PROP), key)


def decode_iri(term: object, base: str, where: str) -> str:
    """The value an IRI of the ``base`` scheme encodes; :class:`FormatError` naming ``where`` otherwise."""
    if not isinstance(term, URIRef) or not term.startswith(base) or len(term) == len(base):
        raise FormatError(f"{where}: expected an IRI <{base}...>, got {describe(term)}")
    try:
        return unquote(term[len(base) :], errors="strict")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{where}: {describe(term)} does not decode as UTF-8 ({exc.reason})") from None


def short(iri: str) -> str:
    """``vidya:name`` for a known namespace, ``<iri>`` otherwise (for messages)."""
    for prefix, base in PREFIXES.items():
        if iri.startswith(base) and len(iri) > len(base):
            return f"{prefix}:{iri[len(base):]}"
    return f"<{iri}>"


def describe(term: object) -> str:
    if isinstance(term, Literal):
        kind = short(term.datatype) if term.datatype else ("@" + term.language if term.language else "xsd:string")
        return f"{str(term)[:80]!r} ({kind})"
    if isinstance(term, URIRef):
        return short(term)
    return f"blank node _:{term}" if isinstance(term, BNode) else repr(term)


# literals ------------------------------------------------------------------------------
_INTEGER = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATETIME = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_BOOLEAN = {"true": True, "1": True, "false": False, "0": False}


def datetime_literal(value: datetime) -> Literal:
    return Literal(utc(value).isoformat(), datatype=XSD.dateTime)


def scalar_literal(value: Scalar) -> Literal:
    """A typed literal that keeps ``1``, ``1.0`` and ``True`` apart (doubles keep every digit)."""
    if isinstance(value, bool):
        return Literal("true" if value else "false", datatype=XSD.boolean)
    if isinstance(value, int):
        return Literal(str(value), datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(repr(value), datatype=XSD.double)
    return Literal(value)


def _literal(term: object, where: str, expected: str) -> Literal:
    if not isinstance(term, Literal):
        raise FormatError(f"{where}: expected a literal ({expected}), got {describe(term)}")
    return term


def parse_scalar(term: object, where: str) -> Scalar:
    """The Python value of an xsd:string, xsd:integer, xsd:double or xsd:boolean literal."""
    expected = "xsd:string, xsd:integer, xsd:double or xsd:boolean"
    lit = _literal(term, where, expected)
    text, datatype = str(lit), lit.datatype
    if datatype in (None, XSD.string) and not lit.language:
        return text
    if datatype == XSD.boolean and text in _BOOLEAN:
        return _BOOLEAN[text]
    if datatype == XSD.integer and _INTEGER.fullmatch(text):
        return int(text)
    if datatype == XSD.double and _DOUBLE.fullmatch(text):
        return float(text)
    raise FormatError(f"{where}: expected {expected}, got {describe(lit)}")


def parse_string(term: object, where: str) -> str:
    value = parse_scalar(term, where)
    if not isinstance(value, str):
        raise FormatError(f"{where}: expected an xsd:string literal, got {describe(term)}")
    return value


def parse_boolean(term: object, where: str) -> bool:
    lit = _literal(term, where, "xsd:boolean")
    if lit.datatype != XSD.boolean or str(lit) not in _BOOLEAN:
        raise FormatError(f"{where}: expected an xsd:boolean literal, got {describe(lit)}")
    return _BOOLEAN[str(lit)]


def parse_datetime(term: object, where: str) -> datetime:
    """An xsd:dateTime with a time zone, as a UTC datetime."""
    lit = _literal(term, where, "xsd:dateTime")
    text = str(lit)
    if lit.datatype != XSD.dateTime or not _DATETIME.fullmatch(text):
        raise FormatError(f"{where}: expected an xsd:dateTime literal, got {describe(lit)}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FormatError(f"{where}: {text!r} is not a valid xsd:dateTime ({exc})") from None
    if value.tzinfo is None:
        raise FormatError(f"{where}: {text!r} has no time zone (write Z or an offset)")
    return utc(value, where)


# record fields <-> triples ---------------------------------------------------------------
def add_times(graph: Graph, iri: URIRef, times: Iterable[tuple[URIRef, datetime | None]]) -> None:
    for predicate, value in times:
        if value is not None:
            graph.add((iri, predicate, datetime_literal(value)))


def add_props(graph: Graph, iri: URIRef, props: Props) -> None:
    for key, value in props.items():
        if isinstance(value, list):
            head: RdfNode = RDF.nil
            if value:
                head = BNode()
                RdfList(graph, head, [scalar_literal(item) for item in value])
            graph.add((iri, prop_iri(key), head))
        else:
            graph.add((iri, prop_iri(key), scalar_literal(value)))


def within(term: RdfNode, base: str) -> bool:
    return isinstance(term, URIRef) and term.startswith(base)


def one(graph: Graph, s: RdfNode, p: URIRef, *, required: bool = False) -> RdfNode | None:
    values = list(graph.objects(s, p))
    if len(values) > 1:
        raise FormatError(f"{describe(s)}: {short(p)} has {len(values)} values, expected one")
    if not values and required:
        raise FormatError(f"{describe(s)}: missing {short(p)}")
    return values[0] if values else None


def read_time(graph: Graph, s: RdfNode, p: URIRef) -> datetime | None:
    value = one(graph, s, p)
    return None if value is None else parse_datetime(value, f"{describe(s)} {short(p)}")


def read_props(graph: Graph, s: RdfNode) -> dict[str, object]:
    props: dict[str, object] = {}
    for p, o in graph.predicate_objects(s):
        if not within(p, PROP):
            continue
        key = decode_iri(p, str(PROP), f"{describe(s)} property")
        where = f"{describe(s)} {describe(p)}"
        if key in props:
            raise FormatError(f"{where}: more than one value (write a list as an rdf:List)")
        props[key] = read_list(graph, o, where) if isinstance(o, BNode) or o == RDF.nil else parse_scalar(o, where)
    return props


def read_list(graph: Graph, head: RdfNode, where: str) -> list[Scalar]:
    items: list[Scalar] = []
    seen: set[RdfNode] = set()
    while head != RDF.nil:
        if not isinstance(head, BNode) or head in seen:
            raise FormatError(f"{where}: not a well-formed rdf:List")
        seen.add(head)
        first = one(graph, head, RDF.first, required=True)
        items.append(parse_scalar(first, f"{where}[{len(items)}]"))
        head = one(graph, head, RDF.rest, required=True) or RDF.nil
    return items


# the vocabulary itself ------------------------------------------------------------------
def new_graph() -> Graph:
    graph = Graph(bind_namespaces="core")
    for prefix, base in PREFIXES.items():
        graph.bind(prefix, base, override=True, replace=True)
    return graph


def vocabulary() -> Graph:
    """The vocabulary as RDFS: one class per label, one property per relationship type, the core terms."""
    graph = new_graph()
    graph.add((URIRef(str(VIDYA)), RDF.type, OWL.Ontology))
    graph.add((URIRef(str(VIDYA)), RDFS.label, Literal("Vidya operations knowledge graph vocabulary")))
    for label, spec in LABELS.items():
        iri = CLASS[label]
        graph += [(iri, RDF.type, RDFS.Class), (iri, RDFS.label, Literal(str(label)))]
        graph += [(iri, RDFS.comment, Literal(spec.description)), (iri, ID_PREFIX, Literal(spec.prefix))]
        if label in AGENT_LABELS:
            graph.add((iri, RDFS.subClassOf, PROV.Agent))
    for rel, rel_spec in RELS.items():
        iri = PROPERTY[rel]
        graph += [(iri, RDF.type, RDF.Property), (iri, RDFS.label, Literal(str(rel)))]
        graph += [(iri, RDFS.comment, Literal(rel_spec.description))]
        graph.add((iri, FUNCTIONAL, scalar_literal(rel_spec.functional)))
    for term, range_, comment in CORE_TERMS:
        kind = RDFS.Class if term == RELATIONSHIP else RDF.Property
        graph += [(term, RDF.type, kind), (term, RDFS.label, Literal(term[len(VIDYA) :]))]
        graph.add((term, RDFS.comment, Literal(comment)))
        if kind == RDF.Property:
            graph.add((term, RDFS.range, range_))
    for ours, theirs in ((SUBJECT, RDF.subject), (PREDICATE, RDF.predicate), (OBJECT, RDF.object)):
        graph.add((ours, RDFS.subPropertyOf, theirs))
    return graph


def vocabulary_markdown() -> str:
    """The class and property tables of ``docs/rdf.md`` (regenerate them when the schema changes)."""
    lines = ["| class | id prefix | description |", "|---|---|---|"]
    lines += [f"| `vidya:{label}` | `{spec.prefix}:` | {spec.description} |" for label, spec in LABELS.items()]
    lines += ["", "| property | functional | description |", "|---|---|---|"]
    lines += [
        f"| `vidya:{rel}` | {'yes' if spec.functional else ''} | {spec.description} |" for rel, spec in RELS.items()
    ]
    return "\n".join(lines) + "\n"
