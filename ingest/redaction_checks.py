"""The value checks the redaction rules share: templates, key names, randomness.

A rule's regular expression finds a candidate; these checks decide whether
the candidate is a secret or ops text that must stay (a ``${VAR}`` template, a
Kubernetes resource name, a UUID, a path)::

    >>> looks_secret("f9Qe2LxT7rWm4KpZ")
    True
    >>> looks_secret("prometheus-k8s-token-nwtrf")
    False
    >>> secret_key("db_password"), secret_key("secretName")
    (True, False)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

#: what a placeholder starts with; a candidate containing it was redacted before
PLACEHOLDER_PREFIX = "[REDACTED:"

#: values that are obviously a stand-in: ``${VAR}``, ``$(cmd)``, ``<your-password>``, ``{{ .Values.x }}``, ``%(pw)s``
_TEMPLATE_START = ("$", "%", "{", "<", "[", "(", "`", "*", "…")
_TEMPLATE_WORDS = frozenset(
    {
        "password", "passwd", "pass", "pwd", "secret", "token", "apikey", "api-key", "api_key", "changeme",
        "change-me", "change_me", "example", "redacted", "none", "null", "nil", "true", "false", "undefined",
        "required", "optional", "string", "value", "guest", "admin", "test", "default",
    }
)  # fmt: skip
_TEMPLATE_HINTS = ("your", "placeholder", "redacted", "changeme", "xxxx", "****", "...")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")

#: values that stay even after a secret-looking key: UUIDs, digests, paths, URLs, resource names
_KEEP = re.compile(
    r"""
    [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}   # UUID
    | (?:sha1|sha256|sha384|sha512|md5):[0-9a-fA-F]+                                 # content digest
    | (?:~|\.{1,2})?/[a-z0-9_./-]*                                                   # lower-case path
    | [A-Za-z][A-Za-z0-9+.-]*://\S*                                                  # URL (url-password handles credentials)
    | v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.-]+)?                                     # version / image tag
    """,
    re.VERBOSE,
)
_KEBAB = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)+")
_WORD = re.compile(r"[a-z]{4,}")

#: a key (or flag) part that names a secret when it ends the key
_SECRET_ENDINGS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "secretkey", "privatekey")
_SECRET_PARTS = frozenset({"pwd", "pass", "auth", "credential", "credentials", "secrets", "tokens", "passwords"})
_KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "signing", "encryption", "master", "account", "client", "app"})
_VALUE_PARTS = frozenset({"value", "data", "string", "b64", "base64", "plain", "plaintext"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_PARTS = re.compile(r"[^a-z0-9]+")


def is_redacted(value: str) -> bool:
    """Whether ``value`` already holds a placeholder (so redacting again changes nothing)."""
    return PLACEHOLDER_PREFIX in value


def is_template(value: str) -> bool:
    """A stand-in rather than a value: ``${DB_PASSWORD}``, ``<your-token>``, ``****``, ``changeme``, ``MY_TOKEN``."""
    text = value.strip("'\"")
    if not text or text.startswith(_TEMPLATE_START) or text.endswith((">", "}", "…")):
        return True
    lowered = text.lower()
    if lowered in _TEMPLATE_WORDS or any(hint in lowered for hint in _TEMPLATE_HINTS):
        return True
    return len(set(lowered)) <= 2 or _ENV_NAME.fullmatch(text) is not None


def varied(token: str) -> bool:
    """A provider token does not end in a run of a few repeated characters (``ghp_xxxx…`` is a template)."""
    return len(set(token[-16:].lower())) > 3 and not is_redacted(token)


def entropy(value: str) -> float:
    """Shannon entropy of the characters of ``value``, in bits per character."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def char_classes(value: str) -> int:
    """How many of lower case, upper case and digits occur in ``value``."""
    return sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value)))


def is_wordy(value: str) -> bool:
    """Lower-case words joined by ``-``/``.``, one of them a real word: a resource name, not a key."""
    return _KEBAB.fullmatch(value) is not None and _WORD.search(value) is not None


def looks_secret(value: str, *, min_length: int = 12, min_entropy: float = 3.0) -> bool:
    """Long, random-looking and not a template, UUID, digest, path, URL, version or resource name."""
    if not min_length <= len(value) <= 4096 or is_redacted(value) or is_template(value):
        return False
    if _KEEP.fullmatch(value) or is_wordy(value) or char_classes(value) < 2:
        return False
    return entropy(value) >= min_entropy


def not_template(value: str) -> bool:
    """The check of context rules (the key says it is a secret): anything but a template or a placeholder."""
    return not is_redacted(value) and not is_template(value)


@lru_cache(maxsize=4096)
def secret_key(key: str) -> bool:
    """Whether a key, flag or header names a secret by its last part: ``DB_PASSWORD``, ``--client-secret``,
    ``apiKey``, ``access_token``, ``secret_value``; not ``secretName``, ``token_ttl`` or ``password_file``."""
    parts = [p for p in _PARTS.split(_CAMEL.sub(r"\1 \2", key).lower()) if p]
    while len(parts) > 1 and parts[-1] in _VALUE_PARTS:
        parts.pop()
    if not parts:
        return False
    last = parts[-1]
    if last.endswith(_SECRET_ENDINGS) or last in _SECRET_PARTS:
        return True
    return last == "key" and len(parts) > 1 and parts[-2] in _KEY_QUALIFIERS
