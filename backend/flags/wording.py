"""The patient's words of a flag in the patient's language.

Rules write their patient message in English with the details of the case (backend/flags/rules/). For another
language the page shows that rule's message from the translation catalog, keyed "flag-<rule id>": the same advice and
the same urgency, without the case's numbers (the clinician's English wording keeps those). Every urgent and soon rule
has its own text; the routine rules share one, as their advice is the same (mention it at the next appointment).
"""

from __future__ import annotations

from backend.shared.i18n import N_, translate

# One literal per rule, so that the catalog extraction sees each key.
KEYS = {
    "U1": N_("flag-U1"),
    "U2": N_("flag-U2"),
    "U3": N_("flag-U3"),
    "U4": N_("flag-U4"),
    "U5": N_("flag-U5"),
    "U6": N_("flag-U6"),
    "U7": N_("flag-U7"),
    "U8": N_("flag-U8"),
    "U9": N_("flag-U9"),
    "U10": N_("flag-U10"),
    "S1": N_("flag-S1"),
    "S2": N_("flag-S2"),
    "S3": N_("flag-S3"),
    "S4": N_("flag-S4"),
    "S5": N_("flag-S5"),
    "S6": N_("flag-S6"),
}
ROUTINE = N_("flag-routine")
# What the patient reads when an urgent rule could not be checked for their entry (a fault on our side).
UNCHECKED = N_(
    "We could not check this entry for warning signs. If you have trouble breathing or swallowing, new weakness "
    "or numbness, a leg that is swollen and red, or an episode that will not stop, get medical help now: call "
    "your doctor's urgent line or emergency services."
)


def patient_words(rule_id: str, english: str, language: str) -> str:
    if english == UNCHECKED:
        return translate(language, UNCHECKED)
    if language == "en":
        return english
    key = KEYS.get(rule_id, ROUTINE if rule_id.startswith("R") else None)
    if key is None:
        return english
    text = translate(language, key)
    return english if text == key else text
