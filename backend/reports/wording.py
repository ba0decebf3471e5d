"""The clinician's figures in words (pure): each count says over which window it was taken, against what, and in
which direction, so that "11.0 (4 weeks before: 4.0)" becomes "11 episodes in the last 7 days, 4 a week in the 4 weeks
before: up 2.8×" (a rise to 2 or more times the baseline is said as a multiple, a smaller one as a percentage).

Plain values in, a sentence in the reader's language out (the catalogs and Babel's number formats): the triage list,
the report and the PDF all call these, so the same figure is worded the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.shared.formats import number, percent
from backend.shared.i18n import N_, translate

BASELINE_DAYS = 28  # the 4 weeks before the window: the same baseline as the report's (summary.py)
# Within a fifth either way the rate is "about the same": below that, a week's noise (and the R7 response cut).
SAME_BAND = 0.2


@dataclass(frozen=True, slots=True)
class Change:
    """How a rate moved against its baseline: "up" (ratio >= 1 + SAME_BAND), "down", "same", "new" (none before),
    or "none" (nothing in either)."""

    direction: str
    ratio: float | None


def change(per_week: float, baseline_per_week: float | None) -> Change:
    if not baseline_per_week:
        return Change("new" if per_week > 0 else "none", None)
    ratio = per_week / baseline_per_week
    if ratio >= 1 + SAME_BAND:
        return Change("up", ratio)
    if ratio <= 1 - SAME_BAND:
        return Change("down", ratio)
    return Change("same", ratio)


def change_words(c: Change, language: str) -> str:
    """up 4× / up 50% / down 60% / about the same / new: none in the 4 weeks before."""
    if c.direction == "new":
        return translate(language, N_("new: none in the 4 weeks before"))
    if c.direction == "none":
        return translate(language, N_("none before either"))
    if c.direction == "same" or c.ratio is None:
        return translate(language, N_("about the same"))
    if c.direction == "up":
        if c.ratio >= 2:
            return translate(language, N_("up %(n)s×")) % {"n": number(c.ratio, language)}
        return translate(language, N_("up %(n)s")) % {"n": percent(c.ratio - 1, language)}
    return translate(language, N_("down %(n)s")) % {"n": percent(1 - c.ratio, language)}


def episodes_in_window(count: int, days: int, language: str) -> str:
    """12 episodes in the last 7 days."""
    words = (
        N_("%(n)s episode in the last %(days)s days") if count == 1 else N_("%(n)s episodes in the last %(days)s days")
    )
    return translate(language, words) % {"n": number(count, language, 0), "days": days}


def triage_figure(count: int, days: int, baseline_per_week: float | None, language: str) -> str:
    """The triage list's episode figure, labelled against its window and the 4 weeks before, with its direction:
    "12 episodes in the last 7 days, 3 a week in the 4 weeks before: up 4×". For a window other than a week the
    window's own weekly rate is said too, so that the comparison is rate against rate."""
    per_week = count * 7 / days
    c = change(per_week, baseline_per_week)
    head = episodes_in_window(count, days, language)
    if days != 7:
        head += " " + translate(language, N_("(%(n)s a week)")) % {"n": number(per_week, language)}
    if not baseline_per_week:
        return f"{head}: {change_words(c, language)}"
    before = translate(language, N_("%(n)s a week in the 4 weeks before")) % {"n": number(baseline_per_week, language)}
    return f"{head}, {before}: {change_words(c, language)}"


def days_logged_words(logged: int, days: int, language: str) -> str:
    """5 of the last 7 days logged."""
    return translate(language, N_("%(n)s of the last %(days)s days logged")) % {
        "n": number(logged, language, 0),
        "days": days,
    }


URGENCY_WORDS = {
    "urgent": N_("Urgent because"),
    "soon": N_("Soon because"),
    "routine": N_("Routine"),
}


def attention_words(
    urgency: str | None, reason: str | None, more: int, language: str, rule_id: str | None = None
) -> str:
    """Why a patient is high on the list, in words: "Urgent because (U1, Prolonged episode): <the flag's clinician
    wording>"; the rule's name is in the reader's language, its wording as the rule wrote it."""
    if urgency is None or reason is None:
        return translate(language, N_("Nothing open"))
    head = translate(language, URGENCY_WORDS.get(urgency, urgency))
    if rule_id is not None:
        head += f" ({rule_id}, {rule_name(rule_id, language)})"
    text = f"{head}: {reason}"
    if more:
        words = N_("(and %(n)s more flag)") if more == 1 else N_("(and %(n)s more flags)")
        text += " " + translate(language, words) % {"n": more}
    return text


# ---- the treatment-response line -------------------------------------------------------------------------------


