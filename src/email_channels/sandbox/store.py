"""The emulator's state in SQLite: one small write per change, whatever the state holds.

Until this store, the sandbox rewrote its whole JSON state file (with an fsync) on every change,
so a change cost more the more it held. Now each record is a row
(`records`: kind, key, the record as JSON) and a change writes only the rows its operation
touched, in one transaction. WAL with `synchronous=NORMAL`: a change the emulator acknowledged
is committed to the WAL file, which the operating system holds once the write returns, so a
kill -9 right after loses nothing (SQLite's transactions survive an application crash whatever
the synchronous setting). What NORMAL gives up is an fsync per transaction: after a power loss
or an operating-system crash the last changes may be missing, as if those calls had not
reached the emulator. With FULL, that fsync (0.2-0.4 ms here) sat on every SES call's path, and
twice in each round of a create, whose two concurrent calls commit one after the other.
Rows keep the order of their first insertion (`seq`), which is the order the list operations
answer in.

The file: SANDBOX_STATE_PATH names it. A path ending in `.json` (the old default
`./email-channels-sandbox.json`, or a user's own) means the `.sqlite3` file beside it. On the
first start with a JSON state file there and no database yet, the JSON is imported in one
transaction and renamed to `<name>.json.migrated` (kept, never read again).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from email_channels.sandbox.state import (
    KINDS,
    Kind,
    SesState,
    record_from_json,
    record_to_json,
)

DATABASE_SUFFIX = ".sqlite3"
LEGACY_SUFFIX = ".json"
MIGRATED_SUFFIX = ".migrated"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (kind, key)
);
"""
_UPSERT = (
    "INSERT INTO records (kind, key, document) VALUES (?, ?, ?)"
    " ON CONFLICT (kind, key) DO UPDATE SET document = excluded.document"
)
_DELETE = "DELETE FROM records WHERE kind = ? AND key = ?"

# One row to write: (kind, key as stored, document or None to delete, moved to the end).
Row = tuple[Kind, str, str | None, bool]


def storage_paths(path: str) -> tuple[Path, Path]:
    """The SQLite file for a configured path, and the JSON state file it may replace."""
    configured = Path(path)
    if configured.suffix == LEGACY_SUFFIX:
        return configured.with_suffix(DATABASE_SUFFIX), configured
    return configured, configured.with_suffix(LEGACY_SUFFIX)


def _stored_key(kind: Kind, key: Any) -> str:
    return json.dumps(list(key)) if kind == "associations" else str(key)


def rows_for(state: SesState, changes: dict[tuple[Kind, Any], bool]) -> list[Row]:
    """The rows an operation's changes need written (built on the event loop's thread)."""
    rows: list[Row] = []
    for (kind, key), deleted in changes.items():
        record = getattr(state, kind).get(key)
        document = None if record is None else json.dumps(record_to_json(kind, record))
        rows.append((kind, _stored_key(kind, key), document, deleted))
    return rows


class StateStore:
    """Loads and writes the state; with no path the state lives in memory only."""

    def __init__(self, path: str | None) -> None:
        self.path: Path | None = None
        self.legacy_path: Path | None = None
        if path:
            self.path, self.legacy_path = storage_paths(path)
        self._connection: sqlite3.Connection | None = None

    def load(self) -> SesState:
        """The saved state (importing a JSON state file once), or an empty one."""
        if self.path is None:
            return SesState()
        if not self.path.exists() and not (self.legacy_path and self.legacy_path.exists()):
            return SesState()  # the file appears with the first change, not before
        connection = self._connect()
        self._import_legacy(connection)
        state = SesState()
        try:
            for kind, document in connection.execute(
                "SELECT kind, document FROM records ORDER BY seq"
            ):
                state.put(kind, record_from_json(kind, json.loads(document)))
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"sandbox state {self.path} is unreadable: {exc}") from exc
        return state

    def write(self, rows: list[Row]) -> None:
        """Write one operation's rows in one transaction (what survives what: the module's
        docstring)."""
        if self.path is None or not rows:
            return
        connection = self._connect()
        with connection:
            for kind, key, document, moved in rows:
                if document is None or moved:
                    connection.execute(_DELETE, (kind, key))
                if document is not None:
                    connection.execute(_UPSERT, (kind, key, document))

    def clear(self) -> None:
        """Forget every record."""
        if self.path is None or not self.path.exists():
            return
        connection = self._connect()
        with connection:
            connection.execute("DELETE FROM records")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Used from one worker thread at a time (the runtime's lock), never concurrently.
            connection = sqlite3.connect(self.path, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # see the module's docstring
            connection.execute("PRAGMA busy_timeout=15000")
            connection.executescript(_SCHEMA)
            self._connection = connection
        return self._connection

    def _import_legacy(self, connection: sqlite3.Connection) -> None:
        legacy = self.legacy_path
        if legacy is None or not legacy.exists():
            return
        if connection.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None:
            try:
                state = SesState.from_json(json.loads(legacy.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as exc:
                raise RuntimeError(f"sandbox state file {legacy} is unreadable: {exc}") from exc
            rows: list[Row] = []
            for kind in KINDS:
                for key, record in getattr(state, kind).items():
                    document = json.dumps(record_to_json(kind, record))
                    rows.append((kind, _stored_key(kind, key), document, False))
            # The rename below forgets the JSON file for good, so the import is made durable
            # first, power loss included: this one commit waits for its fsync.
            connection.execute("PRAGMA synchronous=FULL")
            try:
                self.write(rows)
            finally:
                connection.execute("PRAGMA synchronous=NORMAL")
        # Imported (now, or by a start that died before this rename): never read it again.
        os.replace(legacy, legacy.with_name(legacy.name + MIGRATED_SUFFIX))
