"""Engine settings per database: SQLite needs help to serve several processes at once.

Every engine hides the values bound to its statements from error texts (hide_parameters): a
failed INSERT would otherwise print the person's address and name into the error log.

PostgreSQL needs nothing else. SQLite gets, on every new connection:
- WAL journal: readers never block the writer, the writer never blocks readers;
- a busy timeout: a writer waits for the lock instead of failing at once;
- its own transaction control: the driver's implicit BEGIN is switched off and we emit
  BEGIN ourselves, as IMMEDIATE for anything that may write. A deferred transaction that read
  first and then writes cannot wait for the lock (SQLite answers "database is locked" at once
  when another process wrote in between), so a request that may write takes the lock first.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from irev.extensions import db

#: Milliseconds a SQLite connection waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Requests that never write: their transactions stay deferred (shared, lock-free reads).
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Hide bound values from every engine's errors; attach the SQLite connection settings."""
    with app.app_context():
        engines = [db.engine, *db.engines.values()]
    for engine in {id(e): e for e in engines}.values():
        # create_engine(hide_parameters=True) sets this same attribute, which every error and
        # echo line reads; Flask-SQLAlchemy made the engine before this runs.
        engine.hide_parameters = True
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)


def configure_sqlite(engine: Engine) -> None:
    """Give a SQLite engine WAL, a busy timeout and explicit BEGINs."""
    if getattr(engine, "_irev_configured", False):
        return
    engine._irev_configured = True  # type: ignore[attr-defined]
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_connect(dbapi_connection, connection_record) -> None:
    """Set the pragmas of a new SQLite connection and take over its transactions."""
    # Without this the sqlite3 module opens transactions itself, lazily, as DEFERRED.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_begin(connection) -> None:
    """Open the transaction: IMMEDIATE (write lock now) unless the request only reads."""
    connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write() else "BEGIN")


def may_write() -> bool:
    """Return False only inside a request whose method never changes anything."""
    return not (has_request_context() and request.method in READ_ONLY_METHODS)