def response_words(
    *,
    name: str,
    start: str,
    end: str,
    after_days: int,
    basis: str | None,
    before_stiffness: float | None,
    after_stiffness: float | None,
    before_per_week: float,
    after_per_week: float,
    improvement: float | None,
    verdict: str,
    cut: float,
    language: str,
) -> str:
    """R7's before-and-after in one sentence that says which figure the verdict rests on, so that a fall in episodes
    never reads as contradicting a "no meaningful response" on stiffness: the basis comes first with its change and
    the cut it was held to, the other figure follows as context."""
    head = translate(
        language, N_("%(name)s, started %(start)s: the 14 days before the start against the %(n)s days ending %(end)s.")
    ) % {
        "name": name,
        "start": start,
        "n": after_days,
        "end": end,
    }
    stiff = translate(language, N_("stiffness %(before)s → %(after)s (0-10)")) % {
        "before": number(before_stiffness, language) if before_stiffness is not None else "–",
        "after": number(after_stiffness, language) if after_stiffness is not None else "–",
    }
    rate = translate(language, N_("episodes %(before)s → %(after)s a week")) % {
        "before": number(before_per_week, language),
        "after": number(after_per_week, language),
    }
    if basis == "stiffness":
        main, other = stiff, rate
    else:
        main, other = rate, stiff
    body = translate(language, N_("Judged on %(main)s")) % {"main": main}
    if improvement is not None:
        moved = N_("%(n)s better") if improvement >= 0 else N_("%(n)s worse")
        body += " (" + translate(language, moved) % {"n": percent(abs(improvement), language)} + ")"
    body += "; " + translate(language, N_("for context, %(other)s.")) % {"other": other}
    verdict = translate(language, N_("Verdict: %(words)s")) % {"words": verdict_words(verdict, cut, language)}
    return f"{head} {body} {verdict}."


VERDICTS = {
    "too early": N_("too early to judge (under 28 days)"),
    "not assessable": N_("not assessable (no ratings or episodes before the start)"),
    "clinically important": N_("clinically important: stiffness at least 30%% better"),
    "responder": N_("a response: at least %(cut)s better"),
    "no meaningful response": N_("no meaningful response: less than %(cut)s better"),
}


def verdict_words(verdict: str, cut: float, language: str) -> str:
    """The rule's verdict (measures.treatment_response, R7) with the cut it was held to: the patient's R7 thresholds
    (by default 20% better stiffness, CLINICAL.md: Novotna 2011)."""
    for start, words in VERDICTS.items():
        if verdict.startswith(start):
            return translate(language, words) % {"cut": percent(cut, language)}
    return verdict


# ---- the Penn Spasm Frequency Scale in words (CLINICAL.md 1.1) ----------------------------------------------------

PENN_FREQUENCY = {
    0: N_("0, no spasms"),
    1: N_("1, mild spasms only when stimulated"),
    2: N_("2, infrequent full spasms, less than once an hour"),
    3: N_("3, spasms more than once an hour"),
    4: N_("4, spasms more than 10 times an hour"),
}
PENN_SEVERITY = {1: N_("mild"), 2: N_("moderate"), 3: N_("severe")}


def penn_words(frequency: int, severity: int | None, language: str) -> tuple[str, str | None]:
    """A Penn rating as words: "2, infrequent full spasms, less than once an hour" and "moderate" (severity is
    asked only when there are spasms, so it may be None)."""
    freq = translate(language, PENN_FREQUENCY[frequency]) if frequency in PENN_FREQUENCY else str(frequency)
    sev = translate(language, PENN_SEVERITY[severity]) if severity in PENN_SEVERITY else None
    return freq, sev


# ---- flags in words ----------------------------------------------------------------------------------------------

URGENCY = {"urgent": N_("Urgent"), "soon": N_("Soon"), "routine": N_("Routine")}
STATUS = {
    "open": N_("open"),
    "acknowledged": N_("acknowledged"),
    "snoozed": N_("snoozed"),
    "resolved": N_("resolved"),
}
# What happened to a flag (flags.models.FlagEvent.action), in words.
EVENTS = {
    "raised": N_("raised"),
    "raised-again": N_("raised again on newer entries"),
    "updated": N_("updated with new entries"),
    "new-evidence": N_("reopened by new entries"),
    "acknowledged": N_("acknowledged"),
    "snoozed": N_("snoozed"),
    "snooze-ended": N_("snooze ended"),
    "resolved": N_("resolved"),
    "auto-resolved": N_("closed by itself"),
    "read": N_("read"),
    "checklist-done": N_("trigger checklist done"),
}


def words_of(table: dict[str, str], code: str, language: str) -> str:
    return translate(language, table[code]) if code in table else code.replace("-", " ")


# Each rule's name in words (backend/flags/rules/ names them in capitals, for code): beside the rule's own English
# wording of what it saw, so that a Spanish reader knows the kind of flag at a glance.
RULE_NAMES = {
    "U1": N_("Prolonged episode"),
    "U2": N_("Possible infection or toxin exposure"),
    "U3": N_("Cramp in an unusual place"),
    "U4": N_("New weakness or numbness"),
    "U5": N_("Cramps with fluid loss"),
    "U6": N_("Swollen, red leg"),
    "U7": N_("Baclofen pump withdrawal risk"),
    "U8": N_("Possible autonomic dysreflexia"),
    "U9": N_("Spasm affecting breathing or swallowing"),
    "U10": N_("Sudden increase with fever"),
    "S1": N_("Onset after a new medicine"),
    "S2": N_("Calf pain on exertion"),
    "S3": N_("Sudden increase in spasticity"),
    "S4": N_("Possible MS relapse"),
    "S5": N_("Baclofen stopped"),
    "S6": N_("Trigger not resolved"),
    "R1": N_("Frequent episodes"),
    "R2": N_("Sleep disrupted"),
    "R3": N_("Severe episodes"),
    "R4": N_("Self-care not helping"),
    "R5": N_("Persistent pattern"),
    "R6": N_("Worsening trend"),
    "R7": N_("Treatment trial due for review"),
    "R8": N_("Wasting or weakness trend"),
    "R9": N_("No obvious cause"),
    "R10": N_("Medicines not taken as planned"),
    "R11": N_("Gap in the diary"),
}


def rule_name(rule_id: str, language: str) -> str:
    return translate(language, RULE_NAMES[rule_id]) if rule_id in RULE_NAMES else rule_id
