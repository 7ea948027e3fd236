"""RDF interop: export the graph as Turtle or JSON-LD and import it back, provenance as W3C PROV-O.

A node becomes a resource typed with its label's class; an edge becomes both a
direct triple (``<src> vidya:DEPENDS_ON <dst>``, for readability) and a
``vidya:Relationship`` resource that carries its key, validity, properties and
provenance. ``docs/rdf.md`` documents the vocabulary and the IRI schemes::

    text = export_graph(store, "turtle", node_ids=["service:default/checkout"], depth=2)
    stats = import_graph(other_store, text, format_for_path(Path("estate.ttl")))

Export, import into an empty store and export again gives an isomorphic graph,
and the imported records equal the exported ones.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime
from io import BytesIO
from itertools import pairwise
from pathlib import Path
from typing import Literal, cast, get_args

from rdflib import Graph, URIRef
from rdflib.namespace import PROV, RDF, RDFS, XSD
from rdflib.plugins.parsers.jsonld import to_rdf as jsonld_to_rdf
from rdflib.plugins.serializers.turtle import TurtleSerializer
from rdflib.term import Literal as RdfLiteral
from rdflib.term import Node as RdfNode

from graph.errors import FormatError, NotFound, RecordError, SchemaError
from graph.model import Edge, Node, Props, Provenance, WriteStats
from graph.rdf_vocab import (
    AGENT_LABELS,
    AT,
    ATTRIBUTION_RELS,
    CLASS,
    KEY,
    KNOWN_TERMS,
    LABEL_OF_CLASS,
    NAME,
    NODE_BASE,
    OBJECT,
    PLACEHOLDER,
    PREDICATE,
    PREFIXES,
    PROP,
    PROPERTY,
    RECORD_PREDICATES,
    REL_OF_PROPERTY,
    RELATIONSHIP,
    RUN_BASE,
    SOURCE_BASE,
    SOURCE_LOCATION,
    SUBJECT,
    VALID_FROM,
    VALID_TO,
    VIDYA,
    add_props,
    add_times,
    datetime_literal,
    decode_iri,
    describe,
    edge_iri,
    new_graph,
    node_iri,
    one,
    parse_boolean,
    parse_datetime,
    parse_string,
    read_props,
    read_time,
    run_iri,
    scalar_literal,
    short,
    source_iri,
    within,
)
from graph.schema import label_of
from graph.store import GraphStore

RdfFormat = Literal["turtle", "jsonld"]
FORMATS: tuple[RdfFormat, ...] = get_args(RdfFormat)
SUFFIXES: dict[str, RdfFormat] = {".ttl": "turtle", ".turtle": "turtle", ".jsonld": "jsonld", ".json": "jsonld"}


def format_for_path(path: str | Path) -> RdfFormat:
    """The RDF format a file name implies: ``format_for_path("estate.ttl") == "turtle"``."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        accepted = ", ".join(SUFFIXES)
        raise FormatError(f"{path}: cannot tell the RDF format from suffix {suffix or '(none)'!r}; accepted: {accepted}")
    return SUFFIXES[suffix]


def _check_format(fmt: str) -> RdfFormat:
    for known in FORMATS:
        if fmt == known:
            return known
    raise FormatError(f"RDF format {fmt!r}: expected one of {', '.join(FORMATS)}")


# export --------------------------------------------------------------------------------
def export_graph(
    store: GraphStore, fmt: RdfFormat, *, node_ids: Collection[str] | None = None, depth: int = 1
) -> str:
    """The current graph (or the ``depth``-hop subgraph around ``node_ids``) as Turtle or JSON-LD.

    >>> text = export_graph(store, "jsonld", node_ids=["service:default/checkout"])
    """
    fmt = _check_format(fmt)
    if node_ids is None:
        return serialize(to_rdf(store.iter_nodes(), store.iter_edges()), fmt)
    sub = store.subgraph(node_ids, depth=depth)
    missing = sorted(set(node_ids) - {n.id for n in sub.nodes})
    if missing:
        raise NotFound(f"export: no node with id {', '.join(repr(m) for m in missing[:10])} in {store.describe()}")
    return serialize(to_rdf(sub.nodes, sub.edges), fmt)


