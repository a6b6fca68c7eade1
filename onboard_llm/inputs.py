"""What the CSM provides: the pasted notes and the onboarding context.

Context comes from three places, merged in this order (later wins): YAML front
matter at the top of the notes, a ``--context`` file, then explicit values
(CLI flags or library arguments).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from onboard_llm.calendar import BusinessCalendar, default_start_date
from onboard_llm.dates import start_date_in
from onboard_llm.errors import BadInputError
from onboard_llm.schema import _enum_token

#: Handoff notes are a page or two; anything past this is almost surely the
#: wrong file, and would blow a model's context window anyway.
MAX_NOTES_BYTES = 100_000


# libyaml's parser when PyYAML was built with it (the wheels are): several times faster on a suite of
# a thousand cases. The constructors, which decide what a document may create, are the safe ones either way.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe loader whose impossible dates (2026-02-30) are YAML errors with a line, not a ValueError."""


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a real date ({exc}); use YYYY-MM-DD", node.start_mark
        ) from None


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def load_yaml(text: str) -> Any:
    """Parse YAML safely (no arbitrary objects); an impossible date is a ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_YamlLoader)


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class OnboardingContext(BaseModel):
    """The seed's onboarding-context fields; every one may be left out."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company: str | None = None
    industry: str | None = None
    size: str | None = None
    product_tier: str | None = None
    implementation_complexity: Annotated[Literal["low", "medium", "high"] | None, BeforeValidator(_enum_token)] = None
    start_date: dt.date | None = None
    success_criteria: list[str] = []
    csm: str | None = None

    @field_validator("size", mode="before")
    @classmethod
    def _size_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("success_criteria", mode="before")
    @classmethod
    def _criteria_as_list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    def merged(self, override: OnboardingContext) -> OnboardingContext:
        """A copy where every field the override sets wins."""
        data = self.model_dump()
        data.update(override.model_dump(exclude_unset=True, exclude_none=True))
        return OnboardingContext.model_validate(data)

    def as_text(self) -> str:
        """The context as ``key: value`` lines, for prompts and grounding checks."""
        lines = []
        for key, value in self.model_dump(exclude_none=True).items():
            if value in ([], ""):
                continue
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            # One line per field: a value must not be able to start a line of
            # its own in the prompt (context is rendered outside the notes block).
            lines.append(f"{key}: {' '.join(str(value).split())}")
        return "\n".join(lines)


class HandoffInput(BaseModel):
    """The notes plus their context, ready to render into a prompt."""

    model_config = ConfigDict(frozen=True)

    notes: str
    context: OnboardingContext
    #: True when the start date was not given and defaults to the next business day.
    start_date_assumed: bool = False
    #: The words of the notes the start date was read from, when it came from there.
    start_date_from_notes: str | None = None

    @property
    def start_date(self) -> dt.date:
        """The plan's day 1 (always set once built by :func:`build_handoff`)."""
        if self.context.start_date is None:
            raise BadInputError("the handoff has no start date")
        return self.context.start_date

    @property
    def source_text(self) -> str:
        """Everything the plan may draw facts from: the notes and the context."""
        return f"{self.notes}\n\n{self.context.as_text()}"


def decode_notes(data: bytes, origin: str) -> str:
    """Bytes read from a file or stdin as notes text, or a one-line BadInputError."""
    if len(data) > MAX_NOTES_BYTES:
        raise BadInputError(f"{origin} is {len(data):,} bytes; handoff notes are limited to {MAX_NOTES_BYTES:,} bytes")
    if b"\x00" in data:
        raise BadInputError(f"{origin} looks like a binary file, not handoff notes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{origin} is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise BadInputError(f"{origin} is empty; paste the handoff notes")
    return text


def split_front_matter(text: str, origin: str = "notes") -> tuple[dict[str, Any], str]:
    """Split YAML front matter (between ``---`` lines) from the notes body."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = load_yaml(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise BadInputError(f"{origin}: front matter is not valid YAML ({_yaml_where(exc)})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{origin}: front matter must be YAML key: value pairs")
    return data, text[match.end() :]


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "syntax error"
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


def parse_context(data: dict[str, Any], origin: str) -> OnboardingContext:
    """Validate a context mapping, naming the file and field of every problem."""
    try:
        return OnboardingContext.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(top level)"
            if err["type"] == "extra_forbidden":
                known = ", ".join(OnboardingContext.model_fields)
                problems.append(f"unknown field '{field}' (known fields: {known})")
            elif field == "start_date":
                problems.append(f"start_date {err.get('input')!r} is not a date; use YYYY-MM-DD")
            else:
                problems.append(f"{field}: {err['msg']}")
        raise BadInputError(f"{origin}: " + "; ".join(problems)) from None


def load_context_file(path: Path) -> OnboardingContext:
    """Read a context file, YAML or JSON."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"context file {path} does not exist") from None
    except OSError as exc:
        raise BadInputError(f"cannot read context file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(f"context file {path} is not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"context file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"context file {path} is not valid YAML ({_yaml_where(exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInputError(f"context file {path} must hold key: value pairs, not a {type(data).__name__}")
    return parse_context(data, f"context file {path}")


def build_handoff(
    notes: str,
    context: OnboardingContext | dict[str, Any] | None = None,
    *,
    context_file: Path | None = None,
    today: dt.date | None = None,
    calendar: BusinessCalendar | None = None,
    origin: str = "notes",
) -> HandoffInput:
    """Merge front matter, context file and explicit context; default the start date."""
    if len(notes.encode("utf-8")) > MAX_NOTES_BYTES:
        raise BadInputError(f"{origin} exceed the limit of {MAX_NOTES_BYTES:,} bytes")
    front, body = split_front_matter(notes, origin)
    if not body.strip():
        raise BadInputError(f"{origin} hold no handoff notes, only front matter")
    merged = parse_context(front, f"{origin} front matter") if front else OnboardingContext()
    if context_file is not None:
        merged = merged.merged(load_context_file(context_file))
    if context is not None:
        explicit = context if isinstance(context, OnboardingContext) else parse_context(context, "context")
        merged = merged.merged(explicit)
    from_notes = None
    if merged.start_date is None and (stated := start_date_in(body, today or dt.date.today())):
        merged = merged.model_copy(update={"start_date": stated[0]})
        from_notes = stated[1]
    assumed = merged.start_date is None
    if assumed:
        merged = merged.model_copy(update={"start_date": default_start_date(today, calendar)})
    return HandoffInput(
        notes=body.strip("\n"), context=merged, start_date_assumed=assumed, start_date_from_notes=from_notes
    )
