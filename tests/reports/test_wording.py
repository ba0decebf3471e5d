"""The clinician's figures in words (backend/reports/wording.py): each names its window, what it is compared with,
and the direction, in English and Spanish; the treatment-response line names the figure its verdict rests on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.reports import wording


def test_the_issue_example_reads_as_asked() -> None:
    assert (
        wording.triage_figure(12, 7, 3.0, "en")
        == "12 episodes in the last 7 days, 3 a week in the 4 weeks before: up 4×"
    )


def test_a_longer_window_states_its_weekly_rate_so_that_rate_meets_rate() -> None:
    """The issue's "5.8 (before: 12.0)" for 30 days: 25 episodes in 30 days is 5.8 a week, half the 12 before."""
    assert (
        wording.triage_figure(25, 30, 12.0, "en")
        == "25 episodes in the last 30 days (5.8 a week), 12 a week in the 4 weeks before: down 51%"
    )
    assert (
        wording.triage_figure(25, 30, 12.0, "es")
        == "25 episodios en los últimos 30 días (5,8 a la semana), 12 a la semana en las 4 semanas anteriores: baja un 51%"
    )


def test_small_rises_are_percentages_large_ones_multiples_and_near_equal_is_the_same() -> None:
    assert wording.triage_figure(7, 7, 4.0, "en").endswith(": up 75%")
    assert wording.triage_figure(8, 7, 4.0, "en").endswith(": up 2×")
    assert wording.triage_figure(11, 7, 4.0, "en").endswith(": up 2.8×")
    assert wording.triage_figure(11, 7, 4.0, "es").endswith(": 2,8 veces más")
    assert wording.triage_figure(4, 7, 4.5, "en").endswith(": about the same")
    assert (
        wording.triage_figure(1, 7, 1.0, "en")
        == "1 episode in the last 7 days, 1 a week in the 4 weeks before: about the same"
    )


def test_without_a_baseline_the_figure_says_so() -> None:
    assert (
        wording.triage_figure(3, 14, None, "en")
        == "3 episodes in the last 14 days (1.5 a week): new: none in the 4 weeks before"
    )
    assert wording.triage_figure(0, 7, None, "en") == "0 episodes in the last 7 days: none before either"


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, 500),
    days=st.sampled_from([7, 14, 30]),
    baseline=st.one_of(st.none(), st.floats(0.25, 100, allow_nan=False)),
    language=st.sampled_from(["en", "es"]),
)
def test_every_figure_names_its_window_and_its_direction_follows_the_rates(
    count: int, days: int, baseline: float | None, language: str
) -> None:
    text = wording.triage_figure(count, days, baseline, language)
    assert (f"last {days} days" if language == "en" else f"últimos {days} días") in text
    direction = wording.change(count * 7 / days, baseline).direction
    if baseline:
        ratio = count * 7 / days / baseline
        assert direction == ("up" if ratio >= 1.2 else "down" if ratio <= 0.8 else "same")
        assert ("4 weeks before" if language == "en" else "4 semanas anteriores") in text
    else:
        assert direction == ("new" if count else "none")


def test_urgent_patients_say_why_in_words() -> None:
    assert wording.attention_words("urgent", "Episode longer than 10 min (longest 12 min).", 2, "en") == (
        "Urgent because: Episode longer than 10 min (longest 12 min). (and 2 more flags)"
    )
    assert wording.attention_words(None, None, 0, "es") == "Nada pendiente"


def test_the_response_line_names_the_figure_its_verdict_rests_on() -> None:
    """The issue's "15.0 -> 9.0 a week ... no meaningful response (< 20%)": the verdict was on stiffness, and the line
    now says so, with the episodes as context."""
    line = wording.response_words(
        name="Baclofen",
        start="1 Sept 2026",
        end="4 Dec 2026",
        after_days=14,
        basis="stiffness",
        before_stiffness=5.0,
        after_stiffness=4.8,
        before_per_week=15.0,
        after_per_week=9.0,
        improvement=0.04,
        verdict="no meaningful response: stiffness 4% better (< 20%)",
        cut=0.2,
        language="en",
    )
    assert line == (
        "Baclofen, started 1 Sept 2026: the 14 days before the start against the 14 days ending 4 Dec 2026. "
        "Judged on stiffness 5 → 4.8 (0-10) (4% better); for context, episodes 15 → 9 a week. "
        "Verdict: no meaningful response: less than 20% better."
    )
    on_rate = wording.response_words(
        name="Quinine",
        start="1 Nov 2026",
        end="4 Dec 2026",
        after_days=14,
        basis="episode rate",
        before_stiffness=None,
        after_stiffness=None,
        before_per_week=15.0,
        after_per_week=9.0,
        improvement=0.4,
        verdict="responder: episode rate 40% better (>= 25%)",
        cut=0.25,
        language="es",
    )
    assert "Valorado según episodios 15 → 9 a la semana (40% mejor)" in on_rate
    assert on_rate.endswith("Veredicto: hay respuesta: al menos un 25% mejor.")


def test_penn_ratings_read_as_the_scale_words() -> None:
    assert wording.penn_words(2, 2, "en") == ("2, infrequent full spasms, less than once an hour", "moderate")
    assert wording.penn_words(0, None, "es") == ("0, sin espasmos", None)


def test_the_reason_names_the_rule_in_the_readers_language() -> None:
    reason = "Episode longer than 10 min (longest 12 min)."
    assert (
        wording.attention_words("urgent", reason, 0, "en", "U1") == f"Urgent because (U1, Prolonged episode): {reason}"
    )
    assert (
        wording.attention_words("urgent", reason, 0, "es", "U1")
        == f"Urgente porque (U1, Episodio prolongado): {reason}"
    )
