"""Hypothesis strategies for diary records: valid episodes, and ways to spoil them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from backend.diary import catalog

NOW = dt.datetime.now(dt.UTC)
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: dt.timezone(dt.timedelta(minutes=15 * q)))
safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"), min_size=0, max_size=300
)


def unique_list(codes: tuple[str, ...], max_size: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(codes), unique=True, max_size=max_size)


@st.composite
def episodes(draw: st.DrawFn) -> dict[str, Any]:
    tz = draw(offsets)
    # Up to 60 days back, to the microsecond, ending at least a few seconds before now.
    start = NOW - dt.timedelta(
        seconds=draw(st.integers(min_value=120, max_value=60 * 86400)), microseconds=draw(st.integers(0, 999_999))
    )
    body: dict[str, Any] = {
        "kind": draw(st.sampled_from(catalog.codes(catalog.EpisodeKind))),
        "started_at": start.astimezone(tz).isoformat(),
        "intensity": draw(st.integers(0, 10)),
        "body_sites": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "site": st.sampled_from(catalog.codes(catalog.BodySite)),
                        "side": st.sampled_from(catalog.codes(catalog.Side)),
                    }
                ),
                min_size=1,
                max_size=4,
                unique_by=lambda b: (b["site"], b["side"]),
            )
        ),
    }
    ending = draw(st.sampled_from(["none", "end", "duration", "ongoing"]))
    if ending == "end":
        seconds = draw(st.integers(min_value=1, max_value=min(86_400, int((NOW - start).total_seconds()))))
        body["ended_at"] = (start + dt.timedelta(seconds=seconds)).astimezone(draw(offsets)).isoformat()
    elif ending == "duration":
        body["duration_seconds"] = draw(st.integers(1, 86_400))
    elif ending == "ongoing":
        body["ongoing"] = True
    triggers = draw(unique_list(tuple(t for t in catalog.codes(catalog.Trigger) if t != "none_known"), 5))
    optional: dict[str, Any] = {
        "woke_from_sleep": draw(st.none() | st.booleans()),
        "triggers": triggers or draw(st.sampled_from([[], ["none_known"]])),
        "own_triggers": draw(
            st.lists(
                st.text(alphabet="abcdefghij klm", min_size=1, max_size=20).filter(lambda s: s.strip()),
                max_size=3,
                unique_by=lambda s: s.strip().lower(),
            )
        ),
        "symptoms": draw(unique_list(catalog.codes(catalog.Symptom), 4)),
        "context": draw(unique_list(catalog.codes(catalog.Context), 2)),
        "impacts": draw(unique_list(catalog.codes(catalog.Impact), 3)),
        "treatments": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"kind": st.sampled_from(catalog.codes(catalog.TreatmentKind))},
                    optional={
                        "name": st.text(alphabet="abcxyz -", min_size=1, max_size=30),
                        "relief": st.integers(0, 10),
                        "minutes_to_relief": st.integers(0, 1440),
                    },
                ),
                max_size=3,
            )
        ),
        "note": draw(st.none() | safe_text),
        "reporter": draw(st.sampled_from(["self", "carer"])),
    }
    for key, value in optional.items():
        if draw(st.booleans()):
            body[key] = value
    return body


def spoilers() -> list[tuple[str, Any]]:
    """(field the error must name, function that spoils a valid body) pairs: each makes exactly one thing wrong."""
    future = (NOW + dt.timedelta(hours=2)).isoformat()

    def set_(key: str, value: Any) -> Any:
        return lambda b: {**b, key: value}

    return [
        ("intensity", set_("intensity", 11)),
        ("intensity", set_("intensity", -1)),
        ("intensity", set_("intensity", "strong")),
        ("kind", set_("kind", "sneeze")),
        ("started_at", set_("started_at", future)),
        ("started_at", set_("started_at", "2026-01-01T10:00:00")),  # no UTC offset
        ("started_at", set_("started_at", "1990-05-01T10:00:00Z")),
        ("started_at", set_("started_at", "yesterday")),
        (
            "ended_at",
            lambda b: {
                **{k: v for k, v in b.items() if k not in ("duration_seconds", "ongoing")},
                "ended_at": b["started_at"],
            },
        ),
        ("body_sites", set_("body_sites", [])),
        ("body_sites", set_("body_sites", [{"site": "wing", "side": "left"}])),
        ("body_sites", set_("body_sites", [{"site": "calf", "side": "left"}] * 2)),
        ("note", set_("note", "x" * 2001)),
        ("note", set_("note", "nul \x00 byte")),
        ("triggers", set_("triggers", ["fatigue", "fatigue"])),
        ("triggers", set_("triggers", ["none_known", "fatigue"])),
        (
            "duration_seconds",
            lambda b: {**{k: v for k, v in b.items() if k not in ("ended_at", "ongoing")}, "duration_seconds": 0},
        ),
        ("patient_id", set_("patient_id", "00000000-0000-4000-8000-000000000000")),
        ("version", set_("version", 7)),
        ("treatments", set_("treatments", [{"kind": "rest", "relief": 12}])),
        ("own_triggers", set_("own_triggers", ["   "])),
    ]
