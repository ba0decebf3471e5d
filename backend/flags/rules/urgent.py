"""Urgent rules U1-U10 (CLINICAL.md section (a), "Urgent"): the patient must be told at once to seek same-day or
emergency care, and must not rely on a clinician reading a dashboard. Evaluated synchronously on every write."""

from __future__ import annotations

import datetime as dt

from backend.flags.rules.base import Finding, Limit, Rule, Thresholds, finding, recent
from backend.flags.rules.spikes import SPIKE, SPIKE_LIMITS, spasticity_spike
from backend.flags.rules.words import said
from backend.flags.window import Diary, Ep

# Urgent rules look at what happened in the last week: an entry typed in long after the event still reaches the
# clinician, but an alarm for something long over would only frighten.
LOOKBACK_DAYS = 7
SELF_CARE = frozenset({"stretching", "massage", "heat", "cold", "rest", "walking", "fluids"})


def _recent_episodes(diary: Diary) -> list[Ep]:
    return diary.episodes_within(LOOKBACK_DAYS)


def _recent_days(diary: Diary) -> list:  # type: ignore[type-arg]
    days = recent(diary, LOOKBACK_DAYS)
    return [c for c in diary.checkins if c.day in days]


def prolonged_episode(diary: Diary, t: Thresholds) -> Finding | None:
    """U1. Source: NHS "Leg cramps" (urgent if a cramp lasts more than 10 minutes); older NHS text adds "fails to
    improve despite exercise", which we use for the stronger wording."""
    limit = dt.timedelta(minutes=t["minutes"])
    hits = [e for e in _recent_episodes(diary) if (length := e.length(diary.now)) is not None and length > limit]
    if not hits:
        return None
    no_relief = any(
        k in SELF_CARE and relief is not None and relief <= t["no_relief_max"]
        for e in hits
        for k, relief, _ in e.treatments
    )
    still = any(e.ongoing for e in hits)
    longest = max(int((e.length(diary.now) or dt.timedelta()).total_seconds() // 60) for e in hits)
    key = ("U1_GOING_ON" if still else "U1_LASTED") + ("_NO_RELIEF" if no_relief else "")
    patient = said(key, minutes=int(t["minutes"]))
    clinician = (
        f"Episode longer than {int(t['minutes'])} min (longest {longest} min{', still ongoing' if still else ''})"
        f"{'; self-care relief rated ' + str(int(t['no_relief_max'])) + '/10 or less' if no_relief else ''}."
    )
    return finding("U1", episodes=hits, patient=patient, clinician=clinician, measures={"longest_minutes": longest})


def infection_or_toxin(diary: Diary, t: Thresholds) -> Finding | None:
    """U2. Source: NHS (cramps after a soil-contaminated wound, possible tetanus, or after toxic substances)."""
    hits = [e for e in _recent_episodes(diary) if e.context & {"recent_wound", "toxin_exposure"}]
    if not hits:
        return None
    return finding(
        "U2",
        episodes=hits,
        patient=said("U2"),
        clinician="Episode logged with a recent wound (possible tetanus) or toxin exposure.",
    )


def atypical_cramp_site(diary: Diary, t: Thresholds) -> Finding | None:
    """U3. Source: MSD Manual, "Muscle cramps" (see a doctor right away for cramps in the chest, arms or belly)."""
    hits = [e for e in _recent_episodes(diary) if e.kind == "cramp" and e.regions() & {"chest", "arm", "abdomen"}]
    if not hits:
        return None
    return finding(
        "U3",
        episodes=hits,
        patient=said("U3"),
        clinician="Cramp logged at an atypical site (chest, arm or abdomen).",
    )


def new_neuro_deficit(diary: Diary, t: Thresholds) -> Finding | None:
    """U4. Source: MSD Manual (cramps with weakness, loss of feeling or twitching). Only new or worse-than-usual
    deficits count, since some weakness is expected with MS, SCI, CP or stroke [DEFAULT]: the checklist asks for
    exactly that ("new or worse weakness", "new muscle twitching"), so a ticked sign counts for every condition
    (CLINICAL.md (a), note 4)."""
    signs = {"new_weakness", "new_numbness", "twitching"}
    episodes = [e for e in _recent_episodes(diary) if e.symptoms & signs]
    days = [c for c in _recent_days(diary) if c.symptoms & signs]
    if not episodes and not days:
        return None
    return finding(
        "U4",
        episodes=episodes,
        days=days,
        patient=said("U4"),
        clinician="New or worse-than-usual weakness, sensory loss or twitching reported.",
    )


def fluid_loss_cramps(diary: Diary, t: Thresholds) -> Finding | None:
    """U5. Source: MSD Manual (cramps after major fluid loss: vomiting, sweating, diarrhoea, diuretics); the 48-hour
    window is [DEFAULT]."""
    window = dt.timedelta(hours=t["hours"])
    # A loss up to two days before the week's first day still counts for the week's cramps.
    nearby = diary.episodes_within(LOOKBACK_DAYS + 2)
    losses = [e for e in nearby if e.context & {"fluid_loss", "diuretic_increase"}]
    hits = [
        c
        for c in _recent_episodes(diary)
        if c.kind == "cramp" and any(dt.timedelta(0) <= c.start - loss.start <= window for loss in losses)
    ]
    if not hits:
        return None
    evidence = {e.id: e for e in hits} | {
        loss.id: loss for loss in losses if any(dt.timedelta(0) <= c.start - loss.start <= window for c in hits)
    }
    return finding(
        "U5",
        episodes=evidence.values(),
        signs=hits,
        patient=said("U5"),
        clinician=f"Cramp within {int(t['hours'])} h of logged fluid loss or a diuretic increase.",
    )


def leg_swelling_redness(diary: Diary, t: Thresholds) -> Finding | None:
    """U6. Sources: NHS, Mayo, MedlinePlus (swelling, redness or warmth: see a provider); CKS (calf swelling).
    Treating it as urgent, because of a possible blood clot, is [DEFAULT]."""
    skin = {"redness", "warmth", "skin_change"}
    episodes = [
        e for e in _recent_episodes(diary) if "swelling" in e.symptoms and e.symptoms & skin and "leg" in e.regions()
    ]
    days = [c for c in _recent_days(diary) if "swelling" in c.symptoms and c.symptoms & skin]
    if not episodes and not days:
        return None
    one_sided = any(
        {side for _, side in e.sites} <= {"left"} or {side for _, side in e.sites} <= {"right"} for e in episodes
    )
    return finding(
        "U6",
        episodes=episodes,
        days=days,
        patient=said("U6"),
        clinician=f"Leg swelling with redness, warmth or skin change{' (one-sided)' if one_sided else ''}.",
    )


def itb_withdrawal_risk(diary: Diary, t: Thresholds) -> Finding | None:
    """U7. Sources: FDA boxed warning for intrathecal baclofen; Henry Ford ITB safety page (abrupt interruption:
    rebound spasticity, itching, fever, confusion, racing heart; call a doctor right away)."""
    if not diary.patient.itb_pump:
        return None
    alarms = [e for e in _recent_episodes(diary) if "itb_pump_alarm" in e.context]
    refill = diary.patient.itb_refill_date
    overdue = refill is not None and refill < diary.today
    spike = spasticity_spike(diary, t)
    if not (alarms or overdue or spike):
        return None
    signs = {"itching", "fever_or_chills", "confusion", "racing_heart"}
    sign_eps = [e for e in _recent_episodes(diary) if e.symptoms & signs]
    sign_days = [c for c in _recent_days(diary) if c.symptoms & signs or (c.temperature_c or 0) >= t["fever_c"]]
    if not sign_eps and not sign_days:
        return None
    spike_eps, spike_days = (spike.episodes, spike.days) if spike else ([], [])
    return finding(
        "U7",
        episodes=[*alarms, *sign_eps, *spike_eps],
        days=sign_days,
        extra_days=spike_days,
        signs=[*alarms, *sign_eps, *sign_days],
        patient=said("U7"),
        clinician="ITB pump patient: pump alarm, overdue refill or rebound spasticity, with itching, fever, "
        "altered mental state or tachycardia (possible withdrawal).",
    )


def _level_t6_or_above(level: str | None) -> bool:
    if not level:
        return False
    if level.startswith("C"):
        return True
    return level.startswith("T") and int(level[1:]) <= 6


def autonomic_dysreflexia(diary: Diary, t: Thresholds) -> Finding | None:
    """U8. Source: HMP Wounds review of autonomic dysreflexia (SCI at or above T6: a sudden systolic rise of 20 mmHg
    or more above baseline, with headache, flushing or sweating)."""
    # With SCI the level decides; for other conditions (CP) the rule runs only when a clinician switched it on.
    if "spinal_cord_injury" in diary.patient.conditions:
        if not _level_t6_or_above(diary.patient.sci_level):
            return None
    elif "U8" not in diary.patient.enabled_rules:
        return None
    signs = {"pounding_headache", "flushing_or_sweating"}
    episodes = [e for e in _recent_episodes(diary) if e.symptoms & signs]
    base = diary.patient.baseline_systolic
    days = [
        c
        for c in _recent_days(diary)
        if c.symptoms & signs
        or (base is not None and c.systolic_bp is not None and c.systolic_bp >= base + t["systolic_rise"])
    ]
    if not episodes and not days:
        return None
    return finding(
        "U8",
        episodes=episodes,
        days=days,
        patient=said("U8"),
        clinician=f"SCI at or above T6 with headache, flushing or sweating, or systolic >= baseline + "
        f"{int(t['systolic_rise'])} mmHg (possible autonomic dysreflexia).",
    )


def breathing_or_swallowing(diary: Diary, t: Thresholds) -> Finding | None:
    """U9. Source: SCI Phoenix citing MSKTC (spasms affecting breathing or swallowing: same day or emergency)."""
    signs = {"breathing_difficulty", "swallowing_difficulty"}
    hits = [e for e in _recent_episodes(diary) if e.symptoms & signs]
    if not hits:
        return None
    return finding(
        "U9",
        episodes=hits,
        patient=said("U9"),
        clinician="Spasm affecting breathing or swallowing.",
    )


def spike_with_fever(diary: Diary, t: Thresholds) -> Finding | None:
    """U10. Sources: MSKTC via SCI Phoenix (fever or chills with a spasticity spike); MS Society (infection as a
    trigger). The 38.0 °C cut-off is [DEFAULT]."""
    spike = spasticity_spike(diary, t)
    if not spike:
        return None
    spike_eps, spike_days = spike.episodes, spike.days
    # The spike covers the last three days at most; a fever on any of them, or the day before, counts.
    near = set(diary.days_back(4))
    fever_days = [
        c
        for c in diary.checkins
        if c.day in near and ("fever_or_chills" in c.symptoms or (c.temperature_c or 0) >= t["fever_c"])
    ]
    fever_eps = [e for e in diary.episodes if e.local_day in near and "fever_or_chills" in e.symptoms]
    if not fever_days and not fever_eps:
        return None
    return finding(
        "U10",
        episodes=[*spike_eps, *fever_eps],
        days=fever_days,
        extra_days=spike_days,
        signs=[*fever_eps, *fever_days],
        patient=said("U10"),
        clinician="Spasticity spike (S3 criteria) with fever or chills on the same or previous day.",
    )


FEVER = {"fever_c": Limit(37.0, 41.0, "temperature counted as a fever, in degrees Celsius", whole=False)}
URGENT_RULES = [
    Rule(
        "U1",
        "PROLONGED_EPISODE",
        1,
        "urgent",
        {"minutes": 10, "no_relief_max": 1},
        "NHS Leg cramps",
        prolonged_episode,
        recede_days=7,
        renewal="entry",
        limits={
            "minutes": Limit(1, 240, "an episode lasting longer than this many minutes"),
            "no_relief_max": Limit(0, 10, "self-care relief at or below this (0-10) strengthens the wording"),
        },
    ),
    Rule("U2", "INFECTION_TOXIN_EXPOSURE", 1, "urgent", {}, "NHS", infection_or_toxin, recede_days=7, renewal="entry"),
    Rule(
        "U3", "ATYPICAL_CRAMP_SITE", 1, "urgent", {}, "MSD Manual", atypical_cramp_site, recede_days=7, renewal="entry"
    ),
    Rule("U4", "NEW_NEURO_DEFICIT", 2, "urgent", {}, "MSD Manual", new_neuro_deficit, recede_days=7, renewal="entry"),
    Rule(
        "U5",
        "FLUID_LOSS_CRAMPS",
        1,
        "urgent",
        {"hours": 48},
        "MSD Manual",
        fluid_loss_cramps,
        recede_days=7,
        renewal="entry",
        limits={"hours": Limit(1, 168, "a cramp within this many hours after fluid loss")},
    ),
    Rule(
        "U6",
        "LEG_SWELLING_REDNESS",
        1,
        "urgent",
        {},
        "NHS; Mayo; MedlinePlus; CKS",
        leg_swelling_redness,
        recede_days=7,
        renewal="entry",
    ),
    Rule(
        "U7",
        "ITB_WITHDRAWAL_RISK",
        1,
        "urgent",
        {**SPIKE, "fever_c": 38.0},
        "FDA boxed warning (ITB)",
        itb_withdrawal_risk,
        recede_days=7,
        renewal="entry",
        limits={**SPIKE_LIMITS, **FEVER},
    ),
    Rule(
        "U8",
        "AUTONOMIC_DYSREFLEXIA",
        1,
        "urgent",
        {"systolic_rise": 20},
        "HMP Wounds review",
        autonomic_dysreflexia,
        recede_days=7,
        renewal="entry",
        limits={"systolic_rise": Limit(5, 80, "systolic rise above the patient's baseline, in mmHg")},
    ),
    Rule(
        "U9",
        "RESP_SWALLOW_SPASM",
        1,
        "urgent",
        {},
        "MSKTC via SCI Phoenix",
        breathing_or_swallowing,
        recede_days=7,
        renewal="entry",
    ),
    Rule(
        "U10",
        "SPIKE_WITH_FEVER",
        1,
        "urgent",
        {**SPIKE, "fever_c": 38.0},
        "MSKTC; MS Society",
        spike_with_fever,
        recede_days=7,
        renewal="entry",
        limits={**SPIKE_LIMITS, **FEVER},
    ),
]
