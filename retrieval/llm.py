"""An optional LLM rewrite of a `vidya ask` answer, strictly from its numbered passages.

Any OpenAI-compatible chat endpoint works, through llama-index
(``llama-index-llms-openai-like``, in the ``llm`` extra). The model sees only
the question and the numbered passages; the rewrite is kept only if it cites
passages as ``[n]``, cites none that does not exist, and every command it shows
is verbatim in a passage. Otherwise, or when the endpoint fails, the caller
keeps the extractive answer::

    better = rewrite(answer, url="http://127.0.0.1:8000/v1", model="gpt-4o-mini", api_key=None)
    print((better or answer).render_text())
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from graph.errors import VidyaError
from retrieval.answer import Answer

INSTALL_HINT = "pip install 'vidya[llm]'"
SYSTEM_PROMPT = (
    "You answer an on-call engineer's question using only the numbered passages you are given. "
    "Write a short, direct answer: the steps to take, in order. "
    "After every statement, cite the passage it comes from as [n]. "
    "Copy every command, flag, path and value exactly as the passage writes it, inside ``` fences, one command a line; "
    "never write a command that is not in a passage. "
    "If the passages do not answer the question, say so in one sentence and cite nothing else."
)
_CITATION = re.compile(r"\[(\d{1,3})\]")
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)


class RewriteRejected(VidyaError):
    """The endpoint failed, or its rewrite does not hold to the passages."""


def rewrite(answer: Answer, *, url: str, model: str, api_key: str | None, timeout: float = 30.0) -> Answer | None:
    """The answer with ``rewritten`` set, or None if the endpoint fails or the rewrite is rejected.

    Example: ``rewrite(answer, url=settings.llm_url, model=settings.llm_model, api_key=None) or answer``.
    """
    try:
        text = rewrite_text(answer, url=url, model=model, api_key=api_key, timeout=timeout)
    except RewriteRejected:
        return None
    return dataclasses.replace(answer, rewritten=text)


def rewrite_text(answer: Answer, *, url: str, model: str, api_key: str | None, timeout: float = 30.0) -> str:
    """The checked rewrite; raises :class:`RewriteRejected` saying why there is none."""
    if not answer.passages:
        raise RewriteRejected("no passage to rewrite")
    reply = _chat(answer, url=url, model=model, api_key=api_key, timeout=timeout)
    text = _THINKING.sub("", reply).strip()
    check(text, answer)
    return text


def prompt(answer: Answer) -> str:
    """The user message: the question, then each passage with its number, heading and source."""
    blocks = [f"Question: {answer.question}", "", "Passages:"]
    for p in answer.passages:
        blocks += ["", f"[{p.citation}] {p.hit.heading} ({p.hit.source})", p.hit.text.strip()]
    return "\n".join(blocks)


def check(text: str, answer: Answer) -> None:
    """Raise :class:`RewriteRejected` unless ``text`` cites real passages only and invents no command."""
    if not text:
        raise RewriteRejected("the model returned an empty answer")
    known = {p.citation for p in answer.passages}
    cited = {int(n) for n in _CITATION.findall(text)}
    if not cited:
        raise RewriteRejected("the rewrite cites no passage")
    if invented := sorted(cited - known):
        raise RewriteRejected(f"the rewrite cites passage(s) {invented} that do not exist (passages 1-{max(known)})")
    sources = [p.hit.text for p in answer.passages]
    lines = {_normal(line) for source in sources for line in source.splitlines()}
    for line in _fenced_lines(text):
        if _normal(line) not in lines:
            raise RewriteRejected(f"the rewrite shows a command that no passage contains: {line.strip()[:120]!r}")
    for code in _INLINE_CODE.findall(_without_fences(text)):
        if not any(code.strip() in source for source in sources):
            raise RewriteRejected(f"the rewrite quotes code that no passage contains: {code.strip()[:120]!r}")


def _normal(line: str) -> str:
    """A command line compared without surrounding blanks, a leading ``$`` prompt or repeated spaces."""
    text = line.strip()
    text = text[2:] if text.startswith("$ ") else text
    return " ".join(text.split())


def _fenced_lines(text: str) -> Iterator[str]:
    inside = False
    for line in text.splitlines():
        if _FENCE.match(line):
            inside = not inside
        elif inside and line.strip():
            yield line


def _without_fences(text: str) -> str:
    kept, inside = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            inside = not inside
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _chat(answer: Answer, *, url: str, model: str, api_key: str | None, timeout: float) -> str:
    try:
        from llama_index.core.llms import ChatMessage
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as exc:
        raise RewriteRejected(f"the LLM rewrite needs {exc.name or 'llama-index-llms-openai-like'}: {INSTALL_HINT}") from None
    # the OpenAI client refuses to start without a key; local OpenAI-compatible servers ignore it
    llm = OpenAILike(model=model, api_base=url.rstrip("/"), api_key=api_key or "none", is_chat_model=True,
                     temperature=0.0, timeout=timeout, max_retries=0)
    messages = [ChatMessage(role="system", content=SYSTEM_PROMPT), ChatMessage(role="user", content=prompt(answer))]
    try:
        response = llm.chat(messages)
    except Exception as exc:  # the OpenAI client raises its own error types for HTTP, timeouts and bad JSON
        raise RewriteRejected(f"{url}: {type(exc).__name__}: {_first_line(exc)}") from None
    return str(response.message.content or "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no detail"
