"""The optional unstructured reader (.docx, .pptx, .eml), run with no network.

The files are generated here (python-docx, python-pptx, the stdlib ``email``
package). They are read in a child process that has no network: inside a new
network namespace (``unshare -n``) where the system allows it, and always under
an audit hook that records and refuses every socket connection and name
lookup, so a download or telemetry ping that unstructured would swallow still
fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from graph.errors import FormatError
from ingest import documents
from ingest.doc_unstructured import INSTALL_HINT, READER
from ingest.records import ReadContext, SourceFile
from ingest.registry import detect
from tests.retrieval.conftest import require

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, sys
from datetime import UTC, datetime

attempts = []

def refuse(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        attempts.append(f"{event} {args[:2]!r}")
        raise OSError(f"network disabled in this test: {event}")

sys.addaudithook(refuse)

from graph.errors import FormatError
from ingest.doc_unstructured import READER
from ingest.records import ReadContext, SourceFile

out, paths = sys.argv[1], sys.argv[2:]
ctx = ReadContext(run_id="test", ingested_at=datetime(2026, 6, 1, tzinfo=UTC))
results = {}
for path in paths:
    name = path.rsplit("/", 1)[-1]
    try:
        result = READER.read(SourceFile(name, open(path, "rb").read()), ctx)
    except FormatError as exc:
        results[name] = {"error": str(exc)}
        continue
    results[name] = {
        "nodes": [{"id": n.id, "label": str(n.label), "name": n.name, "props": n.props,
                   "location": n.provenance.location} for n in result.nodes],
        "edges": [[str(e.type), e.src, e.dst] for e in result.edges],
        "documents": [{"id": d.id, "kind": d.kind, "title": d.title,
                       "sections": [[list(s.heading_path), s.text, s.anchor] for s in d.sections]}
                      for d in result.documents],
    }
with open(out, "w") as f:
    json.dump({"results": results, "attempts": attempts}, f)
"""


