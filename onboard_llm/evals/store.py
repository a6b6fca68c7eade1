"""The eval store: one row per eval run and one per (case, repeat) result.

Rows live in the ``eval_runs`` and ``eval_results`` tables of the shared onboard
database (``--db`` / ``ONBOARD_DB``; the generation log keeps its own table in
the same file). Every result is committed on its own as soon as it is saved, so
a run that is killed keeps everything it finished and can be resumed: the
cases still missing, or saved with an error, are run again.

Several processes may use the file at once (WAL): one writes while others read.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import pydantic_core

from onboard_llm.errors import BadInputError, ConfigError
from onboard_llm.genlog import scrub
from onboard_llm.paths import ComponentTables, json_or

COMPONENT = "evals"

# Version i + 1 is reached by running MIGRATIONS[i]; add steps, never edit released ones.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE IF NOT EXISTS eval_runs (
            id TEXT PRIMARY KEY,
            suite_name TEXT NOT NULL,
            suite_path TEXT NOT NULL,
            suite_hash TEXT NOT NULL,
            prompt_name TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            prompt_sha256 TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            params_json TEXT NOT NULL,
            git_commit TEXT,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL,
            totals_json TEXT NOT NULL,
            case_ids_json TEXT NOT NULL,
            repeats INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_results (
            run_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            raw TEXT,
            plan_json TEXT,
            scores_json TEXT NOT NULL,
            total REAL,
            passed INTEGER,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            cost_usd REAL,
            latency_s REAL NOT NULL,
            error TEXT,
            attempts INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (run_id, case_id, repeat)
        )
        """,
        "CREATE INDEX IF NOT EXISTS eval_results_run ON eval_results (run_id)",
        "CREATE INDEX IF NOT EXISTS eval_runs_suite ON eval_runs (suite_name, started_at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

#: What a run's ``status`` may say.
RUN_STATUSES = ("running", "complete", "interrupted", "incomplete", "failed")
#: The shortest run id prefix ``get_run`` resolves.
MIN_PREFIX = 6


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_id(started_at: str | None = None) -> str:
    """A fresh run id, ``r<YYYYMMDD>-<HHMMSS>-<6 hex>`` in UTC: sorts by start time, unique by its random tail."""
    when = dt.datetime.now(dt.UTC)
    if started_at:
        try:
            parsed = dt.datetime.fromisoformat(started_at)
        except ValueError:
            pass
        else:
            when = parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed
    return f"r{when:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _dump(value: Any) -> str:
    # pydantic-core's encoder writes the same JSON as json.dumps (more tightly) several times faster: a
    # plan is tens of kilobytes and every case stores one. Scrubbing the serialised text keeps it valid
    # JSON: the patterns never match quotes or backslashes.
    return scrub(pydantic_core.to_json(value, fallback=str).decode())


@dataclass
class RunInfo:
    """One eval run: what was run (suite, prompt, model, params), when, and how it ended."""

    id: str  # "r20261123-101530-0a1b2c" (sortable, unique; create_run makes one when empty)
    suite_name: str
    suite_path: str
    suite_hash: str  # sha256 of the suite file + every case's files
    prompt_name: str
    prompt_version: str
    prompt_sha256: str
    provider: str
    model: str
    params: dict[str, Any]  # temperature, max tokens, re-asks, repeats, concurrency, scorers, weights, thresholds
    git_commit: str | None
    started_at: str  # ISO UTC
    ended_at: str | None = None
    status: str = "running"  # running | complete | interrupted | incomplete | failed
    totals: dict[str, Any] = field(default_factory=dict)  # cases, scored, errors, passed, mean_total, cost_usd...
    case_ids: list[str] = field(default_factory=list)  # the cases planned for this run (for resume)
    repeats: int = 1


@dataclass
class CaseResult:
    """One case's outcome in one repeat of a run."""

    run_id: str
    case_id: str
    repeat: int  # 0-based
    raw: str | None  # last answer text
    plan: dict[str, Any] | None  # dated plan JSON when generation succeeded
    scores: list[dict[str, Any]]  # Score.as_dict() of every scorer
    total: float | None  # weighted total
    passed: bool | None
    usage: dict[str, int]  # input, output, cached
    cost_usd: float | None
    latency_s: float
    error: str | None  # provider/generation error, None when generated
    attempts: int = 0
    created_at: str = ""  # ISO UTC, set on write when empty


_RUN_COLUMNS = (
    "id, suite_name, suite_path, suite_hash, prompt_name, prompt_version, prompt_sha256, provider, model, "
    "params_json, git_commit, started_at, ended_at, status, totals_json, case_ids_json, repeats"
)
_RESULT_COLUMNS = (
    "run_id, case_id, repeat, raw, plan_json, scores_json, total, passed, input_tokens, output_tokens, "
    "cached_tokens, cost_usd, latency_s, error, attempts, created_at"
)


def _check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise BadInputError(f"unknown eval run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")


