"""The patient's home page, its pure parts: how a folded piece of advice reads."""

from __future__ import annotations

from backend.home.pages import first_sentence


def test_folded_advice_shows_its_first_sentence_and_opens_to_the_rest() -> None:
    assert first_sentence("You logged 3 strong episodes. Mention this at your next appointment.") == (
        "You logged 3 strong episodes.",
        "Mention this at your next appointment.",
    )
    assert first_sentence("One sentence only") == ("One sentence only", "")


def test_the_log_pages_script_stays_within_its_budget() -> None:
    """The log page loads app.js and what it imports (outbox, forms, push): at most 50 KB gzipped (issue 16)."""
    import gzip

    from backend.config import ROOT

    static = ROOT / "pwa" / "static"
    scripts = b"".join((static / name).read_bytes() for name in ("app.js", "outbox.js", "forms.js", "push.js"))
    assert len(gzip.compress(scripts, 9)) <= 50 * 1024
