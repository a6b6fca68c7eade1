"""A disposable on-disk cache of provider answers, keyed by everything that shapes the answer.

The cache lives in its own SQLite file (``responses.sqlite3`` in the user's
cache dir), never in the generation log's database: deleting it loses nothing
but money. So a corrupt, locked or unwritable cache file is a warning and a
cache miss, never a failed generation. Only a folder the user named on purpose
that cannot be created is an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from onboard_llm.paths import HeldConnection, connect, default_cache_dir, ensure_folder
from onboard_llm.providers.base import Completion, CompletionRequest, Usage

CACHE_FILENAME = "responses.sqlite3"
#: Part of every key: bump it when the key's recipe changes, so old entries are never misread.
KEY_VERSION = 1
#: The file's layout (``PRAGMA user_version``); a file of another layout is emptied and rebuilt.
SCHEMA_VERSION = 1

_CREATE = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    response_model TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    refusal TEXT,
    raw TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL
)
"""


class CacheWarning(UserWarning):
    """The response cache could not be used; generation carries on without it."""


def _jsonable(value: Any) -> Any:
    # Schemas arrive as any Mapping (MappingProxyType included); json only knows dict.
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class ResponseCache(HeldConnection):
    """Provider answers stored by :meth:`key`; safe for several processes at once (WAL).

    Only complete answers are stored (finish reason ``stop``, no refusal), so a
    truncated or refused answer is always asked for again. Once closed, lookups
    are misses.
    """

    def __init__(self, folder: Path | None = None) -> None:
        explicit = folder is not None
        self.folder: Path = folder if folder is not None else default_cache_dir()
        self.path: Path = self.folder / CACHE_FILENAME
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        #: Why the cache is off for this process, or None while it works.
        self.disabled_reason: str | None = None
        if explicit:
            # The user asked for this folder: not being able to make it is their configuration error.
            ensure_folder(self.folder, what="response cache")
        else:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self._disable(f"cannot create {self.folder}: {exc.strerror or type(exc).__name__}")
                return
        self._open()

    # -- keys ---------------------------------------------------------------

    @staticmethod
    def key(provider: str, model: str, request: CompletionRequest, *, repeat: int = 0) -> str:
        """The sha256 hex key of a request to ``provider:model``.

        It covers provider, model, temperature, max output tokens, schema name,
        the schema's hash, the messages and ``repeat`` (each eval repeat gets
        its own answer). The ``handoff`` object is left out: the messages were
        rendered from it, so it adds nothing but noise.
        """
        payload = {
            "v": KEY_VERSION,
            "provider": provider,
            "model": model,
            "temperature": float(request.temperature),
            "max_output_tokens": int(request.max_output_tokens),
            "schema_name": request.schema_name,
            "schema_sha256": _sha256(canonical_json(request.schema)),
            "messages": [[m.role, m.content] for m in request.messages],
            "repeat": int(repeat),
        }
        return _sha256(canonical_json(payload))

    # -- reading and writing ----------------------------------------------------

    def get(self, key: str) -> Completion | None:
        """The stored answer for ``key`` (with ``cached=True``), or None on a miss or any cache trouble."""
        conn = self._conn
        if conn is None:
            return None
        try:
            with self._lock:
                row = conn.execute(
                    "SELECT text, finish_reason, response_model, refusal, raw, input_tokens, output_tokens, "
                    "cached_tokens FROM responses WHERE key = ?",
                    (key,),
                ).fetchone()
        except sqlite3.Error as exc:
            self._trouble("read", exc)
            return None
        if row is None:
            return None
        text, finish_reason, response_model, refusal, raw, input_tokens, output_tokens, cached_tokens = row
        # Only stop answers are written; anything else is a row this code did not write.
        if finish_reason != "stop" or refusal is not None or not isinstance(text, str):
            return None
        try:
            usage = Usage(int(input_tokens), int(output_tokens), int(cached_tokens))
        except (TypeError, ValueError):
            return None
        return Completion(
            text=text,
            usage=usage,
            finish_reason="stop",
            model=str(response_model),
            refusal=None,
            raw=raw if isinstance(raw, str) else None,
            # The answer took no HTTP call this time.
            http_attempts=0,
            cached=True,
        )

    def put(self, key: str, completion: Completion, *, provider: str = "", model: str = "") -> bool:
        """Store a complete answer under ``key``; return whether it was stored.

        Truncated (``length``), refused or otherwise unfinished answers are not
        stored. ``provider`` and ``model`` are kept for inspection only; ``model``
        defaults to the model that answered.
        """
        if completion.finish_reason != "stop" or completion.refusal is not None:
            return False
        conn = self._conn
        if conn is None:
            return False
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        usage = completion.usage
        try:
            with self._lock:
                conn.execute(
                    "INSERT OR REPLACE INTO responses (key, created_at, provider, model, response_model, text, "
                    "finish_reason, refusal, raw, input_tokens, output_tokens, cached_tokens) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        now,
                        provider,
                        model or completion.model,
                        completion.model,
                        completion.text,
                        completion.finish_reason,
                        None,
                        completion.raw,
                        usage.input_tokens,
                        usage.output_tokens,
                        usage.cached_tokens,
                    ),
                )
        except sqlite3.Error as exc:
            self._trouble("write", exc)
            return False
        return True

    def count(self) -> int:
        """How many answers are stored (0 when the cache is off)."""
        conn = self._conn
        if conn is None:
            return 0
        try:
            with self._lock:
                row = conn.execute("SELECT COUNT(*) FROM responses").fetchone()
        except sqlite3.Error as exc:
            self._trouble("read", exc)
            return 0
        return int(row[0])

    def clear(self) -> int:
        """Delete every stored answer and return how many there were.

        A cache file too damaged to open is deleted and started afresh, so
        clearing is also the cure for a corrupt cache.
        """
        conn = self._conn
        if conn is not None:
            try:
                with self._lock:
                    removed = conn.execute("DELETE FROM responses").rowcount
                return max(int(removed), 0)
            except sqlite3.DatabaseError as exc:
                if _is_busy(exc):
                    self._trouble("clear", exc)
                    return 0
                self.close()
        # The file cannot be used as a database: it is disposable, so start again.
        for suffix in ("", "-wal", "-shm"):
            try:
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except OSError as exc:
                self._disable(f"cannot delete {self.path}{suffix}: {exc.strerror or type(exc).__name__}")
                return 0
        self.disabled_reason = None
        self._open()
        return 0

    # -- internals -------------------------------------------------------------

    def _open(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(self.path)
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # Another process may have built it while this one waited for the lock.
                    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                        conn.execute("DROP TABLE IF EXISTS responses")
                        conn.execute(_CREATE)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
            # A file can pass the header check and still be damaged; probe the table once.
            conn.execute("SELECT key FROM responses LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            self._disable(f"{self.path} is unusable ({exc}); delete it or clear the cache")
            return
        self._conn = conn

    def _trouble(self, action: str, exc: sqlite3.Error) -> None:
        if _is_busy(exc):
            # Another process held the lock past the timeout: miss this once, keep the cache.
            warnings.warn(f"response cache {action} skipped: {self.path} is busy ({exc})", CacheWarning, stacklevel=3)
            return
        self.close()
        self._disable(f"{action} failed on {self.path} ({exc}); delete it or clear the cache")

    def _disable(self, reason: str) -> None:
        self.disabled_reason = reason
        warnings.warn(f"response cache off: {reason}", CacheWarning, stacklevel=3)


__all__ = ["CACHE_FILENAME", "CacheWarning", "ResponseCache", "canonical_json"]