def result_row(result: CaseResult) -> tuple[Any, ...]:
    """A result as the row the store writes: plain strings and numbers, cheap to send between processes."""
    if not result.created_at:
        result.created_at = _now()
    usage = {"input": 0, "output": 0, "cached": 0, **result.usage}
    return (
        result.run_id,
        result.case_id,
        int(result.repeat),
        scrub(result.raw) if result.raw is not None else None,
        _dump(result.plan) if result.plan is not None else None,
        _dump(result.scores),
        None if result.total is None else float(result.total),
        None if result.passed is None else int(bool(result.passed)),
        int(usage["input"]),
        int(usage["output"]),
        int(usage["cached"]),
        None if result.cost_usd is None else float(result.cost_usd),
        float(result.latency_s),
        scrub(result.error) if result.error is not None else None,
        int(result.attempts),
        result.created_at,
    )


class EvalStore(ComponentTables):
    """The ``eval_runs`` and ``eval_results`` tables of the onboard database (``--db`` / ``ONBOARD_DB``)."""

    what = "eval store"
    component = COMPONENT
    steps = MIGRATIONS

    # -- runs -------------------------------------------------------------------

    def create_run(self, run: RunInfo) -> str:
        """Insert ``run`` (giving it an id and a start time when they are empty) and return its id."""
        _check_status(run.status)
        conn = self._open(create=True)
        assert conn is not None
        if not run.started_at:
            run.started_at = _now()
        generated = not run.id
        for _ in range(5):
            if generated:
                run.id = new_run_id(run.started_at)
            values = (
                run.id,
                run.suite_name,
                run.suite_path,
                run.suite_hash,
                run.prompt_name,
                run.prompt_version,
                run.prompt_sha256,
                run.provider,
                run.model,
                _dump(run.params),
                run.git_commit,
                run.started_at,
                run.ended_at,
                run.status,
                _dump(run.totals),
                _dump(list(run.case_ids)),
                int(run.repeats),
            )
            try:
                self._execute(
                    conn,
                    f"INSERT INTO eval_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                    pass_conflicts=True,
                )
            except sqlite3.IntegrityError:
                if not generated:
                    raise BadInputError(f"an eval run with id {run.id} already exists in {self.path}") from None
                continue  # two runs drew the same id in the same second: draw again
            return run.id
        # Five draws of 24 random bits in the same second all taken: practically never.
        raise ConfigError(f"cannot find a free eval run id in {self.path}")

    def get_run(self, run_id: str) -> RunInfo | None:
        """The run with this id, or with this unique id prefix (at least 6 characters); None when absent.

        A prefix that several runs share is a BadInputError listing some of them.
        """
        conn = self._open(create=False)
        if conn is None or not run_id:
            return None
        rows = self._query(conn, f"SELECT {_RUN_COLUMNS} FROM eval_runs WHERE id = ?", (run_id,))
        if not rows and len(run_id) >= MIN_PREFIX:
            rows = self._query(
                conn,
                f"SELECT {_RUN_COLUMNS} FROM eval_runs WHERE substr(id, 1, ?) = ? ORDER BY started_at DESC, id DESC "
                "LIMIT 6",
                (len(run_id), run_id),
            )
            if len(rows) > 1:
                shown = ", ".join(str(row[0]) for row in rows[:5]) + (", ..." if len(rows) > 5 else "")
                raise BadInputError(
                    f"eval run id prefix {run_id!r} is ambiguous: it matches {shown}; give more of the id"
                )
        return _run_from_row(rows[0]) if rows else None

    def list_runs(self, suite_name: str | None = None, limit: int = 20) -> list[RunInfo]:
        """The newest ``limit`` runs, newest first, of one suite or of all."""
        conn = self._open(create=False)
        if conn is None:
            return []
        where, params = ("WHERE suite_name = ? ", (suite_name,)) if suite_name is not None else ("", ())
        rows = self._query(
            conn,
            f"SELECT {_RUN_COLUMNS} FROM eval_runs {where}ORDER BY started_at DESC, id DESC LIMIT ?",
            (*params, max(int(limit), 0)),
        )
        return [_run_from_row(row) for row in rows]

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        totals: dict[str, Any] | None = None,
        ended_at: str | None = None,
    ) -> None:
        """Change a run's status, totals or end time (only those given); a BadInputError if there is no such run."""
        sets: list[str] = []
        values: list[Any] = []
        if status is not None:
            _check_status(status)
            sets.append("status = ?")
            values.append(status)
        if totals is not None:
            sets.append("totals_json = ?")
            values.append(_dump(totals))
        if ended_at is not None:
            sets.append("ended_at = ?")
            values.append(ended_at)
        conn = self._open(create=True)
        assert conn is not None
        if not sets:
            if not self._query(conn, "SELECT 1 FROM eval_runs WHERE id = ?", (run_id,)):
                raise BadInputError(f"no eval run {run_id} in {self.path}")
            return
        cursor = self._execute(conn, f"UPDATE eval_runs SET {', '.join(sets)} WHERE id = ?", (*values, run_id))
        if cursor.rowcount == 0:
            raise BadInputError(f"no eval run {run_id} in {self.path}")

    # -- results ----------------------------------------------------------------

    def save_result(self, result: CaseResult) -> None:
        """Insert or replace the result of (run, case, repeat), committed before this returns."""
        self.save_row(result_row(result))

    def save_row(self, values: tuple[Any, ...]) -> None:
        """Insert or replace a result already encoded by :func:`result_row` (in another process, perhaps)."""
        conn = self._open(create=True)
        assert conn is not None
        # One statement in autocommit mode is one transaction: the row is whole on disk, or absent.
        self._execute(
            conn,
            f"INSERT INTO eval_results ({_RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, case_id, repeat) DO UPDATE SET raw = excluded.raw, plan_json = excluded.plan_json, "
            "scores_json = excluded.scores_json, total = excluded.total, passed = excluded.passed, "
            "input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, "
            "cached_tokens = excluded.cached_tokens, cost_usd = excluded.cost_usd, latency_s = excluded.latency_s, "
            "error = excluded.error, attempts = excluded.attempts, created_at = excluded.created_at",
            values,
        )

    def results(self, run_id: str, *, outputs: bool = True, scores: bool = True) -> list[CaseResult]:
        """Every saved result of a run, ordered by case id, then repeat.

        ``outputs=False`` leaves the raw answers and plans out (as None), and
        ``scores=False`` the scorers' verdicts (as []): totals and reports over
        thousands of results then cost little memory and time.
        """
        conn = self._open(create=False)
        if conn is None:
            return []
        columns = _RESULT_COLUMNS if outputs else _RESULT_COLUMNS.replace("raw, plan_json", "NULL, NULL")
        if not scores:
            columns = columns.replace("scores_json", "NULL")
        rows = self._query(
            conn, f"SELECT {columns} FROM eval_results WHERE run_id = ? ORDER BY case_id, repeat", (run_id,)
        )
        return [_result_from_row(row) for row in rows]

    def completed(self, run_id: str) -> set[tuple[str, int]]:
        """The (case id, repeat) pairs of a run that generated without error; the rest are redone on resume."""
        conn = self._open(create=False)
        if conn is None:
            return set()
        rows = self._query(
            conn, "SELECT case_id, repeat FROM eval_results WHERE run_id = ? AND error IS NULL", (run_id,)
        )
        return {(str(case_id), int(repeat)) for case_id, repeat in rows}

    def update_scores(
        self,
        run_id: str,
        case_id: str,
        repeat: int,
        scores: list[dict[str, Any]],
        total: float | None,
        passed: bool | None,
    ) -> None:
        """Replace one result's scores (for a rescore); a BadInputError if that result was never saved."""
        conn = self._open(create=True)
        assert conn is not None
        cursor = self._execute(
            conn,
            "UPDATE eval_results SET scores_json = ?, total = ?, passed = ? WHERE run_id = ? AND case_id = ? AND repeat = ?",
            (
                _dump(scores),
                None if total is None else float(total),
                None if passed is None else int(bool(passed)),
                run_id,
                case_id,
                int(repeat),
            ),
        )
        if cursor.rowcount == 0:
            raise BadInputError(f"no result for case {case_id} repeat {repeat} of eval run {run_id} in {self.path}")

    # -- lifetime ---------------------------------------------------------------


