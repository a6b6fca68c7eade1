"""``grounding``: the share of the plan's people, figures, names and dates that the notes or context contain.

What is checked, each against ``output.source_text`` (notes plus context):

``people``
    Stakeholder names, the CSM, and every owner, RACI entry, attendee or
    recipient that looks like a person's name (2-4 capitalised words, not a
    known role, no group word such as "team" or "lead"). A title ("Dr.") may
    be there or not.
``figures``
    Targets and baselines of metrics whose provenance is ``notes`` or
    ``context`` (a playbook default or an assumption says itself that it has
    no source). With ``check_text_numbers``, also the numbers in the primary
    goal, the stated goals and the risks, except day references and the
    playbook's own process numbers (1, 7, 14, 24, 30, 45, 60, 90 ...).
``integrations``
    Proper nouns in milestone names, task titles, phase objectives, RACI
    activities and risks: runs of capitalised words that do not start a
    clause (or CamelCase / all-caps words anywhere, such as "QuickBooks",
    "SAP"), minus the plan's own vocabulary (months, weekdays, ROI, RACI,
    SSO, ...). A run is grounded when each of its words is in the sources, so
    "Stripe Connect" is not grounded by "Stripe".
``dates``
    Every calendar date written in a text field ("March 31", "31 March 2027",
    "2027-03-31"): the same month and day (and year, when both give one)
    must be in the sources. The plan's scheduled date fields are not text.

The score is the pooled share of grounded items (1.0 when there is nothing
to check); each subscore is its category's share.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from onboard_llm.errors import ConfigError
from onboard_llm.evals.scorers._common import (
    capped,
    check_non_negative,
    clamp,
    clip,
    fmt,
    missing_plan_score,
    person_key,
    without_title,
)
from onboard_llm.evals.scoring import CaseOutput, PathParts, Score, SubScore, register_scorer
from onboard_llm.grounding import appears_in, number_appears, numbers_in
from onboard_llm.schema import KNOWN_OWNER_ROLES, OnboardingPlan, role_token

CHECKS = ("people", "figures", "integrations", "dates")

_PERSON = re.compile(r"^(?:(?:Dr|Prof|Mr|Mrs|Ms|Mx)\.?\s+)?[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){1,3}$")
# Words that make a capitalised phrase a group or a job, not a person: "Support Team", "IT Director".
_ROLE_WORDS = frozenset(
    "team teams staff user users admin admins all everyone group department lead leads manager managers "
    "director directors committee office board champion champions sponsor sponsors engineer engineers "
    "executive executives owner owners csm ae it finance ops operations support success security legal "
    "procurement hr marketing sales customer vendor".split()
)
_MONTHS = {
    "January": 1, "February": 2, "March": 3, "April": 4, "May": 5, "June": 6, "July": 7,
    "August": 8, "September": 9, "October": 10, "November": 11, "December": 12,
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Sept": 9,
    "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun"
#: Capitalised words a plan writes on its own: they name the plan's process, not the customer's world.
PLAN_VOCABULARY = frozenset(
    {m.lower() for m in _MONTHS}
    | set(_WEEKDAYS.split())
    | set(
        "day days week weeks phase phases month months kickoff review reviews qbr ebr roi raci csm ae kpi kpis "
        "nps csat ces sso saml scim mfa api apis it hr uat faq faqs ttfv arr mrr sla slas crm erp csv pdf id ids "
        "ok q1 q2 q3 q4 h1 h2 eod eow usd eur gbp tbd n/a na i".split()
    )
)
_MONTH_RE = "(?P<m>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
# The leading word boundary of this pattern is checked in code (see _date_matches): without it the regex
# engine skips ahead to the months' first letters instead of trying every position of a long text.
_MONTH_DAY = re.compile(rf"{_MONTH_RE}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?")
_MONTH_NAME = re.compile(_MONTH_RE)
_DAY_MONTH = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}(?![a-z])(?:,?\s+(?P<y>\d{{4}})\b)?"
)
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_CLAUSE = re.compile(r"[.;:!?()\[\]\"“”]|\s[-–—]\s")
_DAY_REF = re.compile(
    r"\b(?:days?|weeks?|phases?|months?)[\s-]*\d+(?:\s*(?:-|–|to|and)\s*\d+)?|\b\d+[\s-]*(?:days?|weeks?)\b", re.I
)
PLAYBOOK_NUMBERS = frozenset({0.0, 1.0, 7.0, 14.0, 24.0, 30.0, 31.0, 45.0, 60.0, 61.0, 90.0, 100.0})

DateKey = tuple[int | None, int, int]


@dataclass(frozen=True)
class _Item:
    check: str
    label: str
    grounded: bool


_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")
_WORDS = re.compile(r"\w+")


def _looks_like_person(text: str) -> bool:
    text = _PARENTHETICAL.sub("", text).strip()
    if role_token(text) in KNOWN_OWNER_ROLES or not _PERSON.match(text):
        return False
    return not any(w in _ROLE_WORDS for w in _WORDS.findall(text.lower()))


_DIGIT = re.compile(r"\d")


def _date_matches(text: str) -> Iterator[tuple[int, int, str, DateKey]]:
    """Every calendar date written in the text: (pattern, offset, the words, (year or None, month, day))."""
    if _MONTH_NAME.search(text) is not None:  # the first two patterns need a month's name
        yield from _keyed(0, _word_start_matches(_MONTH_DAY, text))
        yield from _keyed(1, _DAY_MONTH.finditer(text))
    if "-" in text:
        yield from _keyed(2, _ISO.finditer(text))


def _keyed(index: int, matches: Iterable[re.Match[str]]) -> Iterator[tuple[int, int, str, DateKey]]:
    for match in matches:
        raw_month = match.group("m")
        month = int(raw_month) if raw_month.isdigit() else _MONTHS[raw_month]
        day = int(match.group("d"))
        year = int(match.group("y")) if match.group("y") else None
        if 1 <= month <= 12 and 1 <= day <= 31:
            yield index, match.start(), match.group(0), (year, month, day)


def _word_start_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` as if the pattern began with ``\\b`` (its first character is a letter)."""
    position = 0
    while (match := pattern.search(text, position)) is not None:
        start = match.start()
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            position = start + 1  # glued to a word: try again one character on, as the regex would
            continue
        yield match
        position = match.end()