def _docx(path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading("Checkout latency", 0)
    doc.add_paragraph("High p99 latency on the checkout service, usually after a deploy or a slow database.")
    doc.add_heading("Diagnosis", 1)
    doc.add_paragraph("Check the pods first:")
    doc.add_paragraph("kubectl get pods -n checkout -o wide")
    doc.add_paragraph("Look at restarts in the last hour", style="List Bullet")
    doc.add_paragraph("Look at memory against the limit", style="List Bullet")
    doc.add_heading("Database", 2)
    doc.add_paragraph("If the database is slow, check the connection pool.")
    table = doc.add_table(rows=3, cols=2)
    for row, (metric, limit) in zip(table.rows, [("metric", "threshold"), ("p99", "500ms"), ("pool", "80%")], strict=True):
        row.cells[0].text, row.cells[1].text = metric, limit
    doc.add_heading("Mitigation", 1)
    doc.add_paragraph("Roll back the last deploy.", style="List Number")
    doc.add_paragraph("Scale the deployment to six replicas.", style="List Number")
    for n in range(40):
        doc.add_paragraph(f"Step note {n}: watch the error budget burn rate and the queue depth before going on.")
    doc.save(str(path))


def _pptx(path: Path) -> None:
    import pptx

    deck = pptx.Presentation()
    for title, lines in [("Disk full", ["Delete rotated logs", "du -sh /var/log/*"]),
                         ("Mitigation", ["Expand the volume when the logs cannot be deleted."])]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        frame = slide.placeholders[1].text_frame
        frame.text = lines[0]
        for line in lines[1:]:
            frame.add_paragraph().text = line
    deck.save(str(path))


def _eml(path: Path) -> None:
    msg = EmailMessage()
    msg["Subject"] = "Runbook: payments queue backlog"
    msg["From"] = "oncall@example.com"
    msg["To"] = "sre@example.com"
    msg.set_content("The payments queue is backing up.\n\nDrain it:\n\nkubectl scale deploy/worker --replicas=5\n")
    msg.add_alternative(
        "<html><body><p>The payments queue is backing up.</p><h2>Diagnosis</h2>"
        "<pre>kubectl get pods -n payments\nkubectl logs deploy/worker --tail=50</pre>"
        "<ul><li>consumer lag</li><li>dead letters</li></ul>"
        "<h3>Limits</h3><table><tr><th>queue</th><th>max</th></tr><tr><td>payments</td><td>10000</td></tr></table>"
        "</body></html>",
        subtype="html",
    )
    path.write_bytes(bytes(msg))


def _offline_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


@pytest.fixture(scope="module")
def read_offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every fixture file read by the reader in a child process without network."""
    for module in ("unstructured", "docx", "pptx"):
        require(module, INSTALL_HINT)
    folder = tmp_path_factory.mktemp("unstructured")
    _docx(folder / "checkout.docx")
    _pptx(folder / "disk.pptx")
    _eml(folder / "payments.eml")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not a zip archive")
    out = folder / "out.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    paths = [str(folder / name) for name in ("checkout.docx", "disk.pptx", "payments.eml", "broken.docx")]
    child = subprocess.run([*_offline_prefix(), sys.executable, "-c", _CHILD, str(out), *paths],
                           env=env, cwd=folder, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.mark.slow
def test_nothing_reaches_the_network(read_offline: dict[str, Any]) -> None:
    assert read_offline["attempts"] == []
    assert "error" not in read_offline["results"]["checkout.docx"]


@pytest.mark.slow
def test_word_headings_make_the_section_paths(read_offline: dict[str, Any]) -> None:
    result = read_offline["results"]["checkout.docx"]
    runbook = result["nodes"][0]
    assert (runbook["id"], runbook["label"], runbook["name"]) == ("runbook:checkout.docx", "Runbook", "Checkout latency")
    assert runbook["props"]["format"] == "docx"
    sections = result["documents"][0]["sections"]
    paths = [tuple(path) for path, _, _ in sections]
    assert paths[:4] == [("Checkout latency",), ("Checkout latency", "Diagnosis"),
                         ("Checkout latency", "Diagnosis", "Database"), ("Checkout latency", "Mitigation")]
    diagnosis = sections[1][1]
    assert "kubectl get pods -n checkout -o wide" in diagnosis.splitlines()
    assert "- Look at restarts in the last hour\n- Look at memory against the limit" in diagnosis
    assert "| metric | threshold |\n| --- | --- |\n| p99 | 500ms |" in sections[2][1]
    assert sections[3][1].startswith("1. Roll back the last deploy.\n2. Scale the deployment")


@pytest.mark.slow
def test_a_long_word_section_is_chunked_like_any_runbook(read_offline: dict[str, Any]) -> None:
    result = read_offline["results"]["checkout.docx"]
    mitigation = [s for s in result["documents"][0]["sections"] if s[0][-1] == "Mitigation"]
    assert len(mitigation) > 1
    sections = [n for n in result["nodes"] if n["label"] == "Section"]
    assert all(n["props"]["words"] <= 170 for n in sections)
    assert [n["props"]["order"] for n in sections] == list(range(1, len(sections) + 1))
    assert result["edges"] == [["HAS_SECTION", "runbook:checkout.docx", n["id"]] for n in sections]
    assert result["nodes"][0]["props"]["sections"] == len(sections)


@pytest.mark.slow
def test_slide_titles_are_headings_and_body_lines_text(read_offline: dict[str, Any]) -> None:
    result = read_offline["results"]["disk.pptx"]
    assert result["nodes"][0]["name"] == "Disk full"
    sections = result["documents"][0]["sections"]
    assert [(tuple(p), text, anchor) for p, text, anchor in sections] == [
        (("Disk full",), "Delete rotated logs\n\ndu -sh /var/log/*", "page=1"),
        (("Disk full", "Mitigation"), "Expand the volume when the logs cannot be deleted.", "page=2"),
    ]
    assert [n["location"] for n in result["nodes"][1:]] == ["page 1", "page 2"]


@pytest.mark.slow
def test_mail_subject_is_the_title_and_html_body_keeps_structure(read_offline: dict[str, Any]) -> None:
    result = read_offline["results"]["payments.eml"]
    assert result["nodes"][0]["name"] == "Runbook: payments queue backlog"
    assert result["nodes"][0]["props"]["format"] == "email"
    sections = {tuple(p)[-1]: text for p, text, _ in result["documents"][0]["sections"]}
    assert "```\nkubectl get pods -n payments\nkubectl logs deploy/worker --tail=50\n```" in sections["Diagnosis"]
    assert "- consumer lag\n- dead letters" in sections["Diagnosis"]
    assert sections["Limits"] == "| queue | max |\n| --- | --- |\n| payments | 10000 |"


@pytest.mark.slow
def test_a_damaged_word_file_is_a_format_error_naming_it(read_offline: dict[str, Any]) -> None:
    error = read_offline["results"]["broken.docx"]["error"]
    assert error.startswith("broken.docx: not a readable docx file (")


CTX = ReadContext(run_id="test", ingested_at=datetime(2026, 6, 1, tzinfo=UTC))


def test_sniff_claims_office_and_mail_files_only() -> None:
    zipped = b"PK\x03\x04" + b"\x00" * 20
    assert READER.sniff(SourceFile("a/runbook.docx", zipped))
    assert READER.sniff(SourceFile("a/deck.pptx", zipped))
    assert READER.sniff(SourceFile("a/mail.eml", b"From: a@example.com\nSubject: x\n\nbody\n"))
    assert not READER.sniff(SourceFile("a/runbook.docx", b"plain text, not a zip"))
    assert not READER.sniff(SourceFile("a/mail.eml", b"\x00\x01binary"))
    assert not READER.sniff(SourceFile("a/runbook.md", b"# Title\n"))
    assert detect(SourceFile("a/runbook.docx", zipped), [documents.READER, READER]) is READER


def test_without_the_extra_a_word_file_names_the_missing_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for switch, value in (("SCARF_NO_ANALYTICS", "true"), ("UNSTRUCTURED_DISABLE_NOTICE", "1")):
        monkeypatch.setenv(switch, value)  # restored afterwards: the reader sets them for unstructured
    monkeypatch.setitem(sys.modules, "unstructured", None)
    monkeypatch.setitem(sys.modules, "unstructured.nlp", None)
    with pytest.raises(FormatError, match=r"^a/runbook\.docx: reading docx files needs the optional unstructured "
                                          r"library .*pip install 'vidya\[documents\]'"):
        READER.read(SourceFile("a/runbook.docx", b"PK\x03\x04" + b"\x00" * 20), CTX)


def test_an_empty_file_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"^a/mail\.eml: empty file"):
        READER.read(SourceFile("a/mail.eml", b"  \n"), CTX)
