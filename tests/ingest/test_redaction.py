"""Secret redaction (ingest.redaction): a corpus of realistic fake secrets is caught, ops text is kept.

The corpus (tests/fixtures/secrets/corpus.yaml) lists each case's expected kinds
and the exact values that must disappear; negatives.txt holds ops text that must
come out unchanged; the OpenShift runbooks (../shared/corpora) must not change.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from graph.errors import ConfigError
from ingest.redaction import Redactor, placeholder, redact
from ingest.redaction_rules import RULES, Rule, token_check, token_pattern

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "secrets"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "redaction.md"
CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
RUNBOOKS = CORPORA / "openshift-runbooks"
#: written between the pieces of a fixture secret so scanners leave the repository alone
BREAK = "¦"
PLACEHOLDER = re.compile(r"\[REDACTED:([a-z0-9-]+)\]")
KINDS = sorted({rule.kind for rule in RULES})


@dataclass(frozen=True)
class Case:
    text: str
    kinds: dict[str, int]
    secrets: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{'+'.join(sorted(self.kinds))}: {self.text.splitlines()[0][:50]}"


def load_corpus() -> list[Case]:
    raw = yaml.safe_load((FIXTURES / "corpus.yaml").read_text(encoding="utf-8"))
    return [
        Case(
            text=entry["text"].replace(BREAK, ""),
            kinds=dict(entry["kinds"]),
            secrets=tuple(secret.replace(BREAK, "") for secret in entry["secrets"]),
        )
        for entry in raw
    ]


def load_negatives() -> list[str]:
    lines = (FIXTURES / "negatives.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("# ")]


CORPUS = load_corpus()
NEGATIVES = load_negatives()


def runbook_files() -> list[Path]:
    if not RUNBOOKS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{RUNBOOKS}: the OpenShift runbook corpus is missing (CI needs it)")
        pytest.skip(f"{RUNBOOKS}: the OpenShift runbook corpus is not here")
    return sorted(RUNBOOKS.rglob("*.md"))


# --- the corpus of secrets -------------------------------------------------------------------


def test_the_corpus_has_three_cases_of_every_kind() -> None:
    per_kind = Counter(kind for case in CORPUS for kind in case.kinds)
    assert {kind: per_kind[kind] for kind in KINDS if per_kind[kind] < 3} == {}
    assert set(per_kind) <= set(KINDS), "the corpus names a kind no rule has"


def test_no_fixture_secret_is_stored_whole() -> None:
    """Scanners see only broken values: each provider-shaped secret in the file carries a break."""
    raw = (FIXTURES / "corpus.yaml").read_text(encoding="utf-8")
    for case in CORPUS:
        for secret in case.secrets:
            if re.match(r"(?:AKIA|ASIA|gh[ps]_|github_pat_|glpat-|xox|xapp-|sk[-_]|AIza|npm_|pypi-|SG\.|SK[0-9a-f])", secret):
                assert secret not in raw, secret


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_every_secret_in_the_corpus_is_caught_with_its_kind(case: Case) -> None:
    text, counts = redact(case.text)
    assert dict(counts) == case.kinds
    for secret in case.secrets:
        assert secret not in text
    assert Counter(PLACEHOLDER.findall(text)) == Counter(case.kinds)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_redaction_keeps_the_text_around_the_secret(case: Case) -> None:
    text, _ = redact(case.text)
    kept = PLACEHOLDER.split(text)[::2]  # the text between placeholders
    for piece in kept:
        assert piece in case.text


def test_only_the_password_of_a_url_is_replaced() -> None:
    text, _ = redact("DATABASE_URL=postgres://orders_app:Zq8vR2mXw7Lp-EXAMPLE@orders-db.prod.internal:5432/orders")
    assert text == "DATABASE_URL=postgres://orders_app:[REDACTED:url-password]@orders-db.prod.internal:5432/orders"


def test_a_private_key_block_goes_whole() -> None:
    case = next(case for case in CORPUS if "private-key" in case.kinds and "Then restart" in case.text)
    text, _ = redact(case.text)
    assert "PRIVATE KEY" not in text
    assert text.splitlines()[1] == placeholder("private-key")
    assert text.endswith("Then restart the pod.")


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_redaction_is_idempotent_on_the_corpus(case: Case) -> None:
    once, _ = redact(case.text)
    twice, counts = redact(once)
    assert (twice, counts) == (once, Counter())


def test_placeholders_are_never_matched() -> None:
    text = "\n".join(f"password={placeholder(kind)} token: {placeholder(kind)} Bearer {placeholder(kind)}" for kind in KINDS)
    assert redact(text) == (text, Counter())


# --- what must stay ----------------------------------------------------------------------------


@pytest.mark.parametrize("line", NEGATIVES)
def test_ops_text_that_looks_like_a_secret_is_kept(line: str) -> None:
    assert redact(line) == (line, Counter())


def test_the_negatives_file_is_kept_whole() -> None:
    text = (FIXTURES / "negatives.txt").read_text(encoding="utf-8")
    assert redact(text) == (text, Counter())


def test_no_false_positive_on_the_openshift_runbooks() -> None:
    """Every runbook comes out unchanged.

    Deliberate decisions on secret-shaped text in the corpus: ACMRemoteWriteError.md shows a
    remote-write secret with ``password: wrong-password``, an example of a *wrong* credential
    whose value is two dictionary words; it is kept (a generic secret must be random-looking).
    ``Authorization: Bearer $token`` and ``$(oc ... get-token ...)`` are shell expansions, kept.
    """
    changed = {}
    for path in runbook_files():
        text = path.read_text(encoding="utf-8")
        redacted, counts = redact(text)
        if counts or redacted != text:
            changed[str(path.relative_to(RUNBOOKS))] = dict(counts)
    assert changed == {}


def test_the_wrong_password_example_in_the_runbooks_is_a_deliberate_keep() -> None:
    path = next((p for p in runbook_files() if p.name == "ACMRemoteWriteError.md"), None)
    if path is None:
        pytest.skip("ACMRemoteWriteError.md is not in this copy of the corpus")
    text = path.read_text(encoding="utf-8")
    assert "password: wrong-password" in text
    assert "password: wrong-password" in redact(text)[0]


# --- the Redactor and its rules ----------------------------------------------------------------


def test_a_redactor_needs_rules() -> None:
    with pytest.raises(ConfigError, match="at least one rule"):
        Redactor(rules=())


def test_a_new_rule_is_one_line() -> None:
    acme = Rule("acme-key", (), token_pattern(r"acme_[A-Za-z0-9]{32}"), token_check)
    redactor = Redactor(rules=(*RULES, acme))
    key = "acme_" + "Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHh"
    assert redactor.redact(f"ACME={key} region=eu") == ("ACME=[REDACTED:acme-key] region=eu", Counter({"acme-key": 1}))
    assert redactor.redact("x_acme_" + key[5:]) == ("x_acme_" + key[5:], Counter())  # glued to a word: not a token


def test_specific_kinds_win_over_generic_ones() -> None:
    token = "gh" + "p_EXAMPLEfakeTOKEN0123456789abcdefABCD"
    assert redact(f"password={token}")[1] == Counter({"github-token": 1})


def test_empty_and_plain_text_come_back_as_they_are() -> None:
    for text in ("", "checkout latency is above 2s on 3 of 5 pods"):
        out, counts = redact(text)
        assert out is text and not counts


def test_text_whose_lower_case_is_longer_keeps_positions() -> None:
    """'İ'.lower() has two characters; windows found in the lower-case text must still fit."""
    text = "İİİİ password=Zx9q2LmP7wRt host=db İİ\nİ token: f9Qe2LxT7rWm4KpZ8sNv İ"
    out, counts = redact(text)
    assert counts == Counter({"connection-string-password": 1, "generic-secret": 1})
    assert out == "İİİİ password=[REDACTED:connection-string-password] host=db İİ\nİ token: [REDACTED:generic-secret] İ"


def test_every_kind_is_documented() -> None:
    table = [line for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = {line.split("`")[1] for line in table}
    assert [kind for kind in KINDS if kind not in documented] == []
