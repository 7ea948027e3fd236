"""RDF interop: vocabulary, IRI schemes, PROV-O, round trips through Turtle and JSON-LD, bad input."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import PROV, RDF, RDFS, XSD

from graph.errors import FormatError, NotFound, RecordError
from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node, Props, Provenance, without_system_time
from graph.rdf import (
    RdfFormat,
    export_graph,
    format_for_path,
    from_rdf,
    import_graph,
    parse_rdf,
    serialize,
    to_rdf,
)
from graph.rdf_vocab import (
    CLASS,
    CORE_TERMS,
    PROPERTY,
    VIDYA,
    decode_iri,
    edge_iri,
    node_iri,
    run_iri,
    source_iri,
    vocabulary,
    vocabulary_markdown,
)
from graph.schema import LABELS, RELS, NodeLabel, RelType
from graph.store import GraphStore
from tests.conftest import ROOT, Clock

FORMATS: list[RdfFormat] = ["turtle", "jsonld"]
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
CHECKOUT = "service:default/checkout"
WEIRD = "service:default/my svc #1 ünï/ключ?x=%41"
DEPLOY = "deploy:9f1c2a7e-deploy"
NEW_ART = "artifact:sha256:1111aaaa"
OLD_ART = "artifact:sha256:0000ffff"
COMMIT = "commit:9fceb02d0ae598e95dc970b74767f19372d61af8"

CATALOG = Provenance("catalog/checkout.yaml", "run-catalog-1", "line 3", T0 + timedelta(microseconds=250))
CATALOG_LATE = Provenance("catalog/payments.yaml", "run-catalog-1", None, T0 + timedelta(seconds=5))
EVENTS = Provenance("cdevents/stream#42", "run-cd-7", "$.context.id", T0 + timedelta(hours=2, microseconds=7))
GIT = Provenance("git:https://git.example.com/shop.git", "run-git-3", None, T0 + timedelta(hours=1))

ALL_KINDS: Props = {
    "tier": 1,
    "weight": 1.0,
    "critical": True,
    "exact": 0.1 + 0.2,
    "big": 2**63 - 1,
    "negative": -7,
    "tiny": 1e-300,
    "note": "équipe paiements ✓ — 支払い",
    "looks_numeric": "1",
    "tags": ["web", "pci", "web"],
    "ports": [8443, 8080],
    "ratios": [0.5, 1.0],
    "flags": [True, False],
    "empty": [],
    "on call #ops/ключ": "night shift",
}


def estate() -> tuple[list[Node], list[Edge]]:
    """A small, realistic estate: services, a resource, a team, a person, a deploy, artifacts, a commit."""
    nodes = [
        Node(CHECKOUT, NodeLabel.SERVICE, CATALOG, name="checkout", props=ALL_KINDS, valid_from=T0),
        Node("service:default/payments", NodeLabel.SERVICE, CATALOG_LATE, name="payments", props={"tier": 2}),
        Node(WEIRD, NodeLabel.SERVICE, CATALOG_LATE, name="weird 名前"),
        Node("resource:default/orders-db", NodeLabel.RESOURCE, CATALOG, name="orders-db", props={"engine": "postgres"}),
        Node("team:payments", NodeLabel.TEAM, CATALOG, name="Payments"),
        Node("person:alice", NodeLabel.PERSON, GIT, name="Alice Ångström"),
        Node(DEPLOY, NodeLabel.DEPLOYMENT, EVENTS, name="checkout 1.4.2", at=T0 + timedelta(hours=2),
             props={"version": "1.4.2", "outcome": "success"}),
        Node(NEW_ART, NodeLabel.ARTIFACT, EVENTS, props={"image": "registry/checkout:1.4.2"}),
        Node(OLD_ART, NodeLabel.ARTIFACT, EVENTS, props={"image": "registry/checkout:1.4.1"}),
        Node(COMMIT, NodeLabel.COMMIT, GIT, name="Fix retry storm", at=T0 - timedelta(days=1)),
    ]
    edges = [
        Edge(RelType.DEPENDS_ON, CHECKOUT, "service:default/payments", CATALOG,
             props={"protocol": "grpc", "weight": 0.25, "paths": ["/pay", "/refund"]}),
        Edge(RelType.DEPENDS_ON, CHECKOUT, "resource:default/orders-db", CATALOG),
        Edge(RelType.DEPENDS_ON, WEIRD, CHECKOUT, CATALOG_LATE),
        Edge(RelType.OWNED_BY, CHECKOUT, "team:payments", CATALOG),
        Edge(RelType.TARGETS, DEPLOY, CHECKOUT, EVENTS),
        Edge(RelType.DEPLOYS, DEPLOY, NEW_ART, EVENTS),
        Edge(RelType.RUNS, CHECKOUT, OLD_ART, EVENTS, key="deploy:earlier", valid_from=T0),
        Edge(RelType.RUNS, CHECKOUT, NEW_ART, EVENTS, key=DEPLOY, valid_from=T0 + timedelta(hours=2)),
        Edge(RelType.BUILT_FROM, NEW_ART, COMMIT, GIT),
        Edge(RelType.AUTHORED_BY, COMMIT, "person:alice", GIT),
        # the parent commit was never ingested: the store keeps a placeholder for it
        Edge(RelType.CHILD_OF, COMMIT, "commit:0000000000000000000000000000000000000000", GIT),
    ]
    return nodes, edges


def open_sqlite(path: Path, clock: Clock) -> GraphStore:
    return open_store(GraphConfig(backend="sqlite", sqlite_path=path), clock=clock)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[GraphStore]:
    store = open_sqlite(tmp_path / "g.db", clock)
    nodes, edges = estate()
    with store.batch() as batch:
        batch.upsert_nodes(nodes)
        batch.upsert_edges(edges)
    yield store
    store.close()


@pytest.fixture
def empty(tmp_path: Path, clock: Clock) -> Iterator[GraphStore]:
    clock.advance(days=3)  # the second store records at another time: recorded_at must not leak
    store = open_sqlite(tmp_path / "empty.db", clock)
    yield store
    store.close()


def records(store: GraphStore) -> tuple[list[Node | Edge], list[Node | Edge]]:
    nodes = sorted(store.iter_nodes(), key=lambda n: n.id)
    edges = sorted(store.iter_edges(), key=lambda e: e.id)
    return [without_system_time(n) for n in nodes], [without_system_time(e) for e in edges]


def assert_isomorphic(first: Graph, second: Graph) -> None:
    if not isomorphic(first, second):
        _, only_first, only_second = graph_diff(to_isomorphic(first), to_isomorphic(second))
        pytest.fail(f"graphs differ:\nonly in first:\n{only_first.serialize()}\nonly in second:\n{only_second.serialize()}")


def parse_plain_rdflib(text: str, fmt: RdfFormat) -> Graph:
    """Parse with stock rdflib, as a third-party consumer would."""
    with warnings.catch_warnings():
        # rdflib 7.6's own JSON-LD parser warns that ConjunctiveGraph is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return Graph().parse(data=text, format={"turtle": "turtle", "jsonld": "json-ld"}[fmt])


# round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_through_an_empty_store(store: GraphStore, empty: GraphStore, fmt: RdfFormat) -> None:
    first = export_graph(store, fmt)
    stats = import_graph(empty, first, fmt)
    assert stats.created == 10 + 1 + 11  # nodes, the placeholder parent commit, edges
    assert records(empty) == records(store)
    second = export_graph(empty, fmt)
    assert_isomorphic(parse_rdf(first, fmt), parse_rdf(second, fmt))
    assert_isomorphic(parse_plain_rdflib(first, fmt), parse_rdf(first, fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_is_idempotent_and_accepts_bytes(store: GraphStore, empty: GraphStore, fmt: RdfFormat) -> None:
    data = export_graph(store, fmt).encode()
    import_graph(empty, data, fmt)
    again = import_graph(empty, data, fmt)
    assert (again.created, again.updated, again.retired) == (0, 0, 0)
    assert records(empty) == records(store)


def test_turtle_and_jsonld_describe_the_same_graph(store: GraphStore) -> None:
    assert_isomorphic(parse_rdf(export_graph(store, "turtle"), "turtle"), parse_rdf(export_graph(store, "jsonld"), "jsonld"))


def test_records_survive_to_rdf_and_back_exactly() -> None:
    nodes, edges = estate()
    edges = [e for e in edges if e.type is not RelType.RUNS]  # the store would supersede one of them
    back_nodes, back_edges = from_rdf(parse_rdf(serialize(to_rdf(nodes, edges), "turtle"), "turtle"))
    assert back_nodes == sorted(nodes, key=lambda n: n.id)
    assert back_edges == sorted(edges, key=lambda e: e.id)
    props = next(n for n in back_nodes if n.id == CHECKOUT).props
    assert props == ALL_KINDS
    assert [type(props[k]) for k in ("tier", "weight", "critical")] == [int, float, bool]
    assert props["empty"] == [] and props["tags"] == ["web", "pci", "web"]


_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(key=_ids, value=_ids, fmt=st.sampled_from(FORMATS))
def test_any_id_key_and_string_survive(key: str, value: str, fmt: RdfFormat) -> None:
    node = Node("service:" + key, NodeLabel.SERVICE, Provenance(value, key), name=value, props={"k" + key: value})
    assert decode_iri(node_iri(node.id), "https://vidya.dev/id/", "test") == node.id
    back, _ = from_rdf(parse_rdf(serialize(to_rdf([node], []), fmt), fmt))
    assert back == [node]


def test_iris_follow_the_documented_schemes() -> None:
    assert node_iri(WEIRD) == URIRef(
        "https://vidya.dev/id/service:default%2Fmy%20svc%20%231%20%C3%BCn%C3%AF%2F"
        "%D0%BA%D0%BB%D1%8E%D1%87%3Fx%3D%2541"
    )
    assert run_iri("run 1") == URIRef("https://vidya.dev/run/run%201")
    assert source_iri("catalog/a.yaml") == URIRef("https://vidya.dev/source/catalog%2Fa.yaml")
    assert edge_iri("e:abc").startswith("https://vidya.dev/edge/")


# PROV-O and the shape of the export ------------------------------------------------------------
def test_provenance_is_prov_o(store: GraphStore) -> None:
    g = parse_rdf(export_graph(store, "turtle"), "turtle")
    checkout, run, source = node_iri(CHECKOUT), run_iri("run-catalog-1"), source_iri("catalog/checkout.yaml")
    assert (checkout, PROV.wasGeneratedBy, run) in g
    assert (checkout, PROV.wasDerivedFrom, source) in g
    assert (checkout, PROV.generatedAtTime, Literal(CATALOG.ingested_at.isoformat(), datatype=XSD.dateTime)) in g
    assert (checkout, VIDYA["sourceLocation"], Literal("line 3")) in g
    assert (run, RDF.type, PROV.Activity) in g and (source, RDF.type, PROV.Entity) in g
    assert (run, PROV.used, source) in g and (run, PROV.used, source_iri("catalog/payments.yaml")) in g
    # the run started at the earliest ingest time seen for it
    assert g.value(run, PROV.startedAtTime) == Literal(CATALOG.ingested_at.isoformat(), datatype=XSD.dateTime)
    team, alice = node_iri("team:payments"), node_iri("person:alice")
    assert (checkout, PROV.wasAttributedTo, team) in g and (team, RDF.type, PROV.Agent) in g
    assert (node_iri(COMMIT), PROV.wasAttributedTo, alice) in g and (alice, RDF.type, PROV.Agent) in g
    owned = store.get_edge(Edge(RelType.OWNED_BY, CHECKOUT, "team:payments", CATALOG).id)
    assert owned is not None
    assert (edge_iri(owned.id), PROV.wasGeneratedBy, run) in g
    assert (edge_iri(owned.id), PROV.wasDerivedFrom, source) in g


def test_edges_are_direct_triples_and_relationship_resources(store: GraphStore) -> None:
    g = parse_rdf(export_graph(store, "jsonld"), "jsonld")
    assert (node_iri(CHECKOUT), PROPERTY[RelType.RUNS], node_iri(NEW_ART)) in g
    assert (node_iri(CHECKOUT), PROPERTY[RelType.DEPENDS_ON], node_iri("service:default/payments")) in g
    old = edge_iri(Edge(RelType.RUNS, CHECKOUT, OLD_ART, EVENTS, key="deploy:earlier").id)
    assert (old, RDF.type, VIDYA["Relationship"]) in g
    assert (old, VIDYA["predicate"], PROPERTY[RelType.RUNS]) in g
    assert (old, VIDYA["key"], Literal("deploy:earlier")) in g
    # the store closed the older RUNS edge when the newer one arrived; the export says so
    assert g.value(old, VIDYA["validTo"]) == Literal((T0 + timedelta(hours=2)).isoformat(), datatype=XSD.dateTime)
    assert g.value(node_iri(DEPLOY), VIDYA["at"]) is not None
    placeholder = node_iri("commit:0000000000000000000000000000000000000000")
    assert (placeholder, VIDYA["placeholder"], Literal(True)) in g


def test_jsonld_has_an_inline_context(store: GraphStore) -> None:
    text = export_graph(store, "jsonld")
    assert '"@context": {' in text
    assert re.search(r'"@context":\s*"', text) is None


def test_numbers_are_exact_in_both_formats(store: GraphStore) -> None:
    assert repr(0.1 + 0.2) in export_graph(store, "turtle")  # rdflib alone would write 3e-01
    document = json.loads(export_graph(store, "jsonld"))
    checkout = next(item for item in document["@graph"] if item["@id"] == "vnode:service:default%2Fcheckout")
    # a JSON-LD processor would read the JSON number 1.0 as an xsd:integer
    assert checkout["vprop:weight"] == {"@type": "xsd:double", "@value": "1.0"}
    assert checkout["vprop:big"] == {"@type": "xsd:integer", "@value": str(2**63 - 1)}
    assert (checkout["vprop:tier"], checkout["vprop:critical"]) == (1, True)


# subgraph export ---------------------------------------------------------------------------
def test_subgraph_export(store: GraphStore) -> None:
    nodes, edges = from_rdf(parse_rdf(export_graph(store, "turtle", node_ids=[DEPLOY], depth=1), "turtle"))
    assert [n.id for n in nodes] == sorted([DEPLOY, CHECKOUT, NEW_ART])
    assert {e.type for e in edges} == {RelType.TARGETS, RelType.DEPLOYS, RelType.RUNS}
    deeper, _ = from_rdf(parse_rdf(export_graph(store, "jsonld", node_ids=[DEPLOY], depth=2), "jsonld"))
    assert {"team:payments", COMMIT, WEIRD} <= {n.id for n in deeper}


def test_subgraph_export_names_missing_nodes(store: GraphStore) -> None:
    with pytest.raises(NotFound, match="service:nope"):
        export_graph(store, "turtle", node_ids=[CHECKOUT, "service:nope"])


def test_export_of_an_empty_store_parses(empty: GraphStore) -> None:
    for fmt in FORMATS:
        assert from_rdf(parse_rdf(export_graph(empty, fmt), fmt)) == ([], [])


# bad input -----------------------------------------------------------------------------------
PREFIXES = """
@prefix vidya: <https://vidya.dev/ns#> .
@prefix vprop: <https://vidya.dev/prop/> .
@prefix vnode: <https://vidya.dev/id/> .
@prefix vedge: <https://vidya.dev/edge/> .
@prefix vrun: <https://vidya.dev/run/> .
@prefix vsource: <https://vidya.dev/source/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
OK_PROV = (
    'prov:wasGeneratedBy vrun:r1 ; prov:wasDerivedFrom vsource:s1 ; prov:generatedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime'
)


