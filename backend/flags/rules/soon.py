"""Soon rules S1-S6 (CLINICAL.md section (a), "Soon"): contact the care team within 1-2 days."""

from __future__ import annotations

import datetime as dt

from backend.flags.measures import count_baseline, missed_day
from backend.flags.rules.base import Finding, Limit, Rule, Thresholds, finding, recent
from backend.flags.rules.spikes import SPIKE, SPIKE_LIMITS, spasticity_spike
from backend.flags.rules.words import said
from backend.flags.window import Diary

MEDICINE_KINDS = frozenset({"muscle_relaxant", "antispasmodic", "nutritional_correction", "other"})
# Medicines known to bring on cramps (NHS, CKS, AFP): named in the clinician's wording when they match.
HIGH_SUSPICION = (
    "statin",
    "atorvastatin",
    "simvastatin",
    "rosuvastatin",
    "pravastatin",
    "diuretic",
    "furosemide",
    "bendroflumethiazide",
    "indapamide",
    "nifedipine",
    "amlodipine",
    "salbutamol",
    "albuterol",
    "salmeterol",
    "formoterol",
    "raloxifene",
    "oestrogen",
    "estrogen",
    "teriparatide",
    "naproxen",
    "iron sucrose",
)
TRIGGER_CHECKLIST = "a urine infection, constipation, sore skin, tight clothing or an injury"


def new_medication_onset(diary: Diary, t: Thresholds) -> Finding | None:
    """S1. Source: MSD Manual (cramps that started after a new medicine: call within 1-2 days); drug list from NHS,
    CKS and AFP. The 30-day window and the 1.5x ratio are [DEFAULT]."""
    window_days = int(t["days"])
    for plan in sorted(diary.plans, key=lambda p: p.start, reverse=True):
        if plan.kind not in MEDICINE_KINDS or not (0 <= (diary.today - plan.start).days <= window_days):
            continue
        after = [e for e in diary.episodes if plan.start <= e.local_day <= diary.today]
        if not after:
            continue
        # "First-ever" means in the whole diary, not only in the weeks the rules were given.
        first = diary.patient.first_episode_on
        before = [e for e in diary.episodes if e.local_day < plan.start]
        suspect = any(name in plan.name.lower() for name in HIGH_SUSPICION)
        if not before and (first is None or first >= plan.start):
            first_episode = min(after, key=lambda e: (e.start, e.id))
            return finding(
                "S1",
                episodes=[first_episode],
                window=(plan.start, diary.today),
                patient=said("S1_FIRST", medicine=plan.name),
                clinician=f"First-ever episode within {window_days} d of starting {plan.name}"
                f"{' (a medicine known to cause cramps)' if suspect else ''}.",
            )
        base = count_baseline(diary, plan.start)
        elapsed = (diary.today - plan.start).days + 1
        if base is None or base.value <= 0 or elapsed < 7:
            continue
        weekly_after = len(after) * 7 / elapsed
        if weekly_after >= t["ratio"] * base.value * 7:
            base_eps = diary.episodes_on(set(base.days))
            return finding(
                "S1",
                episodes=[*after, *base_eps],
                extra_days=base.days,
                signs=after,
                window=(plan.start, diary.today),
                patient=said("S1_MORE", medicine=plan.name),
                clinician=f"Episode rate {weekly_after:.1f}/week since starting {plan.name}, "
                f">= {t['ratio']}x baseline ({base.value * 7:.1f}/week)"
                f"{'; a medicine known to cause cramps' if suspect else ''}.",
                measures={"weekly_after": weekly_after, "baseline_weekly": base.value * 7},
            )
    return None


def exertional_calf_pain(diary: Diary, t: Thresholds) -> Finding | None:
    """S2. Sources: MSD Manual (leg cramps while walking that stop when you stop: 1-2 days), CKS. Counts [DEFAULT]."""
    quick = dt.timedelta(minutes=t["resolve_minutes"])

    def stops_with_rest(e) -> bool:  # type: ignore[no-untyped-def]
        length = e.length(diary.now)
        rested = any(
            kind == "rest" and minutes is not None and minutes <= t["resolve_minutes"]
            for kind, _relief, minutes in e.treatments
        )
        return rested or (length is not None and length <= quick)

    days = recent(diary, int(t["days"]))
    hits = [
        e for e in diary.episodes_on(days) if "walking" in e.triggers and "leg" in e.regions() and stops_with_rest(e)
    ]
    if len(hits) < t["count"]:
        return None
    return finding(
        "S2",
        episodes=hits,
        patient=said("S2"),
        clinician=f"{len(hits)} leg episodes in {int(t['days'])} d triggered by walking and easing within "
        f"{int(t['resolve_minutes'])} min of rest (claudication pattern).",
    )


def sudden_spasticity_increase(diary: Diary, t: Thresholds) -> Finding | None:
    """S3. Sources: rehab information sheet, MS Trust, MS Society, MSKTC (a sudden increase: check the triggers)."""
    spike = spasticity_spike(diary, t)
    if not spike:
        return None
    return finding(
        "S3",
        episodes=spike.episodes,
        extra_days=spike.days,
        signs=spike.spike_days,
        patient=said("S3"),
        clinician="Sudden increase: 3-day mean stiffness >= baseline + 2 points, or daily episodes >= 2x "
        "baseline on 2 consecutive days. Trigger checklist shown to the patient.",
    )


