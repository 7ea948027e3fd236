"""The redaction rules: one named regular expression per kind of secret.

Each :class:`Rule` has a kind (the placeholder reads ``[REDACTED:<kind>]``),
keywords, the expression, and a check on the candidate. An expression that
starts with a literal (``ghp_``, ``AKIA``, ``://``) runs over the whole text:
the regular expression engine finds a literal prefix fast. One that cannot
(a case-insensitive ``password=``) names keywords, and runs only on the lines
that hold one of them. When the expression has a group named ``secret`` (or
``secret_dq``/``secret_sq``/``secret_br`` for quoted alternatives) only that
group is replaced, so ``postgres://app:s3cr3t@db`` keeps its user and host.
Rules run in the order of :data:`RULES`: specific shapes first, so a GitHub
token after ``password=`` is reported as ``github-token``, not
``generic-secret``.

Adding a rule (see docs/redaction.md)::

    Rule("acme-key", (), token_pattern(r"acme_[A-Za-z0-9]{32}"), token_check)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from graph.errors import ConfigError
from ingest.redaction_checks import is_redacted, looks_secret, not_template, secret_key, varied

Check = Callable[[str, re.Match[str]], bool]
_SECRET_GROUPS = ("secret", "secret_dq", "secret_sq", "secret_br")
_LINE_WINDOW = 400


@dataclass(frozen=True, slots=True)
class Rule:
    """A named expression and the check of its candidate, ``check(value, match)``.

    With ``keywords`` (lower case), the expression runs only on the lines of the text whose lower-case
    form holds one of them, so it must match within one line; without, it runs over the whole text.
    """

    kind: str
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    check: Check | None = None

    def secret_span(self, match: re.Match[str]) -> tuple[int, int]:
        """Where the secret is inside ``match``: a ``secret*`` group, else the whole match."""
        groups = match.re.groupindex
        for name in _SECRET_GROUPS:
            if name in groups and match.group(name) is not None:
                return match.span(name)
        return match.span()


def token_pattern(body: str, *, tail: str = "A-Za-z0-9_") -> re.Pattern[str]:
    """The expression of a provider token. ``body`` starts with the token's literal prefix, so the
    engine scans for it fast; the token may not be glued to a word before it (checked right after
    its first character, which keeps the prefix literal and stops a long run of prefixes from being
    scanned once per prefix) nor to a character of ``tail`` after it. Pair it with :func:`token_check`."""
    if not body[:1].isalnum():
        raise ConfigError(f"redaction rule {body[:40]!r}: a token pattern must start with a letter or digit")
    first = body[0]
    return re.compile(rf"{first}(?<![A-Za-z0-9_-]{first}){body[1:]}(?![{tail}])")


def token_check(value: str, match: re.Match[str]) -> bool:
    """A provider token is not a ``ghp_xxxx…`` template."""
    return varied(value)


def _not_template(value: str, match: re.Match[str]) -> bool:
    return not_template(value)


def _random(value: str, match: re.Match[str]) -> bool:
    return looks_secret(value, min_length=16, min_entropy=2.5)


def _line(match: re.Match[str]) -> tuple[str, str]:
    """The text of the match's line before and after it (bounded, for context checks)."""
    text, start, end = match.string, match.start(), match.end()
    before = text[max(0, start - _LINE_WINDOW) : start].rsplit("\n", 1)[-1]
    after = text[end : end + _LINE_WINDOW].split("\n", 1)[0]
    return before, after


_DSN_KEY = re.compile(
    r"(?i)(?<![\w.=/-])(?:server|data source|host|hostaddr|user id|uid|user|username|dbname|database|initial catalog"
    r"|port|sslmode|driver|provider|jdbc:[a-z]+:)\s*[=:/]"
)


def _in_connection_string(value: str, match: re.Match[str]) -> bool:
    """``Password=`` counts inside a URL query or next to other connection-string keys, not alone."""
    if not not_template(value):
        return False
    before, after = _line(match)
    if before.endswith(("?", "&", ";")) or after.startswith(";"):
        return True
    return _DSN_KEY.search(before) is not None or _DSN_KEY.search(after) is not None


def _after_curl(value: str, match: re.Match[str]) -> bool:
    return not_template(value) and "curl" in _line(match)[0]


def _sas_signature(value: str, match: re.Match[str]) -> bool:
    """A ``sig=`` query parameter counts when the same URL carries SAS fields (``sv=``, ``se=``)."""
    before = _line(match)[0].rsplit(" ", 1)[-1]
    in_query = before.endswith(("?", "&"))
    return in_query and not is_redacted(value) and ("sv=" in before or "se=" in before or "sp=" in before)


def _generic(value: str, match: re.Match[str]) -> bool:
    return secret_key(match.group("key")) and looks_secret(value)


# every repetition is bounded, so no input makes an expression scan far from where it started
_QUOTED_VALUE = (
    r"""(?:"(?P<secret_dq>[^"\n]{1,512})"|'(?P<secret_sq>[^'\n]{1,512})'|(?P<secret>[^\s"',;)\]}]{1,512}+)(?![^\s"',;)\]}]))"""
)
#: a key holding a secret word; ``secret_key`` in the checks decides whether it names a secret
_KEY = r"(?P<key>[A-Za-z0-9_.-]{0,40}?(?i:pass|pwd|secret|token|key|auth|credential)[A-Za-z0-9_.-]{0,40}?)"

RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        (),
        re.compile(
            r"-----BEGIN[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[^\x1e]{0,20000}?-----END[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----"
            r"|[^\n]{0,8192}(?:\n[ \t]*[A-Za-z0-9+/=:\-, ]{16,1024}[ \t]*)*)"
        ),
    ),
    Rule("jwt", (), token_pattern(r"eyJ[A-Za-z0-9_-]{8,4096}\.ey[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,4096}"), token_check),
    Rule("aws-access-key", (), token_pattern(r"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z2-7]{16}"), token_check),
    Rule("github-token", (), token_pattern(r"g(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{40,251})"), token_check),
    Rule(
        "gitlab-token",
        (),
        token_pattern(r"gl(?:pat|rt|dt|ptt|ft|oas|cbt|soat|imt|agent)-[A-Za-z0-9_-][A-Za-z0-9_.-]{18,256}[A-Za-z0-9_-]"),
        token_check,
    ),
    Rule(
        "slack-webhook",
        (),
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_-]{16,256})"),
    ),
    Rule("slack-token", (), token_pattern(r"x(?:ox[abposre]|app)-[0-9A-Za-z][0-9A-Za-z-]{8,256}[0-9A-Za-z]"), token_check),
    Rule(
        "stripe-key",
        ("k_live_", "k_test_", "whsec_"),
        re.compile(r"(?<![A-Za-z0-9_-])(?:[sr]k_(?:live|test)_[A-Za-z0-9]{16,256}|whsec_[A-Za-z0-9+/=]{24,256})(?![A-Za-z0-9_])"),
        token_check,
    ),
    Rule("google-api-key", (), token_pattern(r"AIza[0-9A-Za-z_-]{35}"), token_check),
    Rule("anthropic-key", (), token_pattern(r"sk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_-]{32,512}"), token_check),
    Rule(
        "openai-key",
        (),
        token_pattern(
            r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,512}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})",
            tail="A-Za-z0-9_-",
        ),
        token_check,
    ),
    Rule("npm-token", (), token_pattern(r"npm_[A-Za-z0-9]{36}"), token_check),
    Rule("npm-token", (), re.compile(r"_authToken[ \t]*=[ \t]*[\"']?(?P<secret>[^\s\"']{1,512}+)(?![^\s\"'])"), _not_template),
    Rule("pypi-token", (), token_pattern(r"pypi-AgE[A-Za-z0-9_-]{50,512}"), token_check),
    Rule("twilio-key", (), token_pattern(r"SK[0-9a-f]{32}"), token_check),
    Rule(
        "twilio-key",
        ("twilio",),
        re.compile(r"(?i)twilio[A-Za-z0-9_-]{0,20}token[\"']?[ \t]*[:=][ \t]*[\"']?(?P<secret>[0-9a-f]{32})(?![0-9a-f])"),
        _not_template,
    ),
    Rule("sendgrid-key", (), token_pattern(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"), token_check),
    Rule("openshift-token", (), token_pattern(r"sha256~[A-Za-z0-9_-]{43}"), token_check),
    Rule(
        "aws-secret-key",
        ("secret",),
        re.compile(
            r"(?i)(?:aws_?)?secret_?access_?key[\"']?(?:[ \t]*[:=][ \t]*|[ \t]+)[\"']?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        _not_template,
    ),
    Rule(
        "azure-storage-key",
        ("accountkey", "account_key", "account-key", "sharedaccesskey"),
        re.compile(
            r"(?i)(?:account[_-]?key|sharedaccesskey)[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?P<secret>[A-Za-z0-9+/]{40,512}={0,2})(?![A-Za-z0-9+/=])"
        ),
        _not_template,
    ),
    Rule("azure-storage-key", (), re.compile(r"sig=(?P<secret>[A-Za-z0-9%+/=]{16,512}+)(?![A-Za-z0-9%+/=])"), _sas_signature),
    Rule(
        "bearer-token",
        ("bearer",),
        re.compile(r"(?i)\bbearer[ \t]+(?P<secret>[A-Za-z0-9\-._~+/]{16,4096}+={0,2})(?![A-Za-z0-9\-._~+/=])"),
        _random,
    ),
    Rule(
        "basic-auth",
        ("basic",),
        re.compile(
            r"(?i)authorization[\"']?[ \t]*[:=][ \t]*[\"']?basic[ \t]+(?P<secret>[A-Za-z0-9+/]{8,1024}={0,2})(?![A-Za-z0-9+/=])"
        ),
        _not_template,
    ),
    Rule(
        "basic-auth",
        ("curl",),
        re.compile(r"(?<![\w-])(?:-u|--user)(?:[ \t]+|=)[\"']?[^\s:\"'$<]{1,128}:(?P<secret>[^\s\"'@]{1,256}+)(?![^\s\"'@])"),
        _after_curl,
    ),
    Rule("url-password", (), re.compile(r"://[^\s:/?#@\"'<>\[\]]{0,256}:(?P<secret>[^\s/?#@\"'<>]{1,256})@"), _not_template),
    Rule(
        "connection-string-password",
        ("password", "pwd"),
        re.compile(
            r"(?i)(?<![\w.-])(?:password|pwd)[ \t]*=[ \t]*"
            r"""(?:"(?P<secret_dq>[^"\n]{1,256})"|'(?P<secret_sq>[^'\n]{1,256})'|\{(?P<secret_br>[^}\n]{1,256})\}"""
            r"""|(?P<secret>[^\s;&"'<>]{1,256}+)(?![^\s;&"'<>]))"""
        ),
        _in_connection_string,
    ),
    Rule(
        "generic-secret",
        ("pass", "pwd", "secret", "token", "key", "auth", "credential"),
        re.compile(rf"(?<![\w.-]){_KEY}[\"']?[ \t]*(?::=|=>|[:=])[ \t]*{_QUOTED_VALUE}"),
        _generic,
    ),
    Rule("generic-secret", ("--",), re.compile(rf"(?<![\w-])--{_KEY}[ \t]+{_QUOTED_VALUE}"), _generic),
)
