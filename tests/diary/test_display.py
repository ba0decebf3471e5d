"""The body picture and the patient's usual choices (display.py, habits.py): pure functions over plain data."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from backend.diary import catalog, habits
from backend.diary.display import BODY_PICTURE, body_rows


def test_the_body_picture_has_every_place_once_and_no_two_in_one_cell() -> None:
    expected = {(site, side) for site in catalog.BODY_SITES for side in ("left", "right")}
    middle = {"jaw", "neck", "chest", "abdomen", "upper_back", "lower_back"}
    expected = {(s, d) for s, d in expected if s not in middle} | {(s, "middle") for s in middle}
    places = [(site, side) for _, site, side, *_ in BODY_PICTURE]
    assert sorted(places) == sorted(expected)
    cells: set[tuple[str, int, int]] = set()
    for view, _site, _side, row, column, span in BODY_PICTURE:
        for c in range(column, column + span):
            assert (view, row, c) not in cells
            cells.add((view, row, c))
        assert 1 <= row <= 7 and column + span - 1 <= (4 if view == "front" else 2)


def test_each_place_is_named_in_full_and_has_a_short_word_in_spanish() -> None:
    views = body_rows("es")
    calf = next(c for c in views["back"] if c["value"] == "calf:left")
    assert calf["label"] == "Izquierda: pantorrilla"
    hand = next(c for c in views["front"] if c["value"] == "hand:right")
    assert hand["label"] == "Derecha: mano o dedos" and hand["word"] == "Mano"
    assert len(views["front"]) + len(views["back"]) == len(BODY_PICTURE)


def _episode(intensity: int, places: list[str], **fields: Any) -> Any:
    sites = [dict(zip(("site", "side"), p.split(":"), strict=True)) for p in places]
    return SimpleNamespace(id=uuid.uuid4(), intensity=intensity, body_sites=sites, treatments=[], **fields)


def test_usual_places_come_by_how_often_then_how_recently() -> None:
    newest_first = [
        _episode(3, ["foot:left"]),
        _episode(5, ["calf:left", "calf:right"]),
        _episode(6, ["calf:left"]),
        _episode(2, ["hand:right"]),
    ]
    assert habits.usual_places(newest_first, 3) == ["calf:left", "foot:left", "calf:right"]
    last = habits.last_time(newest_first)
    assert last is not None and (last.intensity, last.places) == (3, ["foot:left"])
    assert habits.last_time([]) is None


def test_usual_choices_of_a_list_field() -> None:
    newest_first = [
        _episode(1, ["calf:left"], triggers=["heat", "fatigue"]),
        _episode(1, ["calf:left"], triggers=["fatigue"]),
    ]
    assert habits.usual(newest_first, "triggers") == ["fatigue", "heat"]