def ttl(body: str) -> str:
    return PREFIXES + body.replace("$PROV", OK_PROV)


BAD_TURTLE = {
    "syntax": ("vnode:service:a a vidya:Service", "turtle input"),
    "unknown label": ("vnode:service:a a vidya:Gadget ; $PROV .", "vnode:service:a: unknown label.*vidya:Gadget"),
    "unknown predicate": ("vnode:service:a a vidya:Service ; vidya:colour 'red' ; $PROV .", "unknown predicate vidya:colour"),
    "unknown relationship": (
        "vnode:service:a vidya:LIKES vnode:service:b .", "vnode:service:a: unknown predicate vidya:LIKES"),
    "missing run": (
        'vnode:service:a a vidya:Service ; prov:wasDerivedFrom vsource:s1 ; '
        'prov:generatedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime .',
        "vnode:service:a: missing prov:wasGeneratedBy"),
    "missing ingest time": (
        "vnode:service:a a vidya:Service ; prov:wasGeneratedBy vrun:r1 ; prov:wasDerivedFrom vsource:s1 .",
        "vnode:service:a: missing prov:generatedAtTime"),
    "foreign run iri": (
        'vnode:service:a a vidya:Service ; prov:wasGeneratedBy <http://x/run> ; prov:wasDerivedFrom vsource:s1 ; '
        'prov:generatedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime .',
        r"vnode:service:a prov:wasGeneratedBy: expected an IRI <https://vidya.dev/run/\.\.\.>"),
    "at is not a time": (
        "vnode:deploy:d a vidya:Deployment ; vidya:at 'yesterday' ; $PROV .",
        "vnode:deploy:d vidya:at: expected an xsd:dateTime literal, got 'yesterday'"),
    "naive time": (
        'vnode:deploy:d a vidya:Deployment ; vidya:at "2026-01-01T00:00:00"^^xsd:dateTime ; $PROV .',
        "vnode:deploy:d vidya:at: .* has no time zone"),
    "decimal prop": (
        'vnode:service:a a vidya:Service ; vprop:tier "1.5"^^xsd:decimal ; $PROV .',
        "vnode:service:a vprop:tier: expected xsd:string, xsd:integer, xsd:double or xsd:boolean"),
    "ill-typed integer": (
        'vnode:service:a a vidya:Service ; vprop:tier "one"^^xsd:integer ; $PROV .', "vprop:tier: expected"),
    "language string": ('vnode:service:a a vidya:Service ; vidya:name "a"@en ; $PROV .', "vidya:name: expected"),
    "iri as prop": ("vnode:service:a a vidya:Service ; vprop:tier vnode:service:b ; $PROV .", "vprop:tier: expected a literal"),
    "mixed list": ("vnode:service:a a vidya:Service ; vprop:xs ( 1 'a' ) ; $PROV .", "vnode:service:a.*same type"),
    "two values": ("vnode:service:a a vidya:Service ; vprop:xs 1, 2 ; $PROV .", "vprop:xs: more than one value"),
    "two names": ("vnode:service:a a vidya:Service ; vidya:name 'a', 'b' ; $PROV .", "vidya:name has 2 values"),
    "placeholder not boolean": (
        "vnode:service:a a vidya:Service ; vidya:placeholder 'yes' ; $PROV .", "vidya:placeholder: expected an xsd:boolean"),
    "class does not match id prefix": ("vnode:team:a a vidya:Service ; $PROV .", "vnode:team:a: .*prefix is for Team"),
    "node outside the id scheme": ("<http://example.org/a> a vidya:Service ; $PROV .", "expected an IRI <https://vidya.dev/id/"),
    "no class": ("vnode:service:a vidya:name 'a' ; $PROV .", "vnode:service:a: has vidya:name but no vidya class"),
    "direct triple without provenance": (
        "vnode:service:a vidya:DEPENDS_ON vnode:service:b .", "no vidya:Relationship carries this edge"),
    "relationship with a bad predicate": (
        "<https://vidya.dev/edge/x> a vidya:Relationship ; vidya:subject vnode:service:a ; vidya:predicate vidya:name ; "
        "vidya:object vnode:service:b ; $PROV .", "vedge:x vidya:predicate: vidya:name is not a vidya relationship"),
    "relationship missing its object": (
        "<https://vidya.dev/edge/x> a vidya:Relationship ; vidya:subject vnode:service:a ; "
        "vidya:predicate vidya:DEPENDS_ON ; $PROV .", "vedge:x: missing vidya:object"),
    "two resources for one edge": (
        "vnode:service:a vidya:DEPENDS_ON vnode:service:b . "
        "[] a vidya:Relationship ; vidya:subject vnode:service:a ; vidya:predicate vidya:DEPENDS_ON ; "
        "vidya:object vnode:service:b ; $PROV . "
        "vedge:x a vidya:Relationship ; vidya:subject vnode:service:a ; vidya:predicate vidya:DEPENDS_ON ; "
        "vidya:object vnode:service:b ; $PROV .", "described by two vidya:Relationship resources"),
    "edge the schema forbids": (
        "<https://vidya.dev/edge/x> a vidya:Relationship ; vidya:subject vnode:team:a ; "
        "vidya:predicate vidya:RUNS ; vidya:object vnode:service:b ; $PROV .", "vedge:x: .*a Team cannot be its source"),
}


