"""Notes decoding, front matter, context files and how they merge into a handoff."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.errors import BadInputError
from onboard_llm.inputs import (
    MAX_NOTES_BYTES,
    OnboardingContext,
    build_handoff,
    decode_notes,
    load_context_file,
    parse_context,
    split_front_matter,
)

FRIDAY = dt.date(2026, 1, 2)
NEXT_MONDAY = dt.date(2026, 1, 5)


def one_line_error(exc: pytest.ExceptionInfo[BadInputError]) -> str:
    message = str(exc.value)
    assert "\n" not in message, f"error messages are printed on one line: {message!r}"
    assert exc.value.exit_code == 2
    return message


# -- decode_notes ------------------------------------------------------------------


def test_decode_notes_accepts_utf8_and_strips_a_bom() -> None:
    assert decode_notes("\ufeffCafé notes: Zoë wants SSO".encode(), "notes.md") == "Café notes: Zoë wants SSO"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04\x00\x00binary", "notes.md looks like a binary file"),
        ("notes".encode("utf-16"), "notes.md looks like a binary file"),
        (b"caf\xe9 with Acme", "notes.md is not UTF-8 text (bad byte at offset 3); save it as UTF-8"),
        (b"", "notes.md is empty"),
        (b"  \n\t\r\n ", "notes.md is empty"),
        (b"x" * (MAX_NOTES_BYTES + 1), f"handoff notes are limited to {MAX_NOTES_BYTES:,} bytes"),
    ],
)
def test_decode_notes_errors_are_one_line(data: bytes, expected: str) -> None:
    with pytest.raises(BadInputError) as info:
        decode_notes(data, "notes.md")
    assert expected in one_line_error(info)


def test_decode_notes_accepts_exactly_the_limit() -> None:
    assert len(decode_notes(b"x" * MAX_NOTES_BYTES, "stdin")) == MAX_NOTES_BYTES


# -- front matter ------------------------------------------------------------------


def test_front_matter_dates_load_as_dates() -> None:
    data, body = split_front_matter("---\ncompany: Acme\nstart_date: 2026-03-02\n---\nCall notes here.\n")
    assert data == {"company": "Acme", "start_date": dt.date(2026, 3, 2)}
    assert type(data["start_date"]) is dt.date
    assert body == "Call notes here.\n"


def test_front_matter_with_crlf_and_bom() -> None:
    data, body = split_front_matter("\ufeff---\r\ncompany: Acme\r\n---\r\nBody\r\n")
    assert data == {"company": "Acme"}
    assert body == "Body\r\n"


def test_text_without_front_matter_is_unchanged() -> None:
    text = "Call with Acme.\n---\nnot: front matter\n---\n"
    assert split_front_matter(text) == ({}, text)


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("company: [Acme\n", "notes.md: front matter is not valid YAML (line"),
        ("- just\n- a list\n", "notes.md: front matter must be YAML key: value pairs"),
        ("start_date: 2026-02-30\n", "'2026-02-30' is not a real date (day is out of range for month)"),
    ],
)
def test_bad_front_matter_is_a_one_line_error(front: str, expected: str) -> None:
    with pytest.raises(BadInputError) as info:
        split_front_matter(f"---\n{front}---\nBody\n", "notes.md")
    assert expected in one_line_error(info)


def test_front_matter_only_is_not_notes() -> None:
    with pytest.raises(BadInputError, match="hold no handoff notes, only front matter"):
        build_handoff("---\ncompany: Acme\n---\n\n", today=FRIDAY)


# -- context files -----------------------------------------------------------------


def test_context_file_yaml(tmp_path: Path) -> None:
    path = tmp_path / "ctx.yaml"
    path.write_text(
        "company: Acme\nsize: 250\nimplementation_complexity: High\nstart_date: 2026-03-02\n"
        "success_criteria: SSO live by day 30\n",
        encoding="utf-8",
    )
    ctx = load_context_file(path)
    assert ctx.company == "Acme"
    assert ctx.size == "250"
    assert ctx.implementation_complexity == "high"
    assert ctx.start_date == dt.date(2026, 3, 2)
    assert ctx.success_criteria == ["SSO live by day 30"]


def test_context_file_json(tmp_path: Path) -> None:
    path = tmp_path / "ctx.json"
    path.write_text(
        json.dumps({"company": "Acme", "start_date": "2026-03-02", "success_criteria": ["a", "b"]}), encoding="utf-8"
    )
    ctx = load_context_file(path)
    assert (ctx.company, ctx.start_date, ctx.success_criteria) == ("Acme", dt.date(2026, 3, 2), ["a", "b"])


def test_empty_context_file_is_an_empty_context(tmp_path: Path) -> None:
    path = tmp_path / "ctx.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_context_file(path) == OnboardingContext()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("ctx.yaml", "company: Acme\nregion: EMEA\n", "unknown field 'region' (known fields: company,"),
        ("ctx.yaml", "start_date: next monday\n", "start_date 'next monday' is not a date; use YYYY-MM-DD"),
        ("ctx.yaml", "start_date: 2026-13-01\n", "'2026-13-01' is not a real date"),
        ("ctx.json", '{"start_date": "03/02/2026"}', "start_date '03/02/2026' is not a date; use YYYY-MM-DD"),
        ("ctx.json", '{"company": "Acme",}', "is not valid JSON"),
        ("ctx.yaml", "company: [Acme\n", "is not valid YAML (line"),
        ("ctx.yaml", "- a\n- b\n", "must hold key: value pairs, not a list"),
        ("ctx.yaml", "implementation_complexity: extreme\n", "implementation_complexity:"),
    ],
)
def test_bad_context_file_is_a_one_line_error(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInputError) as info:
        load_context_file(path)
    message = one_line_error(info)
    assert expected in message
    assert str(path) in message


def test_missing_context_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        load_context_file(tmp_path / "nope.yaml")


def test_parse_context_names_every_unknown_field() -> None:
    with pytest.raises(BadInputError) as info:
        parse_context({"company": "Acme", "arr": 1, "Start-Date": "x"}, "context")
    message = one_line_error(info)
    assert "unknown field 'arr'" in message
    assert "unknown field 'Start-Date'" in message


# -- merging and defaults -------------------------------------------------------------


def test_merge_precedence_front_matter_then_file_then_explicit(tmp_path: Path) -> None:
    notes = (
        "---\ncompany: FrontCo\nindustry: Retail\nsize: '50'\nstart_date: 2026-03-02\n---\n"
        "Kickoff notes for the customer.\n"
    )
    ctx_file = tmp_path / "ctx.yaml"
    ctx_file.write_text("company: FileCo\nindustry: Logistics\ncsm: Sam Lee\n", encoding="utf-8")
    handoff = build_handoff(notes, {"company": "FlagCo"}, context_file=ctx_file, today=FRIDAY)
    ctx = handoff.context
    assert ctx.company == "FlagCo"  # explicit beats file and front matter
    assert ctx.industry == "Logistics"  # file beats front matter
    assert ctx.size == "50"  # only in front matter
    assert ctx.csm == "Sam Lee"  # only in the file
    assert handoff.start_date == dt.date(2026, 3, 2)
    assert handoff.start_date_assumed is False
    assert handoff.notes == "Kickoff notes for the customer."


def test_explicit_none_does_not_erase_a_value() -> None:
    handoff = build_handoff("---\ncompany: Acme\n---\nNotes.", OnboardingContext(company=None), today=FRIDAY)
    assert handoff.context.company == "Acme"


def test_missing_start_date_is_the_next_business_day() -> None:
    handoff = build_handoff("Notes with no dates at all.", today=FRIDAY)
    assert handoff.start_date == NEXT_MONDAY
    assert handoff.start_date_assumed is True
    assert "start_date: 2026-01-05" in handoff.source_text


def test_missing_start_date_skips_holidays() -> None:
    # 2025-12-31 is a Wednesday; 2026-01-01 is New Year's Day in the US.
    handoff = build_handoff("Notes.", today=dt.date(2025, 12, 31), calendar=BusinessCalendar("US"))
    assert handoff.start_date == FRIDAY
    assert handoff.start_date_assumed is True


def test_explicit_start_date_is_not_assumed() -> None:
    handoff = build_handoff("Notes.", {"start_date": "2026-04-01"}, today=FRIDAY)
    assert handoff.start_date == dt.date(2026, 4, 1)
    assert handoff.start_date_assumed is False


def test_oversized_notes_are_refused_by_build_handoff() -> None:
    with pytest.raises(BadInputError) as info:
        build_handoff("é" * MAX_NOTES_BYTES, today=FRIDAY)
    assert f"{MAX_NOTES_BYTES:,} bytes" in one_line_error(info)


def test_context_as_text_is_one_line_per_field() -> None:
    ctx = OnboardingContext(company="Acme\nCorp", success_criteria=["SSO live", "80% active\nusers"])
    assert ctx.as_text() == "company: Acme Corp\nsuccess_criteria: SSO live; 80% active users"
