"""The eval store: round trips, resume bookkeeping, id prefixes, crash safety and sharing the file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from onboard_llm.errors import BadInputError, ConfigError
from onboard_llm.evals.scoring import Score, SubScore
from onboard_llm.evals.store import CaseResult, EvalStore, RunInfo, new_run_id
from onboard_llm.genlog import GenerationLog, GenerationRecord


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "onboard.sqlite3"


def make_run(**changes: Any) -> RunInfo:
    fields: dict[str, Any] = {
        "id": "",
        "suite_name": "smoke",
        "suite_path": "evals/suites/smoke.yaml",
        "suite_hash": "cd" * 32,
        "prompt_name": "roadmap",
        "prompt_version": "v2",
        "prompt_sha256": "ab" * 32,
        "provider": "openai",
        "model": "gpt-4.1-mini",
        "params": {
            "temperature": 0.2,
            "max_output_tokens": 16000,
            "max_reasks": 2,
            "repeats": 2,
            "concurrency": 4,
            "scorers": {"schema": 1.0, "grounding": 2.0},
            "thresholds": {"case": 0.7, "suite": 0.8},
        },
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "started_at": "2026-11-23T10:15:30+00:00",
        "case_ids": ["acme", "globex", "initech"],
        "repeats": 2,
    }
    fields.update(changes)
    return RunInfo(**fields)


def make_result(run_id: str, case_id: str = "acme", repeat: int = 0, **changes: Any) -> CaseResult:
    score = Score("schema", 0.75, [SubScore("required", 1.0), SubScore("days", 0.5, ["task t3 on day 95"])], ["ok"])
    fields: dict[str, Any] = {
        "run_id": run_id,
        "case_id": case_id,
        "repeat": repeat,
        "raw": '{"customer": {"company": "Acme — Logistik"}}',
        "plan": {"customer": {"company": "Acme — Logistik"}, "milestones": [{"id": "m1", "date": "2026-12-01"}]},
        "scores": [score.as_dict(), Score("grounding", 1.0, meta={"rubric": "x1"}).as_dict()],
        "total": 0.9167,
        "passed": True,
        "usage": {"input": 1200, "output": 800, "cached": 300},
        "cost_usd": 0.0042,
        "latency_s": 3.25,
        "error": None,
        "attempts": 2,
    }
    fields.update(changes)
    return CaseResult(**fields)


# -- round trips --------------------------------------------------------------------------


def test_a_run_round_trips(db: Path) -> None:
    run = make_run(totals={"cases": 3})
    with EvalStore(db) as store:
        run_id = store.create_run(run)
        assert run_id == run.id and run_id.startswith("r20261123-101530-")
        back = store.get_run(run_id)
    assert back == run
    assert back is not None and back.status == "running" and back.ended_at is None


def test_a_given_id_is_kept_and_a_duplicate_is_refused(db: Path) -> None:
    with EvalStore(db) as store:
        assert store.create_run(make_run(id="r-mine-000001")) == "r-mine-000001"
        with pytest.raises(BadInputError, match="already exists"):
            store.create_run(make_run(id="r-mine-000001"))


def test_new_run_ids_sort_by_start_time_and_differ() -> None:
    early = new_run_id("2026-11-23T09:00:00+00:00")
    late = new_run_id("2026-11-23T11:00:00+02:00")  # the same instant, given in another zone
    later = new_run_id("2026-11-23T09:00:01Z")
    assert early[:17] == late[:17] == "r20261123-090000-"
    assert early != late
    assert later > early and later > late
    assert len({new_run_id("2026-11-23T09:00:00Z") for _ in range(200)}) == 200


def test_a_result_round_trips_with_its_scores(db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
        result = make_result(run_id)
        store.save_result(result)
        [back] = store.results(run_id)
    assert back == result
    assert back.created_at  # set on write
    assert Score.from_dict(back.scores[0]).subscores[1].details == ["task t3 on day 95"]


def test_an_errored_result_round_trips_with_nulls(db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
        failed = make_result(
            run_id,
            raw=None,
            plan=None,
            scores=[],
            total=None,
            passed=None,
            cost_usd=None,
            error="openai: 503 after 4 tries",
            usage={"input": 0, "output": 0, "cached": 0},
        )
        store.save_result(failed)
        assert store.results(run_id) == [failed]


def test_results_are_ordered_by_case_then_repeat_and_kept_per_run(db: Path) -> None:
    with EvalStore(db) as store:
        one = store.create_run(make_run())
        two = store.create_run(make_run())
        for case_id, repeat in [("initech", 1), ("acme", 1), ("initech", 0), ("acme", 0), ("globex", 0)]:
            store.save_result(make_result(one, case_id, repeat))
        store.save_result(make_result(two, "zeta", 0))
        order = [(r.case_id, r.repeat) for r in store.results(one)]
        assert order == [("acme", 0), ("acme", 1), ("globex", 0), ("initech", 0), ("initech", 1)]
        assert [(r.case_id, r.repeat) for r in store.results(two)] == [("zeta", 0)]
        assert store.results("r-nothing") == []


# -- resume bookkeeping ------------------------------------------------------------------


def test_an_upsert_replaces_an_errored_result(db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
        store.save_result(make_result(run_id, raw=None, plan=None, scores=[], total=None, passed=None, error="boom"))
        assert store.completed(run_id) == set()
        good = make_result(run_id)
        store.save_result(good)
        assert store.results(run_id) == [good]
        assert store.completed(run_id) == {("acme", 0)}


def test_completed_leaves_out_errors(db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
        store.save_result(make_result(run_id, "acme", 0))
        store.save_result(make_result(run_id, "acme", 1, passed=False, total=0.2))  # a low score is still done
        store.save_result(make_result(run_id, "globex", 0, error="timeout", plan=None))
        assert store.completed(run_id) == {("acme", 0), ("acme", 1)}
        assert store.completed("r-other") == set()


def test_update_scores_rescores_one_result(db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
        store.save_result(make_result(run_id, "acme", 0))
        store.save_result(make_result(run_id, "acme", 1))
        new = [Score("schema", 0.1).as_dict()]
        store.update_scores(run_id, "acme", 1, new, 0.1, False)
        first, second = store.results(run_id)
        assert first == make_result(run_id, "acme", 0, created_at=first.created_at)
        assert (second.scores, second.total, second.passed) == (new, 0.1, False)
        assert second.raw == first.raw and second.usage == first.usage
        with pytest.raises(BadInputError, match="no result"):
            store.update_scores(run_id, "acme", 7, new, None, None)


def test_update_run_changes_only_what_is_given(db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run(totals={"cases": 3}))
        store.update_run(run_id, totals={"cases": 3, "scored": 2, "mean_total": 0.81, "suite_passed": True})
        mid = store.get_run(run_id)
        assert mid is not None and mid.status == "running" and mid.totals["scored"] == 2 and mid.ended_at is None
        store.update_run(run_id, status="complete", ended_at="2026-11-23T10:20:00+00:00")
        done = store.get_run(run_id)
        assert done is not None
        assert (done.status, done.ended_at, done.totals["mean_total"]) == (
            "complete",
            "2026-11-23T10:20:00+00:00",
            0.81,
        )
        with pytest.raises(BadInputError, match="no eval run"):
            store.update_run("r-missing", status="failed")
        with pytest.raises(BadInputError, match="status"):
            store.update_run(run_id, status="finished")


# -- lookups -------------------------------------------------------------------------------


def test_a_unique_prefix_finds_a_run_and_an_ambiguous_one_is_refused(db: Path) -> None:
    with EvalStore(db) as store:
        a = store.create_run(make_run(id="r20261123-101530-aaaaaa"))
        store.create_run(make_run(id="r20261123-101530-aabbbb"))
        store.create_run(make_run(id="r20261124-090000-cccccc"))
        found = store.get_run("r20261123-101530-aaa")
        assert found is not None and found.id == a
        assert store.get_run(a) is not None
        with pytest.raises(BadInputError, match="ambiguous") as info:
            store.get_run("r20261123")
        message = str(info.value)
        assert "\n" not in message and "r20261123-101530-aaaaaa" in message and "r20261123-101530-aabbbb" in message
        with pytest.raises(BadInputError):
            store.get_run("r20261")
        assert store.get_run("r2026") is None  # shorter than six characters: exact ids only
        assert store.get_run("r20261124") is not None
        assert store.get_run("x99999") is None
        assert store.get_run("") is None


def test_runs_list_newest_first_and_filter_by_suite(db: Path) -> None:
    with EvalStore(db) as store:
        store.create_run(make_run(suite_name="smoke", started_at="2026-11-20T08:00:00+00:00"))
        store.create_run(make_run(suite_name="full", started_at="2026-11-22T08:00:00+00:00"))
        store.create_run(make_run(suite_name="smoke", started_at="2026-11-23T08:00:00+00:00"))
        store.create_run(make_run(suite_name="smoke", started_at="2026-11-21T08:00:00+00:00"))
        all_runs = store.list_runs()
        assert [r.started_at[:10] for r in all_runs] == ["2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20"]
        smoke = store.list_runs("smoke")
        assert [r.started_at[:10] for r in smoke] == ["2026-11-23", "2026-11-21", "2026-11-20"]
        assert [r.started_at[:10] for r in store.list_runs("smoke", limit=2)] == ["2026-11-23", "2026-11-21"]
        assert store.list_runs("nope") == []


def test_reading_an_absent_store_leaves_no_file(db: Path) -> None:
    with EvalStore(db) as store:
        assert store.list_runs() == [] and store.get_run("r20261123") is None
        assert store.results("x") == [] and store.completed("x") == set()
    assert not db.exists()


def test_the_default_path_follows_onboard_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONBOARD_DB", str(tmp_path / "env.sqlite3"))
    with EvalStore() as store:
        store.create_run(make_run())
    assert (tmp_path / "env.sqlite3").is_file()


def test_the_file_uses_wal_and_has_the_indexes(db: Path) -> None:
    with EvalStore(db) as store:
        store.create_run(make_run())
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {row[0]: row[1] for row in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    assert "eval_results (run_id)" in indexes["eval_results_run"]
    assert "eval_runs (suite_name, started_at)" in indexes["eval_runs_suite"]


# -- bad files -----------------------------------------------------------------------------


def test_a_corrupt_store_is_a_one_line_config_error(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"junk" * 1000)
    with pytest.raises(ConfigError) as info, EvalStore(db) as store:
        store.list_runs()
    assert str(db) in str(info.value) and "\n" not in str(info.value)


def test_a_newer_schema_is_refused(db: Path) -> None:
    with EvalStore(db) as store:
        store.create_run(make_run())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE onboard_meta SET schema_version = 99 WHERE component = 'evals'")
    with pytest.raises(ConfigError, match="newer") as info, EvalStore(db) as store:
        store.list_runs()
    assert str(db) in str(info.value) and "\n" not in str(info.value)


def test_a_foreign_table_of_the_same_name_is_a_config_error(db: Path) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE eval_runs (x INTEGER)")
    with pytest.raises(ConfigError) as info, EvalStore(db) as store:
        store.list_runs()
    assert str(db) in str(info.value) and "\n" not in str(info.value)


def test_a_folder_as_the_store_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"), EvalStore(tmp_path) as store:
        store.create_run(make_run())


# -- several processes ------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from onboard_llm.evals.store import CaseResult, EvalStore

    db, run_id, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    big = "x" * 20000  # several pages per row, so a torn write would show
    with EvalStore(db) as store:
        for i in range(count):
            store.save_result(CaseResult(
                run_id=run_id, case_id=f"case-{i:05d}", repeat=0, raw=big + str(i), plan={"i": i, "pad": big},
                scores=[{"scorer": "schema", "score": 1.0, "subscores": [], "details": [], "meta": {}}],
                total=1.0, passed=True, usage={"input": i, "output": 2 * i, "cached": 0}, cost_usd=0.001,
                latency_s=0.5, error=None, attempts=1,
            ))
            print(i, flush=True)
    """
)


