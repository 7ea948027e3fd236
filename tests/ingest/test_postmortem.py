"""The postmortem Markdown reader: front matter, sections, timeline, causes, remediations, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError
from graph.schema import NodeLabel, RelType
from ingest.postmortem import READER, category
from ingest.records import ReadContext, ReadResult, SourceFile
from ingest.registry import detect
from tests.ingest.test_alertmanager import assert_reads_or_refuses

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "postmortem"
CTX = ReadContext(run_id="run-test", ingested_at=datetime(2026, 3, 9, tzinfo=UTC))
CHECKOUT_PM = "postmortem:pm/2026-03-01-checkout-5xx.md"
CHECKOUT = "incident:Q2K7W1N0GZ3B4C"
SEARCH = "incident:postmortem/pm/search-outage.md"
GOOD = ["2026-03-01-checkout-5xx.md", "search-outage.md", "payments-timeouts.md"]


def source(name: str, data: bytes | None = None) -> SourceFile:
    return SourceFile(f"pm/{name}", (FIXTURES / name).read_bytes() if data is None else data)


def read(name: str, data: bytes | None = None) -> ReadResult:
    return READER.read(source(name, data), CTX)


def by_id(result: ReadResult) -> dict[str, Any]:
    return {node.id: node for node in result.nodes}


def line_of(name: str, location: str) -> str:
    return (FIXTURES / name).read_text().splitlines()[int(location.removeprefix("line ")) - 1]


# -- detection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*GOOD, "bad-values.md"])
def test_detect_claims_postmortems(name: str) -> None:
    assert detect(source(name)).name == "postmortem"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("runbooks/checkout-latency.md", (FIXTURES / "runbook-like.md").read_bytes()),
        ("README.md", b"# vidya\n\n## Summary\n\nA tool.\n\n## Usage\n\nRun it.\n"),
        ("notes.txt", b"## Timeline\n- 14:05 x\n## Root cause\nx\n"),
        ("fenced.md", b"# Howto\n\n```\n## Timeline\n## Root cause\n```\n"),
        ("typed.md", b"---\ntype: runbook\n---\n# Summary\n## Resolution\n"),
    ],
)
def test_sniff_leaves_other_markdown_alone(path: str, data: bytes) -> None:
    assert not READER.sniff(SourceFile(path, data))


def test_front_matter_type_is_enough() -> None:
    assert READER.sniff(SourceFile("pm/x.md", b"---\ntitle: x\ntype: Postmortem\n---\nJust prose.\n"))


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Root Cause Analysis", "root_cause"),
        ("3. Root causes", "root_cause"),
        ("Follow-up actions", "action_items"),
        ("Action Items", "action_items"),
        ("Resolution and recovery", "resolution"),
        ("Executive Summary", "summary"),
        ("**Timeline** (UTC)", "timeline"),
        ("Lessons learned", None),
    ],
)
def test_category(heading: str, expected: str | None) -> None:
    assert category(heading) == expected


# -- a postmortem with front matter ------------------------------------------------------------------------


def test_the_postmortem_node() -> None:
    result = read("2026-03-01-checkout-5xx.md")
    node = by_id(result)[CHECKOUT_PM]
    assert node.label is NodeLabel.POSTMORTEM
    assert node.name == "Checkout 5xx after the 2.4.0 deploy"
    props = node.props
    assert {k: props[k] for k in ("incident", "severity", "status", "date", "services", "authors")} == {
        "incident": CHECKOUT,
        "severity": "SEV2",
        "status": "final",
        "date": "2026-03-01",
        "services": ["checkout", "payments-api"],
        "authors": ["Ana Ruiz", "Dev Patel"],
    }
    assert str(props["summary"]).startswith("Between 14:05 and 14:31 UTC about 7% of checkout requests failed")
    assert str(props["root_cause"]).startswith("The 2.4.0 release (deploy 5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11) lowered")
    assert props["action_items"] == [
        "Alert on connection pool saturation (owner: SRE, PLAT-812)",
        "Add pool size to the release checklist (owner: checkout team)",
        "Run the staging load test at 50% of production traffic (PLAT-813)",
    ]
    timeline = props["timeline"]
    assert isinstance(timeline, list)
    assert timeline[0] == "2026-03-01T14:02:00+00:00 checkout 2.4.0 deployed to production by Argo CD."
    assert len(timeline) == 6
    assert result.errors == []


def test_it_describes_its_incident_without_restating_it() -> None:
    result = read("2026-03-01-checkout-5xx.md")
    assert (RelType.DESCRIBES, CHECKOUT_PM, CHECKOUT) in {(e.type, e.src, e.dst) for e in result.edges}
    assert CHECKOUT not in by_id(result)  # a placeholder until the incident tool's record arrives
    affects = [(h.src, dict(h.hint.values), h.hint.fallback) for h in result.hinted if h.type is RelType.AFFECTS]
    assert affects == [
        (CHECKOUT, {"name": "checkout", "service": "checkout"}, "service:default/checkout"),
        (CHECKOUT, {"name": "payments-api", "service": "payments-api"}, "service:default/payments-api"),
    ]


def test_the_named_change_is_the_cause_once() -> None:
    causes = [e for e in read("2026-03-01-checkout-5xx.md").edges if e.type is RelType.CAUSED_BY]
    assert [(e.src, e.dst, e.props["evidence"]) for e in causes] == [
        (CHECKOUT, "deploy:5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11", "front matter cause_change")
    ]


def test_resolution_items_become_remediations_timed_from_the_text_or_the_timeline() -> None:
    name = "2026-03-01-checkout-5xx.md"
    nodes = by_id(read(name))
    restart = nodes["remediation:Q2K7W1N0GZ3B4C/postmortem-1"]
    assert restart.props["action"] == "restart_pod"
    assert restart.at == datetime(2026, 3, 1, 14, 14, tzinfo=UTC)  # "at 14:14" in the item
    assert line_of(name, restart.provenance.location or "").startswith("1. Restarted the checkout pods")
    assert nodes["outcome:Q2K7W1N0GZ3B4C/postmortem-1"].props == {"result": "failed", "helped": False}
    rollback = nodes["remediation:Q2K7W1N0GZ3B4C/postmortem-2"]
    assert rollback.props["original_text"] == "Rolled back checkout to 2.3.9. Error rate back to normal within 9 minutes."
    assert rollback.at == datetime(2026, 3, 1, 14, 22, tzinfo=UTC)  # the timeline's rollback entry
    assert nodes["outcome:Q2K7W1N0GZ3B4C/postmortem-2"].props == {"result": "resolved", "helped": True}


def test_the_document_keeps_every_section_under_the_title() -> None:
    [document] = read("2026-03-01-checkout-5xx.md").documents
    assert (document.id, document.kind, document.path) == (CHECKOUT_PM, "postmortem", "pm/2026-03-01-checkout-5xx.md")
    title = "Checkout 5xx after the 2.4.0 deploy"
    assert [s.heading_path for s in document.sections] == [
        (title, "Summary"),
        (title, "Impact"),
        (title, "Timeline"),
        (title, "Root cause"),
        (title, "Root cause", "Why it was not caught"),
        (title, "Resolution"),
        (title, "Action items"),
    ]
    assert document.sections[4].anchor == "why-it-was-not-caught"
    assert document.sections[4].text == "The load test in staging runs with 5% of production traffic."
    assert document.front_matter["incident_id"] == "Q2K7W1N0GZ3B4C"
    assert document.front_matter["date"] == "2026-03-01"
    assert document.front_matter["services"] == ["checkout", "payments-api"]


def test_sections_are_nodes_like_runbook_sections() -> None:
    result = read("2026-03-01-checkout-5xx.md")
    sections = [n for n in result.nodes if n.label is NodeLabel.SECTION]
    assert [n.id for n in sections][:2] == ["section:pm/2026-03-01-checkout-5xx.md#1", "section:pm/2026-03-01-checkout-5xx.md#2"]
    first = sections[0]
    assert first.name == "Checkout 5xx after the 2.4.0 deploy › Summary"
    assert {k: first.props[k] for k in ("heading", "anchor", "order")} == {
        "heading": "Checkout 5xx after the 2.4.0 deploy › Summary",
        "anchor": "summary",
        "order": 1,
    }
    assert str(first.props["text"]).startswith("Between 14:05 and 14:31 UTC")
    assert line_of("2026-03-01-checkout-5xx.md", first.provenance.location or "").startswith("Between 14:05")
    has_section = [(e.src, e.dst, e.props["order"]) for e in result.edges if e.type is RelType.HAS_SECTION]
    assert has_section == [(CHECKOUT_PM, n.id, n.props["order"]) for n in sections]
    [document] = result.documents
    assert [s.text for s in document.sections] == [n.props["text"] for n in sections]


def test_long_sections_are_split_for_the_embedder() -> None:
    text = "# Long\n\n## Timeline\n\n- 10:00 UTC start\n\n## Root cause\n\n" + "word " * 400 + "\n"
    sections = read("long.md", text.encode()).documents[0].sections
    assert [s.heading_path for s in sections] == [("Long", "Timeline")] + [("Long", "Root cause")] * 3
    assert all(len(s.text.split()) <= 170 for s in sections)


# -- a postmortem without front matter ---------------------------------------------------------------------


def test_without_an_incident_id_the_postmortem_stands_for_one() -> None:
    result = read("search-outage.md")
    incident = by_id(result)[SEARCH]
    assert incident.name == "Search outage: Elasticsearch disk watermark"
    assert incident.at == datetime(2026, 3, 3, 9, 10, tzinfo=UTC)
    assert incident.props == {"source_kind": "postmortem"}
    assert (RelType.DESCRIBES, "postmortem:pm/search-outage.md", SEARCH) in {(e.type, e.src, e.dst) for e in result.edges}


def test_a_table_timeline_and_a_dependency_cause() -> None:
    result = read("search-outage.md")
    props = by_id(result)["postmortem:pm/search-outage.md"].props
    assert props["date"] == "2026-03-03"
    assert props["timeline"] == [
        "2026-03-03T09:10:00+00:00 Disk usage on search-es data nodes passes 95%",
        "2026-03-03T09:12:00+00:00 PagerDuty incident #4820 opened for Search API",
        "2026-03-03T09:41:00+00:00 Failed over to the replica cluster search-es-b",
        "2026-03-03T10:02:00+00:00 Incident resolved",
    ]
    [cause] = [h for h in result.hinted if h.type is RelType.CAUSED_BY]
    assert (cause.src, dict(cause.hint.values)) == (SEARCH, {"name": "search-es"})
    evidence = "Dependency failure: search-es was unavailable for writes after the flood-stage"
    assert str(cause.props["evidence"]).startswith(evidence)
    nodes = by_id(result)
    assert nodes["remediation:postmortem/pm/search-outage.md/postmortem-1"].props["action"] == "failover"
    assert nodes["remediation:postmortem/pm/search-outage.md/postmortem-1"].at == datetime(2026, 3, 3, 9, 41, tzinfo=UTC)


def test_headings_inside_code_blocks_are_text() -> None:
    [document] = read("search-outage.md").documents
    title = "Search outage: Elasticsearch disk watermark"
    assert [s.heading_path for s in document.sections][:2] == [(title,), (title, "Executive Summary")]
    assert "# Root cause: not a heading inside a code block" in document.sections[3].text
    assert len(document.sections) == 6


# -- numbered headings, bold times, a local time zone, prose resolution ---------------------------------


def test_local_times_roll_over_midnight_and_are_stored_in_utc() -> None:
    props = by_id(read("payments-timeouts.md"))["postmortem:pm/payments-timeouts.md"].props
    timeline = props["timeline"]
    assert isinstance(timeline, list)
    assert [entry.split(" ", 1)[0] for entry in timeline] == [
        "2026-03-04T22:40:00+00:00",
        "2026-03-04T22:52:00+00:00",
        "2026-03-04T23:10:00+00:00",
        "2026-03-04T23:20:00+00:00",
        "2026-03-05T00:25:00+00:00",  # written "00:25 UTC"
    ]
    assert props["severity"] == "2"
    assert props["services"] == ["payments-api"]


def test_prose_resolution_is_read_sentence_by_sentence() -> None:
    result = read("payments-timeouts.md")
    nodes = by_id(result)
    assert nodes["postmortem:pm/payments-timeouts.md"].name == "payments-timeouts"  # no H1, no title: the file name
    revert = nodes["remediation:Q1PAYM3NT5X8Z/postmortem-1"]
    assert (revert.props["action"], revert.at) == ("revert_config", datetime(2026, 3, 4, 23, 10, tzinfo=UTC))
    assert nodes["outcome:Q1PAYM3NT5X8Z/postmortem-1"].props["result"] == "partial"
    assert nodes["remediation:Q1PAYM3NT5X8Z/postmortem-3"].props["action"] == "scale_up"
    assert nodes["outcome:Q1PAYM3NT5X8Z/postmortem-3"].props["evidence"] == "Error rate back to normal shortly after."
    causes = {(e.src, e.dst) for e in result.edges if e.type is RelType.CAUSED_BY}
    assert causes == {("incident:Q1PAYM3NT5X8Z", "config:config-8812")}


# -- errors -------------------------------------------------------------------------------------------------


def test_bad_values_are_record_errors() -> None:
    result = read("bad-values.md")
    assert [str(e) for e in result.errors] == [
        "front matter: front matter timezone: 'Mars/Olympus_Mons' is not an IANA time zone (e.g. Europe/Berlin)",
        "line 13: timeline time '25:99': hour must be in 0..23",
        "front matter: cause_ids: \"yesterday's deploy\" is not a cause id (expected deploy:, config:, flag: or "
        "migration:<id>, a UUID, or the id of what failed: resource:, service:, alert:<fingerprint>)",
    ]
    assert ("incident:Q7ORDERS0DB1", "deploy:ord-5521") in {(e.src, e.dst) for e in result.edges}
    assert by_id(result)["outcome:Q7ORDERS0DB1/postmortem-1"].props["result"] == "resolved"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("unclosed-front-matter.md", None, "pm/unclosed-front-matter.md: line 1: front matter is not closed"),
        ("bad-front-matter.md", None, "pm/bad-front-matter.md: line 4 column 5: invalid YAML"),
        ("empty.md", b"\n\n", "pm/empty.md: empty file"),
        ("binary.md", b"\xff\xfe\x00# x", "pm/binary.md: byte 0 is not UTF-8"),
        ("list.md", b"---\n- a\n- b\n---\n# x\n\ntext\n", "pm/list.md: front matter: expected a mapping of keys to values"),
        ("headings.md", b"# Summary\n## Timeline\n", "pm/headings.md: no text under the headings"),
        (
            "long.md",
            b"---\nincident_id: " + b"x" * 1100 + b"\n---\n# x\n\ntext\n",
            "pm/long.md: front matter incident_id: node id 'incident:xxxx",
        ),
    ],
)
def test_whole_file_problems_raise_format_errors(name: str, data: bytes | None, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read(name, data)
    assert str(caught.value).startswith(message)


def test_an_impossible_front_matter_date_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"^pm/date\.md: .*day is out of range for month"):
        read("date.md", b"---\ndate: 2026-02-30\n---\n# x\n\ntext\n")


# -- robustness ------------------------------------------------------------------------------------------------

SPECIAL_LINES = st.sampled_from(
    [
        "---", "```", "# Root cause", "## Timeline", "## Resolution", "- 25:99 UTC x", "- 23:59 UTC late",
        "| 2026-13-45 | 10:00 | bad date |", "| 9999-12-31 | 23:59 | end of time |", "- **00:01** +14:00 far east",
        "incident_id: " + "x" * 1100, "date: 0001-01-01", "timezone: ../x", "services: {a: b}",
        "- Rolled back deploy:" + "d" * 1100, "caused by deploy d-1", "dependency failure: a-b is down", "\ud7ff",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    assert_reads_or_refuses(READER, SourceFile("pm/x.md", data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_postmortems_are_read_or_refused(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([*GOOD, "bad-values.md"]))
    lines = (FIXTURES / name).read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines)))
        choice = data.draw(st.integers(0, 2))
        if choice == 0:
            lines.insert(index, data.draw(SPECIAL_LINES | st.text(max_size=40)))
        elif choice == 1 and index < len(lines):
            del lines[index]
        elif index < len(lines):
            lines[index] = lines[index][: data.draw(st.integers(0, len(lines[index])))]
    text = "\n".join(lines)
    assert_reads_or_refuses(READER, SourceFile("pm/x.md", text.encode("utf-8", errors="surrogatepass")))


def test_front_matter_cause_may_name_a_failed_dependency_or_a_traffic_alert(tmp_path: Path) -> None:
    text = (
        "---\ntype: postmortem\nincident: PXTRAFFIC\ncauses: [resource:default/session-cache, alert:407019779e5b22ae]\n"
        "---\n# Sale traffic\n\n## Summary\nSearch slowed.\n\n## Root cause\nThe sale e-mail and migration "
        "V209__backfill.sql.\n\n## Timeline\n- 10:00 UTC e-mail sent\n"
    )
    result = READER.read(SourceFile(path="pm/traffic.md", data=text.encode()), CTX)
    causes = {e.dst for e in result.edges if e.type is RelType.CAUSED_BY}
    assert causes == {"resource:default/session-cache", "alert:407019779e5b22ae"}


# -- the stated fix and the detecting alert -----------------------------------------------------------------

_STATED = """---
type: postmortem
incident_id: P9FIX
date: '2026-10-01'
detected_by: RecommendationsHighLatency
---
# Recommendations latency

