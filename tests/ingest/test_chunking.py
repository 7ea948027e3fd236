"""Section-aware chunking: chunk_markdown and the shared chunker, on small inputs and the OpenShift runbooks."""

from __future__ import annotations

import doctest
import importlib
import re
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from ingest.chunking import MAX_WORDS, Block, Outliner, chunk_parts, slug
from ingest.doc_markdown import chunk_markdown, outline_markdown

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "openshift-runbooks" / "alerts"
#: upstream files whose own code fences do not balance (an item closes ``` with ``)
UNBALANCED_UPSTREAM = {"GuestVCPUQueueHighCritical.md"}
_FENCE = re.compile(r"^\s*(```|~~~)")


def words(text: str) -> int:
    return len(text.split())


def fences(text: str) -> int:
    return sum(1 for line in text.split("\n") if _FENCE.match(line))


def is_single_code_block(text: str) -> bool:
    lines = text.split("\n")
    fenced = _FENCE.match(lines[0]) and _FENCE.match(lines[-1]) and fences(text) == 2
    indented = all(line.startswith(("    ", "\t")) or not line.strip() for line in lines)
    return bool(fenced or indented)


def steps(count: int, length: int = 12) -> str:
    return "\n".join(f"{n}. " + " ".join(["word"] * length) for n in range(1, count + 1))


# --- small inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module", ["ingest.chunking", "ingest.doc_markdown", "ingest.doc_front_matter", "ingest.doc_text", "ingest.doc_html"]
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed


def test_heading_path_runs_from_the_title_and_the_title_h1_is_not_repeated() -> None:
    text = "# Disk full\n\nIntro.\n\n## Diagnosis\n\n### Logs\n\nRead them.\n\n## Mitigation\n\nFree space.\n"
    sections = chunk_markdown(text)
    assert [(s.heading_path, s.text, s.anchor) for s in sections] == [
        (("Disk full",), "Intro.", "disk-full"),
        (("Disk full", "Diagnosis", "Logs"), "Read them.", "logs"),
        (("Disk full", "Mitigation"), "Free space.", "mitigation"),
    ]


def test_heading_text_drops_markup_but_keeps_code_spans() -> None:
    sections = chunk_markdown("# T\n\n## Refer to the `etcd` *team* [here](http://x)\n\nText.\n")
    assert sections[0].heading_path == ("T", "Refer to the etcd team here")
    assert sections[0].anchor == "refer-to-the-etcd-team-here"


def test_without_a_title_the_path_holds_only_headings_found() -> None:
    assert chunk_markdown("Loose text.\n\n## Steps\n\nDo it.\n")[1].heading_path == ("Steps",)
    assert chunk_markdown("Loose text.\n")[0].heading_path == ()
    assert chunk_markdown("Loose text.\n", title="Runbook")[0].heading_path == ("Runbook",)


def test_duplicate_headings_get_numbered_anchors_like_github() -> None:
    text = "# T\n\n## Check\n\na\n\n## Check\n\nb\n\n## Check\n\nc\n"
    assert [s.anchor for s in chunk_markdown(text)] == ["check", "check-1", "check-2"]
    assert slug("Verify `ClusterRole`'s Existence!") == "verify-clusterroles-existence"
    assert slug("Störung beheben") == "störung-beheben"


def test_front_matter_is_not_text_and_gives_the_title() -> None:
    outline = outline_markdown("---\ntitle: Disk full\nseverity: critical\n---\n# Disk full\n\nBody.\n")
    assert outline.title == "Disk full"
    assert outline.front_matter == {"severity": "critical"}
    chunks = chunk_parts(outline.parts)
    assert [(c.heading_path, c.text, c.line) for c in chunks] == [(("Disk full",), "Body.", 7)]


def test_long_sections_split_between_list_items_and_repeat_the_heading() -> None:
    text = "# T\n\n## Mitigation\n\n" + steps(30) + "\n"
    sections = chunk_markdown(text)
    assert len(sections) > 1
    assert {s.heading_path for s in sections} == {("T", "Mitigation")}
    assert all(words(s.text) <= MAX_WORDS for s in sections)
    numbers = [int(line.split(".")[0]) for s in sections for line in s.text.split("\n")]
    assert numbers == list(range(1, 31))  # numbered steps keep their numbers, none lost or cut
    assert all(re.match(r"^\d+\. ", s.text) for s in sections)


