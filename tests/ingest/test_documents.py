"""The documents reader: runbooks in Markdown, HTML, plain text and PDF, through READER.sniff / READER.read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError, VidyaError
from graph.model import Node
from graph.schema import NodeLabel, RelType
from ingest import registry
from ingest.chunking import MAX_WORDS
from ingest.documents import READER
from ingest.records import EntityHint, ReadContext, ReadResult, SourceFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
CTX = ReadContext(run_id="run-1", ingested_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
FIXTURE_NAMES = ["checkout-latency.md", "disk-full.html", "kafka-consumer-lag.txt", "service-restart.rst"]


def fixture(name: str, path: str | None = None) -> SourceFile:
    return SourceFile(path or f"runbooks/{name}", (FIXTURES / name).read_bytes())


def read(path: str, data: bytes | str) -> ReadResult:
    return READER.read(SourceFile(path, data.encode() if isinstance(data, str) else data), CTX)


def sections(result: ReadResult) -> list[Node]:
    return [n for n in result.nodes if n.label is NodeLabel.SECTION]


def headings(result: ReadResult) -> list[str]:
    return [str(n.props["heading"]) for n in sections(result)]


def words(node: Node) -> int:
    value = node.props["words"]
    assert isinstance(value, int)
    return value


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal PDF, written by hand: one Helvetica text line per string, one content stream per page."""
    objects: list[bytes] = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for lines in pages:
        ops = [b"BT /F1 11 Tf 14 TL 72 760 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(" + escaped.encode("latin-1") + b") Tj T*")
        stream = b"\n".join([*ops, b"ET"])
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    pages_obj = len(objects) + len(pages) + 1
    kids = []
    for content in range(2, len(pages) + 2):
        objects.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 1 0 R >> >> >>" % (pages_obj, content)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids)))
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj)
    trailer = b"/Root %d 0 R" % len(objects)
    if title:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
        trailer += b" /Info %d 0 R" % len(objects)
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


PDF_PAGES = [
    ["Disk Full Runbook", "1. Meaning", "The /var filesystem on a node is almost full.",
     "Pods are evicted when it fills up.", "2. Mitigation", "Remove unused images with crictl rmi --prune.", "1"],
    ["2.1 Grow The Volume", "Ask the platform team to grow the volume.", "Page 2 of 2"],
]  # fmt: skip


# --- sniffing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.md", "a.markdown", "a.html", "a.HTM", "a.txt", "a.text", "a.rst"])
def test_sniff_claims_text_runbooks_by_suffix(name: str) -> None:
    assert READER.sniff(SourceFile(name, b"# Title\n\nText.\n"))


@pytest.mark.parametrize("name", ["a.yaml", "a.json", "a.log", "a.py", "Makefile", "a.md.bak"])
def test_sniff_leaves_other_files_alone(name: str) -> None:
    assert not READER.sniff(SourceFile(name, b"# Title\n\nText.\n"))


def test_sniff_is_conservative_about_binary_and_pdf_content() -> None:
    assert READER.sniff(SourceFile("a.pdf", make_pdf([["Hello"]])))
    assert not READER.sniff(SourceFile("a.pdf", b"# not a pdf"))
    assert not READER.sniff(SourceFile("a.md", b"\x89PNG\r\n\x1a\n\x00\x00"))
    assert not READER.sniff(SourceFile("repo.md", b"", is_directory=True))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_registry_detects_the_fixtures_as_documents(name: str) -> None:
    assert registry.detect(fixture(name)).name == "documents"


def test_reader_metadata() -> None:
    assert (READER.name, READER.priority) == ("documents", registry.PRIORITY_DOCUMENTS)
    assert isinstance(READER, registry.Reader)


# --- Markdown -------------------------------------------------------------------------------------


