"""Shared helpers for the estate generator: seeded randomness, times, ids, digests and writers.

Every random choice goes through :func:`rng` with a named stream, so changing one part of the
estate does not reshuffle the others, and every writer emits bytes that do not depend on the
machine (sorted where order is not meaningful, ``\\n`` line ends, no wall-clock times).
"""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

SEED = "larkspur-2026"
START = datetime(2026, 9, 21, tzinfo=UTC)
END = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = (END - START).days

EMAIL_DOMAIN = "larkspur.example"
GITHUB_ORG = "larkspur"
GIT_REPO = "commerce"
REGISTRY = "ghcr.io/larkspur"
PD_BASE = "https://larkspur.pagerduty.com"
PD_API = "https://api.pagerduty.com"
ALERTMANAGER_URL = "https://alertmanager.larkspur.internal"
PROMETHEUS_URL = "https://prometheus.larkspur.internal"
RUNBOOK_BASE = "https://git.larkspur.example/sre/runbooks/blob/main"


def rng(*stream: object) -> random.Random:
    """A random generator for one named stream of choices (stable across runs and machines)."""
    return random.Random(":".join([SEED, *map(str, stream)]))


def uuid4(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A time ``day`` days after the window start."""
    return START + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def iso(t: datetime, millis: bool = False) -> str:
    """RFC 3339 in UTC with a ``Z``; ``millis`` adds the fraction real emitters write."""
    t = t.astimezone(UTC)
    if millis:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def hhmm(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%H:%M")


def sha256_hex(*parts: object) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


def image_digest(service: str, version: str) -> str:
    """The sha256 digest of a service's container image for one version (the SLSA subject too)."""
    return sha256_hex("oci-image", service, version)


def image_purl(service: str, version: str) -> str:
    return f"pkg:oci/{service}@sha256:{image_digest(service, version)}?repository_url={REGISTRY}/{service}&tag={version}"


def pd_id(*parts: object) -> str:
    """A PagerDuty-style object id: ``P`` and six upper-case letters or digits."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    n = int(sha256_hex("pd", *parts)[:16], 16)
    out = []
    for _ in range(6):
        n, i = divmod(n, len(alphabet))
        out.append(alphabet[i])
    return "P" + "".join(out)


_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's label-set fingerprint (FNV-1a 64 over sorted name/value pairs, 0xff separated)."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in chunk:
                h ^= byte
                h = (h * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _ascii_words(name: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return folded.lower().split()


def email(name: str) -> str:
    """``Tomás Rivera`` -> ``tomas.rivera@larkspur.example``."""
    return ".".join(_ascii_words(name)) + "@" + EMAIL_DOMAIN


def username(name: str) -> str:
    """A Backstage entity name (ASCII letters, digits and dashes): ``Tomás Rivera`` -> ``tomas-rivera``."""
    return "-".join(_ascii_words(name))


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def dump_jsonl(rows: list[Any]) -> str:
    return "".join(json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n" for row in rows)


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml_docs(docs: list[dict[str, Any]]) -> str:
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, explicit_start=True)


def dump_yaml(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


class Writer:
    """Writes files under the estate root and remembers what it wrote."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Path] = []

    def text(self, rel: str, content: str) -> None:
        self.bytes(rel, content.encode("utf-8"))

    def bytes(self, rel: str, content: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.written.append(path)
