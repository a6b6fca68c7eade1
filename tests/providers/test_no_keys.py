"""No file under tests/ (cassettes, fixtures, test code) holds anything shaped like a real API key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent

#: OpenAI keys (sk-..., sk-proj-...), Anthropic keys (sk-ant-...), and bearer tokens.
KEY_PATTERNS = {
    "openai key": re.compile(r"sk-[A-Za-z0-9_-]{20,}"),
    "anthropic key": re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"),
    "bearer token": re.compile(r"Bearer [A-Za-z0-9_.-]{20,}"),
}
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}


def files_under_tests() -> list[Path]:
    return sorted(
        p for p in TESTS.rglob("*") if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(TESTS).parts)
    )


def key_shaped(text: str) -> list[str]:
    return [f"{kind}: {m.group(0)[:12]}…" for kind, rx in KEY_PATTERNS.items() for m in rx.finditer(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("OPENAI_API_KEY=sk-" + "a1B2" * 12, True),
        ("x-api-key: sk-ant-api03-" + "Zz9_" * 10, True),
        ("authorization: Bearer " + "eyJhbGciOi" * 3, True),
        ("sk-proj-" + "Q" * 40, True),
        ("OPENAI_API_KEY=sk-... pytest", False),
        ("Bearer test-key-4e1d", False),
        ("Incorrect API key provided: ***.", False),
    ],
)
def test_the_patterns_catch_keys_and_only_keys(text: str, found: bool) -> None:
    assert bool(key_shaped(text)) is found


def test_there_are_files_to_scan() -> None:
    names = {p.name for p in files_under_tests()}
    assert "test_no_keys.py" in names
    assert any(p.suffix == ".yaml" and "cassettes" in p.parts for p in files_under_tests())


def test_no_file_under_tests_holds_a_key() -> None:
    offenders: dict[str, list[str]] = {}
    for path in files_under_tests():
        # This file is scanned too: its examples are built at run time, never spelled out.
        hits = key_shaped(path.read_bytes().decode("utf-8", "replace"))
        if hits:
            offenders[str(path.relative_to(TESTS))] = hits
    assert not offenders, f"key-shaped strings in test files (use a dummy such as 'test-key'): {offenders}"
