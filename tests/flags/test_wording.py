"""A flag's words in the patient's language (wording.py): each rule's own template, translated, with the case's
numbers written the language's way; never one generic sentence for all routine flags."""

from __future__ import annotations

import re

import pytest

from backend.flags.rules.words import PATIENT, said
from backend.flags.wording import UNCHECKED, patient_words
from backend.shared import formats
from backend.shared.i18n import translate

SAMPLE = {"first": 3, "second": 12, "n": 4, "poor": 2, "treated": 5, "newer": 14, "older": 9, "minutes": 10}


def values_for(template: str) -> dict[str, object]:
    names = re.findall(r"%\((\w+)\)s", template)
    return {n: "Baclofen 10 mg" if n == "medicine" else "85%" if n == "share" else SAMPLE[n] for n in names}


@pytest.mark.parametrize("key", sorted(PATIENT))
def test_every_template_comes_back_in_spanish_with_its_own_values(key: str) -> None:
    values = values_for(PATIENT[key])
    english = said(key, **values)
    spanish = patient_words("any", english, "es")
    assert spanish != english
    assert translate("es", PATIENT[key]) != PATIENT[key]
    for value in values.values():
        shown = formats.percent(0.85, "es") if value == "85%" else str(value)
        assert shown in spanish, (key, spanish)
    assert patient_words("any", english, "en") == english


def test_routine_flags_each_say_their_own_thing_in_spanish() -> None:
    routine = [k for k in PATIENT if k.startswith("R")]
    words = {patient_words("R", said(k, **values_for(PATIENT[k])), "es") for k in routine}
    assert len(words) == len(routine)


def test_numbers_and_shares_are_written_the_spanish_way() -> None:
    spanish = patient_words("R10", said("R10", share="85%"), "es")
    assert f"el {formats.percent(0.85, 'es')} de las veces" in spanish
    assert "1.250" in patient_words("R6", said("R6_COUNT", newer=1250, older=3), "es")


def test_a_text_no_template_makes_is_shown_as_stored() -> None:
    assert patient_words("R1", "Words from an older version.", "es") == "Words from an older version."
    assert patient_words("U1", UNCHECKED, "es") == translate("es", UNCHECKED) != UNCHECKED
