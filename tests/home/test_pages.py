"""The patient's home page, its pure parts: how a folded piece of advice reads."""

from __future__ import annotations

from backend.home.pages import first_sentence


def test_folded_advice_shows_its_first_sentence_and_opens_to_the_rest() -> None:
    assert first_sentence("You logged 3 strong episodes. Mention this at your next appointment.") == (
        "You logged 3 strong episodes.",
        "Mention this at your next appointment.",
    )
    assert first_sentence("One sentence only") == ("One sentence only", "")