def test_a_code_block_is_never_split_and_a_long_one_stands_alone() -> None:
    code = "```bash\n" + "\n".join(f"kubectl get pods -n ns{i} -o wide --show-labels" for i in range(40)) + "\n```"
    text = "# T\n\n## Dump\n\nShort intro.\n\n" + code + "\n\nAfter.\n"
    outline = outline_markdown(text)
    chunks = chunk_parts(outline.parts)
    assert [c.text for c in chunks] == ["Short intro.", code, "After."]
    assert [c.oversized for c in chunks] == [False, True, False]
    assert chunks[1].words > MAX_WORDS


def test_indented_and_tilde_code_blocks_are_kept_whole() -> None:
    indented = "\n".join(f"    oc adm drain node-{i} --ignore-daemonsets --delete-emptydir-data" for i in range(40))
    tilde = "~~~\n" + "\n".join(f"ceph osd out osd.{i} and some more words" for i in range(30)) + "\n~~~"
    sections = chunk_markdown(f"# T\n\nIntro:\n\n{indented}\n\n## B\n\n{tilde}\n")
    texts = [s.text for s in sections]
    assert "Intro:" in texts and indented in texts and tilde in texts


def test_a_lead_in_ending_with_a_colon_moves_with_its_code_block() -> None:
    filler = " ".join(["text"] * 155)
    text = f"# T\n\n{filler}\n\nRun the following command:\n\n```\noc get pods\n```\n"
    sections = chunk_markdown(text, max_words=160)
    assert sections[-1].text == "Run the following command:\n\n```\noc get pods\n```"


def test_tables_split_between_rows_and_repeat_the_header() -> None:
    rows = "\n".join(f"| row {i} | " + " ".join(["cell"] * 10) + " |" for i in range(30))
    text = "# T\n\n| Name | Value |\n|---|---|\n" + rows + "\n"
    sections = chunk_markdown(text)
    assert len(sections) > 1
    for section in sections:
        assert section.text.split("\n")[:2] == ["| Name | Value |", "|---|---|"]
        assert words(section.text) <= MAX_WORDS
    assert sum(len(s.text.split("\n")) - 2 for s in sections) == 30


def test_long_paragraphs_split_at_lines_then_sentences_but_commands_stay_whole() -> None:
    wrapped = "\n".join(" ".join(["wrapped"] * 10) for _ in range(40))
    sentence = " ".join(["long"] * 100) + ". "
    one_line = sentence * 4
    command = "$ " + " ".join(f"--flag{i}=value" for i in range(200))
    for text in (wrapped, one_line):
        sections = chunk_markdown(f"# T\n\n{text}\n")
        assert len(sections) > 1 and all(words(s.text) <= MAX_WORDS for s in sections)
        assert sum(words(s.text) for s in sections) == words(text)
    outline = outline_markdown(f"# T\n\n{command}\n")
    assert [(c.text, c.oversized) for c in chunk_parts(outline.parts)] == [(command, True)]


def test_crlf_and_lf_give_the_same_sections() -> None:
    text = "# T\n\n## A\n\n1. one\n2. two\n\n```\ncode\n```\n"
    assert chunk_markdown(text.replace("\n", "\r\n")) == chunk_markdown(text)
    assert chunk_markdown(text.replace("\n", "\r")) == chunk_markdown(text)


def test_outliner_and_chunker_work_on_any_blocks() -> None:
    out = Outliner("PDF runbook")
    out.heading(1, "PDF runbook")
    out.add(Block(("Intro.", ""), page=1))
    out.heading(1, "2. Mitigation")
    out.add(Block(("Restart.", ""), page=2))
    chunks = chunk_parts(out.parts())
    assert [(c.heading, c.anchor, c.location) for c in chunks] == [
        ("PDF runbook", "page=1", "page 1"),
        ("PDF runbook › 2. Mitigation", "page=2", "page 2"),
    ]


_FRAGMENTS = st.sampled_from(
    [
        "# Title",
        "## Section",
        "### Sub `code`",
        "Some prose that goes on for a while and wraps.",
        "1. Step one with a few words",
        "- bullet item",
        "   continued item line",
        "```bash",
        "```",
        "~~~",
        "    indented code line",
        "| a | b |",
        "|---|---|",
        "> quoted text",
        "---",
        "$ oc get pods -A --show-labels",
        "",
        "[ref]: http://example.com",
        "<div>html block</div>",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=120), st.integers(min_value=5, max_value=60))
def test_chunks_respect_the_limit_unless_they_are_one_code_block(lines: list[str], max_words: int) -> None:
    text = "\n".join(lines)
    outline = outline_markdown(text)
    for chunk in chunk_parts(outline.parts, max_words):
        assert chunk.text.strip() and chunk.words == words(chunk.text)
        assert chunk.oversized == (chunk.words > max_words)
        if chunk.oversized:
            assert unsplittable(chunk.text), chunk.text


