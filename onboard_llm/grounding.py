"""Is a phrase or a number in the notes? Shared by the domain rules and the scorers."""

from __future__ import annotations

import functools
import math
import re
import unicodedata

# Word processors turn quotes curly and hyphens into look-alikes (NFKC keeps U+2010 as it is).
_QUOTE_PAIRS = (
    ("\u2018", "'"),
    ("\u2019", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2010", "-"),
    ("\u2011", "-"),
    ("\u2012", "-"),
    ("\u2013", "-"),
    ("\u2014", "-"),
    ("\u2212", "-"),
)
# A number may be glued to its unit ("4hrs", "24h", "30min"); a scale suffix counts only as a whole
# word ("2.4M", "10k", "3 million"), so "30min" is 30, not 30 million.
_NUMBER = re.compile(
    r"(?<![\w.])[$€£]?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\d)"
    r"(?:\s?(k|m|bn|b|million|billion|thousand)\b)?",
    re.IGNORECASE,
)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}


@functools.lru_cache(maxsize=512)
def normalize_text(text: str) -> str:
    """Lower-case, unify quotes and dashes, collapse whitespace.

    Each step is skipped when it would change nothing, and the rest use plain
    string methods: a plan's whole text is tens of kilobytes, and the facts
    scorer normalises one per case.
    """
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    for curly, plain in _QUOTE_PAIRS:
        if curly in text:
            text = text.replace(curly, plain)
    # str.split() and a regex's \s agree on what whitespace is.
    return " ".join(text.lower().split())


def appears_in(phrase: str, text: str) -> bool:
    """True when the phrase occurs in the text as whole words, ignoring case, quotes and spacing.

    Whole words only: "Dan" is not grounded by "Dana", nor "Al" by "Alma". A
    phrase that starts or ends with something other than a letter or digit
    needs no word boundary at that end.
    """
    needle = normalize_text(phrase).strip(" .,;:'\"")
    if not needle:
        return False
    return _whole_word_at(normalize_text(text), needle)


def _is_word_char(char: str) -> bool:
    # What a regex's \w matches in a str pattern: letters and digits of any script, and "_".
    return char.isalnum() or char == "_"


def _whole_word_at(haystack: str, needle: str) -> bool:
    """Whether ``needle`` occurs in ``haystack`` with no word character glued to either end.

    A plain substring search per occurrence: far cheaper than a regex whose
    look-behind makes the engine try every position of a long text.
    """
    open_start, open_end = needle[0].isalnum(), needle[-1].isalnum()
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        if not (open_start and start > 0 and _is_word_char(haystack[start - 1])) and not (
            open_end and end < len(haystack) and _is_word_char(haystack[end])
        ):
            return True
        start = haystack.find(needle, start + 1)
    return False


NUMBER_WORD_VALUES = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
    "half": 50,
    "a third": 33,
    "a quarter": 25,
    "a dozen": 12,
}
# Matched against the lower-cased text: an IGNORECASE alternation costs several times more.
_WORD_NUMBER = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORD_VALUES, key=len, reverse=True)) + r")\b")
# Dates and clock times are not figures: "2027-02-15" must not ground a target of 15.
_DATE_OR_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b\d{1,2}:\d{2}(?::\d{2})?\b")


def numbers_in(text: str) -> set[float]:
    """Every number written in the text (a fresh set; see :func:`_numbers_in`)."""
    return set(_numbers_in(text))


@functools.lru_cache(maxsize=512)
def _numbers_in(text: str) -> frozenset[float]:
    """Every number written in the text, also scaled by its suffix ("2.4M" gives 2.4 and 2400000).

    Number words count ("zero", "two", "half"), dates and clock times do not.
    """
    found: set[float] = set()
    for match in _WORD_NUMBER.finditer(text.lower()):
        found.add(float(NUMBER_WORD_VALUES[match.group(1)]))
    text = _DATE_OR_TIME.sub(" ", text)
    for match in _NUMBER.finditer(text):
        value = float(match.group(1).replace(",", ""))
        found.add(value)
        suffix = (match.group(2) or "").lower()
        if suffix in _SCALE:
            found.add(value * _SCALE[suffix])
    return frozenset(found)


def number_appears(value: float, text: str, *, rel_tol: float = 1e-12) -> bool:
    """True when the value, or the value as a percentage fraction, is written in the text."""
    if not math.isfinite(value):
        return False
    candidates = _numbers_in(text)
    wanted = {value}
    if 0 < abs(value) <= 1:
        wanted.add(value * 100)  # 0.8 in the plan for "80%" in the notes
    # The tolerance only absorbs float noise (0.8 * 100); a looser one makes 999,999 "appear" for 1,000,000.
    return any(math.isclose(w, c, rel_tol=rel_tol, abs_tol=1e-9) for w in wanted for c in candidates)
