"""Property tests of secret redaction: any text is safe to redact, redaction is idempotent, and a
generated secret embedded in arbitrary text never survives."""

from __future__ import annotations

import base64
import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.redaction import redact, redact_value

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"

#: pieces that make rules fire, so arbitrary text reaches the interesting paths
FRAGMENTS = [
    "password=", "Password=", "pwd=", ";", "&", "?", "host=db ", "Server=x;", "://", "user:", "@", ":", "=", " ", "\n",
    "\t", '"', "'", "Bearer ", "Authorization: Basic ", "curl -u a:", "--password ", "--token=", "api_key: ",
    "SECRET_TOKEN=", "AKIA", "ASIA", "ghp_", "github_pat_", "glpat-", "xoxb-", "sk-", "sk-ant-api03-", "sk_live_",
    "AIza", "npm_", "_authToken=", "pypi-AgE", "SK", "SG.", "sha256~", "sha256:", "eyJ", ".", "-", "_", "/", "+",
    "==", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "AccountKey=", "?sv=2022&sig=",
    "hooks.slack.com/services/", "[REDACTED:jwt]", "[REDACTED:", "]", "${X}", "<x>", "İ", "\x1e", "Zx9q2LmP7wRt",
    "f9Qe2LxT7rWm4KpZ8sNv", "0123456789abcdef", "QWERTYUIOPASDFGH",
]  # fmt: skip
ops_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=40).map("".join)


def distinct(alphabet: str, size: int) -> st.SearchStrategy[str]:
    """``size`` different characters of ``alphabet``: random-looking, never a repeated run."""
    return st.permutations(list(alphabet)).map(lambda chars: "".join(chars[:size]))


def b64url(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def jwt(signature: str, subject: str) -> str:
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url({'sub': subject})}.{signature}"


#: (line holding the secret, the secret)
SECRET_LINES = st.one_of(
    distinct(BASE32, 16).map(lambda s: (f"AWS_ACCESS_KEY_ID=AKIA{s}", f"AKIA{s}")),
    distinct(ALNUM, 36).map(lambda s: (f"token ghp_{s} leaked", f"ghp_{s}")),
    distinct(ALNUM, 24).map(lambda s: (f"glpat-{s}", f"glpat-{s}")),
    distinct(ALNUM, 48).map(lambda s: (f"OPENAI_API_KEY=sk-{s}", f"sk-{s}")),
    distinct(ALNUM, 40).map(lambda s: (f"sk-ant-api03-{s}", f"sk-ant-api03-{s}")),
    distinct(HEX, 16).map(lambda s: (f"twilio SK{s}{s[::-1]}", f"SK{s}{s[::-1]}")),
    distinct(ALNUM, 35).map(lambda s: (f"?key=AIza{s}", f"AIza{s}")),
    st.tuples(distinct(ALNUM, 30), st.sampled_from(["ops", "svc-deployer", "x"])).map(lambda a: (jwt(*a), jwt(*a))),
    distinct(ALNUM, 14).map(lambda s: (f"postgres://app:{s}@db:5432/orders", s)),
    distinct(ALNUM, 14).map(lambda s: (f"Server=db;User ID=app;Password={s};", s)),
    distinct(ALNUM, 20).map(lambda s: (f'api_key = "{s}"', s)),
    distinct(ALNUM, 20).map(lambda s: (f"client_secret: {s}", s)),
    distinct(ALNUM, 24).map(lambda s: (f"curl -H 'Authorization: Bearer {s}' https://api", s)),
    distinct(ALNUM, 20).map(lambda s: (f"--password {s}", s)),
    distinct(ALNUM, 40).map(lambda s: (f"-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----", s)),
)

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTIES
@given(st.text())
def test_any_text_can_be_redacted(text: str) -> None:
    out, counts = redact(text)
    assert isinstance(out, str)
    assert all(n > 0 for n in counts.values())
    if not counts:
        assert out == text


@PROPERTIES
@given(ops_text)
def test_redaction_is_idempotent(text: str) -> None:
    once, _ = redact(text)
    assert redact(once) == (once, Counter())


@PROPERTIES
@given(ops_text)
def test_each_count_is_a_placeholder_in_the_output(text: str) -> None:
    out, counts = redact(text)
    placeholders = Counter({kind: out.count(f"[REDACTED:{kind}]") - text.count(f"[REDACTED:{kind}]") for kind in counts})
    assert placeholders == counts


@PROPERTIES
@given(st.text(), SECRET_LINES, st.text())
def test_an_embedded_secret_never_survives(before: str, line_and_secret: tuple[str, str], after: str) -> None:
    line, secret = line_and_secret
    out, counts = redact(f"{before}\n{line}\n{after}")
    assert secret not in out
    assert counts


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | ops_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["password", "api_key", "name", "dsn"]) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTIES
@given(json_like)
def test_redacting_a_redacted_value_changes_nothing(value: object) -> None:
    once, _ = redact_value(value)
    again, counts = redact_value(once)
    assert again is once and not counts