def possible_ms_relapse(diary: Diary, t: Thresholds) -> Finding | None:
    """S4. Source: NHS England relapse definition (new or worse symptoms for more than 24 hours, at least 30 days
    after the last relapse, without fever or infection)."""
    days = diary.days_back(7)
    flagged = [c for d in days if (c := diary.checkin(d)) is not None and c.new_or_worse_symptoms]
    by_day = {c.day: c for c in flagged}
    for c in flagged:
        nxt = by_day.get(c.day + dt.timedelta(days=1))
        if nxt is None:
            continue
        pair = [c, nxt]
        if any("fever_or_chills" in d.symptoms or (d.temperature_c or 0) >= t["fever_c"] for d in pair):
            continue
        last = diary.last_relapse_on
        if last is not None and (c.day - last).days < t["days_since_last"]:
            continue
        return finding(
            "S4",
            days=pair,
            patient=said("S4"),
            clinician="New or worsening symptoms > 24 h without fever, >= 30 d after the last recorded "
            "relapse (possible relapse).",
        )
    return None


def baclofen_stopped(diary: Diary, t: Thresholds) -> Finding | None:
    """S5. Source: UPMC SCI education ("never discontinue baclofen without contacting your physician"). The 2-day
    missed-dose run is [DEFAULT]."""
    baclofen = [p for p in diary.plans if "baclofen" in p.name.lower()]
    stopped = [
        p
        for p in baclofen
        if p.stop is not None and not p.stopped_by_clinician and 0 <= (diary.today - p.stop).days <= 14
    ]
    if stopped:
        return finding(
            "S5",
            window=(stopped[0].stop or diary.today, diary.today),
            signs=[f"stopped:{stopped[0].id}:{stopped[0].stop}"],
            patient=said("S5_STOPPED"),
            clinician=f"Oral baclofen stopped on {stopped[0].stop} without a recorded clinician instruction.",
        )
    active = [p for p in baclofen if p.start <= diary.today and (p.stop is None or p.stop >= diary.today)]
    if not active:
        return None
    # Missed days: per dose where the patient answered the baclofen doses, the check-in's "none" otherwise.
    run: list[dt.date] = []
    for d in diary.days_back(7):
        run = [*run, d] if missed_day(diary, d, active) else []
        if len(run) >= t["missed_days"]:
            return finding(
                "S5",
                days=[c for c in (diary.checkin(x) for x in run) if c is not None],
                extra_days=run,
                patient=said("S5_MISSED", n=len(run)),
                clinician=f"Oral baclofen: no doses taken for {len(run)} consecutive days.",
            )
    return None


def trigger_unresolved(diary: Diary, t: Thresholds) -> Finding | None:
    """S6. Source: MS Trust (contact your MS nurse or physio if you cannot find the trigger). 7 days is [DEFAULT]."""
    done = diary.spike_checklist_done_on
    if done is None or (diary.today - done).days < t["days"]:
        return None
    spike = spasticity_spike(diary, t)
    if not spike:
        return None
    return finding(
        "S6",
        episodes=spike.episodes,
        extra_days=spike.days,
        signs=spike.spike_days,
        patient=said("S6"),
        clinician=f"Spike persists >= {int(t['days'])} d after the patient worked through the trigger "
        "checklist (no trigger identified).",
    )


DAYS = "days looked back"
SOON_RULES = [
    Rule(
        "S1",
        "NEW_MEDICATION_ONSET",
        2,
        "soon",
        {"days": 30, "ratio": 1.5},
        "MSD Manual; NHS; CKS; AFP",
        new_medication_onset,
        limits={
            "days": Limit(7, 56, "days after a new medicine in which new or more episodes count"),
            "ratio": Limit(1.1, 10, "times the baseline weekly rate since the medicine started", whole=False),
        },
    ),
    Rule(
        "S2",
        "EXERTIONAL_CALF_PAIN",
        1,
        "soon",
        {"count": 2, "days": 14, "resolve_minutes": 5},
        "MSD Manual; CKS",
        exertional_calf_pain,
        limits={
            "count": Limit(1, 20, "walking-related leg episodes needed"),
            "days": Limit(7, 28, DAYS),
            "resolve_minutes": Limit(1, 30, "easing within this many minutes of rest"),
        },
    ),
    Rule(
        "S3",
        "SUDDEN_SPASTICITY_INCREASE",
        1,
        "soon",
        SPIKE,
        "MS Trust; MS Society; MSKTC",
        sudden_spasticity_increase,
        needs_complete_data=True,
        limits=SPIKE_LIMITS,
    ),
    Rule(
        "S4",
        "POSSIBLE_MS_RELAPSE",
        1,
        "soon",
        {"days_since_last": 30, "fever_c": 38.0},
        "NHS England relapse definition",
        possible_ms_relapse,
        limits={
            "days_since_last": Limit(7, 180, "days since the last recorded relapse"),
            "fever_c": Limit(37.0, 41.0, "temperature counted as a fever, in degrees Celsius", whole=False),
        },
    ),
    Rule(
        "S5",
        "BACLOFEN_STOPPED",
        1,
        "soon",
        {"missed_days": 2},
        "UPMC SCI education",
        baclofen_stopped,
        limits={"missed_days": Limit(1, 7, "days in a row without a dose")},
    ),
    Rule(
        "S6",
        "TRIGGER_UNRESOLVED",
        1,
        "soon",
        {**SPIKE, "days": 7},
        "MS Trust",
        trigger_unresolved,
        needs_complete_data=True,
        limits={**SPIKE_LIMITS, "days": Limit(1, 28, "days after the trigger checklist that the increase persists")},
    ),
]
