"""Tests for onboard_llm.grounding: is a phrase or a figure written in the notes?"""

from __future__ import annotations

import math
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboard_llm.grounding import appears_in, normalize_text, number_appears, numbers_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,200 seats", {1200}),
        ("$2.4M ARR", {2.4, 2_400_000}),
        ("85%", {85}),
        ("CSAT 78% now -> want 88%", {78, 88}),
        ("~1.1M historical tickets", {1.1, 1_100_000}),
        ("$186K ARR", {186, 186_000}),
        ("3 million users", {3, 3_000_000}),
        ("1,200.50 per seat", {1200.5}),
        ("median first response under 4hrs", {4}),
        ("a 24h SLA", {24}),
        ("30min per load", {30}),  # "m" of "min" is not a million
        ("a 2.4MB export", {2.4}),
        ("Q2 and v3", set()),  # a letter before the digit makes it a label, not a figure
        ("no figures here", set()),
        ("closed 2027-02-03", set()),  # a date is not a figure
        ("call at 10:30 on 3/31", set()),  # nor a clock time or a US date
        ("I want zero findings and two test runs", {0, 2}),  # number words count
        ("if even a third log in", {33}),
    ],
)
def test_numbers_in(text: str, expected: set[float]) -> None:
    assert numbers_in(text) == expected


@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        (1200, "about 1,200 dispatchers", True),
        (2_400_000, "$2.4M ARR", True),
        (2.4, "$2.4M ARR", True),
        (85, "adoption at 85%", True),
        (0.85, "adoption at 85%", True),
        (0.8, "80% of agents", True),  # a fraction in the plan for a percentage in the notes
        (80, "80% of agents", True),
        (8, "80% of agents", False),
        (1_000_000, "999,999 rows", False),
        (0.8, "8 agents", False),
        (4, "target under 4hrs", True),
        (30_000_000, "30min per load", False),
        (95, "no figures here", False),
        (float("nan"), "nan", False),
        (math.inf, "inf", False),
    ],
)
def test_number_appears(value: float, text: str, expected: bool) -> None:
    assert number_appears(value, text) is expected


@pytest.mark.parametrize(
    ("phrase", "text", "expected"),
    [
        ("We count pallets twice a week", 'Want it off spreadsheets ("we count pallets twice a week by hand").', True),
        ("\u201cwe count pallets twice a week by hand\u201d", '("we count pallets twice a week by hand")', True),
        ("we count pallets", "Ingrid: \u201cWe count pallets by hand\u201d", True),
        ("Dana\u2019s team", "Dana's team signs off", True),
        ("days 31\u201360", "days 31-60", True),
        ("re-key every load into\nthree systems", "We re-key every load into three   systems.", True),
        ("Dana Whitfield.", "Dana Whitfield - COO", True),  # trailing punctuation of a quote is not content
        ("Dan", "Dana Whitfield", False),
        ("Al", "CSM: Alma Reyes", False),
        ("Leo", "Leo Marchetti (champion)", True),
        ("95%", "Dana wants 95% by the end", True),
        ("$240K", "2-year term, $240K ARR", True),
        ("pallets", "we count palettes", False),
        ("", "anything", False),
        ('"  "', "anything", False),
    ],
)
def test_appears_in(phrase: str, text: str, expected: bool) -> None:
    assert appears_in(phrase, text) is expected


def test_normalize_text() -> None:
    assert (
        normalize_text("  \u201cOn\u2011time\u201d\u00a0pickups \u2013 95%\n\tDONE ") == '"on-time" pickups - 95% done'
    )


@given(st.integers(min_value=0, max_value=10**9))
def test_an_integer_appears_however_it_is_grouped(n: int) -> None:
    assert number_appears(n, f"we have {n} seats")
    assert number_appears(n, f"we have {n:,} seats")
    assert not number_appears(n + 1, f"we have {n:,} seats")


@given(st.text(min_size=1, max_size=40).filter(lambda s: normalize_text(s).strip(" .,;:'\"")))
def test_a_phrase_appears_in_itself_wrapped_in_prose(phrase: str) -> None:
    assert appears_in(phrase, f"Notes: {phrase} - end.")


# The whole-word lookup is a substring search with boundary checks, for speed; its definition is the
# regex below. Texts drawn from letters, digits, "_", spaces, punctuation and non-ASCII letters.
_PIECES = st.sampled_from(["an", "a", "b", "ab", "_", " ", "-", ".", "'", "1", "é", "Ä", "٣", "x_", "\u00a0"])


def _appears_by_regex(phrase: str, text: str) -> bool:
    needle = normalize_text(phrase).strip(" .,;:'\"")
    if not needle:
        return False
    pattern = re.escape(needle)
    if needle[0].isalnum():
        pattern = r"(?<!\w)" + pattern
    if needle[-1].isalnum():
        pattern += r"(?!\w)"
    return re.search(pattern, normalize_text(text)) is not None


@settings(max_examples=600)
@given(st.lists(_PIECES, max_size=4).map("".join), st.lists(_PIECES, max_size=14).map("".join))
def test_appears_in_matches_its_regex_definition(phrase: str, text: str) -> None:
    assert appears_in(phrase, text) is _appears_by_regex(phrase, text)


def test_number_words_are_found_in_any_case() -> None:
    assert numbers_in("Two pilots, TWENTY seats, a Dozen admins") == {2, 20, 12}


_QUOTES_REFERENCE = str.maketrans(dict.fromkeys("\u2018\u2019", "'") | dict.fromkeys("\u201c\u201d", '"'))
_DASHES_REFERENCE = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))


def _normalize_by_definition(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES_REFERENCE).translate(_DASHES_REFERENCE).lower()
    return re.sub(r"\s+", " ", text).strip()


_TEXT_PIECES = st.sampled_from(
    ["A", "b", "É", "ﬁ", "İ", "ß", "1", "½", " ", "\t", "\n", "\u00a0", "\u2028", "\u3000", "\x1c",
     "\u2018", "\u2019", "\u201c", "\u201d", "\u2010", "\u2013", "\u2014", "\u2212", "e\u0301"]
)  # fmt: skip


@settings(max_examples=600)
@given(st.lists(_TEXT_PIECES | st.text(max_size=3), max_size=12).map("".join))
def test_normalize_text_matches_its_definition(text: str) -> None:
    assert normalize_text(text) == _normalize_by_definition(text)
