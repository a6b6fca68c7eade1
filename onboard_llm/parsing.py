"""From a model's raw answer to a validated plan draft, or to errors a model can fix.

The steps: find the JSON (code fences, prose around it), load it (repairing
what json-repair can: trailing commas, single quotes, comments, Python
literals, truncation; curly quotes are straightened first), normalise what is
unambiguous (camelCase keys, "31-60" where a day is expected, "85%" where a
number is, "High" where "high" is), drop keys the contract does not know, then
validate the schema and the domain rules. A repair that changes what was
written leaves a warning.
Nothing here calls a provider.
"""

from __future__ import annotations

import functools
import json
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import json_repair
from pydantic import BaseModel, ValidationError

from onboard_llm.rules import Violation, check_plan
from onboard_llm.schema import PlanDraft, _enum_token

Stage = Literal["ok", "no_json", "schema", "domain"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n(.*?)(?:```|\Z)", re.DOTALL)
_RANGE = re.compile(r"^\s*(?:days?\s*)?(\d+)\s*(?:-|–|—|to|through|\.\.)\s*(?:days?\s*)?(\d+)\s*$", re.IGNORECASE)
_NUMBER_TEXT = re.compile(
    r"^\s*(?P<day>days?\s+)?(?P<cur>[$€£])?\s*[~≈]?\s*(?P<num>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)"
    r"\s*(?P<unit>[^\d]*?)\s*$",
    re.IGNORECASE,
)
# Scales read without a currency sign: "m" alone could be minutes or metres, so it needs "$2.4M".
_SCALES = {"k": 1e3, "thousand": 1e3, "million": 1e6, "mn": 1e6, "bn": 1e9, "billion": 1e9}
_CURRENCY_SCALES = {**_SCALES, "m": 1e6, "mm": 1e6, "b": 1e9}
_DAY_UNITS = frozenset({"", "d", "day", "days"})
_MINUTE_UNITS = frozenset({"", "m", "min", "mins", "minute", "minutes"})
_WEEK_UNITS = frozenset({"w", "wk", "wks", "week", "weeks"})
_HOUR_UNITS = frozenset({"h", "hr", "hrs", "hour", "hours"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_CURLY_KEY = re.compile(r"[{,]\s*\u201c[^\u201d\n]*\u201d\s*:")
_CURLY_OPEN = re.compile(r"(?<=[{\[,:])(\s*)\u201c")
_CURLY_CLOSE = re.compile(r"\u201d(?=\s*[,:}\]])")
_WRAPPERS = ("plan", "plan_draft", "onboarding_plan", "data", "result", "output")
_START_FIELDS = frozenset({"start_day"})


@dataclass
class ParseResult:
    """The outcome of parsing one answer."""

    stage: Stage
    draft: PlanDraft | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data: Any = None
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stage == "ok"


# -- finding and loading JSON -------------------------------------------------


def _balanced_object(text: str, start: int) -> str:
    """The object starting at ``start``; up to the end of text when it never closes."""
    depth = 0
    in_string = False
    quote = ""
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                in_string = False
        elif ch in "\"'":
            # Single-quoted strings count only where a model wrote pseudo-JSON.
            if ch == '"' or (i > 0 and text[i - 1] in "{[,: \n\t"):
                in_string, quote = True, ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return text[start:]


def _objects(chunk: str) -> list[str]:
    """Every top-level ``{...}`` in a chunk of text, in order; the last may run to the end."""
    found: list[str] = []
    start = chunk.find("{")
    while start != -1:
        obj = _balanced_object(chunk, start)
        found.append(obj)
        start = chunk.find("{", start + len(obj))
    return found


def _clean_object(text: str) -> dict[str, Any] | None:
    """The answer as an object when it is nothing but valid JSON (the usual case under structured output)."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        data = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def extract_json_text(text: str) -> str | None:
    """The JSON object inside an answer: in a code fence, in prose, or the whole text.

    Code fences win over bare prose; among several objects the longest is the
    plan, so an example snippet or a ``{placeholder}`` in the prose around it
    is not mistaken for the answer.
    """
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}") and "```" not in stripped:
        # The usual answer under structured output: the whole text is the object. When it parses,
        # there is nothing to search for (and a character-by-character scan of 30 KB is skipped).
        try:
            json.loads(stripped)
        except (json.JSONDecodeError, RecursionError):
            pass
        else:
            return stripped
    fenced: list[str] = []
    for match in _FENCE.finditer(text):
        fenced += _objects(match.group(2))
    candidates = fenced or _objects(text)
    return max(candidates, key=len) if candidates else None


def _straighten_quotes(text: str) -> str | None:
    """The text with curly quotes used as JSON delimiters made straight, or None when there are none.

    json-repair reads “key”: “a, b” as the string "a" followed by junk, losing
    the rest silently, so delimiters are fixed first; curly quotes inside a
    string ("he said “hi” twice") are not next to JSON punctuation and stay.
    """
    if not _CURLY_KEY.search(text):
        return None
    text = _CURLY_OPEN.sub(r'\1"', text)
    return _CURLY_CLOSE.sub('"', text)


def load_json(text: str) -> tuple[Any, list[str]]:
    """Parse JSON, falling back to json-repair; returns the object and the repairs made."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        first_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, ["the JSON is nested too deeply to read; reply with the plan as one JSON object"]
    notes: list[str] = []
    straight = _straighten_quotes(text)
    if straight is not None:
        notes.append("replaced curly quotes around keys and strings with straight ones")
        text = straight
        try:
            return json.loads(text), notes
        except (json.JSONDecodeError, RecursionError):
            pass
    try:
        repaired = json_repair.loads(text)
    except (RecursionError, ValueError):  # json-repair is best effort; a crash here is just "unreadable"
        repaired = None
    if repaired in ("", None) or not isinstance(repaired, dict | list):
        return None, [f"not valid JSON ({first_error}) and not repairable"]
    note = f"repaired malformed JSON ({first_error})"
    if not text.rstrip().endswith("}"):
        note += "; the answer looked cut off, so missing brackets were closed"
    return repaired, [*notes, note]


# -- normalising against the contract -----------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional to the type that matters."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _list_item(annotation: Any) -> Any | None:
    origin = typing.get_origin(annotation)
    if origin in (list, Sequence, typing.Sequence, tuple):
        args = typing.get_args(annotation)
        return _unwrap(args[0]) if args else None
    return None


def _coerce_number(value: Any, *, integer: bool, prefer_first: bool, path: str, warnings: list[str]) -> Any:
    """A number written as text, read only where the reading is unambiguous; otherwise ``value`` unchanged.

    A day field takes "Day 30", "30 days" or a range ("31-60": the first number
    for a start, the last otherwise); "Week 5" is left for the schema to reject,
    since the day it means is a guess. Minutes take "45 min". Other numbers take
    a unit ("85%", "12 minutes") and a scale ("1.2k", "$2.4M").
    """
    if not isinstance(value, str):
        if integer and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    field_name = path.rsplit(".", 1)[-1]
    is_day = field_name == "day" or field_name.endswith("_day")
    match = _RANGE.match(value)
    if match and integer and is_day:
        low, high = int(match.group(1)), int(match.group(2))
        chosen = low if prefer_first else high
        warnings.append(f"{path}: read the range '{value}' as {chosen}")
        return chosen
    match = _NUMBER_TEXT.match(value)
    if not match:
        return value
    number = float(match.group("num").replace(",", ""))
    unit = match.group("unit").strip().rstrip(".").lower()
    if match.group("day") and not is_day:
        return value
    if integer:
        if is_day:
            allowed = unit in _DAY_UNITS
        elif field_name.endswith("_days"):
            # "every 1 week" is 7 days; a week is exact where a duration, not a day offset, is meant.
            if unit in _WEEK_UNITS:
                number *= 7
            allowed = unit in _DAY_UNITS | _WEEK_UNITS
        elif field_name.endswith("minutes"):
            if unit in _HOUR_UNITS:
                number *= 60
            allowed = unit in _MINUTE_UNITS | _HOUR_UNITS
        else:
            allowed = unit == ""
        if not allowed or match.group("cur") or not number.is_integer():
            return value
    else:
        scales = _CURRENCY_SCALES if match.group("cur") else _SCALES
        if unit in scales:
            number *= scales[unit]
        elif unit in ("m", "b"):
            return value  # "2.4m" without a currency: millions, minutes or metres?
    if value.strip() != match.group("num"):
        warnings.append(f"{path}: read '{value}' as {number:.12g}")
    return int(number) if integer else number


def _snake(key: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", _CAMEL.sub("_", key.strip()))
    return "_".join(w for w in words if w).lower()


@functools.cache
def _field_shapes(model: type[BaseModel]) -> dict[str, tuple[Any, Any, bool, tuple[Any, ...] | None, bool, bool]]:
    """Per field, computed once per model: the unwrapped annotation, the list item type, whether it is
    required, the allowed literals (None when not a Literal), and whether it is a model or a list of models."""
    shapes = {}
    for name, info in model.model_fields.items():
        annotation = _unwrap(info.annotation)
        item = _list_item(annotation)
        literals = typing.get_args(annotation) if typing.get_origin(annotation) is Literal else None
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        is_model_list = isinstance(item, type) and issubclass(item, BaseModel)
        shapes[name] = (annotation, item, info.is_required(), literals, is_model, is_model_list)
    return shapes


def normalize(data: Any, model: type[BaseModel], path: str, warnings: list[str]) -> Any:
    """Repair an object towards ``model``: keys, numbers, ranges; unknown keys dropped."""
    if not isinstance(data, dict):
        return data
    fields = _field_shapes(model)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key if key in fields else _snake(str(key))
        if name not in fields:
            warnings.append(f"{path}{key}: dropped a key the plan schema does not have")
            continue
        if name != key:
            warnings.append(f"{path}{key}: renamed to {name}")
        annotation, item, required, literals, is_model, is_model_list = fields[name]
        where = f"{path}{name}"
        if value is None and item is not None and not required:
            # "weekly_plan": null means "nothing here", which the contract writes as [].
            warnings.append(f"{where}: read null as an empty list")
            continue
        if is_model:
            value = normalize(value, annotation, f"{where}.", warnings)
        elif item is not None and isinstance(value, list):
            if is_model_list:
                value = [normalize(v, item, f"{where}[{i}].", warnings) for i, v in enumerate(value)]
            elif item is str:
                value = [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
        elif item is not None and isinstance(value, str) and item is str:
            # A list of strings sometimes arrives as one comma-separated string.
            value = [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
            warnings.append(f"{where}: split a string into a list")
        elif literals is not None and isinstance(value, str):
            # "High" or "Executive Sponsor": the schema would accept these silently; say so.
            token = _enum_token(value)
            if token != value and token in literals:
                warnings.append(f"{where}: read '{value}' as '{token}'")
                value = token
        elif annotation is int or annotation is float:
            value = _coerce_number(
                value, integer=annotation is int, prefer_first=name in _START_FIELDS, path=where, warnings=warnings
            )
        out[name] = value
    return out


def _unwrap_envelope(data: Any, warnings: list[str]) -> Any:
    if isinstance(data, list) and len(data) >= 1 and isinstance(data[0], dict):
        warnings.append("took the first object of a JSON array")
        data = data[0]
    # {"plan": {...}}, also with a model's metadata beside it ({"plan": {...}, "notes": "..."}),
    # but never when the object already holds plan sections.
    for _ in range(3):
        if not isinstance(data, dict) or any(_snake(str(k)) in PlanDraft.model_fields for k in data):
            break
        wrapped = [(k, v) for k, v in data.items() if _snake(str(k)) in _WRAPPERS and isinstance(v, dict)]
        if len(wrapped) != 1:
            break
        key, inner = wrapped[0]
        warnings.append(f"unwrapped the plan from a '{key}' envelope")
        others = [str(k) for k in data if k != key]
        if others:
            warnings.append(f"ignored {', '.join(others)} beside the plan envelope")
        data = inner
    return data


def format_validation_errors(exc: ValidationError, limit: int = 40) -> list[str]:
    """Pydantic errors as ``path: problem`` lines a model can act on."""
    lines = []
    for err in exc.errors()[:limit]:
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        given = err.get("input")
        shown = ""
        if err["type"] not in ("missing",) and not isinstance(given, dict | list):
            shown = f" (got {json.dumps(given, default=str)[:60]})"
        lines.append(f"{loc or '(top level)'}: {err['msg']}{shown}")
    extra = len(exc.errors()) - limit
    if extra > 0:
        lines.append(f"... and {extra} more errors")
    return lines


def parse_plan(text: str, *, source_text: str | None = None, generated: bool = True) -> ParseResult:
    """Parse, repair and validate one answer into a :class:`PlanDraft`."""
    data: Any = _clean_object(text)
    warnings: list[str] = []
    if data is None:
        candidate = extract_json_text(text)
        if candidate is None:
            return ParseResult(
                stage="no_json", errors=["the answer contains no JSON object; reply with the plan as one JSON object"]
            )
        data, warnings = load_json(candidate)
        if data is None:
            return ParseResult(stage="no_json", errors=warnings, warnings=[])
    data = _unwrap_envelope(data, warnings)
    if not isinstance(data, dict):
        return ParseResult(
            stage="no_json", errors=[f"expected a JSON object, got {type(data).__name__}"], warnings=warnings
        )
    data = normalize(data, PlanDraft, "", warnings)
    try:
        draft = PlanDraft.model_validate(data)
    except ValidationError as exc:
        return ParseResult(stage="schema", errors=format_validation_errors(exc), warnings=warnings, data=data)
    violations = check_plan(draft, generated=generated, source_text=source_text)
    if violations:
        return ParseResult(
            stage="domain",
            draft=draft,
            errors=[str(v) for v in violations],
            warnings=warnings,
            data=data,
            violations=violations,
        )
    return ParseResult(stage="ok", draft=draft, warnings=warnings, data=data)


def reask_message(result: ParseResult) -> str:
    """The follow-up message asking the model to fix exactly what was wrong."""
    kind = {
        "no_json": "could not be read as JSON",
        "schema": "does not match the plan_draft schema",
        "domain": "breaks the plan's rules",
    }.get(result.stage, "is not valid")
    lines = "\n".join(f"- {e}" for e in result.errors)
    return (
        f"Your previous answer {kind}. Fix every problem below and reply with the complete, corrected "
        f"plan as one JSON object, nothing else.\n{lines}"
    )
