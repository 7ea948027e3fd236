"""The remediation policy: a confidence cascade of tiers, read from YAML and checked field by field.

Each tier bounds the blast radius and the confidence it accepts, lists the
actions it covers, says which human approval they need and how long the same
action on the same target must rest between executions. Tiers are checked in
order; the first one whose conditions hold applies::

    from agents.policy import load_policy

    policy = load_policy()                      # the shipped agents/policies/default.yaml
    verdict = policy.decide("restart_pod", "service:default/checkout", confidence=0.95,
                            blast_radius="single_pod", now=now, last_executed_at=None)
    verdict.tier, verdict.approval, verdict.allowed, verdict.reason
    # ('auto', <Approval.NONE: 'none'>, True, 'tier auto: ...')

The format and the default tiers are described in ``docs/remediation.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from agents.config import parse_duration
from graph.errors import ConfigError
from graph.model import utc
from ingest.actions import ACTIONS

#: the policy shipped with Vidya, used when no policy file is configured
DEFAULT_POLICY = Path(__file__).resolve().parent / "policies" / "default.yaml"
#: the standard action vocabulary a policy may name (``unknown`` is never an action to take)
POLICY_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if a != "unknown")
_TIER_FIELDS = ("name", "max_blast_radius", "min_confidence", "actions", "approval", "cooldown")
_ZERO = {"0", "0s", "0m", "0h", "0d", "none"}


class BlastRadius(StrEnum):
    """How much an action can hurt if it goes wrong, smallest first."""

    SINGLE_POD = "single_pod"
    SINGLE_SERVICE = "single_service"
    MULTI_SERVICE = "multi_service"
    PLATFORM_WIDE = "platform_wide"

    @property
    def level(self) -> int:
        return list(BlastRadius).index(self)


class Approval(StrEnum):
    NONE = "none"
    ASYNC_HUMAN = "async_human"
    SYNC_HUMAN = "sync_human"


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    max_blast_radius: BlastRadius
    min_confidence: float
    actions: tuple[str, ...]
    approval: Approval
    cooldown: timedelta

    def covers(self, action: str, confidence: float, radius: BlastRadius) -> bool:
        return action in self.actions and confidence >= self.min_confidence and radius.level <= self.max_blast_radius.level

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "max_blast_radius": str(self.max_blast_radius),
                "min_confidence": self.min_confidence, "actions": list(self.actions),
                "approval": str(self.approval), "cooldown": _duration_text(self.cooldown)}


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """What the policy says about one action on one target: the tier, the approval, and whether it may go ahead.

    ``allowed`` is False when no tier covers the action at this confidence and blast
    radius, or when its cooldown is active; ``reason`` says which, in words.
    """

    action: str
    target: str
    tier: str | None
    approval: Approval | None
    allowed: bool
    reason: str
    policy_version: int
    cooldown_until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, "tier": self.tier,
                "approval": str(self.approval) if self.approval else None, "allowed": self.allowed,
                "reason": self.reason, "policy_version": self.policy_version,
                "cooldown_until": self.cooldown_until.isoformat() if self.cooldown_until else None}


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy. ``signatures`` maps an anomaly signature to ``{action: tier name}`` overrides."""

    version: int
    tiers: tuple[Tier, ...]
    signatures: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: str = "<memory>"

    def tier(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise ConfigError(f"{self.source}: no tier named {name!r}")

    @property
    def max_cooldown(self) -> timedelta:
        return max((t.cooldown for t in self.tiers), default=timedelta(0))

    def _override(self, action: str, signature: str | None) -> Tier | None:
        if not signature:
            return None
        coarse = signature.partition("@")[0] + "@*"
        for key in (signature, coarse):
            name = self.signatures.get(key, {}).get(action)
            if name is not None:
                return self.tier(name)
        return None

    def select(self, action: str, confidence: float, radius: BlastRadius, signature: str | None = None) -> Tier | None:
        """The tier that applies: a signature override whose bounds hold, else the first tier covering it."""
        override = self._override(action, signature)
        if override is not None and confidence >= override.min_confidence \
                and radius.level <= override.max_blast_radius.level:
            return override
        return next((t for t in self.tiers if t.covers(action, confidence, radius)), None)

    def decide(
        self, action: str, target: str, confidence: float, blast_radius: BlastRadius | str, now: datetime,
        last_executed_at: datetime | None, *, signature: str | None = None,
    ) -> PolicyDecision:
        """Apply the cascade to ``action`` on ``target``; ``last_executed_at`` is its last execution there."""
        radius = blast_radius_of(str(blast_radius), "blast_radius")
        if action not in POLICY_ACTIONS:
            raise ConfigError(f"action {action!r}: not in the action vocabulary ({', '.join(POLICY_ACTIONS)})")
        tier = self.select(action, confidence, radius, signature)
        if tier is None:
            return PolicyDecision(action, target, None, None, False,
                                  self._why_no_tier(action, confidence, radius), self.version)
        if last_executed_at is not None and tier.cooldown > timedelta(0):
            until = utc(last_executed_at, "last_executed_at") + tier.cooldown
            if utc(now, "now") < until:
                reason = (f"cooldown active: {action} ran on {target} at {last_executed_at:%Y-%m-%d %H:%M} UTC; "
                          f"tier {tier.name} waits {_duration_text(tier.cooldown)}, until {until:%H:%M} UTC")
                return PolicyDecision(action, target, tier.name, tier.approval, False, reason, self.version, until)
        reason = (f"tier {tier.name}: {action} at confidence {confidence:.2f} (needs {tier.min_confidence:.2f}), "
                  f"blast radius {radius} (up to {tier.max_blast_radius}); approval {tier.approval}")
        return PolicyDecision(action, target, tier.name, tier.approval, True, reason, self.version)

    def _why_no_tier(self, action: str, confidence: float, radius: BlastRadius) -> str:
        with_action = [t for t in self.tiers if action in t.actions]
        if not with_action:
            return f"no tier of policy v{self.version} allows {action}"
        wide_enough = [t for t in with_action if radius.level <= t.max_blast_radius.level]
        if not wide_enough:
            widest = max(t.max_blast_radius.level for t in with_action)
            return (f"blast radius {radius} is beyond every tier allowing {action} "
                    f"(widest: {list(BlastRadius)[widest]})")
        lowest = min(wide_enough, key=lambda t: t.min_confidence)
        return (f"confidence too low: {confidence:.2f} is below the {lowest.min_confidence:.2f} that tier "
                f"{lowest.name} needs for {action} at blast radius {radius}")

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "source": self.source, "tiers": [t.as_json() for t in self.tiers],
                "signatures": {k: dict(v) for k, v in self.signatures.items()}}


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def blast_radius_of(value: str, where: str) -> BlastRadius:
    try:
        return BlastRadius(value)
    except ValueError:
        known = ", ".join(b.value for b in BlastRadius)
        raise ConfigError(f"{where}: unknown blast radius {value!r} (expected one of {known})") from None