## Timeline

- 16:12 — RecommendationsHighLatency fires (recommendations, fingerprint `6405c2bf5c69bcad`)
- 16:15 — WebFrontendHighLatency fires (web-frontend, fingerprint `c000d0868a863366`)
- 16:21 — Set recs.model-v3 back to 10%.
- 16:31 — Incident resolved

## Resolution

- 16:16 Restarted two recommendations pods.
- 16:21 Set recs.model-v3 back to 10%.

What fixed it: Set recs.model-v3 back to 10%. The incident was resolved at 16:31 UTC, 19 minutes after the first alert.
"""


def _outcomes(result: ReadResult) -> dict[str, str]:
    """Remediation action -> its outcome."""
    nodes = by_id(result)
    out = {e.src: nodes[e.dst].props["result"] for e in result.edges if e.type is RelType.HAS_OUTCOME}
    return {nodes[rem].props["action"]: result for rem, result in out.items()}


def test_the_stated_fix_marks_the_resolution_item_it_repeats_resolved() -> None:
    result = read("stated.md", _STATED.encode())
    assert _outcomes(result) == {"restart_pod": "unknown", "disable_feature_flag": "resolved"}
    assert sum(n.label is NodeLabel.REMEDIATION for n in result.nodes) == 2  # the statement is not a third action


def test_a_stated_fix_no_item_repeats_is_its_own_resolved_remediation() -> None:
    text = _STATED.replace("What fixed it: Set recs.model-v3 back to 10%.", "Fixed by: Rolled back recommendations to 4.1.0.")
    result = read("stated.md", text.encode())
    assert _outcomes(result) == {"restart_pod": "unknown", "disable_feature_flag": "unknown",
                                 "rollback_deploy": "resolved"}
    fix = next(n for n in result.nodes if n.id == "remediation:P9FIX/postmortem-fix")
    assert fix.props["original_text"] == "Rolled back recommendations to 4.1.0."
    assert fix.at == datetime(2026, 10, 1, 16, 31, tzinfo=UTC)  # the last timeline entry: the incident resolved


def test_a_written_outcome_is_not_overridden_by_the_stated_fix() -> None:
    text = _STATED.replace("- 16:21 Set recs.model-v3 back to 10%.", "- 16:21 Set recs.model-v3 back to 10%, no change.")
    text = text.replace("What fixed it: Set recs.model-v3 back to 10%.", "What fixed it: Set recs.model-v3 back to 10%")
    assert _outcomes(read("stated.md", text.encode()))["disable_feature_flag"] == "failed"


def test_the_detecting_alert_triggered_the_incident() -> None:
    result = read("stated.md", _STATED.encode())
    triggered = [e for e in result.edges if e.type is RelType.TRIGGERED]
    assert [(e.src, e.dst) for e in triggered] == [("alert:6405c2bf5c69bcad", "incident:P9FIX")]
    postmortem = next(n for n in result.nodes if n.label is NodeLabel.POSTMORTEM)
    assert postmortem.props["detected_by"] == "RecommendationsHighLatency"


@pytest.mark.parametrize(
    ("front", "body", "expected"),
    [
        ("detected_by: alert:0123456789abcdef\n", "", ["alert:0123456789abcdef"]),
        ("", "Detected by: alert WebFrontendHighLatency\n", ["alert:c000d0868a863366"]),
        ("", "**Detected by:** `WebFrontendHighLatency`\n", ["alert:c000d0868a863366"]),
        ("detected_by: a customer e-mail\n", "", []),  # no alert of that name in the timeline
    ],
)
def test_detection_is_read_from_front_matter_or_a_detected_by_line(front: str, body: str, expected: list[str]) -> None:
    text = _STATED.replace("detected_by: RecommendationsHighLatency\n", front).replace("## Resolution", body + "\n## Resolution")
    result = read("stated.md", text.encode())
    assert [e.src for e in result.edges if e.type is RelType.TRIGGERED] == expected
    postmortem = next(n for n in result.nodes if n.label is NodeLabel.POSTMORTEM)
    assert ("detected_by" in postmortem.props) == bool(expected)  # a sentence is not an alert name
