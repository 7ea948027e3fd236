"""The change history: every deploy, rollback, config, flag and migration change, with versions and values.

Incident changes (causes, remediations, decoys) and the releases of the provenance monorepo are
placed first; routine changes fill the rest of the window around them, kept away from the
incident windows so the ground truth stays unambiguous. Versions, old/new values and migration
numbers are then derived by replaying the history in time order, so they are always consistent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gen_changes_data import CONFIG_KEYS, EXTRA_CHANGES, FLAGS, MIGRATION_START, MIGRATIONS, RESOURCE_CONFIG_KEYS
from gen_common import DAYS, at, iso, rng, uuid4
from gen_scenarios import Scenario, all_scenarios
from gen_topology import COMPONENTS, owner_of, team_members
from make_git_repo import BASE_VERSIONS, IMPORTED_AT

MONOREPO = tuple(BASE_VERSIONS)
STAGING_AFTER_MERGE = timedelta(minutes=20)
PROD_AFTER_MERGE = timedelta(minutes=50)


@dataclass
class Change:
    kind: str  # deploy | config | flag | migration
    at: datetime
    target: str
    action: str = "upgrade"  # deploy: upgrade | rollback | redeploy
    env: str = "production"
    key: str = ""
    old: Any = None
    new: Any = None
    script: str = ""
    description: str = ""
    number: int | None = None
    tag: str = ""  # cause:<key> | remedy:<key> | decoy:<key> | plan | "" (routine)
    author: str = ""
    version: str = ""
    prev_version: str = ""
    forced: str = ""
    release: dict[str, str] = field(default_factory=dict)
    id: str = ""


def symptom_at(s: Scenario) -> datetime:
    return s.when + timedelta(minutes=s.delay)


def resolved_at(s: Scenario) -> datetime:
    return symptom_at(s) + timedelta(minutes=s.duration)


def _author(target: str, r: Any) -> str:
    return str(r.choice(team_members(owner_of(target))))


def _scenario_changes(s: Scenario) -> list[Change]:
    r = rng("scenario", s.key)
    out: list[Change] = []
    if s.kind in ("config", "flag", "migration"):
        fields = dict(s.change)
        number = fields.pop("version", None)
        out.append(Change(s.kind, s.when, s.target, tag=f"cause:{s.key}", author=_author(s.target, r), number=number, **fields))  # type: ignore[arg-type]
    elif s.kind == "deploy" and (s.target not in MONOREPO or s.when < IMPORTED_AT):
        out.append(Change("deploy", s.when, s.target, tag=f"cause:{s.key}", author="argocd"))
    for a in s.actions:
        if not a.event:
            continue
        when = symptom_at(s) + timedelta(minutes=a.after)
        kind, svc = str(a.event[0]), str(a.event[1])
        if kind == "rollback":
            out.append(Change("deploy", when, svc, action="rollback", tag=f"remedy:{s.key}", author=a.who))
            if svc != s.target:
                out.append(
                    Change(
                        "deploy",
                        resolved_at(s) + timedelta(minutes=15),
                        svc,
                        action="redeploy",
                        tag=f"remedy:{s.key}",
                        author=a.who,
                    )
                )
        else:
            _, _, key, old, new = a.event
            out.append(Change(kind, when, svc, key=str(key), old=old, new=new, tag=f"remedy:{s.key}", author=a.who))
    for kind, svc, offset in s.decoys:
        when = s.when + timedelta(minutes=offset)
        key = str(r.choice((CONFIG_KEYS if kind == "config" else FLAGS).get(svc, [("", [])]))[0]) if kind != "deploy" else ""
        author = _author(svc, r) if kind != "deploy" else "argocd"
        out.append(Change(kind, when, svc, key=key, tag=f"decoy:{s.key}", author=author))
    return out


def _plan_changes(releases: list[dict[str, str]]) -> list[Change]:
    out = []
    for rel in releases:
        merged = datetime.fromisoformat(rel["merged_at"].replace("Z", "+00:00"))
        out.append(
            Change(
                "deploy",
                merged + STAGING_AFTER_MERGE,
                rel["service"],
                env="staging",
                tag="plan",
                forced=rel["version"],
                release=rel,
                author="argocd",
            )
        )
        out.append(
            Change(
                "deploy",
                merged + PROD_AFTER_MERGE,
                rel["service"],
                tag="plan",
                forced=rel["version"],
                release=rel,
                author="argocd",
            )
        )
    return out


def _extra_changes() -> list[Change]:
    out = []
    for kind, target, when, fields in EXTRA_CHANGES:
        f = dict(fields)
        out.append(
            Change(
                kind,
                when,
                target,
                key=str(f.get("key", "")),
                old=f.get("old"),
                new=f.get("new"),  # type: ignore[arg-type]
                script=str(f.get("script", "")),
                description=str(f.get("description", "")),
                tag="follow-up",
                author=_author(target, rng("extra", target, iso(when))),
            )
        )  # type: ignore[arg-type]
    return out


def _work_time(r: Any, day: int) -> datetime:
    return at(day, 8, 30) + timedelta(minutes=r.randrange(0, 9 * 60))


def _is_weekday(day: int) -> bool:
    return at(day).weekday() < 5


def _routine_deploys() -> list[Change]:
    out = []
    for c in COMPONENTS:
        r = rng("deploys", c.name)
        for day in range(DAYS):
            p = c.deploys_per_week / 5 if _is_weekday(day) else 0.01
            for _ in range(2 if p > 0.7 and r.random() < p - 0.7 else 1):
                if r.random() < min(p, 0.9):
                    when = _work_time(r, day)
                    if c.name in MONOREPO and when >= IMPORTED_AT - timedelta(days=1):
                        continue
                    out.append(Change("deploy", when, c.name, author="argocd"))
    return out


def _routine_settings() -> list[Change]:
    out = []
    r = rng("settings")
    config_pool = [(s, k) for s, keys in CONFIG_KEYS.items() for k, _ in keys]
    resource_pool = [(s, k) for s, keys in RESOURCE_CONFIG_KEYS.items() for k, _ in keys]
    flag_pool = [(s, k) for s, keys in FLAGS.items() for k, _ in keys]
    migrations = {db: list(items) for db, items in MIGRATIONS.items()}
    for day in range(DAYS):
        if not _is_weekday(day):
            continue
        for _ in range(r.choice((1, 2, 2, 3))):
            svc, key = r.choice(config_pool)
            out.append(Change("config", _work_time(r, day), svc, key=key, author=_author(svc, r)))
        if r.random() < 0.3:
            res, key = r.choice(resource_pool)
            out.append(Change("config", _work_time(r, day), res, key=key, author=_author(res, r)))
        for _ in range(r.choice((0, 1, 1, 2))):
            svc, key = r.choice(flag_pool)
            out.append(Change("flag", _work_time(r, day), svc, key=key, author=_author(svc, r)))
        if r.random() < 0.45:
            db = r.choice(sorted(d for d, items in migrations.items() if items) or ["orders-db"])
            if migrations.get(db):
                out.append(Change("migration", _work_time(r, day), db, description=migrations[db].pop(0), author=_author(db, r)))
    return out


def _blackouts() -> list[tuple[str, datetime, datetime]]:
    out = []
    for s in all_scenarios():
        touched = {s.target, s.symptom} | {str(a.event[1]) for a in s.actions if a.event}
        for name in touched:
            out.append((name, s.when - timedelta(hours=3), resolved_at(s) + timedelta(hours=3)))
    return out


def _keep_routine(c: Change, explicit: list[Change], blackouts: list[tuple[str, datetime, datetime]]) -> bool:
    if any(name == c.target and lo <= c.at <= hi for name, lo, hi in blackouts):
        return False
    return not any(e.target == c.target and abs((e.at - c.at).total_seconds()) < 3600 for e in explicit)


def _bump(v: tuple[int, int, int], r: Any, patch_ok: bool) -> tuple[int, int, int]:
    if patch_ok and r.random() < 0.2:
        return (v[0], v[1], v[2] + 1)
    return (v[0], v[1] + 1, 0)


def _simulate(evs: list[Change], start: tuple[int, int, int], name: str, apply: bool) -> tuple[int, int, int]:
    r = rng("versions", name)
    history, rolled_back = [start], None
    for ev in evs:
        prev = history[-1]
        if ev.action == "rollback":
            rolled_back = history.pop()
            new = history[-1]
        elif ev.action == "redeploy":
            assert rolled_back is not None, f"redeploy of {name} at {iso(ev.at)} without a rollback"
            new, rolled_back = rolled_back, None
            history.append(new)
        else:
            if ev.forced:
                new = tuple(int(x) for x in ev.forced.split("."))  # type: ignore[assignment]
            elif ev.tag.startswith("cause:"):
                new = (prev[0], prev[1] + 1, 0)
            elif rolled_back:
                new = (rolled_back[0], rolled_back[1], rolled_back[2] + 1)
            else:
                new = _bump(prev, r, name not in MONOREPO)
            rolled_back = None
            history.append(new)
        if apply:
            ev.prev_version, ev.version = ".".join(map(str, prev)), ".".join(map(str, new))
    return history[-1]


def _assign_versions(changes: list[Change]) -> None:
    for c in COMPONENTS:
        evs = sorted(
            (x for x in changes if x.kind == "deploy" and x.target == c.name and x.env == "production"), key=lambda x: x.at
        )
        r = rng("start-version", c.name)
        major = r.randint(1, 4)
        start = (major, r.randint(8, 40), 0)
        if c.name in MONOREPO:
            base = tuple(int(x) for x in BASE_VERSIONS[c.name].split("."))
            pre = [x for x in evs if x.at < IMPORTED_AT]
            end = _simulate(pre, (base[0], 0, 0), c.name, apply=False)
            assert end[2] == 0, f"{c.name}: the last deploy before the monorepo import is a patch release"
            start = (base[0], base[1] - end[1], 0)
        _simulate(evs, start, c.name, apply=True)
    for x in changes:
        if x.kind == "deploy" and x.env != "production":
            x.version = x.forced


def _values_for(c: Change) -> list[Any]:
    table = FLAGS if c.kind == "flag" else (CONFIG_KEYS if c.target in CONFIG_KEYS else RESOURCE_CONFIG_KEYS)
    for key, values in table.get(c.target, []):
        if key == c.key:
            return values
    return []


def _assign_values(changes: list[Change]) -> None:
    state: dict[tuple[str, str], Any] = {}
    r = rng("values")
    for c in sorted((x for x in changes if x.kind in ("config", "flag")), key=lambda x: x.at):
        slot = (c.target, c.key)
        if c.old is not None or c.new is not None:
            if slot in state:
                assert state[slot] == c.old, f"{c.kind} {slot} at {iso(c.at)}: old {c.old!r} but the value was {state[slot]!r}"
            state[slot] = c.new
            continue
        values = _values_for(c)
        assert values, f"no values known for {c.kind} {slot}"
        c.old = state.get(slot, values[0])
        c.new = r.choice([v for v in values if v != c.old])
        state[slot] = c.new


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _assign_migrations(changes: list[Change]) -> None:
    by_db: dict[str, list[Change]] = {}
    for c in sorted((x for x in changes if x.kind == "migration"), key=lambda x: x.at):
        by_db.setdefault(c.target, []).append(c)
    for db, evs in by_db.items():
        pinned = [(i, c.number) for i, c in enumerate(evs) if c.number is not None]
        first = pinned[0][1] - pinned[0][0] if pinned else MIGRATION_START.get(db, 20)
        for i, c in enumerate(evs):
            c.number = first + i
            c.script = f"V{c.number}__{c.script or _slug(c.description)}.sql"
            if not c.description:
                c.description = c.script


def build_changes(releases: list[dict[str, str]]) -> list[Change]:
    """The whole change history, sorted by time, with versions, values and ids filled in."""
    explicit = [c for s in all_scenarios() for c in _scenario_changes(s)] + _plan_changes(releases) + _extra_changes()
    blackouts = _blackouts()
    routine = [c for c in _routine_deploys() + _routine_settings() if _keep_routine(c, explicit, blackouts)]
    changes = sorted(explicit + routine, key=lambda c: (c.at, c.kind, c.target, c.action))
    for s in all_scenarios():
        if s.kind == "deploy" and s.target in MONOREPO and s.when >= IMPORTED_AT:
            match = [c for c in changes if c.tag == "plan" and c.env == "production" and c.target == s.target and c.at == s.when]
            assert len(match) == 1, f"scenario {s.key}: no monorepo release deployed at {iso(s.when)}"
            match[0].tag = f"cause:{s.key}"
    _assign_versions(changes)
    _assign_values(changes)
    _assign_migrations(changes)
    for c in changes:
        c.id = uuid4(rng("cdevent", c.kind, c.target, c.env, iso(c.at), c.action, c.key, c.tag))
    return changes
