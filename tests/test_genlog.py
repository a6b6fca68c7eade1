"""The generation log (round trip, order, scrubbing, shared file) and ``onboard logs``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from onboard_llm.cli import cli
from onboard_llm.cli_logs import logs
from onboard_llm.errors import ConfigError
from onboard_llm.genlog import GenerationLog, GenerationRecord, scrub

# Key-shaped fakes, assembled at run time so no file in the repository holds a string shaped like a key.
OPENAI_KEY = "sk-" + "proj-" + "AbCdEf0123456789GhIjKlMnOpQrStUv"
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "ZyXwVu9876543210_TsRqPoNmLk-JiHg"
BEARER = "Bearer " + "eyJhbGciOiJIUzI1NiJ9" + ".c2VjcmV0.dG9rZW4"


def make_record(**changes: Any) -> GenerationRecord:
    fields: dict[str, Any] = {
        "prompt_name": "roadmap",
        "prompt_version": "v2",
        "prompt_sha256": "ab" * 32,
        "provider": "openai",
        "model": "gpt-4.1-mini",
        "params": {"temperature": 0.2, "max_output_tokens": 16000, "max_reasks": 2, "schema_name": "plan_draft"},
        "messages": [
            {"role": "system", "content": "You write onboarding plans."},
            {"role": "user", "content": "Acme bought 200 seats; goal: cut backlog by 30%."},
        ],
        "attempts": [
            {
                "number": 1,
                "text": '{"customer": ',
                "raw": '{"id": "chatcmpl-1", "choices": []}',
                "usage": {"input": 1000, "output": 300, "cached": 200},
                "finish_reason": "stop",
                "stage": "json",
                "errors": ["answer is not JSON: unexpected end of input"],
                "seconds": 1.25,
                "cached": False,
            },
            {
                "number": 2,
                "text": '{"customer": {"company": "Acme"}}',
                "raw": None,
                "usage": {"input": 1500, "output": 310, "cached": 900},
                "finish_reason": "stop",
                "stage": "ok",
                "errors": [],
                "seconds": 2.5,
                "cached": True,
            },
        ],
        "plan": {"customer": {"company": "Acme Logistics"}, "primary_goal": "Cut the support backlog by 30% by day 90"},
        "usage": {"input": 2500, "output": 610, "cached": 1100},
        "cost_usd": 0.00123,
        "latency_s": 3.9,
    }
    fields.update(changes)
    return GenerationRecord(**fields)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "onboard.sqlite3"


# -- the log ---------------------------------------------------------------------------


def test_a_record_round_trips(db: Path) -> None:
    rec = make_record()
    with GenerationLog(db) as log:
        new_id = log.record(rec)
        assert rec.id == new_id
    with GenerationLog(db) as log:
        back = log.get(new_id)
    assert back == rec
    assert back is not None and back.status == "ok"


def test_an_error_record_round_trips_with_status_error(db: Path) -> None:
    rec = make_record(plan=None, error="the model's answers stayed invalid after 2 re-asks", cost_usd=None)
    with GenerationLog(db) as log:
        back = log.get(log.record(rec))
    assert back == rec
    assert back is not None and back.status == "error"


def test_list_is_newest_first_and_limited(db: Path) -> None:
    with GenerationLog(db) as log:
        ids = [log.record(make_record(model=f"m{i}")) for i in range(5)]
        assert ids == sorted(ids) and len(set(ids)) == 5
        newest = log.list(limit=3)
        assert [r.id for r in newest] == ids[::-1][:3]
        assert [r.model for r in newest] == ["m4", "m3", "m2"]
        assert len(log.list()) == 5
        assert log.get(ids[-1] + 100) is None


def test_created_at_is_utc_iso() -> None:
    created = make_record().created_at
    assert created.endswith("+00:00") and "T" in created


def test_reading_an_absent_log_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "onboard.sqlite3"
    with GenerationLog(path) as log:
        assert log.list() == []
        assert log.get(1) is None
    assert not path.parent.exists()


def test_the_log_uses_wal_a_generations_table_and_a_schema_version(db: Path) -> None:
    with GenerationLog(db) as log:
        log.record(make_record())
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "generations" in tables
        assert conn.execute("SELECT schema_version FROM onboard_meta WHERE component = 'generations'").fetchone() == (
            1,
        )
        # PRAGMA user_version is left to nobody: the file is shared by several stores.
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)


def test_other_stores_tables_in_the_same_file_are_left_alone(db: Path) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE eval_runs (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO eval_runs (name) VALUES ('nightly')")
    with GenerationLog(db) as log:
        log.record(make_record())
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM eval_runs").fetchall() == [("nightly",)]


def test_a_log_from_a_newer_version_is_refused_in_one_line(db: Path) -> None:
    with GenerationLog(db) as log:
        log.record(make_record())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE onboard_meta SET schema_version = 99 WHERE component = 'generations'")
    with pytest.raises(ConfigError, match="newer") as info, GenerationLog(db) as log:
        log.list()
    assert "\n" not in str(info.value)


def test_a_db_folder_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot create"), GenerationLog(blocker / "onboard.sqlite3") as log:
        log.record(make_record())


def test_a_corrupt_log_is_a_one_line_config_error(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"junk" * 1000)
    with pytest.raises(ConfigError) as info, GenerationLog(db) as log:
        log.list()
    assert str(db) in str(info.value) and "\n" not in str(info.value)


# -- scrubbing --------------------------------------------------------------------------


def test_scrub_hides_key_and_token_shapes() -> None:
    text = f"key={OPENAI_KEY} other {ANTHROPIC_KEY} Authorization: {BEARER} api_key: 'abcdefghijklmnop1234'"
    clean = scrub(text)
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, BEARER.split()[1], "abcdefghijklmnop1234"):
        assert secret not in clean
    assert "sk-***" in clean and "Bearer ***" in clean
    # Ordinary words survive.
    assert scrub("ask-for-a-demo; skip the risk-review") == "ask-for-a-demo; skip the risk-review"


def test_secrets_never_reach_the_file(db: Path) -> None:
    rec = make_record(
        error=f"provider said: invalid key {OPENAI_KEY}",
        messages=[{"role": "user", "content": f"notes pasted with {ANTHROPIC_KEY} inside"}],
        attempts=[{**make_record().attempts[0], "raw": f'{{"headers": {{"authorization": "{BEARER}"}}}}'}],
        params={"temperature": 0.2, "note": f"api-key={OPENAI_KEY}"},
    )
    with GenerationLog(db) as log:
        back = log.get(log.record(rec))
    with sqlite3.connect(db) as conn:
        stored = json.dumps(conn.execute("SELECT * FROM generations").fetchall())
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, BEARER.split()[1]):
        assert secret not in stored
    # The scrubbed JSON still loads.
    assert back is not None
    assert back.attempts[0]["raw"] == '{"headers": {"authorization": "Bearer ***"}}'
    assert back.messages[0]["content"] == "notes pasted with sk-*** inside"


# -- onboard logs --------------------------------------------------------------------------


@pytest.fixture
def onboard(isolated: Path) -> Iterator[Any]:
    """``onboard`` with the logs group registered (added here while cli.py does not register it yet)."""
    added = "logs" not in cli.commands
    if added:
        cli.add_command(logs)

    def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], env=env, prog_name="onboard")

    yield run
    if added:
        cli.commands.pop("logs", None)


def one_error_line(result: Result, code: int = 2) -> str:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    return lines[0]


def filled(db: Path) -> list[int]:
    with GenerationLog(db) as log:
        return [
            log.record(make_record()),
            log.record(make_record(provider="anthropic", model="claude-haiku-4-5", plan=None, error="refused: no")),
        ]


def test_logs_list_shows_a_table_newest_first(onboard: Any, db: Path) -> None:
    ok_id, error_id = filled(db)
    result = onboard("logs", "list", "--db", db)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "TIME", "(UTC)"]
    assert lines[1].split()[0] == str(error_id) and lines[2].split()[0] == str(ok_id)
    assert "anthropic:claude-haiku-4-5" in lines[1] and lines[1].rstrip().endswith("error")
    ok_line = lines[2]
    for cell in ("roadmap@v2", "openai:gpt-4.1-mini", "2,500/610", "$0.0012", "ok"):
        assert cell in ok_line, (cell, ok_line)
    assert " 2 " in ok_line  # attempts
    assert result.stderr == ""


def test_logs_list_limit_and_env_db(onboard: Any, db: Path) -> None:
    filled(db)
    result = onboard("logs", "list", "--limit", "1", env={"ONBOARD_DB": str(db)})
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_logs_list_on_an_empty_log_says_so(onboard: Any, tmp_path: Path) -> None:
    result = onboard("logs", "list", "--db", tmp_path / "none.sqlite3")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no generations logged yet" in result.stderr


def test_logs_show_prints_the_whole_record(onboard: Any, db: Path) -> None:
    ok_id, error_id = filled(db)
    out = onboard("logs", "show", str(ok_id), "--db", db).stdout
    for text in (
        "roadmap@v2",
        "ab" * 32,
        "openai:gpt-4.1-mini",
        "max_reasks=2",
        "Acme Logistics",
        "Cut the support backlog by 30% by day 90",
        "attempt 1: stage json",
        "answer is not JSON: unexpected end of input",
        '{"customer": {"company": "Acme"}}',
        "from cache",
        "$0.0012",
    ):
        assert text in out, text
    assert "Acme bought 200 seats" not in out  # messages only on request
    assert "chatcmpl-1" not in out  # vendor body only with --raw
    full = onboard("logs", "show", str(ok_id), "--db", db, "--messages", "--raw").stdout
    assert "Acme bought 200 seats" in full and "chatcmpl-1" in full
    error_out = onboard("logs", "show", str(error_id), "--db", db).stdout
    assert "[error]" in error_out and "refused: no" in error_out


def test_logs_show_json_is_the_record(onboard: Any, db: Path) -> None:
    ok_id, _ = filled(db)
    result = onboard("logs", "show", str(ok_id), "--db", db, "--json")
    data = json.loads(result.stdout)
    assert data["id"] == ok_id and data["status"] == "ok"
    assert data["plan"]["customer"]["company"] == "Acme Logistics"
    assert data["attempts"][0]["raw"] == '{"id": "chatcmpl-1", "choices": []}'
    assert len(data["messages"]) == 2
    assert "messages" not in json.loads(
        onboard("logs", "show", str(ok_id), "--db", db, "--json", "--no-messages").stdout
    )


def test_logs_show_unknown_id_is_one_line_exit_2(onboard: Any, db: Path) -> None:
    filled(db)
    line = one_error_line(onboard("logs", "show", "999", "--db", db))
    assert "999" in line and str(db) in line
    line = one_error_line(onboard("logs", "show", "1", "--db", db.parent / "absent.sqlite3"))
    assert "does not exist" in line


def test_logs_bad_options_are_one_line_exit_2(onboard: Any, db: Path) -> None:
    one_error_line(onboard("logs", "show", "not-a-number", "--db", db))
    one_error_line(onboard("logs", "list", "--limit", "0", "--db", db))