# loading ---------------------------------------------------------------------------------------


def _duration(value: object, where: str) -> timedelta:
    text = str(value).strip().lower()
    if text in _ZERO:
        return timedelta(0)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where}: expected a duration such as 30m, 2h or 1d, got {value!r}")
    return parse_duration(text, where)


def _confidence(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number between 0 and 1, got {value!r}")
    if not 0 <= value <= 1:
        raise ConfigError(f"{where}: {value} is outside [0, 1]")
    return float(value)


def _actions(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of actions")
    for action in value:
        if action not in POLICY_ACTIONS:
            raise ConfigError(f"{where}: unknown action {action!r} (known: {', '.join(POLICY_ACTIONS)})")
    return tuple(dict.fromkeys(value))


def _approval(value: object, where: str) -> Approval:
    try:
        return Approval(str(value))
    except ValueError:
        known = ", ".join(a.value for a in Approval)
        raise ConfigError(f"{where}: unknown approval {value!r} (expected one of {known})") from None


def _tier(raw: object, where: str) -> Tier:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with {', '.join(_TIER_FIELDS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name: expected a non-empty string")
    where = f"{where} ({name})"
    unknown = sorted(set(raw) - set(_TIER_FIELDS))
    missing = [f for f in _TIER_FIELDS if f not in raw]
    if unknown or missing:
        detail = f"unknown field {unknown[0]!r}" if unknown else f"missing field {missing[0]!r}"
        raise ConfigError(f"{where}: {detail} (a tier has {', '.join(_TIER_FIELDS)})")
    tier = Tier(
        name=name.strip(), max_blast_radius=blast_radius_of(str(raw["max_blast_radius"]), f"{where}.max_blast_radius"),
        min_confidence=_confidence(raw["min_confidence"], f"{where}.min_confidence"),
        actions=_actions(raw["actions"], f"{where}.actions"), approval=_approval(raw["approval"], f"{where}.approval"),
        cooldown=_duration(raw["cooldown"], f"{where}.cooldown"),
    )
    if tier.approval is Approval.NONE and tier.max_blast_radius is BlastRadius.PLATFORM_WIDE:
        raise ConfigError(f"{where}.approval: a platform-wide tier cannot run without a human (approval none)")
    return tier


def _signatures(raw: object, tiers: dict[str, Tier], where: str) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of signature -> {{action: tier name}}")
    out: dict[str, dict[str, str]] = {}
    for signature, overrides in raw.items():
        at = f"{where}[{signature!r}]"
        if not isinstance(signature, str) or "@" not in signature:
            raise ConfigError(f"{at}: expected a signature '<signal>@<entity id>' or '<signal>@*'")
        if not isinstance(overrides, dict):
            raise ConfigError(f"{at}: expected a mapping of action -> tier name")
        for action, tier_name in overrides.items():
            if action not in POLICY_ACTIONS:
                raise ConfigError(f"{at}: unknown action {action!r}")
            if tier_name not in tiers:
                raise ConfigError(f"{at}.{action}: no tier named {tier_name!r} (tiers: {', '.join(tiers)})")
        out[signature] = {str(a): str(t) for a, t in overrides.items()}
    return out


def parse_policy(data: object, source: str) -> Policy:
    """Validate a parsed policy document; errors name ``source``, the tier and the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with version, tiers and optional signatures")
    unknown = sorted(set(data) - {"version", "tiers", "signatures"})
    if unknown:
        raise ConfigError(f"{source}: unknown field {unknown[0]!r} (expected version, tiers, signatures)")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"{source}: version: expected a positive integer, got {version!r}")
    raw_tiers = data.get("tiers")
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise ConfigError(f"{source}: tiers: expected a non-empty list")
    tiers: dict[str, Tier] = {}
    for index, raw in enumerate(raw_tiers):
        tier = _tier(raw, f"{source}: tiers[{index}]")
        if tier.name in tiers:
            raise ConfigError(f"{source}: tiers[{index}] ({tier.name}).name: duplicate tier name {tier.name!r}")
        tiers[tier.name] = tier
    signatures = _signatures(data.get("signatures"), tiers, f"{source}: signatures")
    return Policy(version, tuple(tiers.values()), signatures, source)


def load_policy(path: Path | None = None) -> Policy:
    """Read and validate a policy file (the shipped default when ``path`` is ``None``).

    Example: ``load_policy(Path("ops/remediation-policy.yaml")).version``.
    """
    path = path or DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"policy file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"policy file {path}:{where} not valid YAML") from None
    return parse_policy(data, str(path))
