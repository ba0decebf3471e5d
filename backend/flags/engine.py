"""Choosing the rules for a patient and running them over their diary (pure: no database, no clock).

Condition profiles follow CLINICAL.md section (a), implementation note 4 (as corrected on 2026-12-04): a rule whose
row says "any" runs for every condition, so a warning sign the patient reports is never silenced by their profile;
profiles only add the rules whose meaning depends on the condition.
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
RULE_SET_VERSION = "2026.12-1"

# The rules whose row says "any": warning signs (U1-U6, U9) and the report of wasting or weakness (R8).
ANY_CONDITION = frozenset({"U1", "U2", "U3", "U4", "U5", "U6", "U9", "R8"})
_CRAMPS = ANY_CONDITION | {"S1", "S2", "R1", "R2", "R3", "R4", "R5", "R7", "R9", "R10", "R11"}
_SPASTICITY = _CRAMPS | {"S3", "S6", "R6"}
_MS = _SPASTICITY | {"S4"}  # S4 is the MS relapse rule
_SCI = _SPASTICITY | {"U7", "U8", "U10", "S5"}
# CP is like SCI without U8 (autonomic dysreflexia) unless a clinician switches it on.
_CP = _SCI - {"U8"}
_STROKE = _SPASTICITY | {"U10", "S5"}
PROFILES: dict[str, frozenset[str]] = {
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
    ids: set[str] = set(ANY_CONDITION)
    for condition in conditions or {"other"}:
        ids |= PROFILES.get(condition, _CRAMPS)
    if itb_pump:
        ids |= PUMP_RULES
    ids |= set(enabled_rules) & set(RULES)
    return tuple(sorted((RULES[i] for i in ids), key=lambda r: (URGENCY_RANK[r.urgency], r.id)))


def threshold_problems(rule: Rule, values: Mapping[str, float]) -> dict[str, str]:
    """What is wrong with a clinician's thresholds for a rule, by name: unknown names and values outside the range
    the rule declares (published by GET /api/v1/rules). Empty when they can be stored."""
    problems: dict[str, str] = {}
    for name, value in values.items():
        limit = rule.limits.get(name)
        if limit is None:
            problems[name] = f"is not a threshold of {rule.id}; use one of {', '.join(rule.defaults) or 'none'}"
        elif not limit.admits(value):
            problems[name] = f"must be {limit.describe()} for {rule.id} ({limit.words})"
    return problems


def thresholds_for(rule: Rule, overrides: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The defaults with the patient's overrides; a stored value outside the rule's range (from before ranges were
    declared) is left out, so that it can never stop the rule from running."""
    own = overrides.get(rule.id, {})
    return {
        **rule.defaults,
        **{k: v for k, v in own.items() if k in rule.defaults and k in rule.limits and rule.limits[k].admits(v)},
    }


@dataclass(frozen=True)
class Evaluation:
    findings: list[Finding]
    evaluated: list[str]  # the rule ids that ran (a rule that ran and did not fire lets its open flag recede)
    suppressed: list[str]  # rules silenced by the data-completeness guard
    failed: dict[str, str]  # rules that could not be checked, with the kind of error: the others still ran


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
    failed: dict[str, str] = {}
    for rule in chosen:
        if rule.needs_complete_data and logged < GUARD_MIN_DAYS:
            suppressed.append(rule.id)
            continue
        # Each rule on its own: one that fails (a bug, a diary nobody foresaw) is reported, and never keeps the
        # other rules, the urgent ones above all, from running.
        try:
            result = rule.evaluate(diary, thresholds_for(rule, overrides))
        except Exception as exc:
            failed[rule.id] = type(exc).__name__
            continue
        evaluated.append(rule.id)
        if result is not None:
            findings.append(with_guard_evidence(diary, result) if rule.needs_complete_data else result)
    return Evaluation(findings, evaluated, suppressed, failed)


def with_guard_evidence(diary: Diary, finding: Finding) -> Finding:
    """A guarded rule fired only because the last week was logged well enough; those logged days are part of what
    it saw, so they join the evidence (a flag's evidence alone must be enough to raise it again), and the window
    grows to hold them. They are context, not signs: a new check-in never renews a judged pattern by itself."""
    week = diary.days_back(7)
    days = {d for d in week if d in diary.checkins_by_day}
    episodes = [e for d in week if d not in days for e in diary.by_day.get(d, ())]
    dates = [*days, *(e.local_day for e in episodes)]
    start = min([finding.window_start, *dates])
    end = max([finding.window_end, *dates])
    return replace(
        finding,
        checkin_days=finding.checkin_days | days,
        episode_ids=finding.episode_ids | {e.id for e in episodes},
        window_start=start,
        window_end=end,
    )


def urgent_ids() -> list[str]:
    return [r.id for r in URGENT_RULES]
