"""Redacting what readers produce: JSON-like values and whole ReadResults (ingest.redaction)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType
from ingest.documents import READER
from ingest.records import Document, EntityHint, HintedEdge, ReadContext, ReadResult, RecordError, Section, SourceFile
from ingest.redaction import redact_result, redact_value
from ingest.redaction_walk import result_strings

CTX = ReadContext(run_id="run-1", ingested_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
PROV = Provenance(source="notes/incident-2211.md", run_id="run-1", ingested_at=CTX.ingested_at)
DB_PASSWORD = "Zq8vR2mXw7Lp-EXAMPLE"
API_TOKEN = "Xk29fPq7LmZ3vB8nWt4R6yHs"
GITHUB_TOKEN = "gh" + "p_EXAMPLEfakeTOKEN0123456789abcdefABCD"  # assembled so scanners leave the file alone

RUNBOOK = f"""---
title: Orders database failover
owner: group:default/orders
api_token: {API_TOKEN}
---
# Orders database failover

## Diagnosis

Check replication lag from the bastion:

```
psql postgres://orders_app:{DB_PASSWORD}@orders-db.prod.internal:5432/orders -c 'select now() - pg_last_xact_replay_timestamp()'
```

## Mitigation

Promote the replica with `patronictl failover orders` and page the on-call.
"""


def every_string(result: ReadResult) -> str:
    return "\n".join(result_strings(result, lambda key: False)[0])


def read_runbook(text: str, path: str = "runbooks/orders-failover.md") -> ReadResult:
    return READER.read(SourceFile(path, text.encode()), CTX)


# --- values -----------------------------------------------------------------------------------


def test_redact_value_walks_nested_data_and_keeps_other_values() -> None:
    value = {
        "dsn": f"redis://:{DB_PASSWORD}@cache:6379/0",
        "replicas": 3,
        "ratio": 0.5,
        "enabled": True,
        "hosts": ["a", f"postgres://app:{DB_PASSWORD}@db/x"],
        "nested": {"env": [{"name": "TOKEN", "value": GITHUB_TOKEN}]},
        "tags": ("prod", "eu"),
    }
    out, counts = redact_value(value)
    assert dict(counts) == {"url-password": 2, "github-token": 1}
    assert out == {
        "dsn": "redis://:[REDACTED:url-password]@cache:6379/0",
        "replicas": 3,
        "ratio": 0.5,
        "enabled": True,
        "hosts": ["a", "postgres://app:[REDACTED:url-password]@db/x"],
        "nested": {"env": [{"name": "TOKEN", "value": "[REDACTED:github-token]"}]},
        "tags": ("prod", "eu"),
    }
    assert out["tags"] is value["tags"]  # untouched parts are not copied
    assert value["dsn"] == f"redis://:{DB_PASSWORD}@cache:6379/0"  # the input is not modified


def test_a_secret_key_gives_its_value_context() -> None:
    out, counts = redact_value({"api_key": API_TOKEN, "commit": "3f786850e387550fdab836ed7e6dc881de23001b", "label": API_TOKEN})
    assert out == {
        "api_key": "[REDACTED:generic-secret]",
        "commit": "3f786850e387550fdab836ed7e6dc881de23001b",
        "label": API_TOKEN,
    }
    assert counts == Counter({"generic-secret": 1})


def test_a_value_without_secrets_is_the_same_object() -> None:
    value = {"service": "checkout", "versions": ["1.2.3", "1.2.4"], "uid": "5b35e7c2-fe94-47e0-8a14-d42adb1827ab"}
    out, counts = redact_value(value)
    assert out is value and not counts
    text = "plain text"
    assert redact_value(text)[0] is text


# --- reader output ------------------------------------------------------------------------------


def test_a_runbook_read_from_markdown_loses_its_secrets_but_not_its_ids() -> None:
    result = read_runbook(RUNBOOK)
    assert DB_PASSWORD in every_string(result)
    redacted, counts = redact_result(result)
    # one secret in the Section node's text and the Document section (the same text), one in the front matter
    assert dict(counts) == {"url-password": 1, "generic-secret": 1}
    assert DB_PASSWORD not in every_string(redacted) and API_TOKEN not in every_string(redacted)
    assert [n.id for n in redacted.nodes] == [n.id for n in result.nodes]
    assert [e.id for e in redacted.edges] == [e.id for e in result.edges]
    section = next(n for n in redacted.nodes if n.label is NodeLabel.SECTION and "psql" in str(n.props["text"]))
    assert "postgres://orders_app:[REDACTED:url-password]@orders-db.prod.internal:5432/orders" in str(section.props["text"])
    doc = redacted.documents[0]
    assert doc.id == result.documents[0].id and doc.title == "Orders database failover"
    assert any("[REDACTED:url-password]" in s.text for s in doc.sections)
    assert doc.front_matter["api_token"] == "[REDACTED:generic-secret]"
    runbook = next(n for n in redacted.nodes if n.label is NodeLabel.RUNBOOK)
    assert runbook.props["api_token"] == "[REDACTED:generic-secret]"


def test_redacting_a_redacted_result_changes_nothing() -> None:
    redacted, _ = redact_result(read_runbook(RUNBOOK))
    again, counts = redact_result(redacted)
    assert again is redacted and not counts


def test_records_without_secrets_are_kept_as_they_are() -> None:
    result = read_runbook(RUNBOOK)
    redacted, _ = redact_result(result)
    unchanged = [n for n in result.nodes if DB_PASSWORD not in str(n.props) and API_TOKEN not in str(n.props)]
    assert unchanged
    assert all(any(r is n for r in redacted.nodes) for n in unchanged)
    assert all(a is b for a, b in zip(redacted.edges, result.edges, strict=True))


def test_a_result_without_secrets_comes_back_as_the_same_object() -> None:
    result = read_runbook("# Disk full\n\nFree space with `journalctl --vacuum-size=500M` on node ip-10-0-3-17.\n")
    redacted, counts = redact_result(result)
    assert redacted is result and not counts


def test_every_kind_of_record_is_redacted() -> None:
    runbook, section = "runbook:notes/incident-2211.md", "section:notes/incident-2211.md#1"
    result = ReadResult(
        nodes=[
            Node(runbook, NodeLabel.RUNBOOK, PROV, name=f"Leaked {GITHUB_TOKEN}", props={"tags": ["ok", GITHUB_TOKEN]}),
            Node(section, NodeLabel.SECTION, PROV, name="Fix", props={"text": "all good"}),
        ],
        edges=[Edge(RelType.HAS_SECTION, runbook, section, PROV, props={"order": 1, "note": f"token {GITHUB_TOKEN}"}, key="k")],
        hinted=[
            HintedEdge(RelType.MENTIONS, runbook, EntityHint.of({"service": "orders"}), PROV, props={"client_secret": API_TOKEN})
        ],
        documents=[
            Document(
                id=runbook,
                kind="runbook",
                title=f"Leaked {GITHUB_TOKEN}",
                path="notes/incident-2211.md",
                sections=(Section(heading_path=("Leaked", f"dsn postgres://a:{DB_PASSWORD}@db/x"), text=f"use {GITHUB_TOKEN}"),),
                front_matter={"password": API_TOKEN},
            )
        ],
        errors=[RecordError("line 4", f"cannot parse {GITHUB_TOKEN!r}")],
    )
    redacted, counts = redact_result(result)
    # per distinct text: the node name and the document title are one text, the two API_TOKEN values one
    assert dict(counts) == {"github-token": 5, "generic-secret": 1, "url-password": 1}
    for secret in (GITHUB_TOKEN, API_TOKEN, DB_PASSWORD):
        assert secret not in every_string(redacted)
    assert redacted.nodes[0].id == runbook and redacted.nodes[0].name == "Leaked [REDACTED:github-token]"
    assert redacted.nodes[0].props["tags"] == ["ok", "[REDACTED:github-token]"]
    assert redacted.nodes[1] is result.nodes[1]
    assert (redacted.edges[0].id, redacted.edges[0].key, redacted.edges[0].props["order"]) == (result.edges[0].id, "k", 1)
    assert redacted.hinted[0].props == {"client_secret": "[REDACTED:generic-secret]"}
    assert redacted.hinted[0].hint == result.hinted[0].hint
    assert redacted.documents[0].sections[0].heading_path == ("Leaked", "dsn postgres://a:[REDACTED:url-password]@db/x")
    assert redacted.errors[0].location == "line 4" and "[REDACTED:github-token]" in redacted.errors[0].message
    assert GITHUB_TOKEN in str(result.nodes[0].name)  # the input result is not modified


def test_a_string_holding_the_join_separator_is_still_redacted() -> None:
    node = Node("runbook:x.md", NodeLabel.RUNBOOK, PROV, props={"text": f"a\n\x1e\nb {GITHUB_TOKEN}", "other": "c"})
    redacted, counts = redact_result(ReadResult(nodes=[node]))
    assert counts == Counter({"github-token": 1})
    assert redacted.nodes[0].props == {"text": "a\n\x1e\nb [REDACTED:github-token]", "other": "c"}