def unsplittable(text: str) -> bool:
    """One code block (possibly inside a quote or list item), or one shell command line."""
    nodes = SyntaxTreeNode(MarkdownIt("commonmark").enable("table").parse(text)).children
    while len(nodes) == 1 and nodes[0].type in ("blockquote", "bullet_list", "ordered_list", "list_item"):
        nodes = nodes[0].children
    if len(nodes) == 1 and nodes[0].type in ("fence", "code_block"):
        return True
    return "\n" not in text and text.lstrip("> ").startswith("$ ")


# --- the OpenShift runbooks corpus ----------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return {str(p.relative_to(CORPUS)): p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.md"))}


def test_every_corpus_runbook_chunks_within_the_limit(corpus: dict[str, str]) -> None:
    assert len(corpus) == 235
    counts: list[int] = []
    for path, text in corpus.items():
        title = next(line[2:].strip() for line in text.split("\n") if line.startswith("# "))  # every file has an H1
        sections = chunk_markdown(text)
        assert sections, path
        for section in sections:
            n = words(section.text)
            counts.append(n)
            assert section.heading_path[0] == title, path
            assert n <= MAX_WORDS or is_single_code_block(section.text), (path, section.heading_path)
            if Path(path).name not in UNBALANCED_UPSTREAM:
                assert fences(section.text) % 2 == 0, (path, section.heading_path)
    assert len(counts) > 1000 and max(counts) <= MAX_WORDS and 30 < statistics.mean(counts) < 120


def test_corpus_text_is_kept_whole_and_in_order(corpus: dict[str, str]) -> None:
    heading = re.compile(r"^#{1,6}\s")
    for path, text in corpus.items():
        if Path(path).name in UNBALANCED_UPSTREAM:
            continue  # this naive fence tracking cannot follow the broken fence
        in_fence = False
        expected: list[str] = []
        for line in text.split("\n"):
            if _FENCE.match(line):
                in_fence = not in_fence
            if line.strip() and (in_fence or _FENCE.match(line) or not heading.match(line)):
                expected.append(line.rstrip())
        got = [line for s in chunk_markdown(text) for line in s.text.split("\n") if line.strip()]
        assert got == expected, path


def test_hand_checked_heading_paths(corpus: dict[str, str]) -> None:
    etcd = chunk_markdown(corpus["cluster-etcd-operator/etcdGRPCReadRequestsSlow.md"])
    assert [(s.heading_path[1:], s.anchor) for s in etcd] == [
        (("Alert Description",), "alert-description"),
        (("Troubleshooting", "Check for Correlated Critical Alerts"), "check-for-correlated-critical-alerts"),
        (("Troubleshooting", "Refer to the etcd team"), "refer-to-the-etcd-team"),
    ]
    assert etcd[0].text.startswith("| Impacted User   | Impact |\n|:----------------|:-------|")
    assert "```promql\nhistogram_quantile(0.99," in etcd[0].text

    signer = chunk_markdown(corpus["cluster-etcd-operator/etcdSignerCAExpirationCritical.md"])
    assert [s.heading_path for s in signer] == [
        ("etcdSignerCAExpirationCritical", "Meaning"),
        ("etcdSignerCAExpirationCritical", "Impact"),
        ("etcdSignerCAExpirationCritical", "Mitigation"),
    ]
    assert signer[2].text.endswith("[manualRota]: https://docs.openshift.com/container-platform/4.16/"
                                   "security/certificate_types_descriptions/etcd-certificates.html")

    collector = chunk_markdown(corpus["cluster-logging-operator/CollectorHigh403ForbiddenResponseRate.md"])
    paths = [s.heading_path[1:] for s in collector]
    assert (
        "Diagnosis",
        "Diagnosis for Red Hat Managed Lokistack",
        "Validate ClusterRoleBinding",
        "Query for the ServiceAccount associated with the CLF",
    ) in paths
    assert ("Mitigation", "Credential Update") in paths
    assert paths[-1] == ("Notes",)


def test_a_long_corpus_runbook_is_split_with_its_steps_intact(corpus: dict[str, str]) -> None:
    text = corpus["openshift-virtualization-operator/VirtualMachineStuckInUnhealthyState.md"]
    diagnosis = [s for s in chunk_markdown(text) if s.heading_path[1:] == ("Diagnosis",)]
    assert len(diagnosis) > 1
    assert all(re.match(r"^\d\. ", s.text) for s in diagnosis)  # each piece starts at a numbered step