@pytest.mark.parametrize("case", sorted(BAD_TURTLE))
def test_bad_turtle_is_refused_with_a_name(case: str, empty: GraphStore) -> None:
    body, message = BAD_TURTLE[case]
    with pytest.raises(FormatError, match=message):
        import_graph(empty, ttl(body), "turtle")
    assert list(empty.iter_nodes()) == []


def test_hand_written_turtle_is_accepted() -> None:
    """Edge resources may be blank nodes, ids need no encoding beyond IRI syntax, extra triples are ignored."""
    nodes, edges = from_rdf(parse_rdf(ttl("""
        vnode:service:a a vidya:Service ; vidya:name "a" ; vprop:tier 3 ; $PROV ;
            <http://example.org/note> "ours" ; vidya:DEPENDS_ON vnode:service:b .
        [] a vidya:Relationship ; vidya:subject vnode:service:a ; vidya:predicate vidya:DEPENDS_ON ;
            vidya:object vnode:service:b ; vidya:key "k" ; $PROV .
    """), "turtle"))
    prov = Provenance("s1", "r1", None, datetime(2026, 1, 1, tzinfo=UTC))
    assert nodes == [Node("service:a", NodeLabel.SERVICE, prov, name="a", props={"tier": 3})]
    assert edges == [Edge(RelType.DEPENDS_ON, "service:a", "service:b", prov, key="k")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "jsonld input: JSONDecodeError"),
        ('{"@context": "https://schema.org/", "@id": "x"}', r"\$\.@context refers to a remote context"),
        ('{"@graph": [{"@context": ["https://example.org/ctx.jsonld"]}]}', "remote context"),
        (
            '{"@context": {"vidya": "https://vidya.dev/ns#"}, "@id": "https://vidya.dev/id/service:a", '
            '"@type": "vidya:Service"}',
            "vnode:service:a: missing prov:wasGeneratedBy",
        ),
    ],
)
def test_bad_jsonld_is_refused(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        from_rdf(parse_rdf(text, "jsonld"))


def test_bad_bytes_and_formats() -> None:
    with pytest.raises(FormatError, match="not UTF-8"):
        parse_rdf(b"\xff\xfe", "turtle")
    with pytest.raises(FormatError, match="expected one of turtle, jsonld"):
        parse_rdf("", "xml")  # type: ignore[arg-type]


def test_to_rdf_refuses_two_versions_of_a_record() -> None:
    nodes, _ = estate()
    with pytest.raises(RecordError, match="given twice"):
        to_rdf([nodes[0], nodes[0]], [])


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("a.ttl", "turtle"), ("dir.v2/A.TURTLE", "turtle"), ("x.jsonld", "jsonld"), (Path("x.json"), "jsonld")],
)
def test_format_for_path(path: str | Path, fmt: RdfFormat) -> None:
    assert format_for_path(path) == fmt


