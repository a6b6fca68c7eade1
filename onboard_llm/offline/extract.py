"""What the offline planner reads out of handoff notes.

Each finder is a plain rule over sentences; every value it returns is a span
of the notes (or of the context), so the plan built from it stays grounded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from onboard_llm.grounding import appears_in, number_appears
from onboard_llm.inputs import HandoffInput
from onboard_llm.offline.people import ORG_WORDS, Person, PeopleFinder
from onboard_llm.offline.text import Sentence, find_dates, sentences, split_sentences, units

#: Tools and systems a handoff commonly names, by how the notes usually spell them.
KNOWN_TOOLS = (
    "Salesforce Financial Services Cloud", "Salesforce", "HubSpot", "Microsoft Dynamics", "Dynamics 365", "Pipedrive",
    "NetSuite", "SAP S/4HANA", "S/4HANA", "SAP", "Oracle", "Workday", "UKG Pro", "UKG", "Kronos", "ADP", "BambooHR",
    "Gusto", "Rippling", "Greenhouse", "Lever", "Okta", "Entra ID", "Azure AD", "Active Directory", "Google Workspace",
    "Google sign-in", "OneLogin", "Ping Identity", "Slack", "Microsoft Teams", "Teams", "Zoom", "Webex", "Zendesk",
    "Freshdesk", "Intercom", "ServiceNow", "Jira", "Confluence", "Asana", "Monday.com", "Trello", "Smartsheet",
    "Microsoft Entra ID", "Ellucian Banner", "Snowflake", "BigQuery", "Databricks", "Redshift", "Tableau", "Power BI", "Looker", "Excel", "Google Sheets",
    "Epic", "Cerner", "athenahealth", "Meditech", "ezyVet", "Shopify Plus", "Shopify", "Magento", "BigCommerce",
    "Klaviyo", "Mailchimp", "Marketo", "Pardot", "Aircall", "Twilio", "RingCentral", "Five9", "Genesys Cloud",
    "Genesys", "Stripe", "Adyen", "QuickBooks", "Xero", "Sage Intacct", "Sage 300 CRE", "Sage", "Coupa", "Concur",
    "DocuSign", "Procore", "Autodesk", "Egnyte", "SharePoint", "OneDrive", "Box", "Dropbox", "Guidewire", "Duck Creek",
    "Cadency", "BlackLine", "Anaplan", "Symitar", "Jack Henry", "Fiserv", "Veeva", "Gong", "Outreach", "Salesloft",
    "Segment", "Mixpanel", "Amplitude", "GitHub", "GitLab", "AWS", "Azure", "Google Cloud", "Canvas", "Blackboard",
    "Banner", "PeopleSoft", "EAB Navigate", "Zapier", "Google Business", "PetDesk", "Vetstoria",
)
_TOOL_SUFFIX = re.compile(r"\b([A-Z][\w.]*(?:\s[A-Z][\w.]*)?)\s+(?:integration|connector|API|sync|SSO|SCIM|feed|instance)\b")
_REPLACED = re.compile(r"\b(?:off|migrat\w*(?: off| from)?|replac\w*|moving (?:off|from)|sunset\w*|switch\w* off|leaving|instead of)\b", re.I)
_LATER = re.compile(r"\b(?:phase 2|later|next year|nice to have|stay on|for now|future|eventually|maybe)\b", re.I)
_COMPETITOR = re.compile(r"\b(?:competitors?|evaluated|vs\.?|lost to|also looked at)\b", re.I)

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100,
}
_UNITS = (
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
_QUANTITY = re.compile(
    r"(?<![A-Za-z])(?P<money>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<scale>[kKmM]\b|million\b)?\s?"
    r"(?P<unit>" + "|".join(u for u, _ in _UNITS) + r")?",
    re.I,
)
_TARGET_CUE = re.compile(
    r"\b(?:target|goal|want\w*|get (?:it )?to|down to|under|below|less than|at least|above|over|reach|at|"
    r"or lower|or less|or better|or more|aim|need\w* to|should be|to|->|→|by|i'd take|cut|reduce|increase|grow)\b|->|→",
    re.I,
)
_BASELINE_CUE = re.compile(r"\b(?:today|now|currently|current|baseline|we are at|we're at|is about|is at|at present|avg|average|takes about|roughly)\b", re.I)
_RELATIVE = re.compile(r"\b(?:down|cut|reduce\w*|lower\w*|up|increase\w*|grow\w*|improve\w*)\b(?:\s+\w+){0,2}\s+(?:by\s+)?$", re.I)
_NOT_A_METRIC = re.compile(
    r"\b(?:ARR|amount|contract|term|discount|seats? plus|licen[cs]es?|year term|employees|ago|years? old|signed|per year|a year|"
    r"annual|renewal|invoice|price|pricing)\b",
    re.I,
)
_GOAL_HEADINGS = ("why they bought", "success looks like", "goals", "what they want", "success criteria", "outcomes", "objectives")
_PROMISE = re.compile(
    r"\b(?:promis\w*|told (?:them|him|her|victor|\w+) (?:we|it|that|the)|i told|i may have told|said it would|"
    r"(?<!a )committed|guarantee\w*|verbal:|assured)\b",
    re.I,
)
_CONSTRAINT = re.compile(
    r"\b(?:freeze|frozen|contract (?:ends|expires)|expires?|not extending|won't renew|will not renew|hard stop|"
    r"non-negotiable|deadline|union\w*|notice|security review|infosec|third-party risk|soc 2|pen test|no production data|"
    r"closed (?:dec|jan|on)|only (?:works|available)|part-time|works (?:mon|tue|wed|thu|fri)|budget (?:cap|freeze|approval)|approval|"
    r"data stays|regions?|blackout|can't give|cannot|won't touch|before then)\b",
    re.I,
)
_RISK = re.compile(
    r"\b(?:risk|leaving|retir\w*|parental leave|on leave|competing|upgrade|busy|capacity|bandwidth|messy|inconsistent|"
    r"duplicate|data quality|beta|no date|is slow|are slow|slow to|pressure|turnover|only ops person|only person|single point|skeptic\w*|"
    r"resist\w*|churn\w*|catch|worry|concern\w*|doesn't do|not (?:two|ready)|out of the box|missed|unionized)\b",
    re.I,
)
_QUOTE = re.compile(r"[\"“](?P<q>[^\"”]{12,300})[\"”]")


@dataclass(frozen=True)
class Tool:
    name: str
    status: str  # "core", "replaced", "later", "competitor"
    sentence: str


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


@dataclass
class GoalFact:
    category: str
    quote: str
    speaker: str | None
    metric: MetricFact | None = None


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

GOAL_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cutover", ("contract ends", "contract expires", "switch off", "switched off", "not extending", "won't renew", "cutover", "go live", "go-live", "has to run in")),
    ("speed", ("response", "slow", "inbox", "wait", "faster", "fill", "turnaround", "backlog", "sla")),
    ("cycle_time", ("close in", "business days", "cycle", "month-end", "close the books")),
    ("cost", ("spend", "cost", "renting", "agency", "headcount", "save", "savings", "$")),
    ("workload", ("weekends", "overtime", "manual", "by hand", "calling", "calls", "phones", "spreadsheet", "paper")),
    ("automation", ("auto-", "automat", "without a human", "certify")),
    ("quality", ("audit", "findings", "compliance", "errors", "accuracy", "no-show", "graveyard", "quality")),
    ("satisfaction", ("csat", "nps", "satisfaction", "apologiz", "customers", "experience")),
    ("reporting", ("dashboard", "report", "visibility", "insight", "ceo", "board")),
    ("adoption", ("use it", "adoption", "active", "self-schedul", "booked online", "log in", "pick up", "usage", "most nurses")),
    ("self_service", ("deflection", "help center", "self-service", "self service", "knowledge base")),
)


def categorize(text: str) -> str:
    lowered = text.lower()
    for category, cues in GOAL_CATEGORIES:
        if any(cue in lowered for cue in cues):
            return category
    return "outcome"


# -- metrics --------------------------------------------------------------------


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
    for pattern, unit in _UNITS:
        if re.fullmatch(pattern, raw.strip(), re.I):
            return unit
    return None


def quantities(text: str) -> list[_Quantity]:
    """Numbers with their units, skipping dates, times, years and ordinals."""
    out: list[_Quantity] = []
    for m in _QUANTITY.finditer(text):
        num = m.group("num")
        begin = m.start("money") if m.group("money") else m.start("num")
        before = text[max(0, begin - 1) : begin]
        after = text[m.end("num") : m.end("num") + 3]
        if before in ("/", ":", "-") and not m.group("money") or after[:1] in ("/", ":") or re.match(r"(?:st|nd|rd|th)\b", after):
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
    for m in re.finditer(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b(?:\s+(" + "|".join(u for u, _ in _UNITS) + r"))?", text, re.I):
        word = m.group(1).lower()
        if word in ("one",) and not m.group(2):
            continue
        out.append(_Quantity(float(_NUMBER_WORDS[word]), _unit_of(m.group(2), False), m.start(), m.end(), m.group(0)))
    return sorted(out, key=lambda q: q.start)


_FILLER = re.compile(
    r"^(?:and|but|so|the|our|their|we|they|she|he|i|to|in|of|on|at|by|a|an|about|avg|average|roughly|around|~|is|are|was|"
    r"were|goal we wrote on the order form|goal|target|want\w*|with|for|from)\b\s*",
    re.I,
)


def _metric_name(sentence: str, first: _Quantity, label: str | None) -> str:
    if label:
        return label
    prefix = sentence[: first.start]
    clauses = [c for c in re.split(r"[:;(,]|\bwhich\b|\bwhere\b|\bwants?\b|\btarget\b|\bgoal\b", prefix)]
    words: list[str] = []
    for clause in reversed(clauses):
        clause = re.sub(r"^.*?\b(?:cares? (?:most )?about|focused on|worried about|talked about|is about)\s+", "", clause)
        words = re.findall(r"[A-Za-z][\w'/-]*", clause)
        while words and _FILLER.match(words[0] + " "):
            words.pop(0)
        while words and words[-1].lower() in {"is", "are", "was", "were", "sits", "runs", "run", "at", "currently", "today"}:
            words.pop()
        if words:
            break
    stop = {"is", "are", "was", "were", "be", "and", "avg", "average", "about", "roughly", "around", "in", "at", "to", "under", "from", "of", "it", "by", "takes", "hit"}
    while words and words[-1].lower() in stop:
        words.pop()
    name = " ".join(words[-7:])
    if len(words) == 1 and first.unit in ("days", "business days", "hours", "minutes", "weeks") and not words[0].isupper():
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


def _by_day(text: str, start: dt.date, category: str) -> tuple[int, str | None]:
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
    for horizon in ("year one", "first year", "this year", "by june", "before summer", "end of q2", "next year", "by end of"):
        if horizon in lowered:
            return 90, horizon
    return (60 if category == "adoption" else 90), None


def extract_metric(sentence: Sentence, start: dt.date, source: str, provenance: str = "notes") -> MetricFact | None:
    """A target (with its baseline when stated) in one sentence, or None."""
    text = sentence.text
    qs = [q for q in quantities(text) if number_appears(q.value, source) or q.text and appears_in(q.text, source)]
    explicit = re.search(r"\b(?:target|goal|want|wants|i'd take)\b", text, re.I)
    if re.search(r"\bguess\w*|not a committed|no number|maybe\b", text, re.I):
        return None  # the notes say this number is not a target
    if not qs or sentence.kind == "header" or (_NOT_A_METRIC.search(text) or _RISK.search(text)) and not explicit:
        return None
    label = None
    if m := re.match(r"^([A-Z][\w' /-]{2,40}?)[.:]\s", sentence.line):
        if len(m.group(1).split()) <= 5 and not any(ch.isdigit() for ch in m.group(1)):
            label = m.group(1)
    # "six to eight weeks", "3-4 weeks": a range is an estimate, not a target.
    qs = [
        q for i, q in enumerate(qs)
        if not (i + 1 < len(qs) and re.fullmatch(r"\s*(?:to|-|–)\s*", text[q.end : qs[i + 1].start]) and "from" not in text[max(0, q.start - 6) : q.start])
        and not (i > 0 and re.fullmatch(r"\s*(?:to|-|–)\s*", text[qs[i - 1].end : q.start]) and "from" not in text[max(0, qs[i - 1].start - 6) : qs[i - 1].start])
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
        if _RELATIVE.search(before) and q.unit == "%":
            target, relative = q, True
            break
        if re.search(r"\bfrom\s*$", before) and i + 1 < len(qs):
            baseline, target = q, qs[i + 1]
            break
        if _BASELINE_CUE.search(after) or _BASELINE_CUE.search(before[-14:]) and i < len(qs) - 1 or re.search(r"last year|last month|last quarter", after):
            baseline = baseline or q
            continue
        if _TARGET_CUE.search(before[-16:]) or re.search(r"\bor (?:lower|less|better|more)\b", after) or goal_said and target is None:
            target = q
            if re.search(r"->|→|\bwant", before):
                break
    headline = re.match(r"^[^.]{3,60}?\b(\d[\d,.]*)\s?\S*(?:\s\S+)?\.(?:\s|$)", text)
    if (
        headline
        and (sentence.kind == "bullet" or sentence.heading.startswith(_GOAL_HEADINGS))
        and qs[0].start == headline.start(1)
        and qs[0].unit
        and len(text[: qs[0].end].split()) <= 8
    ):
        # "Close in 6 business days. We are at 11 today." — the headline number is the goal.
        target = qs[0]
    if goal_said and target is not None and not relative:
        later = [q for q in qs if q.start > target.start and q.unit == target.unit and q.unit is not None]
        if later and re.search(r"\b(?:to|goal|target|want\w*|get|reach|by)\b", text[target.end : later[-1].start], re.I):
            baseline, target = target, later[-1]
    if target is None:
        return None
    if baseline is target:
        baseline = None
    unit = target.unit or (baseline.unit if baseline else None) or next((q.unit for q in qs if q.unit and q.unit != "USD"), None)
    if relative:
        unit = "% reduction" if re.search(r"down|cut|reduc|lower", text[max(0, target.start - 28) : target.start], re.I) else "% increase"
    if unit is None:
        return None
    if baseline is not None and baseline.unit not in (None, unit):
        baseline = None
    name = _metric_name(text, qs[0], label)
    if not name:
        return None
    category = categorize(text)
    by_day, beyond = _by_day(text, start, category)
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


_ORG_NAME = re.compile(
    r"\b(?:[A-Z][\w&'.-]*\s+){1,4}(?:" + "|".join(sorted((w.capitalize() for w in ORG_WORDS), key=len, reverse=True)) + r")\b"
)


def _company(handoff: HandoffInput) -> str | None:
    if handoff.context.company:
        return handoff.context.company
    for pattern in (
        r"^(?:Account Name|Account|Customer|Company|Client|Organi[sz]ation)\s*:\s*(?P<v>[^\n|]+)",
        r"^#+\s*(?:Handoff(?: call)?:?\s*)?(?P<v>[A-Z][\w&.' ]+?)\s*(?:\s[-/|–]|handoff)",
    ):
        if m := re.search(pattern, handoff.notes, re.I | re.M):
            value = m.group("v").strip(" *")
            if not re.fullmatch(r"(?i)internal|notes|handoff|summary|minutes|meeting.*", value):
                return value
    # Otherwise the organisation named most often: "Westfield Credit Union", "Ironbark Builders".
    counts: dict[str, int] = {}
    for m in _ORG_NAME.finditer(handoff.notes):
        name = re.sub(r"^(?:The|At|For|From|With|And)\s+", "", m.group(0)).strip()
        if len(name.split()) >= 2 and name.split()[0].lower() not in ORG_WORDS:
            counts[name] = counts.get(name, 0) + 1
    if counts:
        return max(counts, key=lambda k: (counts[k], -handoff.notes.find(k)))
    return None


def _product(handoff: HandoffInput) -> str | None:
    if handoff.context.product_tier:
        return handoff.context.product_tier
    if m := re.search(r"^(?:Products?|Product/Tier|Plan|Tier|Package)\s*:\s*(?P<v>[^\n;]+)", handoff.notes, re.I | re.M):
        return m.group("v").strip()
    if m := re.search(r"^#+\s*(?:Handoff(?: call)?:?\s*)?[A-Z][\w&.' ]+?\s+/\s+(?P<v>[A-Z][\w&.+ -]+?)(?:\s*\(|$)", handoff.notes, re.M):
        return m.group("v").strip()
    return None


def _tools(sents: list[Sentence], source: str) -> list[Tool]:
    found: dict[str, Tool] = {}
    for s in sents:
        names = [t for t in KNOWN_TOOLS if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", s.text)]
        names += [
            m.group(1) for m in _TOOL_SUFFIX.finditer(s.text)
            if m.group(1).split()[0].lower() not in ("the", "our", "their", "this", "that", "standard")
            and _capitalised_mid_sentence(m.group(1), source)
        ]
        for name in names:
            # "SAP" inside "SAP S/4HANA", "Teams" inside "Microsoft Teams": keep the longest.
            if any(name != other and name in other for other in names) or not appears_in(name, source):
                continue
            key = name.lower()
            lowered = s.text.lower()
            before = s.text[: s.text.find(name)]
            if s.heading.startswith("competitor") or re.match(r"^competitors?\s*:", s.line, re.I) or _COMPETITOR.search(before[-25:]):
                status = "competitor"
            elif _REPLACED.search(before[-40:]) or re.search(rf"{re.escape(name.lower())} (?:contract|expires|ends)", lowered):
                status = "replaced"
            elif _LATER.search(s.text):
                status = "later"
            else:
                status = "core"
            if key not in found or found[key].status == "core" and status in ("replaced", "competitor"):
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
        if re.search(r"\bclosed\b|out of office|holiday", lowered) and not re.search(r"freeze|frozen|through|until", lowered):
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
            for mention, offset in zip(mentions, offsets, strict=True):
                if 1 <= offset <= 120:
                    deadlines.append(Deadline(s.text, offset, s.text))
                    break
    return windows, deadlines


_UNKNOWN_CUES = (
    (r"\bno (?:number|target|baseline)\b|didn't give a number|never got a number|no baseline|not a committed target|nobody defined", "a number for a goal"),
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
        p for p in finder.result()
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
                fact = MetricFact(_metric_name(criterion, q, None) or criterion[:40], q.value, q.unit, None,
                                  _by_day(criterion, start, categorize(criterion))[0], criterion, "context")
        if fact is not None:
            metrics.append(fact)
    for s in parts:
        if _PROMISE.search(s.text) or s.text.rstrip().endswith("?"):
            continue
        fact = extract_metric(s, start, source)
        if fact is None:
            continue
        twin = next((m for m in metrics if m.target == fact.target and m.unit == fact.unit or m.name.lower() == fact.name.lower()), None)
        if twin is None:
            metrics.append(fact)
        elif twin.baseline is None and fact.baseline is not None:
            twin.baseline = fact.baseline
    goals = _goals(parts, people, metrics, source)
    promises = _unique(
        _cue_text(s, _PROMISE, parts) for s in parts
        if s.kind != "header" and not s.text.rstrip().endswith("?")
        and (_PROMISE.search(s.text) or s.heading.startswith(("sales promise", "promise")))
    )
    constraints = _unique(
        s.text for s in parts
        if (_CONSTRAINT.search(s.text) or s.heading.startswith(("timing", "constraint"))) and s.text not in promises
    )
    risks = _unique(
        _cue_text(s, _RISK, parts) for s in parts
        if (_RISK.search(s.text) or s.heading.startswith("risk")) and s.text not in promises
        and s.kind not in ("header", "field") and not s.text.rstrip().endswith("?")
    )
    windows, deadlines = _windows_and_deadlines(sents, start)
    tools = _tools(parts, source)
    # Keep "Shopify Plus" over "Shopify", "SAP S/4HANA" over "SAP", "Microsoft Teams" over "Teams".
    tools = [t for t in tools if not any(t.name != o.name and t.name in o.name and o.status == t.status for o in tools)]

    unknowns: list[str] = []
    for pattern, what in _UNKNOWN_CUES:
        for s in sents:
            if re.search(pattern, s.text, re.I):
                unknowns.append(f"{what}|{s.text}")
    questions = _unique(
        s.text for s in sents
        if s.kind not in ("header", "quoted", "speech")
        and (s.text.rstrip().endswith("?") and len(s.text.split()) >= 3
             or re.search(r"\bask (?:what|who|when|whether|if|about)\b|\bneed to confirm\b|\btbd\b|\?\)", s.text, re.I))
    )
    money = _unique(m.group(0) for m in re.finditer(r"\$\s?\d[\d,.]*\s?(?:[KkMm]\b|million)?(?:\s+ARR)?", notes))
    competitors = [t.name for t in tools if t.status == "competitor"]
    return Facts(
        company=company,
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


_GOAL_CUE = re.compile(r"\b(?:want|wants|need|needs|goal|success looks like|non-negotiable|must-have|the whole problem|why they bought)\b", re.I)
_RANK = {"executive_sponsor": 0, "project_lead": 1, "champion": 2}


def _goals(parts: list[Sentence], people: list[Person], metrics: list[MetricFact], source: str) -> list[GoalFact]:
    """The customer's goals: their quoted words, goal-like lines, and every metric's line, one per category."""
    by_name = {p.name: p for p in people}
    candidates: list[tuple[int, GoalFact]] = []
    for metric in metrics:
        candidates.append((0, GoalFact(categorize(metric.quote + " " + metric.name), metric.quote, None, metric)))
    for part in parts:
        if part.kind == "header" or _PROMISE.search(part.text) or part.text.rstrip().endswith("?"):
            continue
        speaker = _speaker(part, people)
        if speaker is not None and by_name[speaker].side == "vendor":
            speaker = None
        for m in _QUOTE.finditer(part.text):
            quote = m.group("q").strip()
            said_by_vendor = _speaker(Sentence(part.text[: m.start()], part.text[: m.start()], 0, ""), people)
            if said_by_vendor and by_name[said_by_vendor].side == "vendor" and not re.search(r"\b(?:she|he|they) said|their words|told me", part.text[: m.start()], re.I):
                continue
            if len(quote.split()) >= 5 and appears_in(quote, source):
                rank = 1 + _RANK.get(by_name[speaker].role, 3) if speaker else 5
                candidates.append((rank, GoalFact(categorize(quote + " " + part.text), quote, speaker)))
        if (part.heading.startswith(_GOAL_HEADINGS) or _GOAL_CUE.search(part.text)) and part.kind != "field":
            if (
                not _QUOTE.search(part.text)
                and len(part.text.split()) >= 5
                and not _RISK.search(part.text)
                and not _CONSTRAINT.search(part.text)
                and not _NOT_A_METRIC.search(part.text)
                and not (part.author and by_name.get(part.author) and by_name[part.author].side == "vendor" and re.match(r"(?i)(?:we|i|our)\b", part.text))
            ):
                candidates.append((6, GoalFact(categorize(part.text), part.text, speaker)))
    chosen: list[GoalFact] = []
    for _, goal in sorted(candidates, key=lambda c: c[0]):
        same = next((g for g in chosen if g.category == goal.category), None)
        if same is None:
            chosen.append(goal)
        elif same.metric is None and goal.metric is not None:
            same.metric = goal.metric
    return chosen[:6]


def _speaker(sentence: Sentence, people: list[Person]) -> str | None:
    """Who says a sentence: a name just before its quote or at its start, else the e-mail author or speaker."""
    text = sentence.text
    quote_at = next((i for i, ch in enumerate(text) if ch in "\"“"), -1)
    window = text[max(0, quote_at - 45) : quote_at] if quote_at != -1 else text[:30]
    best: tuple[int, str] | None = None
    for person in people:
        for name in (person.name.replace("Dr. ", ""), person.first_name, person.name.split()[-1]):
            pos = window.rfind(name)
            if pos != -1 and (best is None or pos > best[0]):
                best = (pos, person.name)
    if best:
        return best[1]
    if sentence.author:
        for person in people:
            if person.name.replace("Dr. ", "") == sentence.author.replace("Dr. ", "") or person.name == sentence.author:
                return person.name
    return None


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
