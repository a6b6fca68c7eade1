"""What the offline planner reads out of handoff notes.

Each finder is a plain rule over sentences; every value it returns is a span
of the notes (or of the context), so the plan built from it stays grounded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from onboard_llm.grounding import appears_in
from onboard_llm.inputs import HandoffInput
from onboard_llm.offline.goals import GoalFact, find_goals
from onboard_llm.offline.metrics import MetricFact, by_day_of, extract_metric, metric_name, quantities
from onboard_llm.offline.people import ORG_WORDS, PeopleFinder, Person
from onboard_llm.offline.text import Sentence, find_dates, sentences, split_sentences, units
from onboard_llm.offline.vocab import (
    COMPETITOR,
    CONSTRAINT,
    KNOWN_TOOLS,
    LATER,
    NOT_TOOL,
    PROMISE,
    REPLACED,
    RISK,
    TOOL_AFTER,
    TOOL_BEFORE,
    TOOL_HEADINGS,
    TOOL_LIST,
    TOOL_SUFFIX,
    categorize,
)


@dataclass(frozen=True)
class Tool:
    name: str
    status: str  # "core", "replaced", "later", "competitor"
    sentence: str


@dataclass(frozen=True)
class Window:
    """A stretch of days when something cannot happen (a freeze, a closure, an upgrade)."""

    what: str
    start_day: int
    end_day: int
    sentence: str


@dataclass(frozen=True)
class Deadline:
    what: str
    day: int
    sentence: str


@dataclass
class Facts:
    """Everything the planner knows about this customer."""

    company: str | None
    product: str | None
    industry: str | None
    size: str | None
    complexity: str | None
    people: list[Person]
    tools: list[Tool]
    metrics: list[MetricFact]
    goals: list[GoalFact]
    promises: list[str]
    constraints: list[str]
    risks: list[str]
    windows: list[Window]
    deadlines: list[Deadline]
    unknowns: list[str]
    questions_in_notes: list[str]
    money: list[str] = field(default_factory=list)
    competitors: list[str] = field(default_factory=list)


# -- goals ----------------------------------------------------------------------

_ORG_NAME = re.compile(
    r"\b(?:[A-Z][\w'.-]*\s+(?:&\s+)?){1,4}(?:"
    + "|".join(sorted((w.capitalize() for w in ORG_WORDS), key=len, reverse=True))
    + r"|LLP|LLC|Inc\.?|Ltd\.?|GmbH|PLC|AG|SA)\b"
    r"|\b(?:City|Town|County|Village|Port|State|Province|District|Borough) of (?:[A-Z][\w'-]+)(?: [A-Z][\w'-]+)?"
)
_COMPANY_LABEL = re.compile(
    r"^(?:account name|account|customer name|customer|company name|company|client|organi[sz]ation|practice name|"
    r"practice|school|district|agency)\s*:\s*(?P<v>[^\n|]+)",
    re.I | re.M,
)
_GENERIC_TITLE = re.compile(
    r"(?i)^(?:internal|notes?|handoff|summary|minutes|meeting.*|deal.*|key .*|call.*|kickoff.*)$"
)


def _company(handoff: HandoffInput) -> str | None:
    if handoff.context.company:
        return handoff.context.company
    plain = re.sub(r"\*\*|__", "", handoff.notes)
    if m := _COMPANY_LABEL.search(plain):
        value = re.split(r"\s+[-–—(]\s*", m.group("v").strip(" *"))[0].strip()
        if value and not _GENERIC_TITLE.match(value):
            return value
    # Otherwise the organisation named most often: "Westfield Credit Union", "City of Marlow Springs".
    counts: dict[str, int] = {}
    for m in _ORG_NAME.finditer(plain):
        name = re.sub(r"^(?:The|At|For|From|With|And|Re|Fw|Fwd)\s+", "", m.group(0)).strip()
        words = name.split()
        if (
            (len(words) >= 2 or name.startswith(("City of", "Town of"))) and words[0].lower() not in ORG_WORDS
        ) or name.split(" of ")[0] in ("City", "Town", "County", "Village", "Port", "State", "District", "Borough"):
            counts[name] = counts.get(name, 0) + 1
    if counts:
        return max(counts, key=lambda k: (counts[k], -plain.find(k)))
    # Last, a heading that names the account, if the notes name it again somewhere.
    if m := re.search(r"^#+\s*(?:Handoff(?: call)?:?\s*)?(?P<v>[A-Z][\w&.' ]+?)\s*(?:\s[-/|–—]|handoff)", plain, re.M):
        value = m.group("v").strip(" *")
        if not _GENERIC_TITLE.match(value) and plain.count(value) >= 2:
            return value
    return None


def field_value(notes: str, *labels: str) -> str | None:
    """The value of a labelled line ("Industry: Veterinary Services"), bold markers ignored."""
    plain = re.sub(r"\*\*|__", "", notes)
    pattern = r"^[\s>*-]*(?:" + "|".join(re.escape(label) for label in labels) + r")\s*:\s*(?P<v>[^\n|]{1,80})$"
    m = re.search(pattern, plain, re.I | re.M)
    return m.group("v").strip() if m else None


def _complexity_from(notes: str) -> str | None:
    value = field_value(notes, "implementation complexity", "complexity")
    if value and (m := re.match(r"(?i)\s*(low|medium|high)", value)):
        return m.group(1).lower()
    return None


def _product(handoff: HandoffInput) -> str | None:
    if handoff.context.product_tier:
        return handoff.context.product_tier
    if m := re.search(
        r"^(?:Products?|Product/Tier|Plan|Tier|Package)\s*:\s*(?P<v>[^\n;]+)", handoff.notes, re.I | re.M
    ):
        return m.group("v").strip()
    if m := re.search(
        r"^#+\s*(?:Handoff(?: call)?:?\s*)?[A-Z][\w&.' ]+?\s+/\s+(?P<v>[A-Z][\w&.+ -]+?)(?:\s*\(|$)",
        handoff.notes,
        re.M,
    ):
        return m.group("v").strip()
    return None


def _tool_candidates(s: Sentence, stop: set[str]) -> list[str]:
    """Product names the sentence puts in an integration context, known to the vocabulary or not."""
    raw: list[str] = []
    raw += [m.group("tool") for m in TOOL_BEFORE.finditer(s.text)]
    raw += [m.group("tool") for m in TOOL_AFTER.finditer(s.text)]
    listed = TOOL_LIST.match(s.text)
    if listed or s.heading.startswith(TOOL_HEADINGS):
        items = listed.group("items") if listed else s.text
        for part in re.split(r",|;|\band\b|\(|\)|:|\s[-–—]\s", items):
            part = part.strip(" .")
            # In a list only a bare name counts: "Dentrix", not "Practice management".
            if part and all(w[:1].isupper() or w[:1].isdigit() for w in part.split()):
                raw.append(part)
    out: list[str] = []
    for item in raw:
        words = item.split()
        # At the start of the sentence or of a table cell.
        at_start = bool(words) and re.search(rf"(?:^|[|.:;!?])\W*{re.escape(words[0])}\b", s.text) is not None
        if at_start and len(words) > 1 and not re.search(rf"[a-z,]\s+{re.escape(words[0])}\b", s.text):
            words = words[1:]  # "Confirm Banner integration": a sentence-initial verb, not part of the name
        # Trim lower-case or stop words from the ends: "Okta SSO" -> "Okta".
        while words and (
            words[-1].lower() in NOT_TOOL or (not words[-1][:1].isupper() and not words[-1][:1].isdigit())
        ):
            words.pop()
        while words and (words[0].lower() in NOT_TOOL or words[0].lower() in stop or not words[0][:1].isupper()):
            words.pop(0)
        if not words or len(words) > 3:
            continue
        name = " ".join(words).strip(" .,")
        if any(w.lower() in stop for w in words) or name.lower() in NOT_TOOL or len(name) < 2 or "." in name:
            continue
        if any(w.isupper() and w.lower() in _CAPS_WORDS for w in words):
            continue
        out.append(name)
    return out


_WORDLIKE_TOOLS = frozenset({"Segment", "Box", "Teams", "Banner", "Epic", "Lever", "Sage", "Outreach", "Gong", "Excel"})
#: Shouted English words that are not product acronyms.
_CAPS_WORDS = frozenset(
    {"and", "not", "or", "the", "ps", "fyi", "asap", "tbd", "ok", "all", "no", "yes", "must", "only"}
)


def _tools(sents: list[Sentence], source: str, stop: set[str]) -> list[Tool]:
    found: dict[str, Tool] = {}
    for s in sents:
        # A tool named like an English word, followed by a colon, is a field label ("Segment: Mid-Market").
        names = [
            t
            for t in KNOWN_TOOLS
            if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])" + (r"(?!\s*:)" if t in _WORDLIKE_TOOLS else ""), s.text)
        ]
        names += [
            m.group(1)
            for m in TOOL_SUFFIX.finditer(s.text)
            if m.group(1).split()[0].lower() not in ("the", "our", "their", "this", "that", "standard")
            and _capitalised_mid_sentence(m.group(1), source)
        ]
        # An unknown single Title-case word must also be capitalised mid-sentence somewhere ("File" is not a tool).
        names += [
            n
            for n in _tool_candidates(s, stop)
            if len(n.split()) > 1 or not n.istitle() or _capitalised_mid_sentence(n, source)
        ]
        for name in names:
            # "SAP" inside "SAP S/4HANA", "Teams" inside "Microsoft Teams": keep the longest.
            if any(name != other and name in other for other in names) or not appears_in(name, source):
                continue
            key = name.lower()
            lowered = s.text.lower()
            before = s.text[: s.text.find(name)]
            if (
                s.heading.startswith("competitor")
                or re.match(r"^competitors?\s*:", s.line, re.I)
                or COMPETITOR.search(before[-25:])
            ):
                status = "competitor"
            elif REPLACED.search(before[-40:]) or re.search(
                rf"{re.escape(name.lower())} (?:contract|expires|ends)", lowered
            ):
                status = "replaced"
            elif LATER.search(s.text):
                status = "later"
            else:
                status = "core"
            if key not in found or (found[key].status == "core" and status in ("replaced", "competitor")):
                found[key] = Tool(name, status, s.text)
    return list(found.values())


def _capitalised_mid_sentence(name: str, source: str) -> bool:
    """A proper noun shows up capitalised after a lower-case word at least once, not only at sentence starts."""
    return bool(re.search(rf"[a-z,]\s+{re.escape(name)}\b", source)) and not name.endswith(".")


def _windows_and_deadlines(sents: list[Sentence], start: dt.date) -> tuple[list[Window], list[Deadline]]:
    windows: list[Window] = []
    deadlines: list[Deadline] = []
    for s in sents:
        lowered = s.text.lower()
        mentions = find_dates(s.text, start)
        if not mentions:
            continue
        offsets = [(m.value - start).days + 1 for m in mentions]
        if re.search(r"\bclosed\b|out of office|holiday", lowered) and not re.search(
            r"freeze|frozen|through|until", lowered
        ):
            for mention in mentions:
                a = (mention.value - start).days + 1
                b = (mention.end - start).days + 1 if mention.end else a
                if b >= 1:
                    windows.append(Window(s.text, max(a, 1), b, s.text))
            continue
        if re.search(r"freeze|frozen|blackout|upgrade", lowered):
            if len(mentions) >= 2 and re.search(r"through|until|to|-|–", lowered):
                a, b = offsets[0], offsets[1]
            elif mentions[0].end is not None:
                a, b = offsets[0], (mentions[0].end - start).days + 1
            elif re.search(r"through|until|till|before then", lowered):
                a, b = 1, offsets[0]
            else:
                a = b = offsets[0]
            if b >= 1:
                windows.append(Window(s.text, max(a, 1), b, s.text))
        elif re.search(r"deadline|expires|contract ends|ends|before|by|live|must|hard stop|has to", lowered):
            for offset in offsets:
                if 1 <= offset <= 120:
                    deadlines.append(Deadline(s.text, offset, s.text))
                    break
    return windows, deadlines


#: A line that asks rather than tells ("What about their IT capacity?").
_QUESTION_START = re.compile(
    r"^\W*(?:what|who|whom|how|why|when|where|which|is|are|do|does|did|can|could|will|would|should|and|so|"
    r"any|baselines?)\b.*\?\W*$",
    re.I,
)
_UNKNOWN_CUES = (
    (
        r"\bno (?:number|target|baseline)\b|didn't give a number|never got a number|no baseline|not a committed target|nobody defined",
        "a number for a goal",
    ),
    (r"\bno exec(?:utive)? (?:sponsor|involved)\b|didn't meet the owners|no sponsor", "an executive sponsor"),
    (r"\bnothing on paper\b|no start date|start date\?", "the start date"),
)


def read_notes(handoff: HandoffInput) -> Facts:
    """Everything the offline planner can ground a plan in."""
    notes = handoff.notes
    source = handoff.source_text
    start = handoff.start_date
    sents = sentences(notes)
    finder = PeopleFinder(csm=handoff.context.csm)
    finder.scan(notes)
    company = _company(handoff)
    people = [
        p
        for p in finder.result()
        if appears_in(p.name, source)
        and not any(re.search(rf"\b{re.escape(tool)}\b", p.name) for tool in KNOWN_TOOLS)
        and p.name.lower() not in (company or "").lower()
    ]

    parts = units(notes)
    metrics: list[MetricFact] = []
    for criterion in handoff.context.success_criteria:
        crit = Sentence(criterion, criterion, -1, "success criteria")
        fact = extract_metric(crit, start, source, provenance="context")
        if fact is None and (qs := quantities(criterion)):
            q = qs[0]
            if q.unit:
                fact = MetricFact(
                    metric_name(criterion, q, None) or criterion[:40],
                    q.value,
                    q.unit,
                    None,
                    by_day_of(criterion, start, categorize(criterion))[0],
                    criterion,
                    "context",
                )
        if fact is not None:
            metrics.append(fact)
    for s in parts:
        if PROMISE.search(s.text) or s.text.rstrip().endswith("?"):
            continue
        fact = extract_metric(s, start, source)
        if fact is None:
            continue
        twin = next(
            (
                m
                for m in metrics
                if (m.target == fact.target and m.unit == fact.unit) or m.name.lower() == fact.name.lower()
            ),
            None,
        )
        if twin is None:
            metrics.append(fact)
        elif twin.baseline is None and fact.baseline is not None:
            twin.baseline = fact.baseline
    # A "metric" named after a person is a misread sentence ("Tiago Mendes: 1 hours..."), not a target.
    names = {w for p in people for w in (p.name, p.first_name)}
    metrics = [m for m in metrics if not any(n.lower() in m.name.lower() for n in names)]
    goals = find_goals(parts, people, metrics, source)
    promises = _unique(
        _cue_text(s, PROMISE, parts)
        for s in parts
        if s.kind != "header"
        and not s.text.rstrip().endswith("?")
        and (PROMISE.search(s.text) or s.heading.startswith(("sales promise", "promise")))
    )
    constraints = _unique(
        s.text
        for s in parts
        if (CONSTRAINT.search(s.text) or s.heading.startswith(("timing", "constraint"))) and s.text not in promises
    )
    risks = _unique(
        _cue_text(s, RISK, parts)
        for s in parts
        if (RISK.search(s.text) or s.heading.startswith("risk"))
        and s.text not in promises
        and s.kind not in ("header", "field")
        and not _QUESTION_START.match(s.text)
    )
    windows, deadlines = _windows_and_deadlines(sents, start)
    # Words that name people, the customer or the product are never tools.
    stop = {w.lower() for p in people for w in p.name.replace("Dr. ", "").split()}
    stop |= {w.lower() for w in re.findall(r"[A-Za-z]+", f"{company or ''} {_product(handoff) or ''}")}
    stop |= {w.lower() for w in ORG_WORDS} | {"customer", "vendor", "users", "user", "staff", "team", "teams?"}
    tools = _tools(parts, source, stop)
    # Keep "Shopify Plus" over "Shopify", "SAP S/4HANA" over "SAP", "Microsoft Teams" over "Teams".
    tools = [
        t for t in tools if not any(t.name != o.name and re.search(rf"\b{re.escape(t.name)}\b", o.name) for o in tools)
    ]

    unknowns: list[str] = []
    for pattern, what in _UNKNOWN_CUES:
        for s in sents:
            if re.search(pattern, s.text, re.I):
                unknowns.append(f"{what}|{s.text}")
    questions = _unique(
        _with_context(s, sents)
        for s in sents
        if s.kind not in ("header", "quoted", "speech")
        and (
            (s.text.rstrip().endswith("?") and len(s.text.split()) >= 3)
            or re.search(r"\bask (?:what|who|when|whether|if|about)\b|\bneed to confirm\b|\btbd\b|\?\)", s.text, re.I)
        )
    )
    money = _unique(m.group(0) for m in re.finditer(r"\$\s?\d[\d,.]*\s?(?:[KkMm]\b|million)?(?:\s+ARR)?", notes))
    competitors = [t.name for t in tools if t.status == "competitor"]
    return Facts(
        company=company,
        industry=field_value(notes, "industry", "vertical", "sector", "segment industry"),
        size=field_value(notes, "employees", "company size", "size", "headcount"),
        complexity=_complexity_from(notes),
        product=_product(handoff),
        people=people,
        tools=[t for t in tools if t.status != "competitor"],
        metrics=metrics,
        goals=goals,
        promises=promises,
        constraints=constraints,
        risks=risks,
        windows=windows,
        deadlines=deadlines,
        unknowns=unknowns,
        questions_in_notes=questions,
        money=money,
        competitors=competitors,
    )


def _with_context(part: Sentence, parts: list[Sentence]) -> str:
    """A terse sentence ("Promised to try.") with the sentence before it on the same line."""
    if len(part.text.split()) >= 6:
        return part.text
    index = parts.index(part)
    if index > 0 and parts[index - 1].line_no == part.line_no:
        return f"{parts[index - 1].text} {part.text}"
    return part.text


def _cue_text(part: Sentence, cue: re.Pattern[str], parts: list[Sentence]) -> str:
    """A bullet as it is; in prose, only the sentences that carry the cue (a terse one with its neighbour)."""
    if part.kind in ("bullet", "field") or part.text != part.line:
        return _with_context(part, parts)
    pieces = split_sentences(part.text)
    hits = [i for i, piece in enumerate(pieces) if cue.search(piece)]
    if not hits:
        return part.text
    chosen: list[str] = []
    for i in hits:
        if len(pieces[i].split()) < 6 and i + 1 < len(pieces) and pieces[i + 1] not in chosen:
            chosen += [pieces[i], pieces[i + 1]]
        elif pieces[i] not in chosen:
            chosen.append(pieces[i])
    return " ".join(chosen)


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out
