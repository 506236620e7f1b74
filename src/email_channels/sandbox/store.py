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

Regions: SES keeps each region's resources apart, and so does the emulator: every row has its
`region` (table `regional_records`). A file from before regions (table `records`) is moved
into it on first open, its rows given the emulator's default region, in one transaction.

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
CREATE TABLE IF NOT EXISTS regional_records (
    seq INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (region, kind, key)
);
"""
_UPSERT = (
    "INSERT INTO regional_records (region, kind, key, document) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (region, kind, key) DO UPDATE SET document = excluded.document"
)
_DELETE = "DELETE FROM regional_records WHERE region = ? AND kind = ? AND key = ?"
# The table of a file written before regions: every row belongs to the default region.
_UNREGIONED = "records"

# One row to write: (region, kind, key as stored, document or None to delete, moved to the
# end).
Row = tuple[str, Kind, str, str | None, bool]


def storage_paths(path: str) -> tuple[Path, Path]:
    """The SQLite file for a configured path, and the JSON state file it may replace."""
    configured = Path(path)
    if configured.suffix == LEGACY_SUFFIX:
        return configured.with_suffix(DATABASE_SUFFIX), configured
    return configured, configured.with_suffix(LEGACY_SUFFIX)


def _stored_key(kind: Kind, key: Any) -> str:
    return json.dumps(list(key)) if kind == "associations" else str(key)


def rows_for(state: SesState, changes: dict[tuple[Kind, Any], bool], *, region: str) -> list[Row]:
    """The rows an operation's changes need written (built on the event loop's thread)."""
    rows: list[Row] = []
    for (kind, key), deleted in changes.items():
        record = getattr(state, kind).get(key)
        document = None if record is None else json.dumps(record_to_json(kind, record))
        rows.append((region, kind, _stored_key(kind, key), document, deleted))
    return rows


class StateStore:
    """Loads and writes the state; with no path the state lives in memory only."""

    def __init__(self, path: str | None, *, default_region: str = "us-east-1") -> None:
        self.default_region = default_region
        self.path: Path | None = None
        self.legacy_path: Path | None = None
        if path:
            self.path, self.legacy_path = storage_paths(path)
        self._connection: sqlite3.Connection | None = None

    def load(self) -> SesState:
        """The default region's saved state (see `load_regions`)."""
        return self.load_regions().get(self.default_region) or SesState()

    def load_regions(self) -> dict[str, SesState]:
        """The saved state of each region (importing a JSON state file once); empty: none."""
        if self.path is None:
            return {}
        if not self.path.exists() and not (self.legacy_path and self.legacy_path.exists()):
            return {}  # the file appears with the first change, not before
        connection = self._connect()
        self._import_legacy(connection)
        states: dict[str, SesState] = {}
        try:
            for region, kind, document in connection.execute(
                "SELECT region, kind, document FROM regional_records ORDER BY seq"
            ):
                state = states.get(region) or states.setdefault(region, SesState())
                state.put(kind, record_from_json(kind, json.loads(document)))
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"sandbox state {self.path} is unreadable: {exc}") from exc
        return states

    def write(self, rows: list[Row]) -> None:
        """Write one operation's rows in one transaction (what survives what: the module's
        docstring)."""
        if self.path is None or not rows:
            return
        connection = self._connect()
        with connection:
            for region, kind, key, document, moved in rows:
                if document is None or moved:
                    connection.execute(_DELETE, (region, kind, key))
                if document is not None:
                    connection.execute(_UPSERT, (region, kind, key, document))

    def clear(self) -> None:
        """Forget every record."""
        if self.path is None or not self.path.exists():
            return
        connection = self._connect()
        with connection:
            connection.execute("DELETE FROM regional_records")

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
            self._move_unregioned(connection)
            self._connection = connection
        return self._connection

    def _move_unregioned(self, connection: sqlite3.Connection) -> None:
        """Give the rows of a file from before regions the default region, in one transaction."""
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_UNREGIONED,)
        ).fetchone()
        if found is None:
            return
        with connection:
            connection.execute(
                "INSERT INTO regional_records (region, kind, key, document)"
                f" SELECT ?, kind, key, document FROM {_UNREGIONED} ORDER BY seq",
                (self.default_region,),
            )
            connection.execute(f"DROP TABLE {_UNREGIONED}")

    def _import_legacy(self, connection: sqlite3.Connection) -> None:
        legacy = self.legacy_path
        if legacy is None or not legacy.exists():
            return
        if connection.execute("SELECT 1 FROM regional_records LIMIT 1").fetchone() is None:
            try:
                state = SesState.from_json(json.loads(legacy.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as exc:
                raise RuntimeError(f"sandbox state file {legacy} is unreadable: {exc}") from exc
            rows: list[Row] = []
            for kind in KINDS:
                for key, record in getattr(state, kind).items():
                    document = json.dumps(record_to_json(kind, record))
                    rows.append(
                        (self.default_region, kind, _stored_key(kind, key), document, False)
                    )
            # The rename below forgets the JSON file for good, so the import is made durable
            # first, power loss included: this one commit waits for its fsync.
            connection.execute("PRAGMA synchronous=FULL")
            try:
                self.write(rows)
            finally:
                connection.execute("PRAGMA synchronous=NORMAL")
        # Imported (now, or by a start that died before this rename): never read it again.
        os.replace(legacy, legacy.with_name(legacy.name + MIGRATED_SUFFIX))