def _dates(text: str) -> Iterator[tuple[str, DateKey]]:
    """Every calendar date written in the text, with (year or None, month, day)."""
    if _DIGIT.search(text) is None:
        return  # no digit, no date: most plan strings, checked cheaply
    for _pattern, _offset, span, key in _date_matches(text):
        yield span, key


@functools.lru_cache(maxsize=256)
def _dates_known(source: str) -> frozenset[DateKey]:
    """The dates the notes and context write (one source is checked against every plan of its case)."""
    return frozenset(key for _, key in _dates(source))


#: Joins a plan's strings for one pass of each date pattern; no pattern matches across it.
_JOIN = "\x00"


def _plan_dates(leaves: Sequence[tuple[PathParts, Any]]) -> list[tuple[PathParts, str, DateKey]]:
    """Every date written in the plan's strings, in document order (string by string, then pattern by
    pattern), with the path of its string: one pass of each pattern over all the strings joined.

    Only strings are read: the scheduled dates were dumped as date objects. Only a
    string with a digit can hold a date.
    """
    strings = [(path, value) for path, value in leaves if type(value) is str and _DIGIT.search(value) is not None]
    starts: list[int] = []
    offset = 0
    for _, text in strings:
        starts.append(offset)
        offset += len(text) + len(_JOIN)
    blob = _JOIN.join(text for _, text in strings)
    found = sorted(
        (bisect.bisect_right(starts, start) - 1, pattern, start, span, key)
        for pattern, start, span, key in _date_matches(blob)
    )
    return [(strings[string][0], span, key) for string, _pattern, _start, span, key in found]


