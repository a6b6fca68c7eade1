"""The generation log: one row per ``generate_plan`` call, enough to reproduce or audit it.

Rows live in the ``generations`` table of the shared onboard database (the eval
store keeps its own tables in the same file). Each row carries the prompt's
name, version and hash, the provider and model, the rendered messages, every
attempt's raw answer, the plan or the error, tokens, cost and latency.
Records never contain API keys; text that looks like one is scrubbed before it
is written anyway.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from onboard_llm.paths import ComponentTables, json_or
from onboard_llm.providers.base import Usage

if TYPE_CHECKING:
    from onboard_llm.pipeline import Attempt

COMPONENT = "generations"

# Version i + 1 is reached by running MIGRATIONS[i]; add steps, never edit released ones.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE IF NOT EXISTS generations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            prompt_name TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            prompt_sha256 TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            cost_usd REAL,
            latency_s REAL NOT NULL,
            attempt_count INTEGER NOT NULL,
            params_json TEXT NOT NULL,
            messages_json TEXT NOT NULL,
            attempts_json TEXT NOT NULL,
            plan_json TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS generations_created_at ON generations (created_at)",
        "CREATE INDEX IF NOT EXISTS generations_prompt ON generations (prompt_name, prompt_version)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Shapes of secrets: OpenAI/Anthropic keys (sk-..., sk-ant-...), bearer tokens, "api_key": "..." pairs.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), "sk-***"),
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*", re.IGNORECASE), r"\1 ***"),
    (re.compile(r"(?i)\b((?:x-)?api[_-]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{12,}"), r"\1***"),
)


def scrub(text: str) -> str:
    """``text`` with anything shaped like an API key or bearer token replaced by ``***``."""
    lowered = text.lower()
    # Most stored text holds no secret at all; a cheap look first spares the regexes a 40 KB plan.
    if "sk-" not in lowered and "bearer" not in lowered and "api" not in lowered:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _dump(value: Any) -> str:
    # Scrubbing the serialised text keeps it valid JSON: the patterns never match quotes or backslashes.
    return scrub(json.dumps(value, ensure_ascii=False, default=str))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def usage_dict(usage: Usage) -> dict[str, int]:
    """A Usage as the log stores it: ``{"input", "output", "cached"}``."""
    return {"input": usage.input_tokens, "output": usage.output_tokens, "cached": usage.cached_tokens}


def attempt_dict(attempt: Attempt, *, raw: str | None = None, cached: bool = False) -> dict[str, Any]:
    """A pipeline Attempt as the log stores it, with the vendor body and whether the cache answered."""
    return {
        "number": attempt.number,
        "text": attempt.text,
        "raw": raw,
        "usage": usage_dict(attempt.usage),
        "finish_reason": attempt.finish_reason,
        "stage": attempt.stage,
        "errors": list(attempt.errors),
        "seconds": attempt.seconds,
        "cached": cached,
    }


def _empty_usage() -> dict[str, int]:
    return {"input": 0, "output": 0, "cached": 0}


@dataclass(kw_only=True)
class GenerationRecord:
    """One logged generation. ``attempts`` are dicts with keys number, text, raw, usage,
    finish_reason, stage, errors, seconds and cached; ``usage`` is ``{input, output, cached}``."""

    id: int | None = None
    created_at: str = field(default_factory=_now)
    prompt_name: str
    prompt_version: str
    prompt_sha256: str
    provider: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    error: str | None = None
    usage: dict[str, int] = field(default_factory=_empty_usage)
    cost_usd: float | None = None
    latency_s: float = 0.0

    @property
    def status(self) -> str:
        """``ok`` when a plan came out, else ``error``."""
        return "error" if self.error is not None or self.plan is None else "ok"

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt_name}@{self.prompt_version}"

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-able dict (with ``status``)."""
        return {**asdict(self), "status": self.status}


class GenerationLog(ComponentTables):
    """The ``generations`` table of the onboard database (``--db`` / ``ONBOARD_DB``)."""

    what = "generation log"
    component = COMPONENT
    steps = MIGRATIONS

    # -- public API -------------------------------------------------------------

    def record(self, rec: GenerationRecord) -> int:
        """Append ``rec`` and return its new id (also set on ``rec.id``)."""
        conn = self._open(create=True)
        assert conn is not None
        usage = {**_empty_usage(), **rec.usage}
        values = (
            rec.created_at,
            rec.prompt_name,
            rec.prompt_version,
            rec.prompt_sha256,
            rec.provider,
            rec.model,
            rec.status,
            scrub(rec.error) if rec.error is not None else None,
            int(usage["input"]),
            int(usage["output"]),
            int(usage["cached"]),
            rec.cost_usd,
            float(rec.latency_s),
            len(rec.attempts),
            _dump(rec.params),
            _dump(rec.messages),
            _dump(rec.attempts),
            _dump(rec.plan) if rec.plan is not None else None,
        )
        cursor = self._execute(
            conn,
            "INSERT INTO generations (created_at, prompt_name, prompt_version, prompt_sha256, provider, "
            "model, status, error, input_tokens, output_tokens, cached_tokens, cost_usd, latency_s, "
            "attempt_count, params_json, messages_json, attempts_json, plan_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        new_id = cursor.lastrowid
        assert new_id is not None
        rec.id = new_id
        return new_id

    def list(self, limit: int = 20) -> builtins.list[GenerationRecord]:
        """The newest ``limit`` records, newest first (an empty list when nothing was logged yet)."""
        conn = self._open(create=False)
        if conn is None:
            return []
        rows = self._query(conn, f"SELECT {_COLUMNS} FROM generations ORDER BY id DESC LIMIT ?", (max(int(limit), 0),))
        return [_from_row(row) for row in rows]

    def get(self, id: int) -> GenerationRecord | None:
        """The record with this id, or None."""
        conn = self._open(create=False)
        if conn is None:
            return None
        rows = self._query(conn, f"SELECT {_COLUMNS} FROM generations WHERE id = ?", (int(id),))
        return _from_row(rows[0]) if rows else None


_COLUMNS = (
    "id, created_at, prompt_name, prompt_version, prompt_sha256, provider, model, error, input_tokens, "
    "output_tokens, cached_tokens, cost_usd, latency_s, params_json, messages_json, attempts_json, plan_json"
)


def _from_row(row: tuple[Any, ...]) -> GenerationRecord:
    (
        id_,
        created_at,
        prompt_name,
        prompt_version,
        prompt_sha256,
        provider,
        model,
        error,
        input_tokens,
        output_tokens,
        cached_tokens,
        cost_usd,
        latency_s,
        params_json,
        messages_json,
        attempts_json,
        plan_json,
    ) = row
    return GenerationRecord(
        id=int(id_),
        created_at=created_at,
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        prompt_sha256=prompt_sha256,
        provider=provider,
        model=model,
        params=json_or(params_json, {}),
        messages=json_or(messages_json, []),
        attempts=json_or(attempts_json, []),
        plan=json_or(plan_json, None),
        error=error,
        usage={"input": int(input_tokens), "output": int(output_tokens), "cached": int(cached_tokens)},
        cost_usd=None if cost_usd is None else float(cost_usd),
        latency_s=float(latency_s),
    )


__all__ = ["SCHEMA_VERSION", "GenerationLog", "GenerationRecord", "attempt_dict", "scrub", "usage_dict"]
