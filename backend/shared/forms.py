"""Forms decoded into the API's own Structs, and problems said in words on the page.

A page reads its form's fields into a plain dict and decodes it with ``decode`` into the very Struct the JSON API
takes (``msgspec.convert``, strict, as a JSON body is decoded), so every limit, pattern and type of the API holds for
the form too: a 150,000-character note is refused on the page as in the API. A form posts only strings, so ``number``
reads a number the way JSON writes one (ASCII digits; an Arabic-Indic or full-width digit stays a string and is
refused), and anything else is left as typed for the Struct to refuse. What goes wrong is then told in the page's
language by ``messages``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from backend.shared.i18n import N_, translate
from backend.shared.problems import FieldError, Problem, field_error_from_msgspec, invalid

T = TypeVar("T")
DIGITS = re.compile(r"[0-9]{1,9}")
NUMBER = re.compile(r"-?[0-9]{1,9}(\.[0-9]{1,6})?")
CLOCK = re.compile(r"([0-9]{2}:[0-9]{2})(:[0-9]{2}(\.[0-9]{1,6})?)?")
# The most a browser field of ours could hold (the longest is a note of 2,000 characters): anything longer is cut
# before it is decoded, so that an enormous post costs nothing, and the Struct's own limit still refuses it.
FIELD_CAP = 4096


def decode(values: Mapping[str, Any], into: type[T], *, field: str | None = None) -> T:
    """The form's values as the API's Struct, by the API's own rules (every type, Meta limit and pattern); otherwise
    a problem naming the field (422: the page shows the form again with what to correct). ``field`` names the
    field of the whole record when ``into`` is a part of it (a treatment of an episode)."""
    try:
        return msgspec.convert(dict(values), into, strict=True)
    except msgspec.ValidationError as exc:
        error = field_error_from_msgspec(str(exc))
        if field is not None:
            error = FieldError(f"{field}.{error.field}", error.reason)
        raise invalid([error]) from exc


def text(form: Any, name: str) -> str | None:
    """A text field, trimmed, None when empty; cut at FIELD_CAP (the Struct refuses what is still too long)."""
    value = str(form.get(name) or "").strip()
    return value[:FIELD_CAP] or None


def clock(form: Any, name: str) -> str | None:
    """A time-of-day field as HH:MM: browsers may send seconds (and fractions) from <input type=time>; anything else
    is passed on as typed, for the Struct's HH:MM pattern to refuse with the field's name."""
    value = text(form, name)
    match = CLOCK.fullmatch(value or "")
    return match.group(1) if match else value


def number(form: Any, name: str) -> int | float | str | None:
    """A number field: an int or a float when it is written as one (a decimal comma is read as a point), else the
    text as typed, which the Struct refuses with the field's name ("must be a whole number")."""
    value = text(form, name)
    if value is None:
        return None
    written = value.replace(",", ".")
    if not NUMBER.fullmatch(written):
        return value
    return float(written) if "." in written else int(written)


def codes(form: Any, name: str, table: Mapping[str, Any]) -> list[Any]:
    """The ticked codes of a checklist that the table knows, each once, in the order ticked."""
    return list(dict.fromkeys(v for v in form.getall(name, []) if v in table))


def version(form: Any) -> int | None:
    """The version a form was based on (its hidden "version" field), for If-Match."""
    raw = str(form.get("version") or "")
    return int(raw) if DIGITS.fullmatch(raw) else None


# The reasons msgspec and the services give, said for people (the API keeps the exact wording).
REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `str` of length <= (\d+)"), N_("is too long: at most %(n)s characters")),
    (re.compile(r"Expected `str` of length >= 1"), N_("is empty")),
    (re.compile(r"is not a known time zone"), N_("is unknown: use a name such as Europe/Madrid")),
    (re.compile(r"Expected `(int|float)` >= (?P<n>-?[\d.]+)"), N_("must be at least %(n)s")),
    (re.compile(r"Expected `(int|float)` <= (?P<n>-?[\d.]+)"), N_("must be at most %(n)s")),
    (re.compile(r"Expected `int( \| null)?`"), N_("must be a whole number")),
    (re.compile(r"Expected `float( \| null)?`"), N_("must be a number")),
    (re.compile(r"matching regex '\^\(\[01\]\[0-9\]"), N_("must be a time such as 21:30 (HH:MM)")),
    (re.compile(r"matching regex '\^\[0-9\]\{4\}-W"), N_("must be an ISO week such as 2026-W49")),
    (re.compile(r"Expected `str` matching regex"), N_("is not in the expected form")),
    (re.compile(r"Invalid enum value"), N_("is not one of the choices")),
    (re.compile(r"Expected `array` of length <= (\d+)"), N_("has too many choices: at most %(n)s")),
    (re.compile(r"Expected `array` of length >= 1"), N_("choose at least one")),
    (re.compile(r"Invalid (RFC 3339 encoded datetime|ISO 8601 date)"), N_("is not a date we can read")),
]


def kind_of(reason: str) -> str:
    """What sort of refusal a reason is: "type" (not a number...), "range" (too small or large), or "other"."""
    if re.match(r"Expected `(int|float)( \| null)?`, got", reason):
        return "type"
    if re.search(r"Expected `(int|float)` [<>]=", reason):
        return "range"
    return "other"


def reason_in_words(reason: str, language: str) -> str:
    for pattern, words in REASONS:
        match = pattern.search(reason)
        if match:
            n = (match.groupdict().get("n") or (match.group(1) if match.groups() else "") or "").removesuffix(".0")
            return translate(language, words) % {"n": n}
    return translate(language, reason)


def messages(
    problem: Problem,
    language: str,
    names: Mapping[str, str],
    sentences: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """A problem as lines for the page: each field by its label on the page (``names``), and why, in words; or, where
    the page has a sentence of its own for a field and a kind of refusal (``sentences``, keyed by the field and
    ``kind_of`` the reason, or "*" for any), that sentence."""
    if not problem.errors:
        return [translate(language, str(problem.detail))]
    lines = []
    for error in problem.errors:
        own = sentences or {}
        sentence = own.get((error.field, kind_of(error.reason))) or own.get((error.field, "*"))
        lines.append(translate(language, sentence) if sentence else _line(error, language, names))
    return lines


def _line(error: FieldError, language: str, names: Mapping[str, str]) -> str:
    base = re.sub(r"\[\d+\].*$", "", error.field).split(".")[0]
    label = names.get(error.field) or names.get(base) or base.replace("_", " ").capitalize()
    return f"{translate(language, label)}: {reason_in_words(error.reason, language)}"