def _path(parts: tuple[str | int, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _word(token: str) -> str:
    token = token.strip(",'’*`")
    return token[:-2] if token.endswith(("'s", "’s")) else token


def _is_capitalised(token: str) -> bool:
    return bool(token) and token[0].isupper()


def _is_distinctive(token: str) -> bool:
    # "QuickBooks", "HubSpot", "SAP": unmistakably a name even at the start of a clause.
    return any(c.isupper() for c in token[1:]) and any(c.isalpha() for c in token)


def proper_nouns(text: str) -> list[str]:
    """Runs of capitalised words in the text that are names rather than sentence case or plan vocabulary."""
    found: list[str] = []
    for clause in _CLAUSE.split(text):
        run: list[str] = []
        tokens = clause.split()
        for i, raw in enumerate(tokens):
            token = _word(raw)
            keep = _is_capitalised(token) and (i > 0 or _is_distinctive(token))
            if keep and token.split("-")[0].lower() not in PLAN_VOCABULARY:
                run.append(token)
            elif run:  # sentence case or plan vocabulary ends a name
                found.append(" ".join(run))
                run = []
            if raw.endswith(",") and run:
                found.append(" ".join(run))
                run = []
        if run:
            found.append(" ".join(run))
    return found


def _people_mentions(plan: OnboardingPlan) -> Iterator[tuple[str, Callable[[], str], bool]]:
    """Every name the plan gives a person, in order: (name, where it is, for the report; whether it is a
    listed person, a stakeholder or the CSM, rather than a field that may hold a role or a team)."""
    for stakeholder in plan.stakeholders:
        yield stakeholder.name, functools.partial(str, "stakeholder"), True
    if plan.customer.csm:
        yield plan.customer.csm, functools.partial(str, "customer.csm"), True
    for phase in plan.phases:
        for m in phase.milestones:
            yield m.owner, functools.partial(_quoted, "owner of milestone", m.name), False
        for t in phase.tasks:
            yield t.owner, functools.partial(_quoted, "owner of task", t.title), False
    for risk in plan.risks:
        if risk.owner:
            yield risk.owner, functools.partial(str, "risk owner"), False
    for row in plan.raci:
        for who in [*row.responsible, row.accountable, *row.consulted, *row.informed]:
            yield who, functools.partial(_quoted, "RACI", row.activity), False
    for meeting in plan.meetings:
        for who in meeting.attendees:
            yield who, functools.partial(_quoted, "attendee of", meeting.title), False
    for message in plan.communications:
        for who in message.recipients:
            yield who, functools.partial(_quoted, "recipient of", message.name), False


def _quoted(kind: str, name: str) -> str:
    return f"{kind} '{clip(name, 40)}'"


@register_scorer("grounding")
class GroundingScorer:
    """People, figures, tool names and dates of the plan that the notes or context contain.

    ``checks``: the categories to score (default all of ``people, figures,
    integrations, dates``); ``check_text_numbers`` (default False): also check
    numbers written in goals and risks; ``max_details``: problems listed per
    category.
    """

    name: str = "grounding"

    def __init__(
        self, *, checks: Sequence[str] | None = None, check_text_numbers: bool = False, max_details: int = 8
    ) -> None:
        chosen = tuple(checks) if checks is not None else CHECKS
        unknown = [c for c in chosen if c not in CHECKS]
        if unknown or not chosen:
            raise ConfigError(
                f"scorer 'grounding': checks must be a non-empty list of {', '.join(CHECKS)}; "
                f"unknown: {', '.join(unknown) or '(empty list)'}"
            )
        check_non_negative(self.name, max_details=max_details)
        self.checks = chosen
        self.check_text_numbers = check_text_numbers
        self.max_details = max_details

    def score(self, output: CaseOutput) -> Score:
        plan = output.plan
        if plan is None:
            return missing_plan_score(self.name, output, self.checks)
        source = output.source_text
        collected = {
            "people": lambda: self._people(plan, source),
            "figures": lambda: self._figures(plan, source),
            "integrations": lambda: self._integrations(plan, source),
            "dates": lambda: self._dates(output.plan_leaves, source),
        }
        items: list[_Item] = []
        subscores: list[SubScore] = []
        for check in self.checks:
            found = collected[check]()
            items += found
            missing = [f"{item.label} is not in the notes or context" for item in found if not item.grounded]
            if not found:
                subscores.append(SubScore(check, 1.0, ["note: nothing to check"]))
                continue
            share = sum(item.grounded for item in found) / len(found)
            subscores.append(SubScore(check, clamp(share), capped(missing, self.max_details)))
        if not items:
            return Score(self.name, 1.0, subscores, ["note: the plan has nothing that needs grounding"])
        ungrounded = sum(not item.grounded for item in items)
        details = [f"{ungrounded} of {len(items)} item(s) not found in the notes or context"] if ungrounded else []
        return Score(self.name, clamp(1.0 - ungrounded / len(items)), subscores, details)

    # -- the four categories ------------------------------------------------------

    @staticmethod
    def _people(plan: OnboardingPlan, source: str) -> list[_Item]:
        items: list[_Item] = []
        seen: set[str] = set()  # person keys reported (each person once, where first named)
        judged: set[str] = set()  # names from owner, RACI, attendee and recipient fields looked at already
        for who, where, listed in _people_mentions(plan):
            if not listed:
                # A name repeats across dozens of such fields: whether it is a person is settled once.
                if who in judged:
                    continue
                judged.add(who)
                if not _looks_like_person(who):
                    continue
            key = person_key(who)
            if not key or key in seen:
                continue
            seen.add(key)
            grounded = appears_in(who, source) or appears_in(without_title(who), source)
            items.append(_Item("people", f"person '{who}' ({where()})", grounded))
        return items

    def _figures(self, plan: OnboardingPlan, source: str) -> list[_Item]:
        items: list[_Item] = []
        for metric in plan.success_metrics:
            if metric.provenance not in ("notes", "context"):
                continue
            for field, value in (("target", metric.target), ("baseline", metric.baseline)):
                if value is not None:
                    label = f"figure {fmt(value)} ({field} of metric '{clip(metric.name, 40)}')"
                    items.append(_Item("figures", label, number_appears(value, source)))
        if self.check_text_numbers:
            texts = [("primary_goal", plan.primary_goal)]
            texts += [(f"goal '{clip(g.goal, 40)}'", f"{g.goal} {g.success_measure}") for g in plan.stated_goals]
            texts += [(f"risk '{clip(r.risk, 40)}'", r.risk) for r in plan.risks]
            seen: set[float] = set()
            for where, text in texts:
                cleaned = _DAY_REF.sub(" ", text)
                for span, _key in _dates(cleaned):
                    cleaned = cleaned.replace(span, " ")
                for value in sorted(numbers_in(cleaned) - PLAYBOOK_NUMBERS - seen):
                    seen.add(value)
                    items.append(_Item("figures", f"figure {fmt(value)} (in {where})", number_appears(value, source)))
        return items

    @staticmethod
    def _integrations(plan: OnboardingPlan, source: str) -> list[_Item]:
        texts: list[tuple[str, str]] = []
        for phase in plan.phases:
            texts += [(f"milestone '{clip(m.name, 40)}'", m.name) for m in phase.milestones]
            texts += [(f"task '{clip(t.title, 40)}'", t.title) for t in phase.tasks]
            texts += [(f"objective of phase '{clip(phase.name, 30)}'", o) for o in phase.objectives]
        texts += [(f"RACI '{clip(r.activity, 40)}'", r.activity) for r in plan.raci]
        texts += [(f"risk '{clip(r.risk, 40)}'", f"{r.risk}. {r.mitigation}") for r in plan.risks]
        person_words = {w for s in plan.stakeholders for w in person_key(s.name).split()}
        items: list[_Item] = []
        seen: set[str] = set()
        for where, text in texts:
            for run in proper_nouns(text):
                words = run.split()
                key = " ".join(w.lower() for w in words)
                # People are scored under "people"; a run made only of their names is not a tool.
                if not words or key in seen or all(w.lower() in person_words for w in words):
                    continue
                seen.add(key)
                grounded = all(appears_in(w, source) for w in words)
                items.append(_Item("integrations", f"name '{run}' (in {where})", grounded))
        return items

    @staticmethod
    def _dates(leaves: Sequence[tuple[PathParts, Any]], source: str) -> list[_Item]:
        known = _dates_known(source)
        items: list[_Item] = []
        seen: set[DateKey] = set()
        for parts, span, (year, month, day) in _plan_dates(leaves):
            if (year, month, day) in seen:
                continue
            seen.add((year, month, day))
            grounded = any((m, d) == (month, day) and (y is None or year is None or y == year) for y, m, d in known)
            items.append(_Item("dates", f"date '{span}' (in {_path(parts)})", grounded))
        return items
