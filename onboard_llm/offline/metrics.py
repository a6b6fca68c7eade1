"""Targets in the notes: numbers with units, baselines, target days and a name for each metric."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from onboard_llm.grounding import NUMBER_WORD_VALUES, appears_in, number_appears
from onboard_llm.offline.text import Sentence, find_dates
from onboard_llm.offline.vocab import GOAL_HEADINGS, RISK, categorize

# Spelled-out numbers: the same words the grounding check accepts, without the fractions ("half").
NUMBER_WORDS = {word: value for word, value in NUMBER_WORD_VALUES.items() if " " not in word and word != "half"}
UNITS = (
    (r"%|percent", "%"),
    (r"business days?", "business days"),
    (r"days?", "days"),
    (r"hours?|hrs?\b|h\b", "hours"),
    (r"minutes?|mins?", "minutes"),
    (r"weeks?|wks?", "weeks"),
    (r"seconds?|secs?", "seconds"),
    (r"findings?", "findings"),
    (r"tickets?", "tickets"),
    (r"users?|agents?|seats?|reps?|nurses?|staff|people|employees|advisors?|dispatchers?|technicians?", "users"),
    (r"points?|pts", "points"),
)
QUANTITY = re.compile(
    r"(?<![A-Za-z])(?P<money>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<scale>[kKmM]\b|million\b)?\s?"
    r"(?P<unit>" + "|".join(u for u, _ in UNITS) + r")?",
    re.I,
)
TARGET_CUE = re.compile(
    r"\b(?:target|goal|want\w*|get (?:it )?to|down to|under|below|less than|at least|above|over|reach|at|"
    r"or lower|or less|or better|or more|aim|need\w* to|should be|to|->|→|by|i'd take|cut|reduce|increase|grow)\b|->|→",
    re.I,
)
BASELINE_CUE = re.compile(
    r"\b(?:today|now|currently|current|baseline|we are at|we're at|is about|is at|at present|avg|average|takes about|roughly)\b",
    re.I,
)
RELATIVE = re.compile(
    r"\b(?:down|cut|reduce\w*|lower\w*|up|increase\w*|grow\w*|improve\w*)\b(?:\s+\w+){0,2}\s+(?:by\s+)?$", re.I
)
NOT_A_METRIC = re.compile(
    r"\b(?:ARR|amount|contract|term|discount|seats? plus|licen[cs]es?|year term|employees|ago|years? old|signed|per year|a year|"
    r"annual|renewal|invoice|price|pricing)\b",
    re.I,
)


@dataclass
class MetricFact:
    name: str
    target: float
    unit: str
    baseline: float | None
    by_day: int
    quote: str
    provenance: str  # "notes" or "context"
    relative: bool = False
    beyond_window: str | None = None  # the notes' own horizon when it is past day 90
    comparator: str | None = None  # "under" or "at least" when the notes bound the target


@dataclass(frozen=True)
class _Quantity:
    value: float
    unit: str | None
    start: int
    end: int
    text: str


def _unit_of(raw: str | None, money: bool) -> str | None:
    if money:
        return "USD"
    if not raw:
        return None
    for pattern, unit in UNITS:
        if re.fullmatch(pattern, raw.strip(), re.I):
            # Counts keep the notes' own noun: "75 agents", not "75 users".
            return raw.strip().lower() if unit == "users" else unit
    return None


def quantities(text: str) -> list[_Quantity]:
    """Numbers with their units, skipping dates, times, years and ordinals."""
    out: list[_Quantity] = []
    for m in QUANTITY.finditer(text):
        num = m.group("num")
        begin = m.start("money") if m.group("money") else m.start("num")
        before = text[max(0, begin - 1) : begin]
        after = text[m.end("num") : m.end("num") + 3]
        if (
            (before in ("/", ":", "-") and not m.group("money"))
            or after[:1] in ("/", ":")
            or re.match(r"(?:st|nd|rd|th)\b", after)
        ):
            continue
        value = float(num.replace(",", ""))
        if 1900 <= value <= 2100 and not m.group("unit"):
            continue  # a year
        scale = (m.group("scale") or "").lower()
        if scale in ("k",):
            value *= 1e3
        elif scale in ("m", "million"):
            value *= 1e6
        unit = _unit_of(m.group("unit"), bool(m.group("money")))
        out.append(_Quantity(value, unit, begin, m.end(), text[begin : m.end()].strip()))
    for m in re.finditer(
        r"\b(" + "|".join(NUMBER_WORDS) + r")\b(?:\s+(" + "|".join(u for u, _ in UNITS) + r"))?", text, re.I
    ):
        word = m.group(1).lower()
        if word in ("one",) and not m.group(2):
            continue
        out.append(_Quantity(float(NUMBER_WORDS[word]), _unit_of(m.group(2), False), m.start(), m.end(), m.group(0)))
    return sorted(out, key=lambda q: q.start)


_FILLER = re.compile(
    r"^(?:and|but|so|the|our|their|we|they|she|he|i|to|in|of|on|at|by|a|an|about|avg|average|roughly|around|~|is|are|was|"
    r"were|goal we wrote on the order form|goal|target|want\w*|with|for|from)\b\s*",
    re.I,
)


def metric_name(sentence: str, first: _Quantity, label: str | None) -> str:
    if label:
        return label
    prefix = sentence[: first.start]
    clauses = [c for c in re.split(r"[:;(,]|\bwhich\b|\bwhere\b|\bwants?\b|\btarget\b|\bgoal\b", prefix)]
    words: list[str] = []
    # "Goal on the order form: 30% of appointments booked online": the name follows the number.
    after_colon = prefix.rstrip().endswith(":")
    for clause in reversed([] if after_colon else clauses):
        clause = re.sub(r"^.*?\b(?:cares? (?:most )?about|focused on|worried about|talked about)\s+", "", clause)
        words = re.findall(r"[A-Za-z][\w'/-]*", clause)
        while words and _FILLER.match(words[0] + " "):
            words.pop(0)
        while words and words[-1].lower() in {
            "is",
            "are",
            "was",
            "were",
            "sits",
            "runs",
            "run",
            "at",
            "currently",
            "today",
        }:
            words.pop()
        if words:
            break
    stop = {
        "is",
        "are",
        "was",
        "were",
        "be",
        "and",
        "avg",
        "average",
        "about",
        "roughly",
        "around",
        "in",
        "at",
        "to",
        "under",
        "from",
        "of",
        "it",
        "by",
        "takes",
        "hit",
    }
    while words and words[-1].lower() in stop:
        words.pop()
    name = " ".join(words[-7:])
    if (
        len(words) == 1
        and first.unit in ("days", "business days", "hours", "minutes", "weeks")
        and not words[0].isupper()
    ):
        name = f"{words[0]} time"
    elif len(words) < 2 and not (words and words[0].isupper() and len(words[0]) >= 2):
        name = ""
    if len(name) < 3:
        # "30% of appointments booked online": the noun phrase after the number.
        tail = sentence[first.end :]
        tail_words = re.findall(r"[A-Za-z][\w'/-]*", re.split(r"\bwithin\b|\bby\b|\band\b|[,.;]", tail)[0])
        while tail_words and tail_words[0].lower() in ("of", "the", "a"):
            tail_words.pop(0)
        name = " ".join(tail_words[:6])
    return name[:1].upper() + name[1:] if name else ""


def by_day_of(text: str, start: dt.date, category: str) -> tuple[int, str | None]:
    lowered = text.lower()
    if m := re.search(r"\bwithin (\d+) days\b", lowered):
        days = int(m.group(1))
        return (days, None) if days <= 90 else (90, m.group(0))
    if m := re.search(r"\bby day (\d+)\b", lowered):
        return min(int(m.group(1)), 90), None
    if "first week" in lowered:
        return 7, None
    for mention in find_dates(text, start):
        offset = (mention.value - start).days + 1
        if 1 <= offset <= 90:
            return offset, None
        if offset > 90:
            return 90, mention.text
    for horizon in (
        "year one",
        "first year",
        "this year",
        "by june",
        "before summer",
        "end of q2",
        "next year",
        "by end of",
    ):
        if horizon in lowered:
            return 90, horizon
    return (60 if category == "adoption" else 90), None


def extract_metric(sentence: Sentence, start: dt.date, source: str, provenance: str = "notes") -> MetricFact | None:
    """A target (with its baseline when stated) in one sentence, or None."""
    text = sentence.text
    qs = [q for q in quantities(text) if number_appears(q.value, source) or (q.text and appears_in(q.text, source))]
    explicit = re.search(r"\b(?:target|goal|want|wants|i'd take)\b", text, re.I)
    if re.search(r"\bguess\w*|not a committed|no number|maybe\b", text, re.I):
        return None  # the notes say this number is not a target
    if not qs or sentence.kind == "header" or ((NOT_A_METRIC.search(text) or RISK.search(text)) and not explicit):
        return None
    label = None
    m = re.match(r"^([A-Z][\w' /-]{2,40}?)[.:]\s", sentence.line)
    if m and len(m.group(1).split()) <= 5 and not any(ch.isdigit() for ch in m.group(1)):
        label = m.group(1)
    # "six to eight weeks", "3-4 weeks": a range is an estimate, not a target.
    qs = [
        q
        for i, q in enumerate(qs)
        if not (
            i + 1 < len(qs)
            and re.fullmatch(r"\s*(?:to|-|–)\s*", text[q.end : qs[i + 1].start])
            and "from" not in text[max(0, q.start - 6) : q.start]
        )
        and not (
            i > 0
            and re.fullmatch(r"\s*(?:to|-|–)\s*", text[qs[i - 1].end : q.start])
            and "from" not in text[max(0, qs[i - 1].start - 6) : qs[i - 1].start]
        )
    ]
    if not qs:
        return None
    target: _Quantity | None = None
    baseline: _Quantity | None = None
    relative = False
    goal_said = re.search(r"\b(?:goal|target|success)\b", text, re.I)
    for i, q in enumerate(qs):
        # Cues count only inside the quantity's own sentence.
        before = re.split(r"[.;!?]\s", text[max(0, q.start - 28) : q.start])[-1]
        after = re.split(r"[.;!?](?:\s|$)", text[q.end : q.end + 18])[0]
        if RELATIVE.search(before) and q.unit == "%":
            target, relative = q, True
            break
        if re.search(r"\bfrom\s*$", before) and i + 1 < len(qs):
            baseline, target = q, qs[i + 1]
            break
        if (
            BASELINE_CUE.search(after)
            or (BASELINE_CUE.search(before[-14:]) and i < len(qs) - 1)
            or re.search(r"last year|last month|last quarter", after)
        ):
            baseline = baseline or q
            continue
        if (
            TARGET_CUE.search(before[-16:])
            or re.search(r"\bor (?:lower|less|better|more)\b", after)
            or (goal_said and target is None)
        ):
            target = q
            if re.search(r"->|→|\bwant", before):
                break
    headline = re.match(r"^[^.]{3,60}?\b(\d[\d,.]*)\s?\S*(?:\s\S+)?\.(?:\s|$)", text)
    if (
        headline
        and (sentence.kind == "bullet" or sentence.heading.startswith(GOAL_HEADINGS))
        and qs[0].start == headline.start(1)
        and qs[0].unit
        and len(text[: qs[0].end].split()) <= 8
    ):
        # "Close in 6 business days. We are at 11 today." — the headline number is the goal.
        target = qs[0]
    if goal_said and target is not None and not relative:
        later = [q for q in qs if q.start > target.start and q.unit == target.unit and q.unit is not None]
        if later and re.search(
            r"\b(?:to|goal|target|want\w*|get|reach|by)\b", text[target.end : later[-1].start], re.I
        ):
            baseline, target = target, later[-1]
    if target is None:
        return None
    if baseline is target:
        baseline = None
    unit = (
        target.unit
        or (baseline.unit if baseline else None)
        or next((q.unit for q in qs if q.unit and q.unit != "USD"), None)
    )
    if relative:
        unit = (
            "% reduction"
            if re.search(r"down|cut|reduc|lower", text[max(0, target.start - 28) : target.start], re.I)
            else "% increase"
        )
    if unit is None:
        return None
    if baseline is not None and baseline.unit not in (None, unit):
        baseline = None
    name = metric_name(text, qs[0], label)
    if not name:
        return None
    counted = unit not in ("%", "USD", "days", "business days", "hours", "minutes", "weeks", "seconds", "points")
    if counted and not relative and not name.lower().startswith(unit):
        name = f"{unit.capitalize()} {name[0].lower() + name[1:]}"  # "Agents working in Harbordesk"
    category = categorize(text)
    by_day, beyond = by_day_of(text, start, category)
    lead_in = text[max(0, target.start - 20) : target.start].lower()
    trail = text[target.end : target.end + 14].lower()
    comparator = None
    if re.search(r"under|below|less than|within|or lower|or less|down to", lead_in + " " + trail):
        comparator = "under"
    elif re.search(r"at least|above|over|or more|or better", lead_in + " " + trail):
        comparator = "at least"
    return MetricFact(
        name=name,
        target=target.value,
        unit=unit,
        baseline=baseline.value if baseline else None,
        by_day=by_day,
        quote=text,
        provenance=provenance,
        relative=relative,
        beyond_window=beyond,
        comparator=comparator,
    )


# -- the whole read -------------------------------------------------------------------