@pytest.mark.parametrize("path", ["graph.xml", "graph", "graph.ttl.gz"])
def test_format_for_path_lists_accepted_suffixes(path: str) -> None:
    with pytest.raises(FormatError, match=r"accepted: \.ttl, \.turtle, \.jsonld, \.json"):
        format_for_path(path)


# the vocabulary and its documentation ------------------------------------------------------------
def test_vocabulary_is_generated_from_the_schema() -> None:
    g = vocabulary()
    for label, spec in LABELS.items():
        assert g.value(CLASS[label], RDFS.comment) == Literal(spec.description)
        assert (CLASS[label], RDF.type, RDFS.Class) in g
    for rel, rel_spec in RELS.items():
        assert g.value(PROPERTY[rel], RDFS.comment) == Literal(rel_spec.description)
    names = [str(t) for t in (*CLASS.values(), *PROPERTY.values(), *(term for term, _, _ in CORE_TERMS))]
    assert len(names) == len(set(names)), "a class, relationship and core term share a name"
    assert (CLASS[NodeLabel.TEAM], RDFS.subClassOf, PROV.Agent) in g
    assert isomorphic(parse_rdf(serialize(g, "turtle"), "turtle"), g)


def test_docs_carry_the_generated_tables_and_a_working_example() -> None:
    doc = (ROOT / "docs" / "rdf.md").read_text(encoding="utf-8")
    assert vocabulary_markdown() in doc, "regenerate the tables in docs/rdf.md from vocabulary_markdown()"
    examples = re.findall(r"```turtle\n(.*?)```", doc, flags=re.S)
    assert examples
    for example in examples:
        nodes, edges = from_rdf(parse_rdf(example, "turtle"))
        assert nodes and edges
