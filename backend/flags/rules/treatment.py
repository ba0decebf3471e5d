"""The routine rules about treatment (CLINICAL.md section (a), "Routine"): self-care that does not help (R4), a
treatment due for review (R7), regular medicines not taken as planned (R10)."""

from __future__ import annotations

import datetime as dt

from backend.flags.measures import adherence, logged_days, treatment_response
from backend.flags.rules.base import Finding, Limit, Rule, Thresholds, finding, recent
from backend.flags.rules.words import said
from backend.flags.window import Diary

NON_DRUG = frozenset({"stretching", "massage", "heat", "cold", "fluids", "walking"})
TRIAL_KINDS = frozenset({"muscle_relaxant", "antispasmodic", "botulinum_toxin", "nutritional_correction"})
REGULAR_MEDICINES = frozenset({"muscle_relaxant", "antispasmodic"})
DAYS = "days looked back"
SHARE = "share of the episodes, from 0.05 to 1"


def self_care_ineffective(diary: Diary, t: Thresholds) -> Finding | None:
    """R4. Sources: Mayo ("don't improve with self-care"), MedlinePlus (stretching and fluids do not help), older
    MedlinePlus ("do not go away with simple stretching"). Numbers [DEFAULT]."""
    treated = [
        e
        for e in diary.episodes_on(recent(diary, int(t["days"])))
        if any(kind in NON_DRUG and relief is not None for kind, relief, _ in e.treatments)
    ]
    if len(treated) < t["count"]:
        return None
    poor = [
        e
        for e in treated
        if max(relief for kind, relief, _ in e.treatments if kind in NON_DRUG and relief is not None) <= t["relief_max"]
    ]
    if len(poor) / len(treated) < t["share"]:
        return None
    return finding(
        "R4",
        episodes=treated,
        patient=said("R4", poor=len(poor), treated=len(treated)),
        clinician=f"Non-drug measures gave relief <= {int(t['relief_max'])}/10 in {len(poor)}/{len(treated)} "
        f"treated episodes over {int(t['days'])} d.",
    )


def treatment_trial_review(diary: Diary, t: Thresholds) -> Finding | None:
    """R7. Sources: Novotna 2011 and MS-UK (stop if < 20% NRS improvement after a 4-week trial); NI Formulary / MHRA
    (quinine: stop if no benefit at 4 weeks, review every 3 months). "< 25%" for cramps is ANCHORED to the quinine
    effect size (West Kent formulary)."""
    for plan in sorted(diary.plans, key=lambda p: p.start, reverse=True):
        if plan.kind not in TRIAL_KINDS or (plan.stop is not None and plan.stop < diary.today):
            continue
        age = (diary.today - plan.start).days
        if age < t["trial_days"]:
            continue
        since_review = (age - int(t["trial_days"])) % int(t["review_every_days"])
        if since_review >= t["due_window_days"]:
            continue
        due = diary.today - dt.timedelta(days=since_review)
        response = treatment_response(
            diary,
            plan.start,
            diary.today,
            trial_days=int(t["trial_days"]),
            nrs_response=t["nrs_response"],
            rate_response=t["rate_response"],
        )
        days = set(response.before) | set(response.after)
        if response.basis == "stiffness":
            seen = f"stiffness {response.before_stiffness:.1f} -> {response.after_stiffness:.1f}"
        else:
            seen = f"episodes {response.before_per_week:.1f} -> {response.after_per_week:.1f} a week"
        return finding(
            "R7",
            episodes=diary.episodes_on(days),
            extra_days=days & logged_days(diary),
            window=(plan.start, diary.today),
            signs=[f"review:{plan.id}:{due.isoformat()}"],
            patient=said("R7", medicine=plan.name),
            clinician=f"Treatment review due for {plan.name} (day {age}; review at day "
            f"{int(t['trial_days'])}, then every {int(t['review_every_days'])} d). The 14 days before the start "
            f"against the last 14 days: {seen}; {response.verdict}.",
        )
    return None


def adherence_gap(diary: Diary, t: Thresholds) -> Finding | None:
    """R10 [DEFAULT]: scheduled-dose adherence below 80% over 14 days for regular antispasticity medicine; counted per
    dose where the patient answered the doses, from the check-in's medicines question otherwise (measures.adherence)."""
    days = recent(diary, int(t["days"]))
    on_plan = [
        p
        for p in diary.plans
        if p.kind in REGULAR_MEDICINES and p.start <= diary.today and (p.stop is None or p.stop >= diary.today)
    ]
    if not on_plan:
        return None
    measured = adherence(diary, days, on_plan)
    share = measured.share
    if share is None or len(measured.days) < t["min_answers"] or share >= t["adherence"]:
        return None
    answered = [c for c in diary.checkins if c.day in measured.checkin_days]
    per_dose = f"{int(measured.taken)} of {int(measured.counted)} doses" if not answered else ""
    basis = per_dose or f"{len(measured.days)} days ({len(measured.dose_days)} answered per dose)"
    return finding(
        "R10",
        days=answered,
        extra_days=measured.dose_days,
        patient=said("R10", share=f"{share:.0%}"),
        clinician=f"Adherence {share:.0%} over {basis} (< {t['adherence']:.0%}).",
        measures={"adherence": share},
    )


TREATMENT_RULES = [
    Rule(
        "R4",
        "SELF_CARE_INEFFECTIVE",
        1,
        "routine",
        {"count": 4, "days": 14, "relief_max": 2, "share": 0.75},
        "Mayo; MedlinePlus",
        self_care_ineffective,
        limits={
            "count": Limit(1, 50, "episodes treated with self-care, at least"),
            "days": Limit(7, 28, DAYS),
            "relief_max": Limit(0, 10, "relief (0-10) at or below which self-care did not help"),
            "share": Limit(0.05, 1, SHARE, whole=False),
        },
    ),
    Rule(
        "R7",
        "TREATMENT_TRIAL_REVIEW",
        1,
        "routine",
        {"trial_days": 28, "review_every_days": 90, "due_window_days": 7, "nrs_response": 0.2, "rate_response": 0.25},
        "Novotna 2011; MS-UK; NI Formulary",
        treatment_trial_review,
        recede_days=7,
        limits={
            "trial_days": Limit(7, 180, "days of treatment before the first review"),
            "review_every_days": Limit(7, 365, "days between later reviews"),
            "due_window_days": Limit(1, 30, "days a review stays due"),
            "nrs_response": Limit(0.05, 0.9, "stiffness improvement counted as a response (share)", whole=False),
            "rate_response": Limit(0.05, 0.9, "fall in episode rate counted as a response (share)", whole=False),
        },
    ),
    Rule(
        "R10",
        "ADHERENCE_GAP",
        1,
        "routine",
        {"days": 14, "adherence": 0.8, "min_answers": 4},
        "[DEFAULT]",
        adherence_gap,
        limits={
            "days": Limit(7, 28, DAYS),
            "adherence": Limit(0.05, 1, "share of doses taken below which the rule fires", whole=False),
            "min_answers": Limit(1, 28, "days with an answer about the medicines (doses or check-in), at least"),
        },
    ),
]
