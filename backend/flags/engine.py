"""Choosing the rules for a patient and running them over their diary (pure: no database, no clock).

Condition profiles follow CLINICAL.md section (a), implementation note 4.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from backend.flags.measures import completeness
from backend.flags.rules.base import URGENCY_RANK, Finding, Rule
from backend.flags.rules.routine import ROUTINE_RULES
from backend.flags.rules.soon import SOON_RULES
from backend.flags.rules.urgent import URGENT_RULES
from backend.flags.window import Diary

RULES: dict[str, Rule] = {r.id: r for r in [*URGENT_RULES, *SOON_RULES, *ROUTINE_RULES]}
RULE_SET_VERSION = "2026.11-1"

_CRAMPS = {"U1", "U2", "U3", "U4", "U5", "U6", "S1", "S2", "R1", "R2", "R3", "R4", "R5", "R7", "R8", "R9", "R10", "R11"}
_SPASTICITY = _CRAMPS | {"S3", "S6", "R6"}
_MS = _SPASTICITY | {"S4"}  # S4 is the MS relapse rule
_SCI = _SPASTICITY | {"U7", "U8", "U9", "U10", "S5"}
# CP is like SCI without U8 (autonomic dysreflexia) unless a clinician switches it on; S4 is an MS relapse rule.
_CP = _SCI - {"U8", "S4"}
_STROKE = _SPASTICITY | {"U9", "U10", "S5"}
PROFILES: dict[str, set[str]] = {
    "idiopathic_cramps": _CRAMPS,
    "night_cramps": _CRAMPS,
    "other": _CRAMPS,
    "multiple_sclerosis": _MS,
    "spinal_cord_injury": _SCI,
    "cerebral_palsy": _CP,
    "stroke": _STROKE,
}
# The intrathecal baclofen rule follows the pump, whatever the condition.
PUMP_RULES = {"U7"}
# R11 silences these when the diary has gaps (CLINICAL.md: R1, R2, R5, R6; and the S3-based rules, for the same reason).
GUARD_MIN_DAYS = 4


def rules_for(diary: Diary) -> list[Rule]:
    patient = diary.patient
    return list(_rules_for(patient.conditions, patient.itb_pump, patient.enabled_rules))


@functools.lru_cache(maxsize=512)
def _rules_for(conditions: frozenset[str], itb_pump: bool, enabled_rules: frozenset[str]) -> tuple[Rule, ...]:
    ids: set[str] = set()
    for condition in conditions or {"other"}:
        ids |= PROFILES.get(condition, _CRAMPS)
    if itb_pump:
        ids |= PUMP_RULES
    ids |= set(enabled_rules) & set(RULES)
    return tuple(sorted((RULES[i] for i in ids), key=lambda r: (URGENCY_RANK[r.urgency], r.id)))


def thresholds_for(rule: Rule, overrides: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    return {**rule.defaults, **{k: v for k, v in overrides.get(rule.id, {}).items() if k in rule.defaults}}


@dataclass(frozen=True)
class Evaluation:
    findings: list[Finding]
    evaluated: list[str]  # the rule ids that ran (a rule that ran and did not fire lets its open flag recede)
    suppressed: list[str]  # rules silenced by the data-completeness guard


def evaluate(
    diary: Diary,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    *,
    only: Iterable[str] | None = None,
) -> Evaluation:
    overrides = overrides or {}
    chosen = rules_for(diary)
    if only is not None:
        wanted = set(only)
        chosen = [r for r in chosen if r.id in wanted]
    # The guard's count of logged days, only when a chosen rule is guarded (urgent rules never are).
    logged = completeness(diary, 7)[0] if any(r.needs_complete_data for r in chosen) else GUARD_MIN_DAYS
    findings: list[Finding] = []
    evaluated: list[str] = []
    suppressed: list[str] = []
    for rule in chosen:
        if rule.needs_complete_data and logged < GUARD_MIN_DAYS:
            suppressed.append(rule.id)
            continue
        evaluated.append(rule.id)
        result = rule.evaluate(diary, thresholds_for(rule, overrides))
        if result is not None:
            findings.append(with_guard_evidence(diary, result) if rule.needs_complete_data else result)
    return Evaluation(findings, evaluated, suppressed)


def with_guard_evidence(diary: Diary, finding: Finding) -> Finding:
    """A guarded rule fired only because the last week was logged well enough; those logged days are part of what
    it saw, so they join the evidence (a flag's evidence alone must be enough to raise it again)."""
    week = diary.days_back(7)
    days = {d for d in week if d in diary.checkins_by_day}
    episodes = {e.id for d in week if d not in days for e in diary.by_day.get(d, ())}
    return replace(finding, checkin_days=finding.checkin_days | days, episode_ids=finding.episode_ids | episodes)


def urgent_ids() -> list[str]:
    return [r.id for r in URGENT_RULES]