def _start_writer(tmp_path: Path, db: Path, run_id: str, count: int) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), str(db), run_id, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _check_intact(result: CaseResult) -> None:
    i = int(result.case_id.removeprefix("case-"))
    assert result.raw == "x" * 20000 + str(i)
    assert result.plan == {"i": i, "pad": "x" * 20000}
    assert result.usage == {"input": i, "output": 2 * i, "cached": 0}
    assert result.passed is True and result.error is None and result.attempts == 1


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_sigkill_loses_nothing_already_saved(tmp_path: Path, db: Path) -> None:
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
    proc = _start_writer(tmp_path, db, run_id, 100_000)
    assert proc.stdout is not None
    saved: list[int] = []
    try:
        while len(saved) < 60:
            line = proc.stdout.readline()
            assert line, f"the writer stopped early: {proc.stderr.read() if proc.stderr else ''}"
            saved.append(int(line))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with EvalStore(db) as store:
        results = store.results(run_id)
        done = store.completed(run_id)
    found = {int(r.case_id.removeprefix("case-")) for r in results}
    assert set(saved) <= found  # everything reported saved is there
    assert len(found) < 100_000  # and it really was killed midway
    for result in results:  # no torn or partial row
        _check_intact(result)
    assert done == {(r.case_id, 0) for r in results}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_reader_and_a_writer_process_share_the_file(tmp_path: Path, db: Path) -> None:
    count = 300
    with EvalStore(db) as store:
        run_id = store.create_run(make_run())
    proc = _start_writer(tmp_path, db, run_id, count)
    seen: list[int] = []
    try:
        with EvalStore(db) as reader:
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                results = reader.results(run_id)  # raises ConfigError on "database is locked"
                seen.append(len(results))
                reader.get_run(run_id)
                reader.completed(run_id)
            out, err = proc.communicate(timeout=120)
            final = reader.results(run_id)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "locked" not in err and len(out.split()) == count
    assert len(final) == count
    assert seen == sorted(seen)  # a reader never sees rows vanish
    assert len(seen) > 1, seen
    for result in final[:: count // 10]:
        _check_intact(result)


def test_two_writer_processes_take_turns(tmp_path: Path, db: Path) -> None:
    with EvalStore(db) as store:
        one = store.create_run(make_run())
        two = store.create_run(make_run())
    first = _start_writer(tmp_path, db, one, 150)
    second = _start_writer(tmp_path, db, two, 150)
    outcomes = [proc.communicate(timeout=120) for proc in (first, second)]
    for proc, (_out, err) in zip((first, second), outcomes, strict=True):
        assert proc.returncode == 0, err
    with EvalStore(db) as store:
        assert len(store.results(one)) == len(store.results(two)) == 150


# -- the shared database ------------------------------------------------------------------------


def test_the_generation_log_lives_in_the_same_file(db: Path) -> None:
    record = GenerationRecord(
        prompt_name="roadmap",
        prompt_version="v2",
        prompt_sha256="ab" * 32,
        provider="openai",
        model="gpt-4.1-mini",
        plan={"customer": {"company": "Acme"}},
    )
    with GenerationLog(db) as log, EvalStore(db) as store:
        run_id = store.create_run(make_run())
        log_id = log.record(record)
        store.save_result(make_result(run_id))
        assert [r.id for r in log.list()] == [log_id]
        assert len(store.results(run_id)) == 1
    # Opened again in the other order, each still finds its own rows.
    with EvalStore(db) as store, GenerationLog(db) as log:
        assert store.get_run(run_id) is not None and len(store.results(run_id)) == 1
        fetched = log.get(log_id)
        assert fetched is not None and fetched.plan == {"customer": {"company": "Acme"}}
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        components = dict(conn.execute("SELECT component, schema_version FROM onboard_meta").fetchall())
    assert {"generations", "eval_runs", "eval_results", "onboard_meta"} <= tables
    assert set(components) == {"generations", "evals"}
