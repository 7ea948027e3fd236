"""Reflect: propose policy changes from the outcome records, as a diff of the policy file to review.

    print(reflect(store, Path("agents/policies/default.yaml")))

Rules, per anomaly signature and action (and per ``<signal>@*`` when the
records span two entities or more), counting records with a known outcome
(``resolved`` is a success; ``partial``, ``failed`` and ``escalated`` are not):

* **one tier down** (the tier before it in the file, less approval) when it
  succeeded at least ``min_success`` of the time over at least ``min_uses``;
* **one tier up** (the tier after it, more approval) when it succeeded less than
  ``poor_success`` (50%) of the time over at least ``poor_uses`` (5).

The action's current tier is its override for that signature, else the first
tier that lists it. Nothing is written: the result is a unified diff of the
policy file with ``version`` bumped and the ``signatures:`` block edited in
place (comments and layout kept), each new line commented with its evidence.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents.memory_records import NO_SIGNAL, ActionStats, FeedbackRecord, coarse
from agents.memory_seed import load_records
from agents.policy import Policy, parse_policy
from graph.errors import ConfigError
from graph.store import GraphStore

POOR_SUCCESS, POOR_USES = 0.5, 5
_VERSION = re.compile(r"^(version\s*:\s*)(\d+)(.*)$", re.MULTILINE)
_SIGNATURES = re.compile(r"^signatures\s*:(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Proposal:
    """Move ``action`` for ``signature`` from tier ``current`` to ``proposed``, because of ``stats``."""

    signature: str
    action: str
    current: str
    proposed: str
    successes: int
    uses: int
    low: float
    high: float

    @property
    def direction(self) -> str:
        return "down" if self.successes / self.uses >= POOR_SUCCESS else "up"

    @property
    def evidence(self) -> str:
        return (f"{self.successes}/{self.uses} resolved (95% CI {self.low:.0%}-{self.high:.0%}); "
                f"was {self.current}")

    def as_json(self) -> dict[str, Any]:
        return {"signature": self.signature, "action": self.action, "from": self.current, "to": self.proposed,
                "direction": self.direction, "successes": self.successes, "uses": self.uses,
                "ci95": [round(self.low, 4), round(self.high, 4)]}


def _groups(records: list[FeedbackRecord]) -> dict[tuple[str, str], ActionStats]:
    exact: dict[tuple[str, str], ActionStats] = {}
    wide: dict[tuple[str, str], ActionStats] = {}
    signatures: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        if r.signature.startswith(NO_SIGNAL + "@"):
            continue
        exact.setdefault((r.signature, r.action), ActionStats(r.action)).add(r)
        key = (coarse(r.signature), r.action)
        wide.setdefault(key, ActionStats(r.action)).add(r)
        signatures[key].add(r.signature)
    return exact | {key: s for key, s in wide.items() if len(signatures[key]) > 1}


def _current(policy: Policy, sig: str, action: str) -> int | None:
    names = [t.name for t in policy.tiers]
    override = policy.signatures.get(sig, {}).get(action)
    if override is not None:
        return names.index(override)
    return next((i for i, t in enumerate(policy.tiers) if action in t.actions), None)


def proposals(policy: Policy, records: list[FeedbackRecord], *, min_uses: int = 10, min_success: float = 0.9
              ) -> list[Proposal]:
    """The tier moves the records justify, by signature then action."""
    out = []
    for (sig, action), stats in sorted(_groups(records).items()):
        index = _current(policy, sig, action)
        rate = stats.rate
        if index is None or rate is None:
            continue
        if stats.uses >= min_uses and rate >= min_success:
            target = index - 1
        elif stats.uses >= POOR_USES and rate < POOR_SUCCESS:
            target = index + 1
        else:
            continue
        if 0 <= target < len(policy.tiers):
            low, high = stats.interval
            out.append(Proposal(sig, action, policy.tiers[index].name, policy.tiers[target].name,
                                stats.successes, stats.uses, low, high))
    return out


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _block_end(lines: list[str], start: int) -> int:
    """The index after the last line of the top-level block that starts at ``start``."""
    end = start + 1
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and not lines[i][:1].isspace() and not lines[i].lstrip().startswith("#"):
            break
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            end = i + 1
    return end


def _key_line(lines: list[str], start: int, end: int, indent: int, key: str) -> int | None:
    for i in range(start, end):
        line = lines[i]
        if len(line) - len(line.lstrip()) != indent or line.lstrip().startswith("#"):
            continue
        try:
            parsed = yaml.safe_load(line.strip())
        except yaml.YAMLError:
            continue
        if isinstance(parsed, dict) and key in parsed:
            return i
    return None


def _entry(p: Proposal) -> str:
    return f"{p.action}: {p.proposed}  # reflect: {p.evidence}"


def _apply_block(lines: list[str], header: int, props: list[Proposal]) -> list[str]:
    """Edit the block-style ``signatures:`` mapping starting at ``header``."""
    out = list(lines)
    for p in props:
        end = _block_end(out, header)
        sig_line = _key_line(out, header + 1, end, 2, p.signature)
        if sig_line is None:
            out[end:end] = [f"  {_q(p.signature)}:", f"    {_entry(p)}"]
            continue
        sig_end = next((i for i in range(sig_line + 1, end) if out[i].strip() and
                        len(out[i]) - len(out[i].lstrip()) <= 2), end)
        if out[sig_line].rstrip().endswith(":"):
            act_line = _key_line(out, sig_line + 1, sig_end, 4, p.action)
            if act_line is None:
                out.insert(sig_end, f"    {_entry(p)}")
            else:
                out[act_line] = f"    {_entry(p)}"
        else:  # a flow mapping on one line: rewrite that signature's entry in block style
            current = yaml.safe_load(out[sig_line].split("#")[0])[p.signature] or {}
            kept = [f"    {a}: {t}" for a, t in current.items() if a != p.action]
            out[sig_line:sig_line + 1] = [f"  {_q(p.signature)}:", *kept, f"    {_entry(p)}"]
    return out


def edit_policy_text(text: str, props: list[Proposal]) -> str:
    """The policy text with ``version`` bumped and the overrides of ``props`` written into ``signatures:``."""
    if not props:
        return text
    version = _VERSION.search(text)
    if version is None:
        raise ConfigError("policy file: no top-level 'version:' line to bump")
    text = text[:version.start(2)] + str(int(version[2]) + 1) + text[version.end(2):]
    lines = text.splitlines()
    found = _SIGNATURES.search(text)
    if found is None:
        lines += ["signatures:"]
        header = len(lines) - 1
    else:
        header = text[:found.start()].count("\n")
        rest = found[1].split("#")[0].strip()
        if rest not in ("", "{}", "null", "~"):
            existing = yaml.safe_load(rest) or {}
            lines[header:header + 1] = ["signatures:"] + [
                f"  {_q(s)}:" + "".join(f"\n    {a}: {t}" for a, t in acts.items()) for s, acts in existing.items()
            ]
            lines = "\n".join(lines).splitlines()
        elif rest:
            comment = found[1][found[1].find("#"):] if "#" in found[1] else ""
            lines[header] = "signatures:" + (f"  {comment}" if comment else "")
    return "\n".join(_apply_block(lines, header, props)) + "\n"


def _check(before: dict[str, Any], after_text: str, props: list[Proposal], path: Path) -> None:
    """The edited text must parse to the old policy plus exactly the proposed overrides."""
    expected = dict(before)
    expected["version"] = int(before["version"]) + 1
    sigs = {s: dict(a) for s, a in (before.get("signatures") or {}).items()}
    for p in props:
        sigs.setdefault(p.signature, {})[p.action] = p.proposed
    expected["signatures"] = sigs
    after = yaml.safe_load(after_text)
    if after != expected:
        raise ConfigError(f"policy file {path}: could not edit its signatures block safely; edit it by hand")
    parse_policy(after, f"{path} (proposed)")


def reflect(
    store: GraphStore, policy_path: Path, *, min_uses: int = 10, min_success: float = 0.9,
    records: list[FeedbackRecord] | None = None,
) -> str:
    """A unified diff of ``policy_path`` proposing tier moves; empty when the records justify none.

    The file is only read. Example: ``reflect(store, Path("policy.yaml"), min_uses=5)``.
    """
    try:
        text = policy_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"policy file {policy_path}: cannot be read ({exc.strerror or exc})") from None
    data = yaml.safe_load(text)
    policy = parse_policy(data, str(policy_path))
    found = proposals(policy, load_records(store) if records is None else records,
                      min_uses=min_uses, min_success=min_success)
    if not found:
        return ""
    edited = edit_policy_text(text, found)
    _check(data, edited, found, policy_path)
    name = policy_path.name
    return "".join(difflib.unified_diff(text.splitlines(keepends=True), edited.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}"))