def test_markdown_runbook_nodes_edges_and_document() -> None:
    result = READER.read(fixture("checkout-latency.md"), CTX)
    runbook = result.nodes[0]
    assert (runbook.id, runbook.label, runbook.name) == (
        "runbook:runbooks/checkout-latency.md", NodeLabel.RUNBOOK, "CheckoutLatencyHigh"
    )  # fmt: skip
    assert runbook.props == {
        "service": "checkout",
        "alert": "CheckoutLatencyHigh",
        "severity": "critical",
        "owner": "group:payments/sre",
        "tags": ["latency", "checkout", "payments"],
        "last_reviewed": "2026-02-14",
        "format": "markdown",
        "sections": 9,
        "words": sum(words(n) for n in sections(result)),
    }
    assert headings(result) == [
        "CheckoutLatencyHigh",
        "CheckoutLatencyHigh › Meaning",
        "CheckoutLatencyHigh › Impact",
        "CheckoutLatencyHigh › Diagnosis › Recent deploys",
        "CheckoutLatencyHigh › Diagnosis › Payments gateway",
        "CheckoutLatencyHigh › Mitigation",
        "CheckoutLatencyHigh › Mitigation",
        "CheckoutLatencyHigh › Appendix: full pod dump script",
        "CheckoutLatencyHigh › Appendix: full pod dump script",
    ]
    first = sections(result)[0]
    assert first.id == "section:runbooks/checkout-latency.md#1"
    assert first.props["anchor"] == "checkoutlatencyhigh" and first.props["order"] == 1
    assert first.provenance.location == "line 15" and first.provenance.source == "runbooks/checkout-latency.md"
    has_section = [e for e in result.edges if e.type is RelType.HAS_SECTION]
    assert [(e.src, e.dst, e.props) for e in has_section[:2]] == [
        (runbook.id, "section:runbooks/checkout-latency.md#1", {"order": 1}),
        (runbook.id, "section:runbooks/checkout-latency.md#2", {"order": 2}),
    ]
    owned = [(e.src, e.dst) for e in result.edges if e.type is RelType.OWNED_BY]
    assert owned == [(runbook.id, "team:payments/sre")]
    assert [(h.type, h.src, h.hint) for h in result.hinted] == [
        (RelType.MENTIONS, runbook.id, EntityHint.of({"service": "checkout"}))
    ]
    assert result.errors == []
    (document,) = result.documents
    assert (document.id, document.kind, document.title, document.path) == (
        runbook.id, "runbook", "CheckoutLatencyHigh", "runbooks/checkout-latency.md"
    )  # fmt: skip
    assert [s.text for s in document.sections] == [n.props["text"] for n in sections(result)]
    assert document.sections[5].heading_path == ("CheckoutLatencyHigh", "Mitigation")
    assert document.front_matter["severity"] == "critical"


def test_markdown_keeps_steps_code_and_tables_intact() -> None:
    nodes = sections(READER.read(fixture("checkout-latency.md"), CTX))
    texts = [str(n.props["text"]) for n in nodes]
    assert texts[2].startswith("| Who | Impact |\n|-----|--------|\n| Shoppers |")
    assert "       kubectl -n shop rollout undo deployment/checkout" in texts[5]  # indented code, verbatim
    assert texts[5].count("```") == 2 and texts[6].startswith("5. If the database pool is exhausted")
    assert "~~~bash\ncurl -s" in texts[4]
    oversized = [n for n in nodes if n.props.get("oversized")]
    assert len(oversized) == 1 and str(oversized[0].props["text"]).startswith("```bash\n#!/usr/bin/env bash")
    assert all(words(n) <= MAX_WORDS for n in nodes if n not in oversized)


def test_front_matter_errors_are_reported_and_the_text_still_read() -> None:
    result = read("bad.md", "---\ntitle: [unclosed\nowner: x\n---\n# Real title\n\nBody.\n")
    assert [str(e) for e in result.errors] == [
        "line 1: front matter is not valid YAML (line 3: expected ',' or ']', but got ':')"
    ]
    assert result.nodes[0].name == "Real title" and result.nodes[0].props["format"] == "markdown"


def test_a_thematic_break_at_the_top_is_not_front_matter() -> None:
    result = read("rule.md", "---\nJust prose, not YAML.\n\n---\n\nMore text.\n")
    assert result.errors == [] and result.nodes[0].name == "rule"
    assert sections(result)[0].props["text"] == "---\nJust prose, not YAML.\n\n---\n\nMore text."


