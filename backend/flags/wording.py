"""The patient's words of a flag, in the patient's language.

Each rule says what it found in a template with named placeholders (rules/words.py, "%(n)s"), filled in with the
case's numbers by ``said``; the English text is what the flag stores. For another language the page finds the
template the stored text was made from, takes its values back out, translates the template from the catalog and
fills it in with the values written the language's way (numbers and percentages by the locale). The same advice,
the same urgency and the case's own numbers; a text no template makes (written before a template changed) is shown
as stored.
"""

from __future__ import annotations

import functools
import re

from backend.flags.rules.words import PATIENT
from backend.shared import formats
from backend.shared.i18n import N_, translate

# What the patient reads when an urgent rule could not be checked for their entry (a fault on our side).
UNCHECKED = N_(
    "We could not check this entry for warning signs. If you have trouble breathing or swallowing, new weakness "
    "or numbness, a leg that is swollen and red, or an episode that will not stop, get medical help now: call "
    "your doctor's urgent line or emergency services."
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@functools.cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for key, template in PATIENT.items():
        pieces = _PLACEHOLDER.split(template)  # literal, name, literal, name, ...
        pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(pieces))
        found.append((key, re.compile(pattern)))
    return found


def _in_language(value: str, language: str) -> str:
    """A value the template was filled with, written the language's way: 85% as 85 %, 1.5 as 1,5."""
    if value.endswith("%") and _NUMBER.fullmatch(value[:-1]):
        return formats.percent(float(value[:-1]) / 100, language)
    if _NUMBER.fullmatch(value):
        return formats.number(float(value), language, 0 if "." not in value else 1)
    return value


def patient_words(rule_id: str, english: str, language: str) -> str:
    """A flag's stored English words in the patient's language (rule_id names the rule, for whoever reads a log)."""
    if english == UNCHECKED:
        return translate(language, UNCHECKED)
    if language == "en":
        return english
    for key, pattern in _patterns():
        match = pattern.fullmatch(english)
        if match is None:
            continue
        values = {name: _in_language(value, language) for name, value in match.groupdict().items()}
        return translate(language, PATIENT[key]) % values
    return english
