"""The optional LLM rewrite, against a real OpenAI-compatible HTTP server on 127.0.0.1 (no network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from retrieval.answer import Answer, Passage
from retrieval.llm import SYSTEM_PROMPT, rewrite
from retrieval.search import SearchHit
from tests.retrieval.conftest import require

QUESTION = "the ceph cluster is nearly full, what do I do?"
FULL = (
    "Check the usage per pool first:\n\n```\nceph df detail\n```\n\n"
    "Then find the biggest images:\n\n```\n$ rbd du -p ocs-storagecluster-cephblockpool\n```"
)
EXPAND = (
    "Add capacity to the storage cluster:\n\n"
    "```\noc patch storagecluster ocs-storagecluster -n openshift-storage --type merge\n```"
)


@dataclass
class Endpoint:
    """What the local chat-completions server answers, and what it was sent."""

    url: str
    reply: str = ""
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            endpoint.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            time.sleep(endpoint.delay)
            if endpoint.status != 200:
                data = json.dumps({"error": {"message": "model overloaded", "type": "server_error"}}).encode()
            else:
                data = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": endpoint.reply}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }).encode()
            try:
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    require("llama_index.llms.openai_like", "pip install 'vidya[llm]'")
    endpoint = Endpoint(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_port}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _hit(rank: int, heading: str, text: str) -> SearchHit:
    return SearchHit(rank=rank, node_id=f"section:storage/CephClusterNearFull.md#{rank}",
                     document_id="runbook:storage/CephClusterNearFull.md", source="storage/CephClusterNearFull.md",
                     heading=heading, kind="runbook", text=text, score=1.0 / rank)


@pytest.fixture
def answer() -> Answer:
    return Answer(QUESTION, [Passage(1, _hit(1, "CephClusterNearFull › Diagnosis", FULL)),
                             Passage(2, _hit(2, "CephClusterNearFull › Mitigation", EXPAND))])


def _rewrite(endpoint: Endpoint, answer: Answer, reply: str, **kwargs: Any) -> Answer | None:
    endpoint.reply = reply
    return rewrite(answer, url=endpoint.url, model="runbook-model", api_key=kwargs.pop("api_key", "sk-test"),
                   timeout=kwargs.pop("timeout", 10.0))


GOOD = (
    "See which pools are full [1]:\n\n```\nceph df detail\n$ rbd du -p ocs-storagecluster-cephblockpool\n```\n\n"
    "If nothing can be deleted, add capacity [2]:\n\n"
    "```\noc patch storagecluster ocs-storagecluster -n openshift-storage --type merge\n```"
)


def test_a_faithful_rewrite_is_kept_with_its_citations(endpoint: Endpoint, answer: Answer) -> None:
    result = _rewrite(endpoint, answer, GOOD)
    assert result is not None
    assert result.rewritten == GOOD
    assert answer.rewritten is None  # the extractive answer is left as it was
    text = result.render_text()
    assert text.startswith("See which pools are full [1]:")
    assert "  [2] storage/CephClusterNearFull.md › Mitigation" in text
    data = result.as_json()
    assert data["rewritten"] == GOOD
    assert data["answer"].startswith("[1] CephClusterNearFull › Diagnosis\nCheck the usage per pool first:")


def test_the_model_gets_only_the_question_and_the_numbered_passages(endpoint: Endpoint, answer: Answer) -> None:
    _rewrite(endpoint, answer, GOOD, api_key="sk-test")
    [request] = endpoint.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "runbook-model"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == SYSTEM_PROMPT
    user = body["messages"][1]["content"]
    assert user.startswith(f"Question: {QUESTION}\n\nPassages:\n\n[1] CephClusterNearFull › Diagnosis (storage/")
    assert FULL in user and EXPAND in user


@pytest.mark.parametrize("reply", [
    "Add capacity [3]:\n\n```\noc patch storagecluster ocs-storagecluster -n openshift-storage --type merge\n```",
    "Add capacity [0] [2].",
], ids=["citation-3-of-2", "citation-0"])
def test_a_citation_of_a_passage_that_does_not_exist_is_rejected(endpoint: Endpoint, answer: Answer, reply: str) -> None:
    assert _rewrite(endpoint, answer, reply) is None


def test_an_answer_without_citations_is_rejected(endpoint: Endpoint, answer: Answer) -> None:
    assert _rewrite(endpoint, answer, "Delete some data or add capacity.") is None


@pytest.mark.parametrize("command", [
    "ceph osd pool delete ocs-storagecluster-cephblockpool --yes-i-really-really-mean-it",
    "oc patch storagecluster ocs-storagecluster -n openshift-storage",  # a flag dropped
], ids=["invented", "truncated"])
def test_a_command_no_passage_contains_is_rejected(endpoint: Endpoint, answer: Answer, command: str) -> None:
    assert _rewrite(endpoint, answer, f"Free space [1]:\n\n```\n{command}\n```") is None


def test_inline_code_no_passage_contains_is_rejected(endpoint: Endpoint, answer: Answer) -> None:
    assert _rewrite(endpoint, answer, "Run `ceph osd set-full-ratio 0.99` to unblock writes [1].") is None
    assert _rewrite(endpoint, answer, "Run `ceph df detail` to see the pools [1].") is not None


def test_a_server_error_gives_none(endpoint: Endpoint, answer: Answer) -> None:
    endpoint.status = 500
    assert _rewrite(endpoint, answer, GOOD) is None
    assert len(endpoint.requests) == 1  # no retries: the extractive answer is already there


def test_a_timeout_gives_none(endpoint: Endpoint, answer: Answer) -> None:
    endpoint.delay = 2.0
    started = time.monotonic()
    assert _rewrite(endpoint, answer, GOOD, timeout=0.3) is None
    assert time.monotonic() - started < 2.0


def test_an_endpoint_that_is_not_listening_gives_none(answer: Answer) -> None:
    require("llama_index.llms.openai_like", "pip install 'vidya[llm]'")
    assert rewrite(answer, url="http://127.0.0.1:9/v1", model="m", api_key=None, timeout=2.0) is None


def test_nothing_is_sent_without_passages(endpoint: Endpoint) -> None:
    assert _rewrite(endpoint, Answer(QUESTION, []), GOOD) is None
    assert endpoint.requests == []
