"""The customer's goals: their quoted words, goal-like lines and the lines behind each metric."""

from __future__ import annotations

import re
from dataclasses import dataclass

from onboard_llm.grounding import appears_in
from onboard_llm.offline.metrics import NOT_A_METRIC, MetricFact
from onboard_llm.offline.people import Person
from onboard_llm.offline.text import Sentence
from onboard_llm.offline.vocab import CONSTRAINT, GOAL_HEADINGS, PROMISE, QUOTE, RISK, categorize


@dataclass
class GoalFact:
    category: str
    quote: str
    speaker: str | None
    metric: MetricFact | None = None


_GOAL_CUE = re.compile(
    r"\b(?:want|wants|need|needs|goal|success looks like|non-negotiable|must-have|the whole problem|why they bought)\b",
    re.I,
)
_RANK = {"executive_sponsor": 0, "project_lead": 1, "champion": 2}


def find_goals(parts: list[Sentence], people: list[Person], metrics: list[MetricFact], source: str) -> list[GoalFact]:
    """The customer's goals: their quoted words, goal-like lines, and every metric's line, one per category."""
    by_name = {p.name: p for p in people}
    candidates: list[tuple[int, GoalFact]] = []
    for metric in metrics:
        candidates.append((0, GoalFact(categorize(metric.quote + " " + metric.name), metric.quote, None, metric)))
    for part in parts:
        if part.kind == "header" or PROMISE.search(part.text) or part.text.rstrip().endswith("?"):
            continue
        speaker = speaker_of(part, people)
        if speaker is not None and by_name[speaker].side == "vendor":
            speaker = None
        for m in QUOTE.finditer(part.text):
            quote = m.group("q").strip()
            said_by_vendor = speaker_of(Sentence(part.text[: m.start()], part.text[: m.start()], 0, ""), people)
            if (
                said_by_vendor
                and by_name[said_by_vendor].side == "vendor"
                and not re.search(r"\b(?:she|he|they) said|their words|told me", part.text[: m.start()], re.I)
            ):
                continue
            if len(quote.split()) >= 5 and appears_in(quote, source):
                rank = 1 + _RANK.get(by_name[speaker].role, 3) if speaker else 5
                candidates.append((rank, GoalFact(categorize(quote + " " + part.text), quote, speaker)))
        goal_like = (part.heading.startswith(GOAL_HEADINGS) or _GOAL_CUE.search(part.text)) and part.kind != "field"
        if goal_like and (
            not QUOTE.search(part.text)
            and len(part.text.split()) >= 5
            and not RISK.search(part.text)
            and not CONSTRAINT.search(part.text)
            and not NOT_A_METRIC.search(part.text)
            and not (
                part.author
                and by_name.get(part.author)
                and by_name[part.author].side == "vendor"
                and re.match(r"(?i)(?:we|i|our)\b", part.text)
            )
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


def speaker_of(sentence: Sentence, people: list[Person]) -> str | None:
    """Who says a sentence: a name just before its quote or at its start, else the e-mail author or speaker."""
    text = sentence.text
    quote_at = next((i for i, ch in enumerate(text) if ch in '"“'), -1)
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