class _TurtleWriter(TurtleSerializer):
    """rdflib's Turtle writer, but doubles keep every digit and no ``ns1:`` prefixes are invented."""

    def label(self, node: RdfNode, position: int) -> str:
        if isinstance(node, RdfLiteral) and node.datatype == XSD.double:
            return node.n3(self.store.namespace_manager)
        return super().label(node, position)

    def get_pname(self, uri: RdfNode, gen_prefix: bool = True) -> str | None:
        return super().get_pname(uri, False)


def serialize(graph: Graph, fmt: RdfFormat) -> str:
    """Turtle, or JSON-LD with an inline ``@context`` (no remote context is ever referenced)."""
    if _check_format(fmt) == "turtle":
        stream = BytesIO()
        _TurtleWriter(graph).serialize(stream, encoding="utf-8")
        return stream.getvalue().decode("utf-8")
    document = json.loads(graph.serialize(format="json-ld", context=dict(PREFIXES)))
    return json.dumps(_exact_numbers(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _exact_numbers(value: object) -> object:
    """Doubles and big integers as typed values, as JSON numbers they would not round-trip.

    A JSON-LD processor reads the number ``1.0`` as an xsd:integer, and JavaScript loses the digits
    of integers beyond 2**53; rdflib's serializer writes native numbers whenever a context is given.
    """
    if isinstance(value, dict):
        return {k: v if k == "@context" else _exact_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact_numbers(item) for item in value]
    if isinstance(value, float):
        return {"@value": repr(value), "@type": "xsd:double"}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return {"@value": str(value), "@type": "xsd:integer"}
    return value


def to_rdf(nodes: Iterable[Node], edges: Iterable[Edge]) -> Graph:
    """The RDF graph of some records: nodes, edges (direct and reified) and their PROV-O provenance."""
    node_list, edge_list = list(nodes), list(edges)
    _check_unique([n.id for n in node_list], "node")
    _check_unique([e.id for e in edge_list], "edge")
    graph = new_graph()
    for node in node_list:
        _add_node(graph, node)
    for edge in edge_list:
        _add_edge(graph, edge)
    _add_attributions(graph, {n.id for n in node_list}, edge_list)
    _add_activities(graph, [*(n.provenance for n in node_list), *(e.provenance for e in edge_list)])
    return graph


def _check_unique(ids: list[str], kind: str) -> None:
    twice = sorted(id_ for id_, count in Counter(ids).items() if count > 1)
    if twice:
        raise RecordError(f"to_rdf: {kind} {twice[0]!r} is given twice; export one version of each record")


def _add_node(graph: Graph, node: Node) -> None:
    iri = node_iri(node.id)
    graph.add((iri, RDF.type, CLASS[node.label]))
    if node.name is not None:
        graph.add((iri, NAME, RdfLiteral(node.name)))
    add_times(graph, iri, ((AT, node.at), (VALID_FROM, node.valid_from), (VALID_TO, node.valid_to)))
    if node.placeholder:
        graph.add((iri, PLACEHOLDER, scalar_literal(True)))
    add_props(graph, iri, node.props)
    _add_provenance(graph, iri, node.provenance)


def _add_edge(graph: Graph, edge: Edge) -> None:
    src, dst, predicate = node_iri(edge.src), node_iri(edge.dst), PROPERTY[edge.type]
    iri = edge_iri(edge.id)
    graph.add((src, predicate, dst))
    graph += [(iri, RDF.type, RELATIONSHIP), (iri, SUBJECT, src), (iri, PREDICATE, predicate), (iri, OBJECT, dst)]
    if edge.key:
        graph.add((iri, KEY, RdfLiteral(edge.key)))
    add_times(graph, iri, ((VALID_FROM, edge.valid_from), (VALID_TO, edge.valid_to)))
    add_props(graph, iri, edge.props)
    _add_provenance(graph, iri, edge.provenance)


def _add_provenance(graph: Graph, iri: URIRef, prov: Provenance) -> None:
    graph.add((iri, PROV.wasGeneratedBy, run_iri(prov.run_id)))
    graph.add((iri, PROV.wasDerivedFrom, source_iri(prov.source)))
    graph.add((iri, PROV.generatedAtTime, datetime_literal(prov.ingested_at)))
    if prov.location is not None:
        graph.add((iri, SOURCE_LOCATION, RdfLiteral(prov.location)))


def _add_attributions(graph: Graph, node_ids: set[str], edges: Iterable[Edge]) -> None:
    """``prov:wasAttributedTo`` the current (open-ended) owner or author, when it is a team or person."""
    for edge in edges:
        current = edge.valid_to is None and edge.src in node_ids
        if current and edge.type in ATTRIBUTION_RELS and label_of(edge.dst) in AGENT_LABELS:
            graph.add((node_iri(edge.src), PROV.wasAttributedTo, node_iri(edge.dst)))
            graph.add((node_iri(edge.dst), RDF.type, PROV.Agent))


def _add_activities(graph: Graph, provenances: Iterable[Provenance]) -> None:
    """One ``prov:Activity`` per ingest run (started at its earliest ingest time) using its sources."""
    started: dict[str, datetime] = {}
    for prov in provenances:
        started[prov.run_id] = min(started.get(prov.run_id, prov.ingested_at), prov.ingested_at)
        run, source = run_iri(prov.run_id), source_iri(prov.source)
        graph += [(run, RDF.type, PROV.Activity), (run, RDFS.label, RdfLiteral(prov.run_id))]
        graph += [(source, RDF.type, PROV.Entity), (source, RDFS.label, RdfLiteral(prov.source))]
        graph.add((run, PROV.used, source))
    for run_id, at in started.items():
        graph.add((run_iri(run_id), PROV.startedAtTime, datetime_literal(at)))


# import --------------------------------------------------------------------------------
def import_graph(store: GraphStore, data: str | bytes, fmt: RdfFormat) -> WriteStats:
    """Parse Turtle or JSON-LD and upsert its nodes and edges in one all-or-nothing batch.

    >>> import_graph(store, Path("estate.ttl").read_bytes(), "turtle").created
    """
    nodes, edges = from_rdf(parse_rdf(data, fmt))
    with store.batch() as batch:
        batch.upsert_nodes(nodes)
        batch.upsert_edges(edges)
    return batch.stats


def parse_rdf(data: str | bytes, fmt: RdfFormat) -> Graph:
    """Parse Turtle or JSON-LD offline: a JSON-LD document referencing a remote context is refused."""
    fmt = _check_format(fmt)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise FormatError(f"{fmt} input: not UTF-8 at byte {exc.start}") from None
    graph = new_graph()
    try:
        if fmt == "turtle":
            graph.parse(data=text, format="turtle")
        else:
            document = json.loads(text)
            _refuse_remote_contexts(document, "$")
            # the plugin's own entry point: Graph.parse(format="json-ld") warns about ConjunctiveGraph in rdflib 7
            jsonld_to_rdf(document, graph)
    except FormatError:
        raise
    except Exception as exc:  # rdflib's parsers raise many types (BadSyntax, IndexError, ValueError...)
        raise FormatError(f"{fmt} input: {type(exc).__name__}: {str(exc).strip()[:500]}") from exc
    return graph


def _refuse_remote_contexts(value: object, path: str) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_remote_contexts(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in ("@context", "@import") and _names_remote(item):
                raise FormatError(f"jsonld input: {path}.{key} refers to a remote context; inline it (work is offline)")
            _refuse_remote_contexts(item, f"{path}.{key}")


def _names_remote(context: object) -> bool:
    items = context if isinstance(context, list) else [context]
    return any(isinstance(item, str) for item in items)


def from_rdf(graph: Graph) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges an RDF graph describes, by id; :class:`FormatError` names the subject at fault."""
    _check_terms(graph)
    node_subjects = _typed(graph, set(LABEL_OF_CLASS))
    edge_subjects = _typed(graph, {RELATIONSHIP})
    _check_stray_records(graph, node_subjects | edge_subjects)
    nodes = sorted((_read_node(graph, s) for s in node_subjects), key=lambda n: n.id)
    edges = sorted((_read_edge(graph, s) for s in edge_subjects), key=lambda e: e.id)
    _check_duplicates(edges)
    reified = {tuple(one(graph, s, p) for p in (SUBJECT, PREDICATE, OBJECT)) for s in edge_subjects}
    _check_direct_triples(graph, reified)
    return nodes, edges


def _check_terms(graph: Graph) -> None:
    for s, p, o in graph:
        if within(p, VIDYA) and p not in KNOWN_TERMS:
            raise FormatError(f"{describe(s)}: unknown predicate {describe(p)}")
        if p == RDF.type and within(o, VIDYA) and o not in KNOWN_TERMS:
            raise FormatError(f"{describe(s)}: unknown label (class) {describe(o)}")


def _typed(graph: Graph, classes: set[URIRef]) -> set[RdfNode]:
    return {s for s, o in graph.subject_objects(RDF.type) if o in classes}


def _check_stray_records(graph: Graph, records: set[RdfNode]) -> None:
    for s, p in graph.subject_predicates(unique=True):
        if s not in records and (p in RECORD_PREDICATES or within(p, PROP)):
            raise FormatError(f"{describe(s)}: has {describe(p)} but no vidya class (rdf:type) saying what it is")


def _read_node(graph: Graph, s: RdfNode) -> Node:
    where = describe(s)
    id_ = decode_iri(s, NODE_BASE, "node")
    classes = [label for o in graph.objects(s, RDF.type) if (label := LABEL_OF_CLASS.get(URIRef(str(o))))]
    if len(classes) > 1:
        raise FormatError(f"{where}: typed with {len(classes)} vidya classes ({', '.join(sorted(classes))})")
    name, placeholder = one(graph, s, NAME), one(graph, s, PLACEHOLDER)
    try:
        return Node(
            id=id_,
            label=classes[0],
            provenance=_read_provenance(graph, s),
            name=None if name is None else parse_string(name, f"{where} vidya:name"),
            props=cast(Props, read_props(graph, s)),
            at=read_time(graph, s, AT),
            valid_from=read_time(graph, s, VALID_FROM),
            valid_to=read_time(graph, s, VALID_TO),
            placeholder=False if placeholder is None else parse_boolean(placeholder, f"{where} vidya:placeholder"),
        )
    except (RecordError, SchemaError) as exc:
        raise FormatError(f"{where}: {exc}") from None


def _read_edge(graph: Graph, s: RdfNode) -> Edge:
    where = describe(s)
    src = decode_iri(one(graph, s, SUBJECT, required=True), NODE_BASE, f"{where} vidya:subject")
    dst = decode_iri(one(graph, s, OBJECT, required=True), NODE_BASE, f"{where} vidya:object")
    predicate = one(graph, s, PREDICATE, required=True)
    if predicate not in REL_OF_PROPERTY:
        raise FormatError(f"{where} vidya:predicate: {describe(predicate)} is not a vidya relationship property")
    key = one(graph, s, KEY)
    try:
        return Edge(
            type=REL_OF_PROPERTY[URIRef(str(predicate))],
            src=src,
            dst=dst,
            provenance=_read_provenance(graph, s),
            props=cast(Props, read_props(graph, s)),
            key="" if key is None else parse_string(key, f"{where} vidya:key"),
            valid_from=read_time(graph, s, VALID_FROM),
            valid_to=read_time(graph, s, VALID_TO),
        )
    except (RecordError, SchemaError) as exc:
        raise FormatError(f"{where}: {exc}") from None


def _read_provenance(graph: Graph, s: RdfNode) -> Provenance:
    where = describe(s)
    run = one(graph, s, PROV.wasGeneratedBy, required=True)
    source = one(graph, s, PROV.wasDerivedFrom, required=True)
    at = one(graph, s, PROV.generatedAtTime, required=True)
    location = one(graph, s, SOURCE_LOCATION)
    return Provenance(
        source=decode_iri(source, SOURCE_BASE, f"{where} prov:wasDerivedFrom"),
        run_id=decode_iri(run, RUN_BASE, f"{where} prov:wasGeneratedBy"),
        location=None if location is None else parse_string(location, f"{where} vidya:sourceLocation"),
        ingested_at=parse_datetime(at, f"{where} prov:generatedAtTime"),
    )


def _check_duplicates(edges: list[Edge]) -> None:
    for before, after in pairwise(edges):
        if before.id == after.id:
            raise FormatError(
                f"edge {before.type} {before.src!r} -> {before.dst!r} key {before.key!r}: "
                "described by two vidya:Relationship resources"
            )


def _check_direct_triples(graph: Graph, reified: set[tuple[RdfNode | None, ...]]) -> None:
    """Every direct ``<src> vidya:REL <dst>`` triple must have a relationship resource (with provenance)."""
    for predicate in REL_OF_PROPERTY:
        for s, o in graph.subject_objects(predicate):
            if (s, predicate, o) not in reified:
                raise FormatError(
                    f"{describe(s)} {short(predicate)} {describe(o)}: no vidya:Relationship carries this edge "
                    "and its provenance"
                )

