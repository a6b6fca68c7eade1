"""Where onboard keeps its files, and how it opens its SQLite databases.

The generation log and the eval store share one database in the user's data
dir (``--db`` / ``ONBOARD_DB``); the response cache is a separate, disposable
file in the user's cache dir. Nothing here touches the disk at import time:
folders are made when a store is first opened.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import platformdirs

from onboard_llm.errors import ConfigError

APP_NAME = "onboard-llm"
DB_FILENAME = "onboard.sqlite3"
#: How long a connection waits for another process's write lock before giving up.
BUSY_TIMEOUT_S = 10.0
#: One row per store sharing the database, so each migrates its own tables independently.
META_TABLE = "onboard_meta"


def default_db_path() -> Path:
    """The shared database: ``ONBOARD_DB`` if set, else ``onboard.sqlite3`` in the user's data dir."""
    if env := os.environ.get("ONBOARD_DB"):
        return Path(env).expanduser()
    return platformdirs.user_data_path(APP_NAME) / DB_FILENAME


def default_cache_dir() -> Path:
    """The folder of the disposable response cache, in the user's cache dir."""
    return platformdirs.user_cache_path(APP_NAME)


def ensure_folder(folder: Path, *, what: str) -> None:
    """Create ``folder`` (and its parents), or raise a one-line ConfigError naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot create the {what} folder {folder}: {reason}") from None
    if not folder.is_dir():
        raise ConfigError(f"the {what} folder {folder} is not a folder")


def connect(path: Path) -> sqlite3.Connection:
    """Open a SQLite file for several processes: WAL, a busy timeout, autocommit.

    Raises sqlite3.Error when the file is unreadable or not a database; callers
    decide whether that is fatal (the log) or a warning (the cache).
    """
    # isolation_level=None: statements commit on their own unless a caller says BEGIN,
    # so no transaction is left open (and holding a lock) between calls.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Readers never block the writer and the writer never blocks readers in WAL mode. Switching a
        # new file to WAL needs a moment alone with it, and SQLite does not wait for that on its own
        # (no busy handler), so several processes opening a new file at once take turns here.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, component: str, steps: Sequence[Sequence[str]], *, path: Path) -> int:
    """Bring ``component``'s tables up to ``len(steps)``; return the version now in the file.

    ``steps[i]`` holds the statements that take the component from version i to
    i + 1. Versions live in the shared ``onboard_meta`` table (not ``PRAGMA
    user_version``, which is one number per file and the file is shared by
    several stores). A file written by a newer onboard-llm is refused rather
    than misread.
    """
    target = len(steps)
    # BEGIN IMMEDIATE takes the write lock first, so two processes opening a new file
    # cannot both apply the same step (nor race to create the meta table).
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (component TEXT PRIMARY KEY, schema_version INTEGER NOT NULL)"
        )
        row = conn.execute(f"SELECT schema_version FROM {META_TABLE} WHERE component = ?", (component,)).fetchone()
        current = int(row[0]) if row else 0
        if current > target:
            raise ConfigError(
                f"{path} holds {component} schema version {current}, newer than this onboard-llm knows ({target}); "
                "upgrade onboard-llm or use another --db"
            )
        for step in steps[current:]:
            for statement in step:
                conn.execute(statement)
        if current != target:
            conn.execute(
                f"INSERT INTO {META_TABLE} (component, schema_version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET schema_version = excluded.schema_version",
                (component, target),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return target


def open_database(
    path: Path, *, create: bool, what: str, component: str, steps: Sequence[Sequence[str]]
) -> sqlite3.Connection | None:
    """Open (and migrate) one component's tables in a SQLite file; None when reading a file that is not there.

    ``what`` names the store in messages ("generation log", "eval store"); every failure is a one-line
    ConfigError naming the file.
    """
    if not path.exists():
        if not create:
            # Reading an absent store must not leave an empty database behind.
            return None
        ensure_folder(path.parent, what=what)
    elif path.is_dir():
        raise ConfigError(f"the {what} {path} is a folder; give a file path with --db or ONBOARD_DB")
    try:
        conn = connect(path)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open the {what} {path}: {_one_line(exc)}") from None
    try:
        migrate(conn, component, steps, path=path)
    except sqlite3.Error as exc:
        conn.close()
        raise ConfigError(f"cannot open the {what} {path}: {_one_line(exc)}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class HeldConnection:
    """A SQLite connection (or none yet) used under a lock; ``close()`` or a ``with`` block closes it."""

    _conn: sqlite3.Connection | None
    _lock: AbstractContextManager[Any]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ComponentTables(HeldConnection):
    """One component's tables in the shared database: opened (and migrated) on first use, used under
    one lock, every SQLite failure a one-line ConfigError.

    A subclass names itself in messages (``what``), its row in the meta table
    (``component``) and its migrations (``steps``).
    """

    what: ClassVar[str]
    component: ClassVar[str]
    steps: ClassVar[Sequence[Sequence[str]]]

    def __init__(self, path: Path | None = None) -> None:
        self.path: Path = path if path is not None else default_db_path()
        self._conn = None
        self._lock = threading.RLock()

    def _open(self, *, create: bool) -> sqlite3.Connection | None:
        """The connection; None when only reading and the file is not there yet."""
        with self._lock:
            if self._conn is None:
                self._conn = open_database(
                    self.path, create=create, what=self.what, component=self.component, steps=self.steps
                )
            return self._conn

    def _execute(
        self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], *, pass_conflicts: bool = False
    ) -> sqlite3.Cursor:
        """Run one writing statement; with ``pass_conflicts`` a constraint violation is raised as it is."""
        try:
            with self._lock:
                return conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            if pass_conflicts:
                raise
            raise ConfigError(f"cannot write to the {self.what} {self.path}: {_one_line(exc)}") from None
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot write to the {self.what} {self.path}: {_one_line(exc)}") from None

    def _query(self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read the {self.what} {self.path}: {_one_line(exc)}") from None


def json_or(text: str | None, default: Any) -> Any:
    """A stored JSON column read back, or ``default`` when it is empty or not JSON."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


__all__ = [
    "APP_NAME",
    "BUSY_TIMEOUT_S",
    "DB_FILENAME",
    "ComponentTables",
    "HeldConnection",
    "connect",
    "default_cache_dir",
    "default_db_path",
    "ensure_folder",
    "json_or",
    "migrate",
    "open_database",
]