def test_an_owner_that_is_not_a_team_or_person_is_a_record_error() -> None:
    result = read("o.md", "---\nowner: component:checkout\nservices: [checkout, cart]\n---\nBody.\n")
    assert [str(e) for e in result.errors] == [
        "front matter owner: owner 'component:checkout': expected a group or user reference, got a Service"
    ]
    assert [h.hint.values for h in result.hinted] == [(("service", "checkout"),), (("service", "cart"),)]
    assert read("p.md", "---\nowner: Jane.Doe@Example.com\n---\nBody.\n").edges[-1].dst == "person:email/jane.doe@example.com"


def test_unicode_crlf_and_bom() -> None:
    text = "# Störung: Datenbank voll\n\n## Maßnahmen\n\n1. Speicher prüfen — `df -h`\n"
    lf = read("de.md", text)
    crlf = read("de.md", "\ufeff".encode() + text.replace("\n", "\r\n").encode())
    assert headings(lf) == headings(crlf) == ["Störung: Datenbank voll › Maßnahmen"]
    assert sections(lf)[0].props == sections(crlf)[0].props
    assert sections(lf)[0].props["anchor"] == "maßnahmen"


def test_unknown_suffix_read_on_request_is_taken_as_markdown_or_html() -> None:
    assert read("notes.wiki", "# Notes\n\nText.\n").nodes[0].props["format"] == "markdown"
    assert read("page", "<!DOCTYPE html><h1>T</h1><p>x</p>").nodes[0].props["format"] == "html"


# --- HTML, text, PDF ------------------------------------------------------------------------------


def test_html_runbook() -> None:
    result = READER.read(fixture("disk-full.html"), CTX)
    assert result.nodes[0].name == "NodeFilesystemAlmostFull" and result.nodes[0].props["format"] == "html"
    assert headings(result) == [
        "NodeFilesystemAlmostFull",
        "NodeFilesystemAlmostFull › Diagnosis › Find the node and mount point",
        "NodeFilesystemAlmostFull › Diagnosis › Usual culprits",
        "NodeFilesystemAlmostFull › Mitigation",
    ]
    texts = [str(n.props["text"]) for n in sections(result)]
    joined = "\n".join(texts)
    assert "analytics" not in joined and "Wiki" not in joined and "Last edited" not in joined  # script, nav, footer
    assert "```bash\nkubectl debug node/$NODE -it --image=busybox -- df -h /host/var\n" in texts[1]
    assert texts[2] == "- Container logs that are not rotated\n- Unused images: `crictl images`\n" \
        "- Core dumps in `/var/lib/systemd/coredump`"
    assert texts[3].startswith("1. Cordon the node so nothing new lands on it:\n\n   ```\n   kubectl cordon $NODE\n   ```\n2.")
    assert "| Threshold | Action |\n| --- | --- |\n| 85 % | Warning, clean up within a day |" in texts[3]
    assert texts[3].endswith("> Never delete files under `/var/lib/etcd` on a control-plane node.")
    assert [n.provenance.location for n in sections(result)] == ["line 13", "line 19", "line 26", "line 33"]


def test_html_without_h1_uses_the_page_title_and_copes_with_unclosed_tags() -> None:
    result = read("x.html", "<title>Cache  runbook</title><p>one<p>two<ol start=3><li>a<li>b</ol>")
    assert result.nodes[0].name == "Cache runbook"
    assert sections(result)[0].props["text"] == "one\n\ntwo\n\n3. a\n4. b"


def test_plain_text_runbook() -> None:
    result = READER.read(fixture("kafka-consumer-lag.txt"), CTX)
    assert result.nodes[0].name == "Kafka consumer lag" and result.nodes[0].props["format"] == "text"
    assert headings(result) == [
        "Kafka consumer lag",
        "Kafka consumer lag › Diagnosis",
        "Kafka consumer lag › Mitigation",
        "Kafka consumer lag › Escalation",
    ]
    diagnosis = str(sections(result)[1].props["text"])
    assert "    kafka-consumer-groups.sh --bootstrap-server kafka:9092 \\\n        --describe" in diagnosis
    assert [n.provenance.location for n in sections(result)] == ["line 4", "line 10", "line 21", "line 30"]


def test_restructured_text_with_overlines_and_literal_blocks() -> None:
    result = READER.read(fixture("service-restart.rst"), CTX)
    assert headings(result) == [
        "Service restart",
        "Service restart › Before you start",
        "Service restart › Before you start › Rolling restart",
        "Service restart › Afterwards",
    ]


