"""Difficulty presets of the RCA scenario generator: which confounders are on, and at what rates.

A :class:`Preset` is data (pydantic, frozen); pick one by name and override what
you need::

    >>> hard = preset("hard")
    >>> hard.rates["decoy_alert"], hard.max_hops
    (0.4, 3)
    >>> preset("easy").model_copy(update={"rates": {}}).rates
    {}

Every rate is the probability that one scenario gets the confounder (each is
drawn independently per scenario, from the scenario's own seeded generator).
A confounder that cannot apply to the scenario drawn (a decoy with no
off-path dependency, a lookalike with no earlier incident on the paging
service, one limited to other cause kinds) is left out, and the labels list
only what was injected, so the counts reported are below rate x scenarios.

=====================  ======  ======  ======  =====================================================
confounder             easy    medium  hard    what it injects
=====================  ======  ======  ======  =====================================================
nearby_deploy          0.3     0.7     0.9     an unrelated production deploy on a neighbour of the
                                               paging service (a dependency or caller, not on the
                                               causal path), 0-25 min before detection
deploy_on_alerting     0       0.25    0.5     an unrelated production patch deploy on the paging
                                               service itself, 2-20 min before detection (only
                                               when the cause is elsewhere)
noisy_alerts           0.3     0.6     0.9     1-3 warning/info alerts on random neighbours in the
                                               30 min before detection
chronic_alert          0       0.3     0.5     a neighbour's chronic alert (it fires every 2-6 h
                                               through the whole history) also fires in the window
decoy_alert            0       0.2     0.4     a critical alert, with no change behind it, on a
                                               dependency of the paging service off the causal path,
                                               2-15 min before detection
silent_root            0       0.15    0.35    the cause's own entity never alerts
shared_store           0       0.3     0.4     the cause sits in a data store used by 2+ services
                                               (migrations and outages only)
concurrent_change      0       0.15    0.3     a second change on the cause's entity within 6 min
                                               of the real one (another kind; not the cause;
                                               changes only)
old_cause              0       0.1     0.2     the change's first symptom comes 50-240 min after
                                               it (a slow burn; changes only)
recurring              0       0.2     0.25    the same kind of cause on the same entity as an
                                               earlier scenario whose incident is in history
                                               (changes and outages only)
lookalike              0       0.2     0.35    an earlier incident paged the same service with a
                                               different cause; that cause's entity has an
                                               unrelated change in this scenario's window
=====================  ======  ======  ======  =====================================================

Cause kinds (weights): easy: deploy 5, config 3, flag 2 (changes only, 0-1 hop
from the paging service); medium: deploy 4, config 2, flag 2, migration 1,
dependency outage 1.5, traffic spike 1 (0-2 hops); hard: deploy 3, config 2,
flag 2, migration 1.5, dependency outage 2, traffic spike 1.5 (0-3 hops).
"config or flag" and "no change" (outage, traffic) are counted as confounders
too, from the kind drawn.

Propagation: each caller of a failing entity fails with ``spread`` (the
callers on the path to the paging service always do), and a failing entity
(other than the cause and the paging service) alerts with ``path_alert``:
easy 0.95 / 0.5, medium 0.8 / 0.5, hard 0.6 / 0.45 (``path_alert`` / ``spread``).
Delays are log-normal: the cause's entity alerts a median 6 min after a change
(sigma 0.6), each caller a median 1.5 min after its dependency (sigma 0.5).

Change sizes: causal deploys are minor (80%) or major (20%) version steps and
causal config changes move a value 3-20x; background deploys are patch (40%),
minor (55%) or major (5%), background config changes 1.1-5x. Flags flip between
0/10/25% and 50/100% whether causal or not.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from graph.errors import ConfigError

#: every confounder the generator can inject (the rate keys) plus the ones read off the cause kind
CONFOUNDERS: tuple[str, ...] = (
    "nearby_deploy", "deploy_on_alerting", "noisy_alerts", "chronic_alert", "decoy_alert", "silent_root",
    "shared_store", "concurrent_change", "old_cause", "recurring", "lookalike",
)  # fmt: skip
#: confounders that follow from the cause kind drawn
KIND_CONFOUNDERS: tuple[str, ...] = ("config_or_flag", "no_change")
CAUSE_KINDS: tuple[str, ...] = ("deploy", "config", "flag", "migration", "dependency_failure", "traffic_spike")


class Preset(BaseModel):
    """One difficulty level: cause kinds, distance, propagation and confounder rates."""

    model_config = ConfigDict(frozen=True)

    name: str
    kinds: dict[str, float]
    max_hops: int = Field(ge=0, le=3)
    path_alert: float = Field(ge=0, le=1)
    spread: float = Field(ge=0, le=1)
    rates: dict[str, float]


PRESETS: dict[str, Preset] = {
    "easy": Preset(
        name="easy", kinds={"deploy": 5, "config": 3, "flag": 2}, max_hops=1, path_alert=0.95, spread=0.5,
        rates={"nearby_deploy": 0.3, "noisy_alerts": 0.3},
    ),
    "medium": Preset(
        name="medium",
        kinds={"deploy": 4, "config": 2, "flag": 2, "migration": 1, "dependency_failure": 1.5, "traffic_spike": 1},
        max_hops=2, path_alert=0.8, spread=0.5,
        rates={
            "nearby_deploy": 0.7, "deploy_on_alerting": 0.25, "noisy_alerts": 0.6, "chronic_alert": 0.3,
            "decoy_alert": 0.2, "silent_root": 0.15, "shared_store": 0.3, "concurrent_change": 0.15,
            "old_cause": 0.1, "recurring": 0.2, "lookalike": 0.2,
        },
    ),
    "hard": Preset(
        name="hard",
        kinds={"deploy": 3, "config": 2, "flag": 2, "migration": 1.5, "dependency_failure": 2, "traffic_spike": 1.5},
        max_hops=3, path_alert=0.6, spread=0.45,
        rates={
            "nearby_deploy": 0.9, "deploy_on_alerting": 0.5, "noisy_alerts": 0.9, "chronic_alert": 0.5,
            "decoy_alert": 0.4, "silent_root": 0.35, "shared_store": 0.4, "concurrent_change": 0.3,
            "old_cause": 0.2, "recurring": 0.25, "lookalike": 0.35,
        },
    ),
}


def preset(name: str) -> Preset:
    """The named preset (``easy``, ``medium``, ``hard``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"RCA preset {name!r}: expected one of {', '.join(PRESETS)}") from None
