"""The response cache: keys, what is stored, WAL and several processes, and surviving a broken file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from onboard_llm import cache as cache_module
from onboard_llm.cache import CACHE_FILENAME, CacheWarning, ResponseCache
from onboard_llm.errors import ConfigError
from onboard_llm.inputs import build_handoff
from onboard_llm.providers.base import Completion, CompletionRequest, Message, Usage

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
REQUEST = CompletionRequest(
    messages=(Message("system", "You plan onboardings."), Message("user", "Acme bought 200 seats.")),
    schema=SCHEMA,
    schema_name="plan_draft",
    temperature=0.2,
    max_output_tokens=16000,
)
ANSWER = Completion(
    text='{"a": "b"}',
    usage=Usage(input_tokens=1200, output_tokens=340, cached_tokens=1000),
    finish_reason="stop",
    model="gpt-4.1-mini-2025-04-14",
    raw='{"id": "chatcmpl-1"}',
    http_attempts=2,
)


def key(request: CompletionRequest = REQUEST, provider: str = "openai", model: str = "gpt-4.1-mini", **kw: Any) -> str:
    return ResponseCache.key(provider, model, request, **kw)


@pytest.fixture
def cache(tmp_path: Path) -> Any:
    with ResponseCache(tmp_path / "cache") as c:
        yield c


# -- hits and misses -----------------------------------------------------------------


def test_miss_then_hit_returns_the_stored_answer_marked_cached(cache: ResponseCache) -> None:
    k = key()
    assert cache.get(k) is None
    assert cache.put(k, ANSWER, provider="openai", model="gpt-4.1-mini") is True
    hit = cache.get(k)
    assert hit is not None
    assert hit.cached is True
    assert (hit.text, hit.usage, hit.finish_reason, hit.model, hit.raw, hit.refusal) == (
        ANSWER.text,
        ANSWER.usage,
        "stop",
        ANSWER.model,
        ANSWER.raw,
        None,
    )
    # The hit made no HTTP call.
    assert hit.http_attempts == 0
    assert cache.count() == 1


def test_answers_survive_reopening_and_record_what_was_asked(tmp_path: Path) -> None:
    k = key()
    with ResponseCache(tmp_path) as first:
        first.put(k, ANSWER, provider="openai", model="gpt-4.1-mini")
    with ResponseCache(tmp_path) as second:
        hit = second.get(k)
    assert hit is not None and hit.text == ANSWER.text
    with sqlite3.connect(tmp_path / CACHE_FILENAME) as conn:
        created_at, provider, model, tokens = conn.execute(
            "SELECT created_at, provider, model, input_tokens + output_tokens + cached_tokens FROM responses"
        ).fetchone()
    assert (provider, model, tokens) == ("openai", "gpt-4.1-mini", 1200 + 340 + 1000)
    assert dt.datetime.fromisoformat(created_at).tzinfo is not None


@pytest.mark.parametrize(
    ("completion", "why"),
    [
        (dataclasses.replace(ANSWER, finish_reason="length"), "truncated"),
        (dataclasses.replace(ANSWER, finish_reason="refusal", refusal="I can't help with that."), "refused"),
        (dataclasses.replace(ANSWER, refusal="I can't help with that."), "refusal text with stop"),
        (dataclasses.replace(ANSWER, finish_reason="other"), "content filter or unknown"),
    ],
)
def test_unfinished_or_refused_answers_are_not_stored(cache: ResponseCache, completion: Completion, why: str) -> None:
    k = key()
    assert cache.put(k, completion) is False, why
    assert cache.get(k) is None
    assert cache.count() == 0


def test_clear_empties_the_cache_and_counts(cache: ResponseCache) -> None:
    for repeat in range(3):
        cache.put(key(repeat=repeat), ANSWER)
    assert cache.clear() == 3
    assert cache.get(key()) is None
    assert cache.count() == 0


# -- keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(lambda: key(dataclasses.replace(REQUEST, messages=REQUEST.messages[:1])), id="fewer-messages"),
        pytest.param(
            lambda: key(
                dataclasses.replace(REQUEST, messages=(REQUEST.messages[0], Message("user", "Acme bought 201 seats.")))
            ),
            id="message-content",
        ),
        pytest.param(
            lambda: key(
                dataclasses.replace(
                    REQUEST, messages=(REQUEST.messages[0], Message("assistant", "Acme bought 200 seats."))
                )
            ),
            id="message-role",
        ),
        pytest.param(lambda: key(model="gpt-4.1"), id="model"),
        pytest.param(lambda: key(provider="openai-compatible"), id="provider"),
        pytest.param(lambda: key(dataclasses.replace(REQUEST, temperature=0.0)), id="temperature"),
        pytest.param(lambda: key(dataclasses.replace(REQUEST, max_output_tokens=8000)), id="max-output-tokens"),
        pytest.param(lambda: key(dataclasses.replace(REQUEST, schema_name="plan_draft_v2")), id="schema-name"),
        pytest.param(lambda: key(dataclasses.replace(REQUEST, schema={**SCHEMA, "required": []})), id="schema-content"),
        pytest.param(lambda: key(dataclasses.replace(REQUEST, schema=None)), id="no-schema"),
        pytest.param(lambda: key(repeat=1), id="repeat"),
    ],
)
def test_key_changes_with_every_input_that_shapes_the_answer(changed: Any) -> None:
    assert changed() != key()


def test_key_ignores_the_handoff_and_the_schema_s_key_order() -> None:
    handoff = build_handoff("Acme bought 200 seats. Goal: cut ticket backlog by 30%.", {"company": "Acme"})
    assert key(dataclasses.replace(REQUEST, handoff=handoff)) == key()
    reordered = {"required": ["a"], "properties": {"a": {"type": "string"}}, "type": "object"}
    assert key(dataclasses.replace(REQUEST, schema=MappingProxyType(reordered))) == key()
    # Same number, spelled as int or float.
    assert key(dataclasses.replace(REQUEST, temperature=0)) == key(dataclasses.replace(REQUEST, temperature=0.0))


def test_key_is_a_sha256_hex_digest() -> None:
    k = key()
    assert len(k) == 64 and int(k, 16) >= 0
    assert key() == k


def test_eval_repeats_get_their_own_answers(cache: ResponseCache) -> None:
    cache.put(key(repeat=0), ANSWER)
    cache.put(key(repeat=1), dataclasses.replace(ANSWER, text='{"a": "c"}'))
    first, second = cache.get(key(repeat=0)), cache.get(key(repeat=1))
    assert first is not None and second is not None
    assert (first.text, second.text) == ('{"a": "b"}', '{"a": "c"}')


# -- storage -------------------------------------------------------------------------


def test_the_file_uses_wal(cache: ResponseCache) -> None:
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_folder_is_created_when_the_cache_is_opened(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    with ResponseCache(folder) as c:
        assert c.path == folder / CACHE_FILENAME
        assert c.path.exists()


def test_an_explicit_folder_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        ResponseCache(blocker / "cache")
    message = str(info.value)
    assert "\n" not in message and str(blocker / "cache") in message


def test_a_default_folder_that_cannot_be_created_only_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setattr(cache_module, "default_cache_dir", lambda: blocker / "cache")
    with pytest.warns(CacheWarning, match="response cache off"):
        c = ResponseCache()
    assert c.get(key()) is None
    assert c.put(key(), ANSWER) is False
    assert c.disabled_reason is not None


# -- a broken file must not break generation --------------------------------------


def test_a_corrupt_file_warns_and_behaves_as_an_empty_cache(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILENAME).write_bytes(b"this is not a database, it is junk " * 200)
    with pytest.warns(CacheWarning, match="unusable"):
        c = ResponseCache(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no further warning, and above all no exception
        assert c.get(key()) is None
        assert c.put(key(), ANSWER) is False
    # Clearing is the cure: the junk file is replaced by a working cache.
    assert c.clear() == 0
    assert c.put(key(), ANSWER) is True
    assert c.get(key()) is not None
    c.close()


def test_a_file_with_a_foreign_table_layout_turns_into_misses(tmp_path: Path) -> None:
    # A valid SQLite file claiming our layout version but holding other columns.
    with sqlite3.connect(tmp_path / CACHE_FILENAME) as conn:
        conn.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, something_else TEXT)")
        conn.execute("PRAGMA user_version = 1")
    c = ResponseCache(tmp_path)
    with pytest.warns(CacheWarning):
        assert c.get(key()) is None
    # Once off, it stays quietly off for this process.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.put(key(), ANSWER) is False
        assert c.get(key()) is None


def test_a_file_of_an_older_layout_is_rebuilt(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / CACHE_FILENAME) as conn:
        conn.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, blob TEXT)")
        conn.execute("INSERT INTO responses VALUES ('k', 'old')")
    with ResponseCache(tmp_path) as c:
        assert c.put(key(), ANSWER) is True
        assert c.count() == 1


# -- several processes ------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys, time, warnings
    from pathlib import Path
    from onboard_llm.cache import CacheWarning, ResponseCache
    from onboard_llm.providers.base import Completion, CompletionRequest, Message, Usage

    warnings.simplefilter("error", CacheWarning)  # any cache trouble fails the process
    folder, role, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    def request(i):
        return CompletionRequest(messages=(Message("user", f"notes {i}"),))

    with ResponseCache(folder) as cache:
        if role == "writer":
            for i in range(count):
                answer = Completion(text=f"answer {i}" + "x" * 2000, usage=Usage(10, 20, 0))
                assert cache.put(ResponseCache.key("openai", "m", request(i)), answer, provider="openai")
            assert cache.put(ResponseCache.key("openai", "m", request("done")), Completion(text="done"))
        else:
            hits, deadline = 0, time.monotonic() + 60
            done = ResponseCache.key("openai", "m", request("done"))
            while time.monotonic() < deadline:
                for i in range(0, count, 7):
                    got = cache.get(ResponseCache.key("openai", "m", request(i)))
                    if got is not None:
                        assert got.text.startswith(f"answer {i}"), got.text[:20]
                        hits += 1
                if cache.get(done) is not None:
                    break
            else:
                sys.exit("reader timed out waiting for the writer")
            print(hits)
    """
)


def test_two_readers_and_a_writer_in_separate_processes(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    ResponseCache(folder).close()  # created once, so the processes race on data, not on setup
    count = "400"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(folder), role, count],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("reader", "writer", "reader")
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
    with ResponseCache(folder) as c:
        assert c.count() == int(count) + 1
    # Both readers read something the writer wrote while it was writing or after.
    assert all(int(out.strip()) > 0 for out, _ in (outputs[0], outputs[2]))


def test_a_fresh_file_opened_by_several_processes_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(folder), "writer", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with ResponseCache(folder) as c:
        assert c.count() == 21