def test_pdf_runbook_guesses_headings_and_anchors_pages() -> None:
    result = read("docs/disk.pdf", make_pdf(PDF_PAGES, title="Disk Full Runbook"))
    runbook = result.nodes[0]
    assert runbook.name == "Disk Full Runbook" and runbook.props["format"] == "pdf"
    assert [(n.props["heading"], n.props["anchor"], n.props["text"], n.provenance.location) for n in sections(result)] == [
        ("Disk Full Runbook › 1. Meaning", "page=1",
         "The /var filesystem on a node is almost full.\nPods are evicted when it fills up.", "page 1"),
        ("Disk Full Runbook › 2. Mitigation", "page=1", "Remove unused images with crictl rmi --prune.", "page 1"),
        ("Disk Full Runbook › 2. Mitigation › 2.1 Grow The Volume", "page=2",
         "Ask the platform team to grow the volume.", "page 2"),
    ]  # fmt: skip


def test_pdf_running_headers_and_footers_are_dropped() -> None:
    pages = [
        ["ACME Ops Handbook", "Cache Eviction", "Step one text.", "Confidential"],
        ["ACME Ops Handbook", "More text about the cache.", "Confidential"],
        ["ACME Ops Handbook", "Rollback", "Step two text.", "Confidential"],
    ]
    result = read("cache.pdf", make_pdf(pages, title="Cache runbook"))
    texts = " ".join(str(n.props["text"]) for n in sections(result))
    assert "ACME" not in texts and "Confidential" not in texts
    assert headings(result) == ["Cache runbook › Cache Eviction", "Cache runbook › Rollback"]


def test_pdf_without_metadata_title_takes_a_heading_like_first_line() -> None:
    assert read("a.pdf", make_pdf(PDF_PAGES)).nodes[0].name == "Disk Full Runbook"
    plain = read("b.pdf", make_pdf([["this line is prose, not a title.", "More prose."]]))
    assert plain.nodes[0].name == "b" and headings(plain) == ["b"]


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("e.md", b"", "e.md: empty file (expected a runbook)"),
        ("e.txt", b"  \n\n\t\n", "e.txt: empty file (expected a runbook)"),
        ("b.md", b"# Title\n\xff\xfe bad", "b.md: byte 8 is not UTF-8 (expected UTF-8 text; re-encode the file)"),
        ("n.txt", b"text\x00more", "n.txt: byte 4 is NUL (expected a text runbook, not a binary file)"),
        ("h.md", b"# Only\n\n## Headings\n", "h.md: no text to index (expected a runbook with some text beyond its headings)"),
        ("f.md", b"---\ntitle: x\n---\n", "f.md: no text to index (expected a runbook with some text beyond its headings)"),
        ("s.html", b"<script>x()</script><nav>menu</nav>", "s.html: no text to index"),
        ("p.pdf", b"%PDF-1.4\ngarbage", "p.pdf: not a readable PDF"),
        ("q.pdf", make_pdf([[]]), "q.pdf: no text to index"),
    ],
)
def test_whole_file_problems_raise_format_error(path: str, data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        read(path, data)
    assert str(info.value).startswith(message)


# --- robustness -----------------------------------------------------------------------------------

_SUFFIXES = st.sampled_from([".md", ".html", ".txt", ".rst", ".pdf"])


def check_robust(path: str, data: bytes) -> None:
    try:
        result = read(path, data)
    except VidyaError:
        return
    assert result.nodes and result.nodes[0].label is NodeLabel.RUNBOOK
    assert len(result.documents[0].sections) == len(result.nodes) - 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), _SUFFIXES)
def test_arbitrary_bytes_never_crash(data: bytes, suffix: str) -> None:
    check_robust("x" + suffix, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_fixtures_never_crash(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([*FIXTURE_NAMES, "generated.pdf"]))
    raw = bytearray(make_pdf(PDF_PAGES) if name.endswith(".pdf") else (FIXTURES / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and at < len(raw):
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at : at + data.draw(st.integers(1, 200))]
        else:
            raw[at:at] = data.draw(st.sampled_from([b"---\n", b"```", b"<pre>", b"\n# ", b"\x00", b"\xc3", b"stream"]))
    check_robust(name, bytes(raw))