def _run_from_row(row: tuple[Any, ...]) -> RunInfo:
    (
        id_,
        suite_name,
        suite_path,
        suite_hash,
        prompt_name,
        prompt_version,
        prompt_sha256,
        provider,
        model,
        params_json,
        git_commit,
        started_at,
        ended_at,
        status,
        totals_json,
        case_ids_json,
        repeats,
    ) = row
    return RunInfo(
        id=id_,
        suite_name=suite_name,
        suite_path=suite_path,
        suite_hash=suite_hash,
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        prompt_sha256=prompt_sha256,
        provider=provider,
        model=model,
        params=json_or(params_json, {}),
        git_commit=git_commit,
        started_at=started_at,
        ended_at=ended_at,
        status=status,
        totals=json_or(totals_json, {}),
        case_ids=[str(case_id) for case_id in json_or(case_ids_json, [])],
        repeats=int(repeats),
    )


def _result_from_row(row: tuple[Any, ...]) -> CaseResult:
    (
        run_id,
        case_id,
        repeat,
        raw,
        plan_json,
        scores_json,
        total,
        passed,
        input_tokens,
        output_tokens,
        cached_tokens,
        cost_usd,
        latency_s,
        error,
        attempts,
        created_at,
    ) = row
    return CaseResult(
        run_id=run_id,
        case_id=case_id,
        repeat=int(repeat),
        raw=raw,
        plan=json_or(plan_json, None),
        scores=json_or(scores_json, []),
        total=None if total is None else float(total),
        passed=None if passed is None else bool(passed),
        usage={"input": int(input_tokens), "output": int(output_tokens), "cached": int(cached_tokens)},
        cost_usd=None if cost_usd is None else float(cost_usd),
        latency_s=float(latency_s),
        error=error,
        attempts=int(attempts),
        created_at=created_at,
    )


__all__ = [
    "MIN_PREFIX",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "CaseResult",
    "EvalStore",
    "RunInfo",
    "new_run_id",
]
