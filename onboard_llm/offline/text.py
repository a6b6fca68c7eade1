"""Reading handoff notes as lines and sentences, keeping every span verbatim.

The offline planner quotes the notes; a quote must be a substring of the
notes (modulo case and spacing), so sentences are cut from the cleaned line
without rewriting anything inside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onboard_llm.dates import DateMention, find_dates

_LINE_PREFIX = re.compile(r"^\s*(?:>\s*)*(?:[-*•]\s+|\d+[.)]\s+|#+\s+)?(?:\*\*\[[^\]]*\]\s*[^*:]{1,40}:\*\*\s*)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”')]?\s+(?=[\"“(]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Sr|Jr|St|vs|etc|e\.g|i\.e|approx|incl|Inc|Co|Ltd|No)\.$")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the notes with the line it came from."""

    text: str
    line: str
    line_no: int
    heading: str  # the closest heading or label above it, lower-case
    kind: str = "text"  # text, bullet, quoted (an older e-mail), speech (a transcript turn), header, field
    author: str = ""  # who wrote this part of an e-mail thread, when known


def clean_line(line: str) -> str:
    """A line without quote markers, bullets, heading hashes or a bold speaker label."""
    return _LINE_PREFIX.sub("", line).strip()


def split_sentences(line: str) -> list[str]:
    """Split a line into sentences without breaking on common abbreviations."""
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        head = line[start : match.start()].rstrip()
        if _ABBREV.search(head):
            continue
        parts.append(line[start : match.start()].strip())
        start = match.end()
    parts.append(line[start:].strip())
    return [p for p in parts if p]


_HEADER = re.compile(r"^\s*(?:>\s*)*(?:From|To|Cc|Bcc|Date|Sent|Subject)\s*:", re.IGNORECASE)
_AUTHOR = re.compile(
    r"^\s*(?:>\s*)*(?:From:\s*|On [^,]*,[^,]*?,?\s*|On .*? (?=[A-Z][a-z]+ [A-Z]))?"
    r"(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z'-]+)+)\s*<[^>]+>(?:\s*wrote:)?"
)


def _kind(raw: str) -> str:
    if _HEADER.match(raw):
        return "header"
    if raw.lstrip().startswith(">"):
        return "quoted"
    if re.match(r"^\s*(?:\*\*)?\[\d{1,2}:\d\d", raw) or re.match(r"^\s*[A-Z][a-z]+(?: [A-Z][a-z]+)?:\s", raw):
        return "speech" if re.match(r"^\s*(?:\*\*)?\[", raw) else "field"
    if re.match(r"^\s*(?:[-*•]|\d+[.)])\s", raw):
        return "bullet"
    return "text"


def sentences(notes: str) -> list[Sentence]:
    """Every sentence of the notes, tagged with the heading above it."""
    out: list[Sentence] = []
    heading = ""
    author = ""
    for no, raw in enumerate(notes.splitlines()):
        stripped = raw.strip()
        if not stripped or set(stripped) <= set("-=_*#>"):
            continue
        if (m := _AUTHOR.match(raw)) and (re.match(r"^\s*(?:>\s*)*(?:From:|On )", raw)):
            author = m.group("name")
        kind = _kind(raw)
        if kind == "speech" and (m := re.search(r"\]\s*(?P<name>[A-Z][\w.' -]{1,40}?):", raw)):
            author = m.group("name")
        elif (
            kind not in ("quoted", "header")
            and not re.match(r"^\s*(?:>\s*)*(?:From:|On )", raw)
            and author
            and _kind(raw) == "speech"
        ):
            author = ""
        line = clean_line(raw)
        is_heading = bool(
            re.match(r"^\s*#+\s", raw)
            or re.fullmatch(r"\*\*[^*]+\*\*:?", stripped)
            or (line.endswith(":") and len(line.split()) <= 6)
            or (line.isupper() and len(line.split()) <= 6)
        )
        if is_heading:
            heading = line.strip("*: ").lower()
            continue
        line = line.replace("**", "")
        for text in split_sentences(line):
            out.append(Sentence(text=text, line=line, line_no=no, heading=heading, kind=kind, author=author))
    return out


def units(notes: str, max_len: int = 280) -> list[Sentence]:
    """Natural units of meaning: a whole bullet or short line, or the sentences of a long paragraph line."""
    out: list[Sentence] = []
    by_line: dict[int, list[Sentence]] = {}
    for s in sentences(notes):
        by_line.setdefault(s.line_no, []).append(s)
    for group in by_line.values():
        line = group[0].line
        if len(line) <= max_len:
            first = group[0]
            out.append(Sentence(line, line, first.line_no, first.heading, first.kind, first.author))
        else:
            out.extend(group)
    return out


__all__ = ["DateMention", "Sentence", "clean_line", "find_dates", "sentences", "split_sentences", "units"]
