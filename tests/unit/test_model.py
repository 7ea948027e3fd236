"""Records refuse text no store or file format can carry (lone surrogates), naming the field."""

from __future__ import annotations

import pytest

from graph.errors import RecordError, SchemaError
from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType

PROV = Provenance(source="catalog.yaml", run_id="run-1")


def test_lone_surrogate_in_an_id_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="not valid Unicode"):
        Node(id="service:\ud800", label=NodeLabel.SERVICE, provenance=PROV)
    with pytest.raises(SchemaError, match="not valid Unicode"):
        Edge(type=RelType.CAUSED_BY, src="incident:\ud800", dst="deploy:d1", provenance=PROV)


def test_lone_surrogate_in_text_fields_is_a_record_error() -> None:
    with pytest.raises(RecordError, match=r"props\['title'\]"):
        Node(id="service:a", label=NodeLabel.SERVICE, provenance=PROV, props={"title": "bad \udc80"})
    with pytest.raises(RecordError, match="name"):
        Node(id="service:a", label=NodeLabel.SERVICE, provenance=PROV, name="\ud800")
    with pytest.raises(RecordError, match=r"provenance\.source"):
        Provenance(source="files/\udcff.yaml", run_id="run-1")


def test_ordinary_unicode_is_fine() -> None:
    node = Node(id="service:カート-🛒", label=NodeLabel.SERVICE, provenance=PROV, name="עגלה", props={"t": ["é", "ß"]})
    assert node.content_hash and node.props == {"t": ["é", "ß"]}
